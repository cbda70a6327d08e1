import DeliveryCore
import DeliveryMessages
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceKit

/// PostgreSQL: whether writes work, what a failure means, and transactions that end cleanly.
extension PostgresLog {
    func probe(force: Bool = false) {
        let now = monotonicMillis()
        if !force {
            if writeProblem == nil {
                // Healthy: notice a connection that closed under us (a restart, a failover) at once.
                guard connection?.isClosed ?? true else { return }
                failed(ProtocolError(.unavailable, "the connection to PostgreSQL (\(where_)) closed"))
            }
            guard now - lastProbe >= 1000 else { return }
        }
        lastProbe = now
        let was = writeProblem
        do {
            if connection == nil || connection?.isClosed == true {
                connection = nil
                try connect()
            }
            // A standby, or a database set read-only, takes reads and refuses writes.
            let readOnly = try query("SHOW transaction_read_only").first.map { try $0.decode(String.self) } ?? "off"
            writeProblem = readOnly == "on" ? "PostgreSQL (\(where_)) is read-only (a standby, or default_transaction_read_only)" : nil
        } catch {
            writeProblem = Self.explain(error, where: where_)
            if connection?.isClosed == true { connection = nil }
        }
        if writeProblem == nil, was != nil {
            logger.notice("PostgreSQL takes writes", metadata: ["database": "\(where_)", "stream": "\(stream)", "seq": "\(lastSeq)"])
        } else if let problem = writeProblem, problem != was {
            logger.error("the log cannot be written", metadata: ["problem": "\(problem)"])
        }
    }

    /// A failure of a database step: kept as `writeProblem` (the next `probe` tries again); a
    /// connection that is not usable any more is dropped.
    func failed(_ error: any Error) {
        writeProblem = Self.explain(error, where: where_)
        lastProbe = monotonicMillis()
        if let connection, connection.isClosed || error is LogTimeout {
            let closing = connection
            Task { try? await closing.close() }
            self.connection = nil
        }
        logger.error("the log cannot be written", metadata: ["problem": "\(writeProblem ?? "")"])
    }

    /// Plain words for a database failure.
    static func explain(_ error: any Error, where place: String) -> String {
        if let error = error as? ProtocolError { return error.message }
        if let error = error as? PSQLError {
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "\(error.code)"
            switch state {
            case "25006": return "PostgreSQL (\(place)) is read-only: \(message)"
            case "53100": return "PostgreSQL (\(place)) is out of disk space: \(message)"
            case let code where code.hasPrefix("57P") || code.hasPrefix("08"): return "PostgreSQL (\(place)) is not available: \(message)"
            case let code where code.hasPrefix("28"): return "PostgreSQL (\(place)) refuses the login: \(message)"
            case "3D000": return "PostgreSQL (\(place)) has no such database: \(message)"
            case "": return "PostgreSQL (\(place)) cannot be reached: " + (error.underlying.map { "\($0)" } ?? "\(error.code)")
            default: return "PostgreSQL (\(place)) refused a write (\(state)): \(message)"
            }
        }
        return "PostgreSQL (\(place)) cannot be reached: \(error)"
    }

    /// Runs `body` in a transaction; a failure rolls back, is kept as `writeProblem` when it is
    /// about the database (not the data), and is thrown as `unavailable`: nothing was stored.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try atomically(transaction: true, body)
    }

    /// `transaction`, or with `transaction: false` a body of one statement (atomic by itself, and
    /// one round trip fewer each side) with the same handling of failures.
    func atomically<T>(transaction: Bool, _ body: () throws -> T) throws -> T {
        guard connection != nil, writeProblem == nil else {
            throw ProtocolError(.unavailable, (writeProblem ?? "not connected to PostgreSQL") + "; nothing was stored")
        }
        do {
            if transaction { _ = try query("BEGIN") }
            let value = try body()
            if transaction { _ = try query("COMMIT") }
            return value
        } catch let error as ProtocolError where error.code != .unavailable {
            if transaction { _ = try? query("ROLLBACK") }
            throw error
        } catch {
            if transaction { _ = try? query("ROLLBACK") }
            if let psql = error as? PSQLError, psql.serverInfo?[.sqlState] == "23505" { throw DuplicateRace() }
            failed(error)
            // What was committed is not known when the connection broke during COMMIT: the
            // client retries, and a report stored after all is acknowledged as a duplicate.
            throw ProtocolError(.unavailable, (writeProblem ?? "PostgreSQL failed") + "; nothing was acknowledged")
        }
    }

    /// Another writer stored one of the batch's report ids while this one was writing.
    struct DuplicateRace: Error {}
}
