import DeliveryMessages
import Foundation

/// A file of reports to submit: the sample's shape (`{"catalog": …, "reports": […]}`), a JSON
/// array of reports, or CSV with a header row. Each report remembers where it came from, so that
/// an error can name the line.
struct ReportFile {
    var catalog: CatalogDocument?
    var reports: [JSONValue]
    /// For each report, how to name its place: "line 7" for CSV, "index 3" for JSON.
    var places: [String]

    static let csvColumns: Set<String> = [
        "id", "source", "period", "group", "brand", "model", "units", "qualifier", "reportedAt", "note",
    ]

    init(catalog: CatalogDocument?, reports: [JSONValue], places: [String]) {
        self.catalog = catalog
        self.reports = reports
        self.places = places
    }

    static func load(path: String) throws -> ReportFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClientError("\(path): cannot read the file")
        }
        let trimmed = data.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if path.lowercased().hasSuffix(".csv") || !(trimmed.first == UInt8(ascii: "{") || trimmed.first == UInt8(ascii: "[")) {
            return try csv(String(decoding: data, as: UTF8.self), path: path)
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ClientError("\(path): not valid JSON (\(error.localizedDescription))")
        }
        var catalog: CatalogDocument?
        let reports: [JSONValue]
        switch value {
        case .array(let list):
            reports = list
        case .object(let fields):
            if let document = fields["catalog"] {
                do {
                    catalog = try JSONDecoder().decode(CatalogDocument.self, from: JSONEncoder().encode(document))
                } catch let error as DecodingError {
                    throw ClientError("\(path): catalog: \(ProtocolError(describing: error).message)")
                }
            }
            guard case .array(let list)? = fields["reports"] else {
                if catalog != nil { return ReportFile(catalog: catalog, reports: [], places: []) }
                throw ClientError("\(path): expected an array of reports or an object with 'reports'")
            }
            reports = list
        default:
            throw ClientError("\(path): expected an array of reports or an object with 'reports'")
        }
        return ReportFile(catalog: catalog, reports: reports, places: reports.indices.map { "index \($0)" })
    }

    static func csv(_ text: String, path: String) throws -> ReportFile {
        let records = Self.parseCSV(text)
        guard let header = records.first?.fields else {
            throw ClientError("\(path): empty CSV file")
        }
        let columns = header.map { $0.trimmingCharacters(in: .whitespaces) }
        for column in columns where !Self.csvColumns.contains(column) {
            throw ClientError(
                "\(path) line 1: unknown column '\(column)'; columns are \(Self.csvColumns.sorted().joined(separator: ", "))"
            )
        }
        var reports: [JSONValue] = []
        var places: [String] = []
        for record in records.dropFirst() where !(record.fields.count == 1 && record.fields[0].isEmpty) {
            guard record.fields.count == columns.count else {
                throw ClientError("\(path) line \(record.line): \(record.fields.count) fields; the header has \(columns.count)")
            }
            var object: [String: JSONValue] = [:]
            for (column, field) in zip(columns, record.fields) where !field.isEmpty {
                if column == "units", let number = Int64(field.trimmingCharacters(in: .whitespaces)) {
                    object[column] = .int(number)
                } else {
                    object[column] = .string(field)
                }
            }
            reports.append(.object(object))
            places.append("line \(record.line)")
        }
        return ReportFile(catalog: nil, reports: reports, places: places)
    }

    /// RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks.
    static func parseCSV(_ text: String) -> [(line: Int, fields: [String])] {
        var records: [(Int, [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var recordLine = 1
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let scalar = pending {
                pending = nil
                return scalar
            }
            return iterator.next()
        }
        while let scalar = next() {
            if quoted {
                if scalar == "\"" {
                    if let following = next() {
                        if following == "\"" {
                            field.unicodeScalars.append("\"")
                        } else {
                            quoted = false
                            pending = following
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"": quoted = true
            case ",":
                fields.append(field)
                field = ""
            case "\r": continue
            case "\n":
                fields.append(field)
                records.append((recordLine, fields))
                fields = []
                field = ""
                line += 1
                recordLine = line
            default: field.unicodeScalars.append(scalar)
            }
        }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            records.append((recordLine, fields))
        }
        return records
    }
}
