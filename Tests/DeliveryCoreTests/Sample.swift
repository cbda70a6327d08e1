import DeliveryCore
import DeliveryMessages
import Foundation

/// The project's copy of the HIMA May 2025 sample.
enum Sample {
    static var url: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("samples/hima-2025-05.json")
    }

    struct File: Decodable {
        var catalog: CatalogDocument
        var reports: [JSONValue]
    }

    static func load() throws -> File {
        try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }

    /// A book with the sample's catalog and every report applied, as one stream.
    static func book() throws -> FigureBook {
        let file = try load()
        var book = FigureBook(catalog: try Catalog(file.catalog))
        for (index, value) in file.reports.enumerated() {
            let report = try ReportValidator.validate(value, index: index, catalog: book.catalog, receivedAt: 0, latest: .max).report
            book.apply(report, stream: "test", seq: UInt64(index + 1))
        }
        return book
    }
}

/// Makes a report for tests.
func report(
    _ id: String, source: String = "CPCA", period: String, group: String? = nil, brand: String? = nil,
    model: String? = nil, units: Int64, qualifier: String = "exact", reportedAt: String = "2025-06-01T00:00:00Z",
    tolerance: Int64? = nil, segmentRank: Int? = nil, catalog: Catalog
) throws -> DeliveryReport {
    var fields: [String: JSONValue] = [
        "id": .string(id), "source": .string(source), "period": .string(period), "units": .int(units),
        "qualifier": .string(qualifier), "reportedAt": .string(reportedAt),
    ]
    if let group { fields["group"] = .string(group) }
    if let brand { fields["brand"] = .string(brand) }
    if let model { fields["model"] = .string(model) }
    if let tolerance { fields["tolerance"] = .int(tolerance) }
    if let segmentRank { fields["segmentRank"] = .int(Int64(segmentRank)) }
    return try ReportValidator.validate(.object(fields), index: 0, catalog: catalog, receivedAt: 0, latest: .max).report
}
