import DeliveryClient
import DeliveryCore
import DeliveryMessages
import Foundation

/// A JSON file of reports to submit: the sample's shape (`{"catalog": …, "reports": […]}`) or a
/// JSON array of reports (CSV is read by `CSVBatches`). Each report remembers where it came from,
/// so that an error can name its index.
struct ReportFile {
    var catalog: CatalogDocument?
    var reports: [JSONValue]
    /// For each report, how to name its place: "line 7" for CSV, "index 3" for JSON.
    var places: [String]

    init(catalog: CatalogDocument?, reports: [JSONValue], places: [String]) {
        self.catalog = catalog
        self.reports = reports
        self.places = places
    }

    /// Whether a file is read as CSV: by its name, or because it does not start like JSON (after a
    /// byte-order mark and white space).
    static func isCSV(path: String) throws -> Bool {
        if path.lowercased().hasSuffix(".csv") { return true }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ClientError("\(path): cannot read the file") }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4096)) ?? Data()
        let start = head.starts(with: [0xEF, 0xBB, 0xBF]) ? head.dropFirst(3) : head[...]
        let first = start.first { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
        return !(first == UInt8(ascii: "{") || first == UInt8(ascii: "["))
    }

    /// A JSON file, read whole.
    static func load(path: String) throws -> ReportFile {
        guard var data = FileManager.default.contents(atPath: path) else {
            throw ClientError("\(path): cannot read the file")
        }
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = data.dropFirst(3) }
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
}

/// Reports in batches, from a JSON file held whole or a CSV file read a chunk at a time (a file of
/// any size is submitted in the memory of one batch).
protocol ReportBatches {
    /// The next batch of at most `size` reports, each with its place in the file; nil at the end.
    mutating func next(_ size: Int) throws -> (reports: [JSONValue], places: [String])?
}

struct JSONBatches: ReportBatches {
    let file: ReportFile
    var offset = 0

    mutating func next(_ size: Int) throws -> (reports: [JSONValue], places: [String])? {
        guard offset < file.reports.count else { return nil }
        let end = min(offset + size, file.reports.count)
        defer { offset = end }
        return (Array(file.reports[offset..<end]), Array(file.places[offset..<end]))
    }
}

struct CSVBatches: ReportBatches {
    let path: String
    private let handle: FileHandle
    private var reader = ReportCSVReader()
    private var pending: [(line: Int, report: JSONValue)] = []
    private var pendingStart = 0
    private var ended = false
    static let chunk = 1 << 20

    init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ClientError("\(path): cannot read the file") }
        self.path = path
        self.handle = handle
    }

    mutating func next(_ size: Int) throws -> (reports: [JSONValue], places: [String])? {
        while pending.count - pendingStart < size && !ended {
            if pendingStart > 0 {
                pending.removeFirst(pendingStart)
                pendingStart = 0
            }
            do {
                let data = try handle.read(upToCount: Self.chunk) ?? Data()
                if data.isEmpty {
                    ended = true
                    pending += try reader.finish()
                    try? handle.close()
                } else {
                    pending += try reader.feed(data)
                }
            } catch let error as CSVError {
                throw ClientError("\(path) \(error.description)")
            }
        }
        guard pendingStart < pending.count else { return nil }
        let end = min(pendingStart + size, pending.count)
        defer { pendingStart = end }
        let slice = pending[pendingStart..<end]
        return (slice.map(\.report), slice.map { "line \($0.line)" })
    }
}
