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

    /// The log's schema, one step per version, run by GRDB's `DatabaseMigrator` (which keeps the
    /// steps applied in its `grdb_migrations` table). Each step looks at what the file has, so a
    /// log from before the migrator (only `PRAGMA user_version`, 0 to 3) takes every step and a
    /// step it had already is a no-op. A step that fails stops the start with its reason.
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

    /// The migrator with every step, named `v<version>-<name>`.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for step in migrations {
            migrator.registerMigration(identifier(step.version, step.name), migrate: step.apply)
        }
        return migrator
    }

    static func identifier(_ version: Int32, _ name: String) -> String {
        "v\(version)-" + name.replacingOccurrences(of: " ", with: "-")
    }

    /// Brings the file to `schemaVersion`, one transaction per step; a file from a newer build
    /// (a `user_version` above this build's, or a step this build does not know) is refused
    /// rather than written in a form it does not expect. `user_version` is still set, so that
    /// the version shows with any SQLite tool.
    static func migrate(_ database: DatabasePool, path: String, logger: Logger) throws {
        let migrator = Self.migrator
        let (found, superseded, before, complete) = try database.read { db in
            (
                try Int32.fetchOne(db, sql: "PRAGMA user_version") ?? 0, try migrator.hasBeenSuperseded(db), try migrator.appliedIdentifiers(db),
                try migrator.hasCompletedMigrations(db)
            )
        }
        guard found <= schemaVersion else {
            throw StartError("the log \(path) has schema version \(found), newer than this build's \(schemaVersion); run a newer delivery-ingest")
        }
        guard !superseded else {
            let unknown = before.subtracting(migrations.map { identifier($0.version, $0.name) }).sorted()
            throw StartError("the log \(path) has schema steps this build does not know (\(unknown.joined(separator: ", "))), from a newer build; run a newer delivery-ingest")
        }
        // A log at this version is not written to at all: a start on a full disk still reads it.
        if complete && found == schemaVersion { return }
        do {
            try migrator.migrate(database)
        } catch {
            let applied = (try? database.read { db in try migrator.appliedIdentifiers(db) }) ?? []
            let failed = migrations.first { !applied.contains(identifier($0.version, $0.name)) }
            let step = failed.map { "schema version \($0.version) (\($0.name))" } ?? "schema version \(schemaVersion)"
            throw StartError("cannot bring the log \(path) to \(step): \(Self.explain(error))")
        }
        try database.write { db in try db.execute(sql: "PRAGMA user_version = \(schemaVersion)") }
        for step in migrations where !before.contains(identifier(step.version, step.name)) {
            logger.info("log schema", metadata: ["path": "\(path)", "version": "\(step.version)", "step": "\(step.name)"])
        }
    }
}
