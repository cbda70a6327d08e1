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

    /// The most bytes of JSON read whole; a larger file of reports goes as CSV, which is read
    /// a chunk at a time.
    static let maxJSONBytes = 64 << 20

    /// A JSON file, read whole (at most `maxJSONBytes`), after the bytes already read.
    static func load(_ input: InputFile) throws -> ReportFile {
        let path = input.path
        var data = input.head
        while let more = try input.read(), !more.isEmpty {
            data += more
            guard data.count <= maxJSONBytes else {
                throw ClientError("\(path): more than \(maxJSONBytes >> 20) MiB of JSON; submit it as CSV (read a chunk at a time) or in parts")
            }
        }
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = data.dropFirst(3) }
        let value: JSONValue
        do {
            value = try JSONParser.parse(Array(data))
        } catch {
            throw ClientError("\(path): not valid JSON (\(error))")
        }
        var catalog: CatalogDocument?
        let reports: [JSONValue]
        switch value {
        case .array(let list):
            reports = list
        case .object(let fields):
            if let document = fields["catalog"] {
                do {
                    catalog = try JSONValueDecoder.decode(CatalogDocument.self, from: document)
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

/// A file given to `submit`, opened once (a pipe or `-` can be read only once) with its first
/// bytes read to tell JSON from CSV. A directory or a device is refused with what it is; a FIFO
/// is waited on for a writer for `waitSeconds`, not forever.
final class InputFile {
    let path: String
    private let handle: FileHandle
    /// The first bytes, already read.
    let head: Data

    init(path: String, waitSeconds: Int = 10) throws {
        self.path = path
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw ClientError("\(path): \(String(cString: strerror(errno)))")
            }
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                guard let opened = FileHandle(forReadingAtPath: path) else {
                    throw ClientError("\(path): cannot read the file (\(String(cString: strerror(errno))))")
                }
                handle = opened
            case S_IFDIR:
                throw ClientError("\(path): is a directory; give a JSON or CSV file of reports")
            case S_IFIFO:
                handle = try Self.openFIFO(path, waitSeconds: waitSeconds)
            default:
                throw ClientError("\(path): not a regular file or a pipe")
            }
        }
        head = try handle.read(upToCount: 4096) ?? Data()
    }

    deinit { try? handle.close() }

    /// The next chunk after `head`; empty at the end.
    func read(_ count: Int = 1 << 20) throws -> Data? {
        try handle.read(upToCount: count)
    }

    /// Whether the file is read as CSV: by its name, or because it does not start like JSON
    /// (after a byte-order mark and white space).
    var isCSV: Bool {
        if path.lowercased().hasSuffix(".csv") { return true }
        let start = head.starts(with: [0xEF, 0xBB, 0xBF]) ? head.dropFirst(3) : head[...]
        let first = start.first { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
        return !(first == UInt8(ascii: "{") || first == UInt8(ascii: "["))
    }

    /// A FIFO opened without blocking, then read as usual once something writes to it; nothing
    /// within `waitSeconds` is an error (a plain open would wait for a writer forever).
    private static func openFIFO(_ path: String, waitSeconds: Int) throws -> FileHandle {
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw ClientError("\(path): cannot open the pipe (\(String(cString: strerror(errno))))") }
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, Int32(waitSeconds * 1000))
        guard ready > 0 else {
            close(fd)
            throw ClientError("\(path): a pipe nothing wrote to within \(waitSeconds) s")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
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
    private let input: InputFile
    private var path: String { input.path }
    private var reader = ReportCSVReader()
    private var pending: [(line: Int, report: JSONValue)] = []
    private var pendingStart = 0
    private var ended = false
    static let chunk = 1 << 20

    init(_ input: InputFile) throws {
        self.input = input
        do {
            pending = try reader.feed(input.head)
        } catch {
            throw ClientError("\(input.path) \(error.description)")
        }
    }

    mutating func next(_ size: Int) throws -> (reports: [JSONValue], places: [String])? {
        while pending.count - pendingStart < size && !ended {
            if pendingStart > 0 {
                pending.removeFirst(pendingStart)
                pendingStart = 0
            }
            do {
                let data = try input.read(Self.chunk) ?? Data()
                if data.isEmpty {
                    ended = true
                    pending += try reader.finish()
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
