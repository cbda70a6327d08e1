import DeliveryCore
import DeliveryMessages
import Foundation
import GRDB

/// The ingest's durable log: every accepted report and catalog document, numbered by seq, in one
/// SQLite file (WAL, synchronous FULL). A batch is one transaction; it is acknowledged only after
/// the commit returns.
final class IngestLog {
    private let database: DatabasePool
    let stream: String
    private(set) var lastSeq: UInt64
    /// Every stored report id, with its seq and content hash, for duplicate checks.
    private var reportIndex: [String: (seq: UInt64, hash: String)] = [:]
    private(set) var catalog = Catalog()
    private var lastCatalogSeq: UInt64 = 0
    private(set) var reportCount = 0
    private(set) var catalogCount = 0

    init(directory: String, instance: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        database = try DatabasePool(path: directory + "/ingest.sqlite", configuration: configuration)
        try database.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS events (
                        seq INTEGER PRIMARY KEY,
                        type TEXT NOT NULL,
                        topic TEXT NOT NULL,
                        reportId TEXT,
                        contentHash TEXT,
                        payload BLOB NOT NULL
                    );
                    CREATE UNIQUE INDEX IF NOT EXISTS events_report ON events(reportId) WHERE reportId IS NOT NULL;
                    """
            )
            if try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'stream'") == nil {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('stream', ?)", arguments: ["ingest-" + instance])
            }
        }
        stream = try database.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'stream'")!
        }
        lastSeq = 0
        try load()
    }

    /// Rebuilds the in-memory indexes (report ids, catalog) from the file.
    private func load() throws {
        try database.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, type, reportId, contentHash, payload FROM events ORDER BY seq")
            let decoder = JSONDecoder()
            while let row = try rows.next() {
                let seq = UInt64(row["seq"] as Int64)
                lastSeq = seq
                let type: String = row["type"]
                if type == MessageType.catalogAccepted {
                    let document = try decoder.decode(CatalogDocument.self, from: row["payload"] as Data)
                    try catalog.merge(document)
                    lastCatalogSeq = seq
                    catalogCount += 1
                } else if let id: String = row["reportId"] {
                    reportIndex[id] = (seq, row["contentHash"] ?? "")
                    reportCount += 1
                }
            }
        }
    }

    enum Outcome {
        case stored(seq: UInt64)
        case duplicate(seq: UInt64)
    }

    /// Stores a validated batch atomically. Reports already stored with the same content are
    /// duplicates (acknowledged with their first seq, not stored again); the same id with other
    /// content rejects the whole batch. Returns the outcome per report and the newly stored events.
    func append(_ batch: [ReportValidator.Validated]) throws -> (outcomes: [Outcome], stored: [(event: LoggedEvent, payload: [UInt8])]) {
        var outcomes: [Outcome] = []
        var fresh: [(Int, ReportValidator.Validated)] = []
        var seenInBatch: [String: (index: Int, hash: String)] = [:]
        for (index, item) in batch.enumerated() {
            let id = item.report.id
            if let known = reportIndex[id] {
                guard known.hash == item.contentHash else {
                    throw ProtocolError(
                        .invalidReport,
                        "report id '\(id)' is already stored with other content; a revision needs its own id",
                        details: ["index": .int(Int64(index)), "field": .string("id")]
                    )
                }
                outcomes.append(.duplicate(seq: known.seq))
            } else if let earlier = seenInBatch[id] {
                guard earlier.hash == item.contentHash else {
                    throw ProtocolError(
                        .invalidReport,
                        "report id '\(id)' appears twice in the batch with different content",
                        details: ["index": .int(Int64(index)), "field": .string("id")]
                    )
                }
                outcomes.append(.duplicate(seq: lastSeq + UInt64(fresh.firstIndex { $0.0 == earlier.index }! + 1)))
            } else {
                seenInBatch[id] = (index, item.contentHash)
                fresh.append((index, item))
                outcomes.append(.stored(seq: lastSeq + UInt64(fresh.count)))
            }
        }
        guard !fresh.isEmpty else { return (outcomes, []) }
        var events: [(event: LoggedEvent, payload: [UInt8])] = []
        var seq = lastSeq
        for (_, item) in fresh {
            seq += 1
            let event = LoggedEvent(
                type: MessageType.reportAccepted, stream: stream, seq: seq, topic: item.report.entity.topic("report"),
                report: item.report, catalog: nil
            )
            events.append((event, try CompactJSONEncoder.encode(item.report)))
        }
        try database.write { db in
            let statement = try db.makeStatement(
                sql: "INSERT INTO events (seq, type, topic, reportId, contentHash, payload) VALUES (?, ?, ?, ?, ?, ?)"
            )
            for ((event, payload), (_, item)) in zip(events, fresh) {
                try statement.execute(arguments: [
                    Int64(event.seq), event.type, event.topic, item.report.id, item.contentHash, Data(payload),
                ])
            }
        }
        lastSeq = seq
        for ((event, _), (_, item)) in zip(events, fresh) {
            reportIndex[item.report.id] = (event.seq, item.contentHash)
        }
        reportCount += fresh.count
        return (outcomes, events)
    }

    /// Merges a catalog document and stores it. One that changes nothing is acknowledged with the
    /// last catalog seq and not stored again.
    func putCatalog(_ document: CatalogDocument) throws -> (seq: UInt64, duplicate: Bool, event: LoggedEvent?) {
        var merged = catalog
        try merged.merge(document)
        if merged.document == catalog.document && lastCatalogSeq > 0 {
            return (lastCatalogSeq, true, nil)
        }
        let seq = lastSeq + 1
        let payload = try JSONEncoder().encode(document)
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO events (seq, type, topic, payload) VALUES (?, ?, ?, ?)",
                arguments: [Int64(seq), MessageType.catalogAccepted, Topic.catalog, payload]
            )
        }
        lastSeq = seq
        lastCatalogSeq = seq
        catalog = merged
        catalogCount += 1
        let event = LoggedEvent(type: MessageType.catalogAccepted, stream: stream, seq: seq, topic: Topic.catalog, report: nil, catalog: document)
        return (seq, false, event)
    }

    /// The stored events from `from` on, in order.
    func events(from: UInt64, limit: Int) throws -> [LoggedEvent] {
        try database.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT seq, type, topic, payload FROM events WHERE seq >= ? ORDER BY seq LIMIT ?",
                arguments: [Int64(clamping: from), limit]
            )
            let decoder = JSONDecoder()
            return try rows.map { row in
                let type: String = row["type"]
                let payload: Data = row["payload"]
                let seq = UInt64(row["seq"] as Int64)
                let topic: String = row["topic"]
                if type == MessageType.catalogAccepted {
                    return LoggedEvent(type: type, stream: stream, seq: seq, topic: topic, report: nil, catalog: try decoder.decode(CatalogDocument.self, from: payload))
                }
                return LoggedEvent(type: type, stream: stream, seq: seq, topic: topic, report: try decoder.decode(DeliveryReport.self, from: payload), catalog: nil)
            }
        }
    }

    func close() throws {
        try database.close()
    }
}
