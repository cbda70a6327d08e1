import DeliveryCore
import DeliveryMessages
import ZeroMQ

/// The snapshot half of the Clone pattern as a state machine: it decides when to ask, takes the
/// replies (whole, or chunked parts in order), times a request out and pauses after a reply it
/// cannot use. It does no I/O: `CloneClient` sends what it says and hands it what arrives.
public struct SnapshotFetch: Sendable {
    public struct Policy: Sendable {
        /// A request with no reply (or no next part) for this long is given up and asked again.
        public var timeoutMillis: Int64
        /// The pause after the first unusable reply (`lowerBound`); it doubles with each one in a
        /// row, up to `upperBound`.
        public var pauses: ClosedRange<Int64>
        /// Whether the reply comes in `snapshot.part`s (an aggregate) or whole (a replica).
        public var chunked: Bool

        public init(timeoutMillis: Int64, firstPause: Int64, longestPause: Int64, chunked: Bool) {
            (self.timeoutMillis, self.chunked) = (timeoutMillis, chunked)
            pauses = firstPause...max(firstPause, longestPause)
        }
    }

    /// The parts of a chunked snapshot taken so far; installed together when the last arrives
    /// (or, with `handOut`, handed out one by one and only counted here).
    public struct Parts: Sendable {
        public var head: SnapshotPart?
        public var records: [[FigureRecord]] = []
        public var next = 0
        public var handOut = false
        public var handedOut = 0
    }

    public enum State: Sendable {
        /// A snapshot is wanted: ask as soon as a peer takes the request.
        case wanted
        /// Asked (`id`), last heard of at `lastWord` (a part keeps a long snapshot alive).
        case asking(id: String, askedAt: Int64, lastWord: Int64, parts: Parts)
        /// A reply could not be used: ask again at `until`.
        case pausing(until: Int64)
        /// The last snapshot is in; nothing is asked until `want`.
        case idle
    }

    public enum Outcome: Sendable {
        /// Not this request's reply, or a part with more to come.
        case nothing
        /// A part with more to come, handed out at once (`handsOutParts`); `total` (the whole
        /// snapshot's figures, when the aggregate says) with the first part only.
        case part([FigureRecord], total: Int?)
        case installed(Snapshot)
        /// The reply cannot be used (an error, another service, a part missing or that does not
        /// read): the fetch pauses. `log` is true for the first and then each power of two, unless
        /// the reply was an error the peer meant (`unavailable`, `busy`).
        case refused(String, log: Bool)
    }

    public let policy: Policy
    /// Whether the next request's parts are handed out as they come (`Outcome.part`) instead of
    /// kept until the last: for a first load, where nothing is answered from the figures until
    /// the whole snapshot is in, so the follower can install while the rest is on its way. A
    /// resync keeps it false: its figures must replace the old ones at once.
    public var handsOutParts = false
    public private(set) var state = State.wanted
    /// Unusable replies in a row.
    public private(set) var failures = 0

    public init(policy: Policy) {
        self.policy = policy
    }

    /// A resync: a new snapshot is wanted (a request under way is answered first).
    public mutating func want() {
        switch state {
        case .asking: return
        case .pausing: return
        case .wanted, .idle: state = .wanted
        }
    }

    public var isAsking: Bool {
        if case .asking = state { return true }
        return false
    }

    public var isWanted: Bool {
        switch state {
        case .wanted, .pausing: true
        case .asking, .idle: false
        }
    }

    /// Whether to send a request now.
    public func due(now: Int64) -> Bool {
        switch state {
        case .wanted: true
        case .pausing(let until): now >= until
        case .asking, .idle: false
        }
    }

    /// The request `id` went out.
    public mutating func sent(id: String, now: Int64) {
        state = .asking(id: id, askedAt: now, lastWord: now, parts: Parts(handOut: handsOutParts && policy.chunked))
    }

    /// Gives up a request past its time-out (true: the caller resets its socket, so that a late
    /// reply cannot be taken for the next one) and wants a new snapshot at once.
    public mutating func expire(now: Int64) -> Bool {
        guard case .asking(_, _, let lastWord, _) = state, now - lastWord > policy.timeoutMillis else { return false }
        state = .wanted
        return true
    }

    /// Takes one reply from the socket.
    public mutating func take(_ reply: WireMessage, attachment: [UInt8]?, now: Int64) -> Outcome {
        let head = reply.head
        guard case .asking(let id, let askedAt, _, var parts) = state, head.id == .string(id) else { return .nothing }
        // The parts are taken out of the state while they grow: appended to in place, not copied
        // with every part (each path below sets the state again).
        state = .wanted
        if !policy.chunked {
            guard head.kind == .snapshotResult, case .success(let whole) = reply.body(SnapshotResult.self),
                let (stream, position) = whole.positions.first
            else {
                return refuse(reply.bytes, error: head.kind == .error, now: now)
            }
            return install(
                Snapshot(
                    stream: stream, position: position, upstream: whole.upstream ?? [:], catalog: whole.catalog, figures: .bodies(whole.figures),
                    tookMillis: now - askedAt
                )
            )
        }
        guard head.kind == .snapshotPart, let attachment, case .success(let part) = reply.body(SnapshotPart.self),
            part.part == parts.next, part.positions.count == 1
        else {
            return refuse(reply.bytes, error: head.kind == .error, now: now)
        }
        let records: [FigureRecord]
        do {
            records = try FigureList.decode(attachment)
        } catch {
            return refuse(Array("the part's figures do not read: \(error)".utf8), error: false, now: now)
        }
        if part.part == 0 { parts.head = part }
        parts.next += 1
        guard part.last, let first = parts.head, let (stream, position) = first.positions.first else {
            if parts.handOut {
                parts.handedOut += records.count
                state = .asking(id: id, askedAt: askedAt, lastWord: now, parts: parts)
                return .part(records, total: part.part == 0 ? part.total : nil)
            }
            parts.records.append(records)
            state = .asking(id: id, askedAt: askedAt, lastWord: now, parts: parts)
            return .nothing
        }
        parts.records.append(records)
        var snapshot = Snapshot(
            stream: stream, position: position, upstream: first.upstream, catalog: first.catalog, figures: .records(parts.records),
            tookMillis: now - askedAt, handedOut: parts.handedOut
        )
        snapshot.facts = first.facts
        return install(snapshot)
    }

