import DeliveryCore
import DeliveryMessages
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceKit

/// PostgreSQL: the connection URL, and the schema with its versions.
extension PostgresLog {
    // MARK: The connection URL

    /// `postgres://user:password@host:port/database` (`postgresql://` too; `sslmode=disable` is the
    /// only mode taken: keep the database on a private network or a local socket).
    static func parse(_ text: String) throws -> (configuration: PostgresConnection.Configuration, display: String) {
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw SettingError("DELIVERY_DATABASE_URL must be postgres://user:password@host:port/database, not '\(redacted(text))'")
        }
        guard let host = url.host, !host.isEmpty else { throw SettingError("DELIVERY_DATABASE_URL names no host") }
        guard let user = url.user, !user.isEmpty else { throw SettingError("DELIVERY_DATABASE_URL names no user") }
        let port = url.port ?? 5432
        guard (1...65535).contains(port) else { throw SettingError("DELIVERY_DATABASE_URL has port \(port), not 1 to 65535") }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        for item in url.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("sslmode", "disable"?): continue
            case ("sslmode", let mode): throw SettingError("DELIVERY_DATABASE_URL: sslmode=\(mode ?? "") is not supported; use sslmode=disable on a private network")
            default: throw SettingError("DELIVERY_DATABASE_URL: the parameter '\(item.name)' is not known")
            }
        }
        let configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: url.password, database: database.isEmpty ? user : database, tls: .disable
        )
        return (configuration, "\(host):\(port)/\(database.isEmpty ? user : database)")
    }

    /// The URL without its password, for messages.
    static func redacted(_ text: String) -> String {
        guard var url = URLComponents(string: text), url.password != nil else { return text }
        url.password = "***"
        return url.string ?? "postgres://…"
    }

    // MARK: The schema

    /// The schema, one step per version, kept in `delivery_schema`. A database from before
    /// versions has the tables of version 1 (every statement of it is `IF NOT EXISTS`); one from a
    /// newer build is refused. Runs under the advisory lock `prepare` takes.
    static let migrations: [(version: Int, name: String, statements: [String])] = [
        (1, "streams and events", schema)
    ]

    static var schemaVersion: Int { migrations.last?.version ?? 0 }

    func migrate() throws {
        _ = try query("CREATE TABLE IF NOT EXISTS delivery_schema (version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        let found = Int(try query("SELECT COALESCE(MAX(version), 0)::BIGINT FROM delivery_schema").first?.decode(Int64.self) ?? 0)
        guard found <= Self.schemaVersion else {
            throw StartError("the database has schema version \(found), newer than this build's \(Self.schemaVersion); run a newer delivery-ingest")
        }
        for step in Self.migrations where step.version > found {
            for statement in step.statements { _ = try query(PostgresQuery(unsafeSQL: statement)) }
            _ = try query("INSERT INTO delivery_schema (version, name) VALUES (\(step.version), \(step.name))")
            logger.info("database schema", metadata: ["version": "\(step.version)", "step": "\(step.name)"])
        }
    }

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS delivery_streams (
            instance TEXT PRIMARY KEY,
            stream TEXT NOT NULL UNIQUE,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS delivery_events (
            stream TEXT NOT NULL,
            seq BIGINT NOT NULL,
            type TEXT NOT NULL,
            topic TEXT NOT NULL,
            report_id TEXT,
            content_hash TEXT,
            payload BYTEA NOT NULL,
            payload_hash TEXT,
            slot BIGINT,
            reported_at_millis BIGINT,
            stored_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (stream, seq)
        )
        """,
        "CREATE UNIQUE INDEX IF NOT EXISTS delivery_events_report ON delivery_events (report_id) WHERE report_id IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS delivery_events_slot ON delivery_events (slot) WHERE slot IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS delivery_events_catalog ON delivery_events (stored_at) WHERE type = 'catalog.accepted'",
    ]
}
