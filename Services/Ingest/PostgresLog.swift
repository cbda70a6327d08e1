import DeliveryCore
import DeliveryMessages
import Foundation
import Logging
import ServiceCores
import NIOCore
import PostgresNIO
import ServiceKit

/// The ingest's durable log in PostgreSQL (`DELIVERY_DATABASE_URL=postgres://…`): for writers
/// that must outlive one disk. Every ingest instance writes its own stream (its rows keyed by
/// stream and seq, gapless: one writer per stream, held by an advisory lock); report ids are unique
/// across every stream (a repeat sent to another instance is acknowledged with its first stream
/// and seq); catalog puts are shared (each instance validates against every writer's puts); the
/// instance keeps nothing on its disk. A batch is one transaction, acknowledged after COMMIT.
///
/// When PostgreSQL cannot be reached, is read-only or refuses writes, `writeProblem` says why,
/// requests get `unavailable`, nothing is acknowledged, and `probe` reconnects by itself.
final class PostgresLog: EventLog, @unchecked Sendable {
    var kind: String { "postgresql" }
    var location: String { where_ }
    private let configuration: PostgresConnection.Configuration
    let where_: String
    private let instance: String
    let logger: Logger
    /// Internal, not private: the health checks (PostgresHealth.swift) set these too.
    var connection: PostgresConnection?
    private var connectionID = 0
    /// Set once this instance's stream is known (from its row in `delivery_streams`).
    private(set) var stream: String
    private(set) var lastSeq: UInt64 = 0
    var writeProblem: String? = "connecting to PostgreSQL"
    var lastProbe: Int64 = 0
    /// The catalog, the counts and the rows set aside.
    private var contents = LogContents()
    var catalog: Catalog { contents.catalog }
    var reportCount: Int { contents.reportCount }
    var catalogCount: Int { contents.catalogCount }
    var unreadable: [UInt64: String] { contents.unreadable }
    /// The catalog puts merged so far (every writer's), as "stream#seq".
    private var catalogSeen = Set<String>()
    /// How long one database round trip may take before the connection is given up.
    static let timeout: Duration = .seconds(3)

    init(url: String, instance: String, logger: Logger) throws {
        let parsed = try Self.parse(url)
        configuration = parsed.configuration
        where_ = parsed.display
        self.instance = instance
        self.logger = logger
        stream = "ingest-\(instance)-unknown"
        probe(force: true)
    }

    // MARK: Running async work from the loop's thread

    /// Runs a database step on the caller's thread (the ingest loop; never a task's), waiting for
    /// it at most `timeout`. Past that the step is abandoned (its task cancelled, the connection
    /// closed and dropped) and the caller gets `LogTimeout`: a query on a connection whose server
    /// went away may never be answered, and the loop must go on answering `ping`.
    private func blocking<T: Sendable>(_ step: @escaping @Sendable () async throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        let task = Task {
            let result: Result<T, any Error>
            do {
                result = .success(try await step())
            } catch {
                result = .failure(error)
            }
            box.set(result)
            done.signal()
        }
        guard done.wait(timeout: .now() + .seconds(Int(Self.timeout.components.seconds))) == .success else {
            task.cancel()
            if let connection {
                self.connection = nil
                Task { try? await connection.close() }
            }
            throw LogTimeout()
        }
        return try box.get()
    }

    private final class Box<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var result: Result<T, any Error>?

