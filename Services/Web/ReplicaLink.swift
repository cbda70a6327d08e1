import DeliveryMessages
import Foundation
import Logging
import ServiceKit
import ZeroMQ

/// How the page's data stands: following the replica, not heard from lately, or cut off.
enum LinkState: String, Sendable {
    case starting, live, stale, lost
}

/// The replica as the page sees it: the Clone pattern on its PUB (a snapshot tells where its
/// stream stands, then every update is checked for gaps; a gap or a new stream is a resync), and
/// every figure, fact and state change passed to the browsers that listen (`Broadcaster`). It
/// keeps no figures: the page asks the replica for those.
final class ReplicaLink: @unchecked Sendable {
    let endpoints: [String]
    let feed: String
    let context: Context
    let logger: Logger
    let broadcaster: Broadcaster
    let timeout: Int64
    let secure: @Sendable (Socket) throws -> Void
    /// After this long without a word on the PUB the data is stale; after `lostAfter` the link is
    /// lost. Both are counted in the replica's heartbeats (an idle replica sends one each
    /// `Publisher.defaultHeartbeatMillis`, a loaded one later by up to a turn): five missed
    /// heartbeats make it stale, fifteen lost, so an idle healthy stack never flaps.
    static let staleAfter: Int64 = 5 * Publisher.defaultHeartbeatMillis
    static let lostAfter: Int64 = 15 * Publisher.defaultHeartbeatMillis

    private let lock = NSLock()
    private var state = LinkState.starting
    private var reason = "waiting for the replica"
    private var asOf: [String: UInt64] = [:]
    private var stream: String?

    init(
        context: Context, endpoints: [String], feed: String, timeout: Int64, logger: Logger, broadcaster: Broadcaster,
        secure: @escaping @Sendable (Socket) throws -> Void
    ) {
        self.context = context
        self.endpoints = endpoints
        self.feed = feed
        self.timeout = timeout
        self.logger = logger
        self.broadcaster = broadcaster
        self.secure = secure
    }

    /// The state, why, the positions last heard of, and the replica's stream.
    var status: (state: LinkState, reason: String, asOf: [String: UInt64], stream: String?) {
        lock.withLock { (state, reason, asOf, stream) }
    }

    func statusJSON() -> [String: JSONValue] {
        let (state, reason, asOf, stream) = status
        return [
            "state": .string(state.rawValue), "reason": .string(reason), "asOf": .object(asOf.mapValues { .int(Int64($0)) }),
            "stream": stream.map { .string($0) } ?? .null,
        ]
    }

    private func set(_ next: LinkState, _ why: String) {
        let changed = lock.withLock {
            defer {
                state = next
                reason = why
            }
            return state != next || reason != why
        }
        if changed {
            logger.info("replica link", metadata: ["state": "\(next.rawValue)", "reason": "\(why)"])
            broadcaster.send(event: "state", statusJSON())
        }
    }

    /// Runs on its own thread until `stop` is set; owns its sockets. The snapshot comes from the
    /// replica whose PUB this is (its numbering is that replica's): a name that resolves to several
    /// replicas is resolved once for both, and again after the link has been lost for a while
    /// (the replica it named may be gone, or back under another address).
    func run(stop: StopFlag) throws {
        while !stop.isSet {
            let (feedEndpoint, queryEndpoint) = sameReplica(feed, endpoints.first ?? "")
            try follow(feed: feedEndpoint, query: queryEndpoint, stop: stop)
        }
    }

    /// Follows one replica until `stop`, or until nothing has come from it for `lostAfter` twice
    /// over (then `run` resolves its name again).
    private func follow(feed: String, query: String, stop: StopFlag) throws {
        let sub = try Socket(context, .sub)
        defer { sub.close() }
        try sub.set([.linger(0), .receiveHighWaterMark(100_000), .reconnectInterval(100), .reconnectIntervalMax(1000)])
        try sub.set(.subscribe(""))
        try secure(sub)
        try sub.connect(feed)
        let client = try RequestClient(context: context, endpoints: [query], configure: secure)
        defer { client.close() }
        // A snapshot of nothing (no topic starts so): only where the stream stands.
        let clone = CloneClient(
            endpoint: query, client: client, request: SnapshotRequest(prefix: "\u{1}"),
            policy: SnapshotFetch.Policy(timeoutMillis: timeout, firstPause: 500, longestPause: 2000, chunked: false)
        )
        let agent = FeedAgent(socket: sub, sources: [clone], routing: .single)
        var feedMismatch = FeedMismatch()
        var lastHeard = monotonicMillis()
        while !stop.isSet {
            if try clone.tend(now: monotonicMillis()) {
                set(.lost, "no snapshot from \(query) within \(timeout) ms")
            }
            let ready = try Poller([sub, client.pollable]).poll(timeoutMilliseconds: 250)
            if ready[1] {
                for outcome in clone.takeReplies(now: monotonicMillis()) {
                    switch outcome {
                    case .nothing, .part:  // a replica's snapshot comes whole
                        continue
                    case .refused(let reason, _):
                        // Not ready yet (unavailable), or not a replica: asked again in a moment.
                        set(.lost, "the replica did not give a snapshot: \(excerpt(reason, limit: 80))")
                    case .installed(let snapshot):
                        feedMismatch.snapshotStream = snapshot.stream
                        lock.withLock {
                            stream = snapshot.stream
                            asOf = snapshot.upstream.merging([snapshot.stream: snapshot.position]) { $1 }
                        }
                        lastHeard = monotonicMillis()
                        set(.live, "following \(snapshot.stream)")
                        broadcaster.send(event: "resync", statusJSON())
                    }
                }
            }
            if ready[0] { drain(agent, mismatch: &feedMismatch, lastHeard: &lastHeard) }
            let quiet = monotonicMillis() - lastHeard
            let current = status.state
            if quiet > 2 * Self.lostAfter { return }
            if quiet > Self.lostAfter, current != .lost {
                set(.lost, "nothing from the replica's feed \(feed) for \(quiet / 1000) s")
                clone.resync()
            } else if quiet > Self.staleAfter, current == .live {
                set(.stale, "no heartbeat from the replica's feed \(feed) for \(quiet / 1000) s")
            }
        }
    }

