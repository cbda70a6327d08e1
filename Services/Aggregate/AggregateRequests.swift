import DeliveryCore
import DeliveryMessages
import Logging
import ServiceCores
import ServiceKit
import ZeroMQ

/// What the aggregate answers: `ping`, `status`, and snapshots (whole, one per turn, or chunked
/// from a frozen copy of the book).
extension AggregateState {
    mutating func handle(_ request: RouterRequest, _ head: EnvelopeHead, _ kind: Requests, shell: ServiceShell<Requests>, ready: Bool) {
        let (router, publisher) = (shell.router, shell.publisher)
        switch kind {
        case .ping:
            shell.ping(request, head, service: "aggregate", instance: settings.instance, notReady: ready ? nil : notReadyReason)
        case .status:
            var body = shell.status(
                service: "aggregate", instance: settings.instance, started: started, ready: ready, problem: problem(shell.monitor, ready: ready),
                positions: core.positions,
                counts: [
                    "figures": core.book.figureCount, "reports": core.book.reportCount, "waiting": core.waiting.count,
                    "notOwned": core.skipped, "setAside": core.setAsideLog.count, "unreadableFeed": upstreams.unreadableFeed, "rebuilds": core.rebuilds,
                    "snapshotsQueued": snapshotQueue.count, "checkpointBytes": checkpoints?.lastBytes ?? 0,
                    "checkpointReports": checkpoints?.lastReports ?? 0, "checkpointSaveMs": Int(checkpoints?.lastSaveMillis ?? 0),
                    "checkpointAgeSeconds": checkpoints.map { $0.lastSavedAt == 0 ? -1 : Int((monotonicMillis() - $0.lastSavedAt) / 1000) } ?? -1,
                    "facts": Int(core.facts.last), "factBatchesSkipped": core.factBatchesSkipped,
                ]
            )
            body.setAside = core.setAsideLog.latest
            body.retired = upstreams.retired.isEmpty ? nil : upstreams.retired
            body.conflicts = core.catalogConflicts.isEmpty ? nil : core.catalogConflicts.values.sorted()
            request.reply(Envelope(MessageType.statusResult, id: head.id, body: body), on: router)
        case .snapshot:
            guard ready else {
                request.reply(ProtocolError(.unavailable, "catching up with the ingest logs; ask again", id: head.id), on: router)
                return
            }
            switch Wire.decodeBody(SnapshotRequest.self, in: request.message, id: head.id, code: .invalidQuery) {
            case .failure(let error):
                request.reply(error, on: router)
            case .success(let query):
                if let chunk = query.chunk {
                    guard chunkedSnapshots.count < Self.chunkedLimit else {
                        request.reply(busy("\(chunkedSnapshots.count) chunked snapshots are under way", id: head.id, retryAfterMs: 500), on: router)
                        return
                    }
                    // Frozen here: every part reflects this position, however long the parts take.
                    chunkedSnapshots.append(
                        ChunkedSnapshot(
                            request: request.stripped, id: head.id, book: core.book, ids: core.book.figureIDs, chunk: min(max(chunk, 100), 100_000),
                            positions: [publisher.stream: publisher.seq], upstream: core.positions, facts: core.facts.body
                        )
                    )
                    return
                }
                _ = snapshotQueue.add(request, id: head.id, prefix: query.prefix ?? "", router: router)
            }
        }
    }

    /// Sends the next part of each chunked snapshot under way (one part each per loop turn).
    mutating func serveSnapshotParts(router: Socket) {
        guard !chunkedSnapshots.isEmpty else { return }
        for index in chunkedSnapshots.indices {
            chunkedSnapshots[index].sendNext(on: router)
            if chunkedSnapshots[index].done {
                metrics.snapshot.record(.milliseconds(monotonicMillis() - chunkedSnapshots[index].started))
            }
        }
        chunkedSnapshots.removeAll { $0.done }
    }

    /// Answers the oldest queued snapshot request (`SnapshotQueue`).
    mutating func serveOneSnapshot(router: Socket, publisher: Publisher) {
        guard !snapshotQueue.isEmpty else { return }
        var queue = snapshotQueue
        defer { snapshotQueue = queue }
        queue.serveOne(router: router, seq: publisher.seq) { prefix in
            core.snapshot(prefix: prefix, positions: [publisher.stream: publisher.seq])
        }
    }

    /// What `status` and health name as wrong: a link, a claimed instance name, an ingest that
    /// answers what an ingest does not send, or why it is not ready yet.
    func problem(_ monitor: LinkMonitor, ready: Bool) -> String? {
        monitor.problem ?? upstreams.claimProblem ?? upstreams.followerProblems.values.min() ?? (ready ? nil : notReadyReason)
    }

    var notReadyReason: String {
        recovered ? "catching up with the ingest logs" : "loading the checkpoint"
    }
}

/// A snapshot sent in parts from a frozen copy of the book: the zguide's Clone pattern streams a
/// large state the same way, ending with a marker (here, `last` on the final part).
struct ChunkedSnapshot {
    let request: RouterRequest
    let id: JSONValue
    let book: FigureBook
    let ids: [UInt64]
    let chunk: Int
    let positions: [String: UInt64]
    let upstream: [String: UInt64]
    /// The fact history as it stood (in the first part).
    let facts: FactHistoryBody
    var next = 0
    var part = 0
    var done = false
    let started = monotonicMillis()

    mutating func sendNext(on router: Socket) {
        let end = min(next + chunk, ids.count)
        let records = ids[next..<end].compactMap { book.record($0) }
        let head = SnapshotPart(
            part: part, last: end == ids.count, figures: records.count, positions: positions, upstream: upstream,
            catalog: part == 0 ? book.catalog.document : nil, total: ids.count, facts: part == 0 ? facts : nil
        )
        request.reply(Envelope(MessageType.snapshotPart, id: id, body: head), attachment: FigureList.encode(records), on: router)
        next = end
        part += 1
        done = end == ids.count
    }
}

