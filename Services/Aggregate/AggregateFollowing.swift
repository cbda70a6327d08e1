import DeliveryCore
import DeliveryMessages
import Logging
import ServiceCores
import ServiceKit
import ZeroMQ

/// Following the ingests: each `IngestFollower` learns its stream with `status`, replays what is
/// missing, then takes the live feed; what arrives goes to the core.
extension AggregateState {
    // MARK: Following ingest

    /// Sends what a follower needs next, if anything: its status, or a replay page
    /// (`IngestFollower.next`).
    func ask(_ follower: IngestFollower, on client: RequestClient) throws {
        let now = monotonicMillis()
        let from = (follower.stream.flatMap { core.positions[$0] } ?? 0) &+ 1
        guard let (ask, reset) = follower.next(from: from, now: now, timeout: Self.requestTimeout) else { return }
        if reset { client.reset() }
        let id: String?
        switch ask {
        case .status: id = try client.send(type: ask.type, body: Empty())
        case .replay(let request): id = try client.send(type: ask.type, body: request)
        }
        if let id { follower.sent(ask, id: id, now: now) }
    }

    /// What a follower's `status` tells: the stream behind its endpoint and the log's last seq.
    /// A stream another endpoint already claims is refused (reported, never merged); a stream that
    /// replaced the one followed is followed from its start, the old one retired and named in
    /// `status`; a log behind what was applied (restored from a backup) makes the aggregate
    /// rebuild from every log under a new epoch.
    mutating func learned(_ follower: IngestFollower, stream: String, last: UInt64, followers: [IngestFollower], publisher: Publisher) {
        if let other = followers.first(where: { $0 !== follower && $0.stream == stream }) {
            let problem = "ingest endpoints \(other.endpoint) and \(follower.endpoint) both claim stream \(stream); only the first is followed"
            if upstreams.claimProblem != problem {
                logger.error("two ingest endpoints claim one stream", metadata: ["stream": "\(stream)", "first": "\(other.endpoint)", "second": "\(follower.endpoint)"])
            }
            upstreams.claimProblem = problem
            follower.relearn(until: monotonicMillis() + 5000)
            return
        }
        if let old = follower.stream, old != stream {
            let note = "replaced at \(follower.endpoint) by \(stream); its \(core.positions[old] ?? 0) events stay applied"
            upstreams.retired[old] = note
            logger.warning("the log behind an ingest endpoint changed; following the new stream", metadata: ["old": "\(old)", "stream": "\(stream)", "zmq.endpoint": "\(follower.endpoint)"])
        }
        let applied = core.positions[stream] ?? 0
        if applied > last {
            logger.error(
                "an ingest log is behind what was applied from it (restored from a backup?); rebuilding from every log",
                metadata: ["stream": "\(stream)", "applied": "\(applied)", "last": "\(last)", "zmq.endpoint": "\(follower.endpoint)"]
            )
            rebuild(followers: followers, publisher: publisher, reason: "\(stream) went back from seq \(applied) to \(last)")
            return
        }
        core.follow(stream)
        upstreams.last[stream] = last
        follower.learned(stream: stream, behind: applied < last)
    }

    /// Starts again from nothing under a new epoch: replicas resync and drop what the old state
    /// had; every log is replayed from its start.
    mutating func rebuild(followers: [IngestFollower], publisher: Publisher, reason: String) {
        core.reset()
        snapshotQueue.forget()
        forgetCheckpoint()
        publisher.restart(as: "aggregate-\(settings.instance)-\(String(UInt64(wallMillis()), radix: 36))")
        logger.warning("rebuilding from every ingest log", metadata: ["reason": "\(reason)", "stream": "\(publisher.stream)"])
        for follower in followers { follower.relearn() }
    }

