import DeliveryCore
import DeliveryMessages
import Foundation
import GRDB
import Logging
import ServiceKit

/// The SQLite log's stream id and schema versions.
extension IngestLog {
    /// A stream id for a new log: the instance name and a random part made with the log, so
    /// that two logs never share an id (two ingests with one instance name, or a data dir
    /// replaced behind an endpoint, show as different streams). Kept in the log from then on.
    static func newStreamId(instance: String) -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        var generator = SystemRandomNumberGenerator()
        return "ingest-\(instance)-" + String((0..<8).map { _ in alphabet[Int(generator.next() % 36)] })
    }

    /// The log's schema, one step per version (kept in `PRAGMA user_version`). A log from before
    /// versions (0) takes every step; each step looks at what the file has, so a log that already
    /// has a column is not altered again. A step that fails stops the start with its reason.
    static let migrations: [(version: Int32, name: String, apply: @Sendable (Database) throws -> Void)] = [
        (1, "the events and meta tables", { db in
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
        }),
        // Older rows have no hash: they are checked by parsing alone.
        (2, "payload hashes", { db in
            if try !db.columns(in: "events").contains(where: { $0.name == "payloadHash" }) {
                try db.execute(sql: "ALTER TABLE events ADD COLUMN payloadHash TEXT")
            }
        }),
        // Each report's (source, period, entity) as a hash, and its reportedAt: what tells a
        // repeated report that a later one superseded it. Older rows have neither.
        (3, "report slots", { db in
            let columns = try db.columns(in: "events").map(\.name)
            if !columns.contains("slot") { try db.execute(sql: "ALTER TABLE events ADD COLUMN slot INTEGER") }
            if !columns.contains("reportedAtMillis") { try db.execute(sql: "ALTER TABLE events ADD COLUMN reportedAtMillis INTEGER") }
        }),
    ]

    static var schemaVersion: Int32 { migrations.last?.version ?? 0 }

    /// Brings the file to `schemaVersion`, one transaction per step; a file from a newer build is
    /// refused rather than written in a form it does not expect.
    static func migrate(_ database: DatabasePool, path: String, logger: Logger) throws {
        let found = try database.read { db in try Int32.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
        guard found <= schemaVersion else {
            throw StartError("the log \(path) has schema version \(found), newer than this build's \(schemaVersion); run a newer delivery-ingest")
        }
        for step in migrations where step.version > found {
            do {
                try database.write { db in
                    try step.apply(db)
                    try db.execute(sql: "PRAGMA user_version = \(step.version)")
                }
            } catch {
                throw StartError("cannot bring the log \(path) to schema version \(step.version) (\(step.name)): \(Self.explain(error))")
            }
            logger.info("log schema", metadata: ["path": "\(path)", "version": "\(step.version)", "step": "\(step.name)"])
        }
    }
}
