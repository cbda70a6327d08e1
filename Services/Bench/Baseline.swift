import Foundation
import GRDB
import ServiceKit

/// What a user compares the ingest with: the same reports stored by a plain SQLite loop in this
/// process (a table with one row per report and a unique index on its id, WAL, `synchronous=FULL`
/// as the ingest's log, one transaction per batch), then every monthly total by one query. Every
/// ingest figure is reported as a ratio to it.
enum Baseline {
    struct Result {
        var stored: Measurement
        /// Seconds for `SELECT … SUM(units) GROUP BY model, period` over every row.
        var totalsSeconds: Double
        var months: Int
    }

    static func sqlite(reports count: Int, batch: Int, prefix: String) throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("delivery-baseline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let database = try DatabasePool(path: directory.appendingPathComponent("baseline.sqlite").path, configuration: configuration)
        try database.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE reports (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, source TEXT NOT NULL, period TEXT NOT NULL,
                        model TEXT NOT NULL, units INTEGER NOT NULL, reportedAt TEXT NOT NULL, payload BLOB NOT NULL);
                    CREATE UNIQUE INDEX reports_id ON reports(id);
                    """
            )
        }
        var latencies: [UInt64] = []
        var offset = 0
        let start = monotonicNanos()
        while offset < count {
            let range = offset..<min(offset + batch, count)
            let began = monotonicNanos()
            try database.write { db in
                let insert = try db.makeStatement(
                    sql: "INSERT INTO reports (id, source, period, model, units, reportedAt, payload) VALUES (?, 'Bench', ?, ?, ?, '2025-06-01T00:00:00Z', ?)"
                )
                for n in range {
                    let f = Workload.fields(n, models: Sections.models, prefix: prefix)
                    try insert.execute(arguments: [f.id, f.period, f.model, f.units, Data(Workload.json(n, models: Sections.models, prefix: prefix).utf8)])
                }
            }
            latencies.append(monotonicNanos() - began)
            offset = range.upperBound
        }
        let stored = Measurement(operations: count, seconds: seconds(since: start), latenciesNanos: latencies)
        let totalsStart = monotonicNanos()
        let months = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT model, period, SUM(units) FROM reports GROUP BY model, period").count
        }
        return Result(stored: stored, totalsSeconds: seconds(since: totalsStart), months: months)
    }
}
