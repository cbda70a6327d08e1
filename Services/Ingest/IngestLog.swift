import DeliveryCore
import DeliveryMessages
import Foundation
import GRDB
import Logging
import ServiceCores
import ServiceKit

/// The ingest's durable log: every accepted report and catalog document, numbered by seq, in one
/// SQLite file (WAL, synchronous FULL). A batch is one transaction; it is acknowledged only after
/// the commit returns.
///
/// Every row keeps a hash of its payload. A row whose payload no longer parses or no longer
/// matches its hash is never served as fact: replay hands it on as an event with a `problem`, so
/// that followers set it aside by name and go on.
final class IngestLog: EventLog {
    var kind: String { "sqlite" }
    let location: String
    private let database: DatabasePool
    private let logger: Logger
    let stream: String
    private(set) var lastSeq: UInt64
    /// Per (source, period, entity) hash, the report latest in the order of reports (its
    /// `reportedAt` and seq): tells a repeated report that a later one superseded it. Kept in
    /// memory (an index on the table halved the write rate) and rebuilt at start.
    private var latestBySlot: [Int64: (at: Int64, seq: UInt64)] = [:]

    private func noteLatest(_ slot: Int64, at: Int64, seq: UInt64) {
        if let held = latestBySlot[slot], (held.at, held.seq) > (at, seq) { return }
        latestBySlot[slot] = (at, seq)
    }

    /// The catalog, the counts and the rows set aside (found at start or by replay).
    private var contents = LogContents()
    var catalog: Catalog { contents.catalog }
    var reportCount: Int { contents.reportCount }
    var catalogCount: Int { contents.catalogCount }
    var unreadable: [UInt64: String] { contents.unreadable }

    /// Every stored report id, with its seq and content hash, for duplicate checks.
    private var reportIndex: [String: (seq: UInt64, hash: String)] = [:]
    /// Why the log cannot take writes now (read-only, disk full, damaged), or nil.
    private var diskProblem: String?
    /// The report index being read on a thread of its own at start (nil once installed): until
    /// then `ping` answers `unavailable` saying so, replay and status already work, and a write
    /// waits for it.
    private var indexLoad: IndexLoad?
    var writeProblem: String? {
        if indexLoad != nil { return "loading the log's report index (\(lastSeq) events)" }
        return diskProblem
    }
    private var lastProbe: Int64 = 0