    mutating func takeReplies(_ follower: IngestFollower, client: RequestClient, followers: [IngestFollower], publisher: Publisher) {
        while let (reply, attachment) = try? client.takeWithAttachment() {
            guard let pending = follower.pending, reply.head.id == .string(pending.id) else { continue }
            let json = reply.bytes
            follower.pending = nil
            switch pending {
            case .status:
                guard case .success(let status) = reply.body(StatusResult.self),
                    let stream = status.streams.first
                else {
                    // Not an ingest's status (another service, an error, a body that does not
                    // read): ask again after a pause, named in status.problem until one reads.
                    let problem = "\(follower.endpoint) answers status with what an ingest does not send: \(excerpt(bytes: json))"
                    upstreams.followerProblems[follower.endpoint] = problem
                    if follower.failed(now: monotonicMillis()) {
                        logger.warning("unexpected status reply; asking again after a pause", metadata: [
                            "zmq.endpoint": "\(follower.endpoint)", "reply": "\(excerpt(bytes: json))", "failures": "\(follower.failures)",
                        ])
                    }
                    continue
                }
                follower.answered()
                upstreams.followerProblems[follower.endpoint] = nil
                learned(follower, stream: stream, last: status.positions[stream] ?? 0, followers: followers, publisher: publisher)
            case .replay:
                let head: BinaryReplayHead
                let events: [StreamEvent]
                do {
                    guard case .success(let decoded) = reply.body(BinaryReplayHead.self), let attachment else {
                        throw LinkError(excerpt(bytes: json, limit: 200))
                    }
                    head = decoded
                    events = try EventBatch.decode(attachment, stream: decoded.stream)
                } catch {
                    // An error reply or a reply that does not read: ask again later, not at once.
                    guard follower.failed(now: monotonicMillis()) else { continue }
                    logger.warning(
                        "replay failed; asking again after a pause",
                        metadata: [
                            "zmq.endpoint": "\(follower.endpoint)", "error": "\(error)",
                            "from": "\((core.positions[follower.stream ?? ""] ?? 0) &+ 1)", "failures": "\(follower.failures)",
                        ]
                    )
                    continue
                }
                for event in events {
                    core.apply(event)
                }
                follower.replayed(reachedLast: (core.positions[head.stream] ?? 0) >= head.last)
            }
        }
    }

    /// Applies what the ingest feeds have queued: `report.batch` (a committed batch, binary) and
    /// `catalog.accepted`, each only when it follows on from the stream's position; a gap or a
    /// heartbeat ahead asks for a replay instead.
    mutating func drainFeed(_ feed: FeedAgent, followers: [IngestFollower], publisher: Publisher) {
        // A time budget, not a message count: a message is a whole batch, and requests must be
        // answered between turns however much the feed has queued.
        let until = monotonicMillis() + Self.feedBudgetMillis
        while monotonicMillis() < until, let message = feed.read() {
            let (stream, seq, head) = (message.stream, message.seq, message.head)
            guard let follower = followers.first(where: { $0.stream == stream }) else {
                // A stream nobody follows: an ingest whose log changed behind its endpoint (or one
                // not learned yet). Each follower asks its `status` again, at most every 2 s.
                if upstreams.retired[stream] == nil, monotonicMillis() - upstreams.lastVerify > 2000 {
                    upstreams.lastVerify = monotonicMillis()
                    for follower in followers { follower.verifyWanted = true }
                }
                continue
            }
            // The ingest feed carries these three; anything else on it is not an ingest's.
            guard let kind = IngestFeedMessage(head.kind) else { continue }
            upstreams.last[stream] = max(upstreams.last[stream] ?? 0, seq)
            let first = kind == .reportBatch ? (try? message.body(BatchHead.self).get())?.first : nil
            guard follower.take(kind, seq: seq, first: first, applied: core.positions[stream] ?? 0) == .apply else { continue }
            switch kind {
            case .heartbeat:
                continue
            case .reportBatch:
                do {
                    guard let attachment = message.attachment, message.frames.count == 3 else {
                        throw LinkError("\(message.frames.count) frames; a report.batch has 3")
                    }
                    for event in try EventBatch.decode(attachment, stream: stream) { core.apply(event) }
                } catch {
                    // The log has it: replay reads the same events from the file.
                    upstreams.unreadableFeed += 1
                    if follower.unreadable() {
                        logger.warning("a report.batch does not read; replaying", metadata: [
                            "stream": "\(stream)", "seq": "\(seq)", "error": "\(error)", "unreadable": "\(follower.unreadableFeed)",
                        ])
                    }
                }
            case .catalogAccepted:
                if case .success(let event) = message.body(CatalogAcceptedEvent.self) {
                    core.apply(StreamEvent(stream: stream, seq: seq, content: .catalog(event.catalog)))
                }
            }
        }
    }
}