        func set(_ value: Result<T, any Error>) { lock.withLock { result = value } }
        func get() throws -> T { try lock.withLock { result! }.get() }
    }

    struct LogTimeout: Error, CustomStringConvertible {
        var description: String { "PostgreSQL did not answer within \(PostgresLog.timeout)" }
    }

    func query(_ query: PostgresQuery) throws -> [PostgresRow] {
        guard let connection else { throw ProtocolError(.unavailable, writeProblem ?? "not connected to PostgreSQL") }
        let logger = logger
        return try blocking {
            var rows: [PostgresRow] = []
            for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
            return rows
        }
    }

    // MARK: Connecting

    /// Connects, makes the tables, claims this instance's stream and reads what it needs.
    func connect() throws {
        connectionID += 1
        let (configuration, logger, id) = (configuration, logger, connectionID)
        let fresh = try blocking {
            try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        }
        connection = fresh
        do {
            try prepare()
        } catch {
            try? blocking { try await fresh.close() }
            connection = nil
            throw error
        }
    }

    private func prepare() throws {
        // One instance at a time makes the tables (CREATE IF NOT EXISTS races otherwise).
        _ = try query("BEGIN")
        do {
            _ = try query("SELECT pg_advisory_xact_lock(7270261)")
            try migrate()
            let proposed = IngestLog.newStreamId(instance: instance)
            _ = try query("INSERT INTO delivery_streams (instance, stream) VALUES (\(instance), \(proposed)) ON CONFLICT (instance) DO NOTHING")
            _ = try query("COMMIT")
        } catch {
            _ = try? query("ROLLBACK")
            throw error
        }
        guard let row = try query("SELECT stream FROM delivery_streams WHERE instance = \(instance)").first else {
            throw StartError("PostgreSQL has no stream row for instance '\(instance)'")
        }
        let claimed = try row.decode(String.self)
        // One writer per stream: the lock lives as long as this connection.
        let locked = try query("SELECT pg_try_advisory_lock(hashtextextended(\(claimed), 0))").first.map { try $0.decode(Bool.self) } ?? false
        guard locked else {
            throw ProtocolError(.unavailable, "another ingest with instance name '\(instance)' is writing stream \(claimed); waiting for it to stop")
        }
        if stream != claimed, !stream.hasSuffix("-unknown") {
            logger.warning("the stream changed", metadata: ["was": "\(stream)", "now": "\(claimed)"])
        }
        stream = claimed
        lastSeq = UInt64(clamping: try query("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM delivery_events WHERE stream = \(stream)").first?.decode(Int64.self) ?? 0)
        contents.reportCount = Int(try query("SELECT COUNT(*)::BIGINT FROM delivery_events WHERE stream = \(stream) AND report_id IS NOT NULL").first?.decode(Int64.self) ?? 0)
        contents.catalog = Catalog()
        catalogSeen = []
        contents.catalogCount = 0
        contents.lastCatalogSeq = 0
        try takeCatalogPuts()
    }

    /// Merges every catalog put not merged yet, from every stream, in the order they were stored.
    private func takeCatalogPuts() throws {
        let rows = try query(
            "SELECT stream, seq, payload, payload_hash FROM delivery_events WHERE type = 'catalog.accepted' ORDER BY stored_at, stream, seq"
        )
        for row in rows {
            let (rowStream, seq, payload, hash) = try row.decode((String, Int64, Data, String?).self)
            let key = "\(rowStream)#\(seq)"
            guard !catalogSeen.contains(key) else { continue }
            catalogSeen.insert(key)
            switch StoredEvent.read(type: MessageType.catalogAccepted.rawValue, payload: Array(payload), hash: hash) {
            case .catalog(let document, _):
                do {
                    try contents.catalog.merge(document)
                    if rowStream == stream {
                        contents.catalogCount += 1
                        contents.lastCatalogSeq = max(contents.lastCatalogSeq, UInt64(clamping: seq))
                    }
                } catch {
                    logger.error("a stored catalog put does not merge; it is set aside", metadata: ["stream": "\(rowStream)", "seq": "\(seq)", "error": "\(error)"])
                }
            case .unreadable(let problem):
                if rowStream == stream { setAside(UInt64(clamping: seq), problem) }
            case .report:
                continue
            }
        }
    }

    func refreshCatalog() -> Bool {
        guard connection != nil, writeProblem == nil else { return false }
        let before = catalogSeen.count
        do {
            try takeCatalogPuts()
        } catch {
            failed(error)
        }
        return catalogSeen.count > before
    }

    func setAside(_ seq: UInt64, _ problem: String) {
        guard contents.setAside(seq, problem) else { return }
        logger.error("a stored event cannot be read; it is set aside", metadata: ["stream": "\(stream)", "seq": "\(seq)", "problem": "\(problem)"])
    }

    // MARK: Writing

    /// Stores a batch. Most batches are new reports: the first try assumes so and writes the batch
    /// as one statement (one round trip, atomic by itself). When one of its ids is stored already
    /// (a retried batch, the same report sent to another writer), the unique index refuses it and
    /// the batch is written again after looking its ids up. A commit whose answer was lost moves
    /// this stream on: the last seq is read again before each further try.
    func append(_ batch: [ReportValidator.Validated]) throws -> (outcomes: [LogOutcome], stored: [(event: StreamEvent, payload: [UInt8])]) {
        for attempt in 0..<3 {
            do {
                return try appendOnce(batch, lookUp: attempt > 0)
            } catch is DuplicateRace {
                // Read again: the other writer's rows are committed now, and are duplicates.
                lastSeq = UInt64(clamping: try query("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM delivery_events WHERE stream = \(stream)").first?.decode(Int64.self) ?? 0)
            }
        }
        throw ProtocolError(.busy, "another writer is storing the same reports; send the batch again", details: ["retryAfterMs": .int(100)])
    }

    private func appendOnce(_ batch: [ReportValidator.Validated], lookUp: Bool) throws -> (outcomes: [LogOutcome], stored: [(event: StreamEvent, payload: [UInt8])]) {
        typealias Appended = (outcomes: [LogOutcome], stored: [(event: StreamEvent, payload: [UInt8])])
        let result: Appended = try atomically(transaction: lookUp) { () throws -> Appended in
            // Ids stored before, by any writer.
            var known: [String: (stream: String, seq: UInt64, hash: String)] = [:]
            if lookUp {
                let ids = Array(Set(batch.map(\.report.id)))
                for start in stride(from: 0, to: ids.count, by: 5000) {
                    let part = Array(ids[start..<min(start + 5000, ids.count)])
                    for row in try query("SELECT report_id, stream, seq, content_hash FROM delivery_events WHERE report_id = ANY(\(part))") {
                        let (id, rowStream, seq, hash) = try row.decode((String, String, Int64, String?).self)
                        known[id] = (rowStream, UInt64(clamping: seq), hash ?? "")
                    }
                }
            }
            let plan = try IngestCore.plan(batch, stream: stream, lastSeq: lastSeq) { known[$0] }
            let (outcomes, fresh) = (plan.outcomes, plan.fresh)
            guard !fresh.isEmpty else { return (outcomes, []) }
            var events: [(event: StreamEvent, payload: [UInt8])] = []
            events.reserveCapacity(fresh.count)
            for (offset, item) in fresh.enumerated() {
                let event = StreamEvent(stream: stream, seq: lastSeq + UInt64(offset + 1), content: .report(item.report))
                events.append((event, StoredReport.encode(item.report)))
            }
            try insert(fresh, events)
            return (outcomes, events)
        }
        if let last = result.stored.last?.event.seq {
            lastSeq = last
            contents.reportCount += result.stored.count
        }
        return result
    }

    /// The new reports as one INSERT: a column of values per bind (`unnest` of arrays), so a
    /// batch of any size is one statement with a bind per column.
    private func insert(_ fresh: [ReportValidator.Validated], _ events: [(event: StreamEvent, payload: [UInt8])]) throws {
        var seqs: [Int64] = [], topics: [String] = [], ids: [String] = [], hashes: [String] = []
        var payloads: [ByteBuffer] = [], payloadHashes: [String] = [], slots: [Int64] = [], times: [Int64] = []
        seqs.reserveCapacity(fresh.count)
        for (item, stored) in zip(fresh, events) {
            seqs.append(Int64(stored.event.seq))
            topics.append(stored.event.topic)
            ids.append(item.report.id)
            hashes.append(item.contentHash)
            payloads.append(ByteBuffer(bytes: stored.payload))
            payloadHashes.append(ReportValidator.fnv1a(bytes: stored.payload))
            slots.append(reportSlot(item.report))
            times.append(item.reportedAtMillis)
        }
        _ = try query(
            """
            INSERT INTO delivery_events (stream, seq, type, topic, report_id, content_hash, payload, payload_hash, slot, reported_at_millis)
            SELECT \(stream), r.seq, \(MessageType.reportAccepted.rawValue), r.topic, r.id, r.hash, r.payload, r.payload_hash, r.slot, r.at
            FROM unnest(\(seqs)::BIGINT[], \(topics)::TEXT[], \(ids)::TEXT[], \(hashes)::TEXT[], \(payloads)::BYTEA[], \(payloadHashes)::TEXT[], \(slots)::BIGINT[], \(times)::BIGINT[])
                AS r(seq, topic, id, hash, payload, payload_hash, slot, at)
            """
        )
    }

    func putCatalog(_ document: CatalogDocument) throws -> (seq: UInt64, duplicate: Bool, event: StreamEvent?) {
        // Every writer's puts first: collisions are checked against the shared catalog.
        try transaction { try takeCatalogPuts() }
        if let repeated = contents.repeated(document) { return (repeated, true, nil) }
        let merged = try contents.merging(document)
        let seq = lastSeq + 1
        let payload = try CompactJSONEncoder.encode(document)
        try transaction {
            _ = try query(
                """
                INSERT INTO delivery_events (stream, seq, type, topic, payload, payload_hash)
                VALUES (\(stream), \(Int64(seq)), \(MessageType.catalogAccepted.rawValue), \(Topic.catalog), \(ByteBuffer(bytes: payload)), \(ReportValidator.fnv1a(bytes: payload)))
                """
            )
        }
        lastSeq = seq
        contents.stored(merged, at: seq)
        catalogSeen.insert("\(stream)#\(seq)")
        return (seq, false, catalogEvent(document, seq: seq))
    }

    func close() throws {
        guard let connection else { return }
        self.connection = nil
        try? blocking { try await connection.close() }
    }
}