    init(directory: String, instance: String, logger: Logger) throws {
        self.logger = logger
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let path = directory + "/ingest.sqlite"
        location = path
        do {
            database = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StartError("cannot open the log \(path): \(Self.explain(error))")
        }
        try Self.migrate(database, path: path, logger: logger)
        if try database.read({ db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'stream'") }) == nil {
            try? database.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO meta (key, value) VALUES ('stream', ?)", arguments: [Self.newStreamId(instance: instance)])
            }
        }
        guard let stream = try database.read({ db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'stream'") })
        else {
            throw StartError("the log \(path) has no stream id and cannot be written")
        }
        self.stream = stream
        lastSeq = 0
        try load()
        // The report index (a million reports: about a second) and the file's check are read
        // on a thread of their own, so that the ingest answers from its first moment.
        let load = IndexLoad()
        indexLoad = load
        let database = database
        Thread.detachNewThread {
            let result = Result { () throws -> IndexLoad.Loaded in
                let (index, latest) = try Self.readReportIndex(database)
                let check = try database.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
                return IndexLoad.Loaded(reportIndex: index, latestBySlot: latest, check: check)
            }
            load.finish(result)
        }
    }

    /// Installs the report index once its thread has read it (called every loop turn).
    private func settleIndexLoad() {
        guard let load = indexLoad, let result = load.take() else { return }
        indexLoad = nil
        switch result {
        case .success(let loaded):
            reportIndex = loaded.reportIndex
            latestBySlot = loaded.latestBySlot
            contents.reportCount = reportIndex.count
            logger.info("the log's report index is loaded", metadata: ["reports": "\(reportCount)"])
            if loaded.check != ["ok"] {
                diskProblem = "the log file is damaged (\(loaded.check.prefix(3).joined(separator: "; "))); restore it from a backup"
                logger.error("the log cannot be written", metadata: ["problem": "\(diskProblem ?? "")"])
            } else {
                probe(force: true)
            }
        case .failure(let error):
            diskProblem = "the log's reports cannot be read: \(Self.explain(error))"
            logger.error("the log cannot be written", metadata: ["problem": "\(diskProblem ?? "")"])
        }
    }

    /// Blocks until the report index is in: a write that comes while it loads waits for it (a
    /// second at most for a million reports), as it waited for the ingest to bind before.
    func waitForIndex() {
        while indexLoad != nil {
            settleIndexLoad()
            if indexLoad != nil { Thread.sleep(forTimeInterval: 0.005) }
        }
    }

    /// Every stored report id with its seq and content hash, and the latest report per slot.
    private static func readReportIndex(
        _ database: DatabasePool
    ) throws -> ([String: (seq: UInt64, hash: String)], [Int64: (at: Int64, seq: UInt64)]) {
        try database.read { db in
            var index: [String: (seq: UInt64, hash: String)] = [:]
            var latest: [Int64: (at: Int64, seq: UInt64)] = [:]
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE reportId IS NOT NULL") ?? 0
            index.reserveCapacity(min(count, 1 << 22))
            let reports = try Row.fetchCursor(db, sql: "SELECT seq, reportId, contentHash, slot, reportedAtMillis FROM events WHERE reportId IS NOT NULL")
            while let row = try reports.next() {
                let seq = UInt64(clamping: row[0] as Int64)
                index[row[1] as String] = (seq, row[2] ?? "")
                if let slot = row[3] as Int64?, let at = row[4] as Int64? {
                    if let held = latest[slot], (held.at, held.seq) > (at, seq) { continue }
                    latest[slot] = (at, seq)
                }
            }
            return (index, latest)
        }
    }

    /// Rebuilds the catalog and the last seq from the file (the report index: `readReportIndex`). A catalog row that
    /// does not read is named and set aside; the rest loads.
    private func load() throws {
        try database.read { db in
            lastSeq = UInt64(clamping: try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM events") ?? 0)
            // Catalog puts with their payloads (few); reports by id and hash alone (the payloads
            // of a million reports are not read to start).
            let catalogs = try Row.fetchCursor(
                db, sql: "SELECT seq, type, payload, payloadHash FROM events WHERE type = ? ORDER BY seq", arguments: [MessageType.catalogAccepted.rawValue]
            )
            while let row = try catalogs.next() {
                let seq = UInt64(clamping: row["seq"] as Int64)
                switch StoredEvent.read(type: row["type"], payload: (row["payload"] as Data?).map { Array($0) }, hash: row["payloadHash"]) {
                case .catalog(let document, _):
                    do {
                        try contents.catalog.merge(document)
                        contents.lastCatalogSeq = seq
                        contents.catalogCount += 1
                    } catch {
                        setAside(seq, "the catalog document does not merge: \(error)")
                    }
                case .unreadable(let problem):
                    setAside(seq, problem)
                case .report:
                    setAside(seq, "a catalog row holds a report")
                }
            }
        }
    }

    private func setAside(_ seq: UInt64, _ problem: String) {
        guard contents.setAside(seq, problem) else { return }
        logger.error("a stored event cannot be read; it is set aside", metadata: ["stream": "\(stream)", "seq": "\(seq)", "problem": "\(problem)"])
    }

    /// The report of the same (source, period, entity) latest in the order of reports, if it is
    /// later than the report at `seq`: that one no longer stands. Nil for rows from before slots.
    func superseding(stream: String, seq: UInt64) throws -> Superseding? {
        guard stream == self.stream else { return nil }
        return try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT slot, reportedAtMillis FROM events WHERE seq = ?", arguments: [Int64(seq)]),
                let slot = row["slot"] as Int64?, let at = row["reportedAtMillis"] as Int64?,
                let latest = latestBySlot[slot], (latest.at, latest.seq) > (at, seq),
                let id = try String.fetchOne(db, sql: "SELECT reportId FROM events WHERE seq = ?", arguments: [Int64(latest.seq)])
            else { return nil }
            return Superseding(id: id, stream: stream, seq: latest.seq)
        }
    }

    /// Stores a validated batch atomically. Reports already stored with the same content are
    /// duplicates (acknowledged with their first seq, not stored again); the same id with other
    /// content rejects the whole batch. Returns the outcome per report and the newly stored events.
    func append(_ batch: [ReportValidator.Validated]) throws -> (outcomes: [LogOutcome], stored: [(event: StreamEvent, payload: [UInt8])]) {
        waitForIndex()
        let plan = try IngestCore.plan(batch, stream: stream, lastSeq: lastSeq) { [reportIndex, stream] id in
            reportIndex[id].map { (stream, $0.seq, $0.hash) }
        }
        let (outcomes, fresh) = (plan.outcomes, plan.fresh)
        guard !fresh.isEmpty else { return (outcomes, []) }
        var events: [(event: StreamEvent, payload: [UInt8])] = []
        var seq = lastSeq
        for item in fresh {
            seq += 1
            let event = StreamEvent(stream: stream, seq: seq, content: .report(item.report))
            // The bytes stored are the bytes the feed and replay carry (`StoredReport`).
            events.append((event, StoredReport.encode(item.report)))
        }
        let slots = fresh.map { reportSlot($0.report) }
        try write { db in
            let statement = try db.makeStatement(
                sql: """
                    INSERT INTO events (seq, type, topic, reportId, contentHash, payload, payloadHash, slot, reportedAtMillis)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            for (((event, payload), item), slot) in zip(zip(events, fresh), slots) {
                try statement.execute(arguments: [
                    Int64(event.seq), event.type, event.topic, item.report.id, item.contentHash, Data(payload),
                    ReportValidator.fnv1a(bytes: payload), slot, item.reportedAtMillis,
                ])
            }
        }
        lastSeq = seq
        for (((event, _), item), slot) in zip(zip(events, fresh), slots) {
            reportIndex[item.report.id] = (event.seq, item.contentHash)
            noteLatest(slot, at: item.reportedAtMillis, seq: event.seq)
        }
        contents.reportCount += fresh.count
        return (outcomes, events)
    }


    /// Merges a catalog document and stores it; returns the seq and the stored event, or nil for
    /// the event when the put changes nothing (acknowledged with the last catalog seq, not stored
    /// again). A put whose names collide with other entities' is refused (`Catalog.merge`).
    func putCatalog(_ document: CatalogDocument) throws -> (seq: UInt64, duplicate: Bool, event: StreamEvent?) {
        waitForIndex()
        if let repeated = contents.repeated(document) { return (repeated, true, nil) }
        let merged = try contents.merging(document)
        let seq = lastSeq + 1
        let payload = Data(try CompactJSONEncoder.encode(document))
        try write { db in
            try db.execute(
                sql: "INSERT INTO events (seq, type, topic, payload, payloadHash) VALUES (?, ?, ?, ?, ?)",
                arguments: [Int64(seq), MessageType.catalogAccepted.rawValue, Topic.catalog, payload, ReportValidator.fnv1a(bytes: payload)]
            )
        }
        lastSeq = seq
        contents.stored(merged, at: seq)
        return (seq, false, catalogEvent(document, seq: seq))
    }

    /// The stored rows from `from` on, in order, each checked against its hash and decoded. A row
    /// that cannot be read keeps its place (and is named in the log and `status` once).
    func stored(from: UInt64, limit: Int) throws -> [(seq: UInt64, type: String, topic: String, event: StoredEvent)] {
        let rows = try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, type, topic, payload, payloadHash FROM events WHERE seq >= ? ORDER BY seq LIMIT ?",
                arguments: [Int64(clamping: from), limit]
            )
        }
        return rows.map { row in
            let type: String = row["type"]
            let seq = UInt64(clamping: row["seq"] as Int64)
            let event = StoredEvent.read(type: type, payload: (row["payload"] as Data?).map { Array($0) }, hash: row["payloadHash"])
            if case .unreadable(let problem) = event { setAside(seq, problem) }
            return (seq, type, row["topic"], event)
        }
    }

    /// The stored events from `from` on, as JSON replay shows them. A row that cannot be read
    /// keeps its place as an event with a `problem`.
    func events(from: UInt64, limit: Int) throws -> [StreamEvent] {
        try stored(from: from, limit: limit).map { seq, type, topic, event in event.logged(stream: stream, seq: seq, type: type, topic: topic) }
    }

    /// The stored events from `from` on, in the binary form of the internal links.
    func binaryEvents(from: UInt64, limit: Int) throws -> [EventBatch.Entry] {
        try stored(from: from, limit: limit).map { seq, type, _, event in event.entry(seq: seq, type: type) }
    }

    /// One SQLite file has one writer: there are no other writers' puts to take.
    func refreshCatalog() -> Bool { false }

    // MARK: Writing and its failures

    /// One write transaction. A failure that says the log cannot be written (read-only, full,
    /// damaged) is kept as `writeProblem` and thrown as `unavailable` with that text.
    private func write(_ body: (Database) throws -> Void) throws {
        do {
            try database.write(body)
            diskProblem = nil
        } catch let error as DatabaseError {
            guard let problem = Self.writeProblem(error) else { throw error }
            diskProblem = problem
            lastProbe = monotonicMillis()
            logger.error("the log cannot be written", metadata: ["problem": "\(problem)"])
            throw ProtocolError(.unavailable, problem + "; nothing was stored")
        }
    }

    /// Tries a small write (at most every 5 s unless forced) to learn whether the log takes
    /// writes; sets or clears `writeProblem`.
    func probe(force: Bool = false) {
        let now = monotonicMillis()
        settleIndexLoad()
        guard force || (diskProblem != nil && now - lastProbe >= 5000) else { return }
        lastProbe = now
        let was = diskProblem
        do {
            try database.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', ?)", arguments: ["\(wallMillis())"])
            }
            diskProblem = nil
            if was != nil { logger.notice("the log takes writes again") }
        } catch let error as DatabaseError {
            diskProblem = Self.writeProblem(error) ?? "the log cannot be written: \(error.message ?? "\(error.resultCode)")"
        } catch {
            diskProblem = "the log cannot be written: \(error)"
        }
        if let problem = diskProblem, problem != was {
            logger.error("the log cannot be written", metadata: ["problem": "\(problem)"])
        }
    }

    /// The plain-words reason for a write failure that is about the disk or the file, not the data.
    static func writeProblem(_ error: DatabaseError) -> String? {
        switch error.resultCode {
        case .SQLITE_FULL: "the disk holding the log is full"
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN: "the log is read-only (\(error.message ?? "permission denied"))"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: "the log file is damaged (\(error.message ?? "corrupt")); restore it from a backup"
        case .SQLITE_IOERR: "the disk holding the log fails to write (\(error.message ?? "I/O error"))"
        default: nil
        }
    }

    static func explain(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return writeProblem(error) ?? (error.message ?? "\(error.resultCode)") }
        return "\(error)"
    }

    func close() throws {
        try database.close()
    }
}

/// The report index read at start on its own thread, handed to the loop when done.
final class IndexLoad: @unchecked Sendable {
    struct Loaded {
        var reportIndex: [String: (seq: UInt64, hash: String)]
        var latestBySlot: [Int64: (at: Int64, seq: UInt64)]
        var check: [String]
    }

    private let lock = NSLock()
    private var result: Result<Loaded, any Error>?

    func finish(_ result: Result<Loaded, any Error>) {
        lock.withLock { self.result = result }
    }

    /// The result once it is there (once).
    func take() -> Result<Loaded, any Error>? {
        lock.withLock {
            defer { result = nil }
            return result
        }
    }
}
