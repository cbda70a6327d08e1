import DeliveryCore
import DeliveryMessages
import Foundation
import ServiceCores

/// The ingest's durable log, whichever database holds it: SQLite on the instance's disk
/// (`IngestLog`, the default) or PostgreSQL (`PostgresLog`, with `DELIVERY_DATABASE_URL`). Every
/// method runs on the ingest loop's thread; a write returns only after its commit.
protocol EventLog: AnyObject {
    /// This writer's stream: its seqs are gapless and only it writes them.
    var stream: String { get }
    var lastSeq: UInt64 { get }
    /// The catalog reports are validated against (with PostgreSQL: every writer's puts).
    var catalog: Catalog { get }
    var reportCount: Int { get }
    var catalogCount: Int { get }
    /// Rows of this stream that could not be read, by seq.
    var unreadable: [UInt64: String] { get }
    /// Why the log cannot take writes now, or nil.
    var writeProblem: String? { get }
    /// What the database is, for `status` and the logs (`sqlite` or `postgresql`).
    var kind: String { get }
    /// Where it is: the SQLite file, or PostgreSQL's host, port and database (no password).
    var location: String { get }

    /// Stores a validated batch atomically; reports stored before (here or, with PostgreSQL, by
    /// another writer) are duplicates acknowledged with their first stream and seq.
    func append(_ batch: [ReportValidator.Validated]) throws -> (outcomes: [LogOutcome], stored: [(event: StreamEvent, payload: [UInt8])])
    func putCatalog(_ document: CatalogDocument) throws -> (seq: UInt64, duplicate: Bool, event: StreamEvent?)
    /// This stream's events from `from` on, as JSON replay shows them.
    func events(from: UInt64, limit: Int) throws -> [StreamEvent]
    /// This stream's events from `from` on, in the internal links' binary form.
    func binaryEvents(from: UInt64, limit: Int) throws -> [EventBatch.Entry]
    /// The report later in the order of reports than the one at (stream, seq), of the same
    /// source, period and entity, if any.
    func superseding(stream: String, seq: UInt64) throws -> Superseding?
    /// Learns whether writes work again (called every loop turn; cheap when nothing is wrong).
    func probe(force: Bool)
    /// Takes the catalog puts other writers made (PostgreSQL); true when there were new ones.
    /// SQLite has one writer: nothing to take.
    func refreshCatalog() -> Bool
    func close() throws
}

/// What became of one report of a batch (decided by `IngestCore.plan`).
typealias LogOutcome = IngestCore.LogOutcome

/// One stored row, read and checked: a catalog put, a report (with its stored bytes), or what
/// is wrong with it.
enum StoredEvent {
    case catalog(CatalogDocument, json: [UInt8])
    case report(DeliveryReport, payload: [UInt8])
    case unreadable(String)

    /// A row's payload, checked against its hash and decoded by type.
    static func read(type: String, payload: [UInt8]?, hash: String?) -> StoredEvent {
        guard let payload else { return .unreadable("the row has no payload") }
        if let hash, ReportValidator.fnv1a(bytes: payload) != hash {
            return .unreadable("the payload does not match its hash (stored \(hash))")
        }
        if type == MessageType.catalogAccepted.rawValue {
            return decode(CatalogDocument.self, payload) { .catalog($0, json: payload) }
        }
        if StoredReport.isBinary(payload) {
            do {
                return .report(try StoredReport.decode(payload), payload: payload)
            } catch {
                return .unreadable("the payload does not read: \(error)")
            }
        }
        return decode(DeliveryReport.self, payload) { .report($0, payload: payload) }
    }

    /// A stored JSON payload (older report rows, every catalog put) read by the project's parser.
    private static func decode<T: Decodable>(_ type: T.Type, _ payload: [UInt8], _ event: (T) -> StoredEvent) -> StoredEvent {
        do {
            return event(try JSONValueDecoder.decode(type, from: JSONParser.parse(payload)))
        } catch let error as DecodingError {
            return .unreadable("the payload does not parse: \(ProtocolError(describing: error).message)")
        } catch {
            return .unreadable("the payload does not parse: \(error)")
        }
    }

    /// As JSON replay shows it.
    func logged(stream: String, seq: UInt64, type: String, topic: String) -> StreamEvent {
        switch self {
        case .catalog(let document, _):
            StreamEvent(stream: stream, seq: seq, content: .catalog(document))
        case .report(let report, _):
            StreamEvent(stream: stream, seq: seq, content: .report(report))
        case .unreadable(let problem):
            StreamEvent(stream: stream, seq: seq, content: .unreadable(type: type, problem: problem), storedTopic: topic)
        }
    }

    /// In the internal links' binary form: a report's stored bytes (an older JSON row converted).
    func entry(seq: UInt64, type: String) -> EventBatch.Entry {
        switch self {
        case .catalog(_, let json): .catalog(seq: seq, json: json)
        case .report(let report, let payload): .report(seq: seq, stored: StoredReport.isBinary(payload) ? payload : StoredReport.encode(report))
        case .unreadable(let problem): .problem(seq: seq, type: type, text: problem)
        }
    }
}

/// A report's (source, period, entity), hashed (FNV-1a 64 over the parts, each followed by a
/// separator byte), as a signed integer for the databases.
func reportSlot(_ report: DeliveryReport) -> Int64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    // Another measure, or a powertrain's part, is its own figure: it neither supersedes nor is
    // superseded by the whole deliveries figure (added only when present, so that every slot of
    // before stays what it was).
    var parts = [report.source, report.period, report.entity.level.rawValue, report.entity.id]
    if let measure = report.measure { parts.append("measure=" + measure.rawValue) }
    if let powertrain = report.powertrain { parts.append("powertrain=" + powertrain.rawValue) }
    for part in parts {
        for byte in part.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        hash ^= 0x1F
        hash = hash &* 0x100_0000_01b3
    }
    return Int64(bitPattern: hash)
}

/// What a log holds beside its rows, the same for either database: the catalog merged from the
/// puts, the counts `status` gives, and the rows set aside.
struct LogContents {
    var catalog = Catalog()
    /// This stream's last catalog put.
    var lastCatalogSeq: UInt64 = 0
    var reportCount = 0
    var catalogCount = 0
    /// Rows that could not be read, by seq.
    var unreadable: [UInt64: String] = [:]

    /// The seq to acknowledge a put with when the catalog holds it already (stored once).
    func repeated(_ document: CatalogDocument) -> UInt64? {
        lastCatalogSeq > 0 && catalog.holds(document) ? lastCatalogSeq : nil
    }

    /// The catalog with a put merged; a put whose names collide with other entities' is refused.
    func merging(_ document: CatalogDocument) throws -> Catalog {
        var merged = catalog
        try merged.merge(document, refusingCollisions: true)
        return merged
    }

    /// A put of this stream stored at `seq`.
    mutating func stored(_ merged: Catalog, at seq: UInt64) {
        lastCatalogSeq = seq
        catalog = merged
        catalogCount += 1
    }

    /// Sets a row aside; true the first time (to be logged once).
    mutating func setAside(_ seq: UInt64, _ problem: String) -> Bool {
        guard unreadable[seq] == nil else { return false }
        unreadable[seq] = problem
        return true
    }
}

extension EventLog {
    /// The event of a catalog put stored at `seq`.
    func catalogEvent(_ document: CatalogDocument, seq: UInt64) -> StreamEvent {
        StreamEvent(stream: stream, seq: seq, content: .catalog(document))
    }
}