    private mutating func install(_ snapshot: Snapshot) -> Outcome {
        failures = 0
        state = .idle
        return .installed(snapshot)
    }

    /// `error`: the peer answered with an error (`unavailable` while it loads, `busy`): expected
    /// now and then, so not worth a log line.
    private mutating func refuse(_ reply: [UInt8], error: Bool, now: Int64) -> Outcome {
        failures += 1
        let pause = min(policy.pauses.lowerBound << Int64(min(failures - 1, 16)), policy.pauses.upperBound)
        state = .pausing(until: now + pause)
        return .refused(excerpt(bytes: reply), log: !error && failures & (failures - 1) == 0)
    }
}

/// The one Clone client: a snapshot fetch over a DEALER, then a `CloneFollower` on the feed. The
/// query replica follows each aggregate with one, the page its replica, `deliveries subscribe`
/// a replica. Owned by one thread, like its socket.
public final class CloneClient {
    public let endpoint: String
    public let client: RequestClient
    public let request: SnapshotRequest
    public private(set) var fetch: SnapshotFetch
    /// `SnapshotFetch.handsOutParts`, for the next request.
    public var handsOutParts: Bool {
        get { fetch.handsOutParts }
        set { fetch.handsOutParts = newValue }
    }
    /// The feed's side: which events to apply, once a snapshot says where the stream stands.
    public var follower = CloneFollower()

    public init(endpoint: String, client: RequestClient, request: SnapshotRequest, policy: SnapshotFetch.Policy) {
        self.endpoint = endpoint
        self.client = client
        self.request = request
        fetch = SnapshotFetch(policy: policy)
    }

    /// Asks for a snapshot when one is due (not yet: no peer connected, the next turn tries
    /// again), and gives up one past its time-out. Returns true when a request timed out.
    @discardableResult
    public func tend(now: Int64) throws -> Bool {
        let expired = fetch.expire(now: now)
        if expired { client.reset() }
        if fetch.due(now: now), let id = try client.send(type: MessageType.snapshot, body: request) {
            fetch.sent(id: id, now: now)
        }
        return expired
    }

    /// Takes the replies waiting on the socket, at most `limit` of them (the rest stay for the
    /// next turn, so that a loop that installs parts as they come still answers between them);
    /// an installed snapshot also sets the follower.
    public func takeReplies(now: Int64, limit: Int = .max) -> [SnapshotFetch.Outcome] {
        var outcomes: [SnapshotFetch.Outcome] = []
        var taken = 0
        while taken < limit, let (reply, attachment) = try? client.takeWithAttachment() {
            taken += 1
            let outcome = fetch.take(reply, attachment: attachment, now: now)
            if case .installed(let snapshot) = outcome { follower.snapshot(stream: snapshot.stream, seq: snapshot.position) }
            if case .nothing = outcome { continue }
            outcomes.append(outcome)
        }
        return outcomes
    }

    /// A feed event put to the follower; a resync verdict also wants a new snapshot.
    public func take(stream: String, seq: UInt64, heartbeat: Bool) -> CloneFollower.Verdict {
        let verdict = follower.take(stream: stream, seq: seq, heartbeat: heartbeat)
        if case .resync = verdict { resync() }
        return verdict
    }

    /// Forgets where the stream stands and wants a new snapshot.
    public func resync() {
        follower.resync()
        fetch.want()
    }

    /// Wants a new snapshot without touching the follower (a stream the feed shows that no
    /// snapshot has named yet).
    public func want() { fetch.want() }

    /// Fetches one snapshot, waiting for it up to `timeoutMillis` (a command-line client). A reply
    /// that cannot be used (`busy`, `unavailable`) is asked again after the policy's pause while
    /// the time allows; the error then names the last one.
    public func fetchNow(timeoutMillis: Int64) throws -> Snapshot {
        resync()
        let deadline = monotonicMillis() + timeoutMillis
        var lastRefusal: String?
        while monotonicMillis() < deadline {
            try tend(now: monotonicMillis())
            let wait = max(1, min(100, deadline - monotonicMillis()))
            _ = try Poller([client.pollable]).poll(timeoutMilliseconds: Int(wait))
            for outcome in takeReplies(now: monotonicMillis()) {
                switch outcome {
                case .installed(let snapshot): return snapshot
                case .refused(let reason, _): lastRefusal = reason
                case .nothing, .part: continue  // parts are kept whole here (`handsOutParts` false)
                }
            }
        }
        client.reset()
        fetch = SnapshotFetch(policy: fetch.policy)
        if let lastRefusal { throw CloneError("\(endpoint) did not give a snapshot within \(timeoutMillis) ms: \(lastRefusal)") }
        throw CloneError("no reply from \(endpoint) within \(timeoutMillis) ms; is the service running?")
    }
}

public struct CloneError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
