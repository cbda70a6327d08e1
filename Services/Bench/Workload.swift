import DeliveryCore
import DeliveryMessages
import Foundation

/// Synthetic catalogs and reports for the benchmarks: `groups` groups of 10 brands of 10 models.
enum Workload {
    static func catalog(groups: Int) -> CatalogDocument {
        var document = CatalogDocument(segments: [SegmentEntry(id: "premium", name: "premium", minCNY: 300_000, maxCNY: nil)])
        for g in 0..<groups {
            document.groups.append(GroupEntry(id: "g\(g)", name: "Group \(g)"))
            for b in 0..<10 {
                document.brands.append(BrandEntry(id: "g\(g)-b\(b)", name: "Brand \(g)-\(b)", group: "g\(g)"))
                for m in 0..<10 {
                    document.models.append(
                        ModelEntry(id: "g\(g)-b\(b)-m\(m)", name: "Model \(g)-\(b)-\(m)", brand: "g\(g)-b\(b)", segment: "premium")
                    )
                }
            }
        }
        return document
    }

    /// The n-th report over `models` models: each model in turn, then the next month from 1900-01
    /// on, so that every report is a new figure.
    static func fields(_ n: Int, models: Int, prefix: String) -> (id: String, model: String, period: String, units: Int) {
        let model = n % models
        let month = n / models
        let name = "g\(model / 100)-b\(model / 10 % 10)-m\(model % 10)"
        let period = "\(1900 + month / 12)-\(month % 12 < 9 ? "0" : "")\(month % 12 + 1)"
        return ("\(prefix)\(n)", name, period, 1 + (n * 7919) % 5000)
    }

    /// The JSON of a report as a client sends it, built as text (the client's cost is not the
    /// service's).
    static func json(_ n: Int, models: Int, prefix: String) -> String {
        let f = fields(n, models: models, prefix: prefix)
        return #"{"id":"\#(f.id)","source":"Bench","period":"\#(f.period)","model":"\#(f.model)","units":\#(f.units),"reportedAt":"2025-06-01T00:00:00Z"}"#
    }

    /// A whole `submit` envelope for reports `range`.
    static func submit(_ range: Range<Int>, models: Int, prefix: String, id: Int) -> [UInt8] {
        let reports = range.map { json($0, models: models, prefix: prefix) }.joined(separator: ",")
        return Array(#"{"v":1,"type":"submit","id":\#(id),"body":{"reports":[\#(reports)]}}"#.utf8)
    }

    /// Reports as the aggregate holds them after validation, for the core alone.
    static func reports(_ count: Int, catalog: Catalog, models: Int, offset: Int = 0) -> [DeliveryReport] {
        var refs: [String: EntityRef] = [:]
        return (offset..<offset + count).map { n in
            let f = fields(n, models: models, prefix: "r")
            let ref = refs[f.model] ?? catalog.ref(EntityKey(.model, f.model))
            refs[f.model] = ref
            return DeliveryReport(
                id: f.id, source: "Bench", period: f.period, group: ref.path.first, brand: ref.path.dropFirst().first,
                model: f.model, units: Int64(f.units), qualifier: .exact, reportedAt: "2025-06-01T00:00:00Z", note: nil,
                entity: ref
            )
        }
    }
}
