import DeliveryCore
import DeliveryMessages
import ServiceCores
import ServiceKit
import ZeroMQ

/// What the replica answers: every query (at once, or held for its `after` positions), whole
/// snapshots (within each client's allowance), the facts since a token, `status` and `ping`.
extension ReplicaState {
    mutating func handle(_ request: RouterRequest, _ head: EnvelopeHead, _ kind: Requests, shell: ServiceShell<Requests>, ready: Bool) {
        let router = shell.router
        let notReady = ready ? nil : "loading the first snapshot"
        switch kind {
        case .ping:
            shell.ping(request, head, service: "query", instance: settings.instance, notReady: notReady)
        case .status:
            var body = shell.status(
                service: "query", instance: settings.instance, started: started, ready: ready, problem: shell.monitor.problem ?? notReady,
                positions: asOf,
                counts: [
                    "figures": core.replica.count, "resyncs": core.counts.resyncs, "answered": core.counts.answered, "waiting": core.waiting.count,
                    "waitingBytes": core.waiting.bytes, "busy": core.counts.busy, "setAside": core.setAsideLog.count,
                    "snapshotsQueued": snapshotQueue.count, "facts": core.counts.factsPublished,
                ]
            )
            body.setAside = core.setAsideLog.latest
            request.reply(Envelope(MessageType.statusResult, id: head.id, body: body), on: router)
        case .snapshot:
            switch Wire.decodeBody(SnapshotRequest.self, in: request.message, id: head.id, code: .invalidQuery) {
            case .failure(let error):
                request.reply(error, on: router)
            case .success(let query):
                let now = monotonicMillis()
                if let wait = core.admitSnapshot(client: request.identity, now: now) {
                    request.reply(busy("a client gets at most one snapshot a second after a burst of 5", id: head.id, retryAfterMs: wait), on: router)
                    return
                }
                let queued = snapshotQueue.add(request, id: head.id, prefix: query.prefix ?? "", router: router)
                core.snapshotQueued(queued, client: request.identity, now: now)
            }
        case .facts:
            answerFacts(request, head, router: router, ready: ready)
        case .query(let query):
            let control: QueryControl
            switch Wire.decodeBody(QueryControl.self, in: request.message, id: head.id, code: .invalidQuery) {
            case .failure(let error):
                request.reply(error, on: router)
                return
            case .success(let decoded):
                control = decoded
            }
            let pending = ReplicaCore<RouterRequest>.PendingQuery(request: request, head: head, kind: query)
            let admission = core.admit(
                pending, after: control.after ?? [:], timeoutMillis: control.timeoutMs, bytes: request.payload.count, ready: ready, asOf: asOf,
                now: monotonicMillis()
            )
            switch admission {
            case .answerNow: answer(request, head, query, router: router)
            case .held: return
            case .busy(let message): request.reply(busy(message, id: head.id), on: router)
            }
        }
    }

    /// Answers `facts` from the copies of the aggregates' fact histories.
    mutating func answerFacts(_ request: RouterRequest, _ head: EnvelopeHead, router: Socket, ready: Bool) {
        switch Wire.decodeBody(FactsRequest.self, in: request.message, id: head.id, code: .invalidQuery) {
        case .failure(let error):
            request.reply(error, on: router)
        case .success(let asked):
            guard ready else {
                request.reply(ProtocolError(.unavailable, "the replica is still loading its first snapshot", id: head.id), on: router)
                return
            }
            do {
                let result = try core.factHistories.answer(asked)
                core.answering()
                request.reply(Envelope(MessageType.factsResult, id: head.id, body: result), on: router)
            } catch {
                var failure = error
                failure.id = head.id
                request.reply(failure, on: router)
            }
        }
    }

    /// Answers the oldest queued snapshot request (`SnapshotQueue`).
    mutating func serveOneSnapshot(router: Socket, publisher: Publisher) {
        guard !snapshotQueue.isEmpty else { return }
        var queue = snapshotQueue
        defer { snapshotQueue = queue }
        queue.serveOne(router: router, seq: publisher.seq) { prefix in
            // As the live events give them: with their coverage (ReplicaCore.apply).
            let coverage = SubscriberCoverage(core.replica)
            return SnapshotResult(
                figures: core.replica.figures(prefix: prefix).map { body in body.key.map { coverage.covered(body, $0) } ?? body },
                positions: [publisher.stream: publisher.seq], upstream: asOf,
                catalog: core.replica.catalog.document
            )
        }
    }

    mutating func answer(_ request: RouterRequest, _ head: EnvelopeHead, _ kind: QueryKind, router: Socket) {
        core.answering()
        let (bytes, outcome) = QueryDispatcher.answer(kind, message: request.message, id: head.id, store: core.replica, asOf: asOf)
        request.reply(bytes, outcome: outcome, on: router)
    }

    mutating func answerWaiting(router: Socket, ready: Bool) {
        guard !core.waiting.isEmpty else { return }
        let positions = asOf
        for query in core.due(now: monotonicMillis(), ready: ready, asOf: positions) {
            switch query {
            case .answer(let pending):
                answer(pending.request, pending.head, pending.kind, router: router)
            case .stale(let pending):
                let error = ProtocolError(
                    .stale, "the replica has not reached the positions in 'after' in time",
                    details: ["asOf": .object(positions.mapValues { .int(Int64($0)) })], id: pending.head.id
                )
                pending.request.reply(error, on: router)
            case .unavailable(let pending):
                pending.request.reply(ProtocolError(.unavailable, "the replica is still loading its first snapshot", id: pending.head.id), on: router)
            }
        }
    }
}