    private func drain(_ agent: FeedAgent, mismatch: inout FeedMismatch, lastHeard: inout Int64) {
        let clone = agent.sources[0]
        for _ in 0..<10_000 {
            guard let message = agent.read() else { return }
            if message.isHeartbeat, mismatch.adopt(message.stream) {
                // The feed and the snapshots come from different replicas (a name that resolves to
                // several): the page needs no snapshot's figures, so the feed's own position will do.
                clone.follower.snapshot(stream: message.stream, seq: message.seq)
                lock.withLock { stream = message.stream }
                lastHeard = monotonicMillis()
                set(.live, "following \(message.stream) (from its heartbeat)")
                broadcaster.send(event: "resync", statusJSON())
                continue
            }
            switch agent.follow(message) {
            case .held:
                continue
            case .resync(let why, _, _):
                mismatch.saw(message.stream)
                // Asked again unless the feed keeps naming another replica than the snapshots do.
                if !mismatch.persistent { clone.want() }
                set(.stale, "resyncing: \(why)")
            case .current:
                // Until a snapshot is in, the feed says nothing of the page's data; after, a
                // heartbeat at the position (what an idle replica sends) is a word from it.
                guard clone.follower.position != nil else { continue }
                heard(message, lastHeard: &lastHeard)
            case .update:
                heard(message, lastHeard: &lastHeard)
                lock.withLock { asOf[message.stream] = message.seq }
                pass(message)
            }
        }
    }

    /// Anything of the followed stream is a word from the replica; a heartbeat carries its
    /// positions.
    private func heard(_ message: FeedMessage, lastHeard: inout Int64) {
        lastHeard = monotonicMillis()
        let now = status
        if now.state != .live, now.stream == message.stream { set(.live, "following \(message.stream)") }
        if message.isHeartbeat, case .success(let beat) = message.body(HeartbeatBody.self), let positions = beat.positions {
            lock.withLock { asOf = positions.merging([message.stream: message.seq]) { $1 } }
        }
    }

    /// An update passed to the browsers: a figure (with where it stands) or a fact.
    private func pass(_ message: FeedMessage) {
        switch message.kind {
        case .figureChanged?, .figureRemoved?:
            guard case .success(let figure) = message.body(FigureBody.self) else { return }
            broadcaster.send(
                event: "figure",
                [
                    "topic": .string(message.topic), "type": .string(message.head.type), "entity": .string(figure.entity.id),
                    "path": .array(figure.entity.path.map { .string($0) }), "level": .string(figure.entity.level.rawValue),
                    "period": .string(figure.period), "units": .int(figure.units), "previous": .int(figure.previous),
                    "asOf": .object([message.stream: .int(Int64(message.seq))]),
                    // The page refreshes only for the measure it shows.
                    "measure": .string((figure.measure ?? .default).rawValue),
                ]
            )
        case .fact?:
            guard case .success(let fact) = message.body(FactEvent.self) else { return }
            broadcaster.send(
                event: "fact",
                ["entity": .string(fact.entity.name), "period": .string(fact.period), "text": .string(fact.fact.text)]
            )
        default:
            return
        }
    }
}

/// Whether the feed keeps showing a stream the snapshots do not name: twice in a row, and the
/// link follows the feed's stream from its next heartbeat instead.
struct FeedMismatch {
    var snapshotStream: String?
    private var other: String?
    private var count = 0

    mutating func saw(_ stream: String) {
        guard stream != snapshotStream else {
            count = 0
            return
        }
        count = stream == other ? count + 1 : 1
        other = stream
    }

    var persistent: Bool { count >= 2 }

    /// True (once) when a heartbeat of the persistent other stream should be followed.
    mutating func adopt(_ stream: String) -> Bool {
        guard persistent, stream == other else { return false }
        snapshotStream = stream
        count = 0
        return true
    }
}

/// The browsers listening on `/events`: each gets every event as a server-sent event.
final class Broadcaster: @unchecked Sendable {
    private let lock = NSLock()
    private var listeners: [UUID: AsyncStream<[UInt8]>.Continuation] = [:]
    static let limit = 1000

    var count: Int { lock.withLock { listeners.count } }

    /// A new listener's stream, or nil when `limit` are listening already.
    func listen() -> AsyncStream<[UInt8]>? {
        let id = UUID()
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(1000))
        let added = lock.withLock {
            guard listeners.count < Self.limit else { return false }
            listeners[id] = continuation
            return true
        }
        guard added else { return nil }
        continuation.onTermination = { [weak self] _ in
            self?.lock.withLock { _ = self?.listeners.removeValue(forKey: id) }
        }
        return stream
    }

    func send(event: String, _ data: [String: JSONValue]) {
        let json = (try? CompactJSONEncoder.encode(JSONValue.object(data))) ?? Array("{}".utf8)
        send(Array("event: \(event)\ndata: ".utf8) + json + Array("\n\n".utf8))
    }

    /// A comment line: keeps proxies from closing the stream and finds listeners that left.
    func keepAlive() { send(Array(": keep-alive\n\n".utf8)) }

    private func send(_ bytes: [UInt8]) {
        for continuation in lock.withLock({ Array(listeners.values) }) { continuation.yield(bytes) }
    }
}
