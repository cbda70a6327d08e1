import DeliveryCore
import DeliveryMessages
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceKit

/// PostgreSQL: reading a stream back (replay, and what superseded a report).
extension PostgresLog {
    func stored(from: UInt64, limit: Int) throws -> [(seq: UInt64, type: String, topic: String, event: StoredEvent)] {
        guard connection != nil else { throw ProtocolError(.unavailable, writeProblem ?? "not connected to PostgreSQL") }
        let rows: [PostgresRow]
        do {
            rows = try query(
                "SELECT seq, type, topic, payload, payload_hash FROM delivery_events WHERE stream = \(stream) AND seq >= \(Int64(clamping: from)) ORDER BY seq LIMIT \(limit)"
            )
        } catch {
            failed(error)
            throw ProtocolError(.unavailable, writeProblem ?? "PostgreSQL failed")
        }
        return try rows.map { row in
            let (seq, type, topic, payload, hash) = try row.decode((Int64, String, String, Data, String?).self)
            let event = StoredEvent.read(type: type, payload: Array(payload), hash: hash)
            if case .unreadable(let problem) = event { setAside(UInt64(clamping: seq), problem) }
            return (UInt64(clamping: seq), type, topic, event)
        }
    }

    func events(from: UInt64, limit: Int) throws -> [StreamEvent] {
        try stored(from: from, limit: limit).map { seq, type, topic, event in event.logged(stream: stream, seq: seq, type: type, topic: topic) }
    }

    func binaryEvents(from: UInt64, limit: Int) throws -> [EventBatch.Entry] {
        try stored(from: from, limit: limit).map { seq, type, _, event in event.entry(seq: seq, type: type) }
    }

    func superseding(stream repeated: String, seq: UInt64) throws -> Superseding? {
        guard let row = try query("SELECT slot, reported_at_millis FROM delivery_events WHERE stream = \(repeated) AND seq = \(Int64(seq))").first,
            let (slot, at) = try? row.decode((Int64?, Int64?).self), let slot, let at
        else { return nil }
        // The latest report of the slot in the order of reports, across every writer.
        var latest: (order: ReportOrder, id: String, stream: String, seq: UInt64)?
        for row in try query("SELECT report_id, stream, seq, reported_at_millis FROM delivery_events WHERE slot = \(slot)") {
            let (id, rowStream, rowSeq, millis) = try row.decode((String, String, Int64, Int64).self)
            let order = ReportOrder(at: millis, stream: ReportOrder.hash(rowStream), seq: UInt64(clamping: rowSeq))
            if latest.map({ order > $0.order }) ?? true { latest = (order, id, rowStream, UInt64(clamping: rowSeq)) }
        }
        guard let latest, latest.order > ReportOrder(at: at, stream: ReportOrder.hash(repeated), seq: seq) else { return nil }
        return Superseding(id: latest.id, stream: latest.stream, seq: latest.seq)
    }
}
