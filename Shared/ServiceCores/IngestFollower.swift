import DeliveryMessages

/// Follows one ingest instance, as one explicit state machine: learn its stream id with
/// `status`, replay what the aggregate has not applied, then apply its live feed, and replay
/// again to fill any gap the feed shows.
public final class IngestFollower {
    public enum Phase: Equatable {
        /// The stream id is not known yet: `status` tells it.
        case learning
        /// Replaying up to what the log held when first asked; not ready yet.
        case catchingUp(stream: String)
        /// Caught up: each feed message that follows on from the position is applied.
        case live(stream: String)
        /// Caught up once, but a gap showed in the feed: replaying to fill it.
        case filling(stream: String)

        public var stream: String? {
            switch self {
            case .learning: nil
            case .catchingUp(let stream), .live(let stream), .filling(let stream): stream
            }
        }
    }

    /// The request under way, if any.
    public enum Pending {
        case status(id: String, sentAt: Int64)
        case replay(id: String, sentAt: Int64)

        public var id: String {
            switch self {
            case .status(let id, _), .replay(let id, _): id
            }
        }

        public var sentAt: Int64 {
            switch self {
            case .status(_, let at), .replay(_, let at): at
            }
        }
    }

    /// What to ask the ingest next; the aggregate sends it on its socket for this endpoint.
    public enum Ask: Sendable, Equatable {
        case status
        case replay(ReplayRequest)

        public var type: MessageType {
            switch self {
            case .status: .status
            case .replay: .replay
            }
        }
    }

    public let endpoint: String
    public private(set) var phase = Phase.learning
    public var pending: Pending?
    /// Replays that failed in a row, and when to ask again (a pause that grows to 5 s).
    public private(set) var failures = 0
    public private(set) var backoffUntil: Int64 = 0
    /// Set when the feed shows a stream nobody follows: `status` is asked again, to learn whether
    /// the log behind this endpoint is still the one followed.
    public var verifyWanted = false
    /// Feed messages of this stream that did not read (each replayed from the log instead).
    public private(set) var unreadableFeed = 0

    public init(endpoint: String) {
        self.endpoint = endpoint
    }

    public var stream: String? { phase.stream }

    /// Whether it has applied everything the ingest had when it was first asked.
    public var caughtUp: Bool {
        switch phase {
        case .live, .filling: true
        case .learning, .catchingUp: false
        }
    }

    /// Whether a feed message may be applied now (it must still follow on from the position).
    public var takesFeed: Bool {
        if case .live = phase { return pending == nil }
        return false
    }

    // MARK: Transitions

    /// `status` answered: the stream id, and whether the log holds more than was applied. A
    /// follower caught up once stays ready while it fills what it is behind.
    public func learned(stream: String, behind: Bool) {
        switch phase {
        case .live(let followed), .filling(let followed):
            if followed == stream {
                if behind { phase = .filling(stream: stream) }
                return
            }
            phase = behind ? .catchingUp(stream: stream) : .live(stream: stream)
        case .learning, .catchingUp:
            phase = behind ? .catchingUp(stream: stream) : .live(stream: stream)
        }
    }

    /// Back to learning the stream (after a rebuild, or when another endpoint claims it), asking
    /// again no sooner than `until`.
    public func relearn(until: Int64 = 0) {
        phase = .learning
        pending = nil
        backoffUntil = until
    }

    /// A replay page applied: live once the position reached the log's last seq.
    public func replayed(reachedLast: Bool) {
        failures = 0
        guard let stream = phase.stream, reachedLast else { return }
        phase = .live(stream: stream)
    }

    /// The feed shows a gap (or a heartbeat ahead): the log has what is missing.
    public func gap() {
        if case .live(let stream) = phase { phase = .filling(stream: stream) }
    }

    /// An answer (a replay page or `status`) could not be used: ask again after a pause that grows
    /// to 5 s. Returns whether to log it: the first failure and then every power of two, so a
    /// peer that keeps answering wrong costs a few lines, not one per retry.
    @discardableResult
    public func failed(now: Int64) -> Bool {
        failures += 1
        backoffUntil = now + min(100 << min(failures, 6), 5000)
        return failures & (failures - 1) == 0
    }

    /// A feed message that does not read: the log is asked for the same events instead. Returns
    /// whether to log it (the first and then every power of two).
    public func unreadable() -> Bool {
        unreadableFeed += 1
        gap()
        return unreadableFeed & (unreadableFeed - 1) == 0
    }

    /// What to do with a feed message of this follower's stream, the aggregate having applied it
    /// up to `applied`.
    public enum FeedVerdict: Sendable, Equatable {
        /// The next events, in order: apply them.
        case apply
        /// Applied already, or a heartbeat with nothing new.
        case skip
        /// Not the next events (or not while a replay is under way): the log is asked for what is
        /// missing (the follower is filling).
        case gap
    }

    /// Decides a feed message: `first` is the first seq a `report.batch` holds (nil when its head
    /// does not read). A heartbeat ahead is a gap; one behind what was applied (a log restored
    /// from a backup, or a heartbeat sent before the last replay) asks `status` again.
    public func take(_ kind: IngestFeedMessage, seq: UInt64, first: UInt64? = nil, applied: UInt64) -> FeedVerdict {
        switch kind {
        case .heartbeat:
            if seq < applied { verifyWanted = true }
            guard seq > applied else { return .skip }
        case .reportBatch:
            guard seq > applied else { return .skip }
            if let first, first <= seq, first == applied &+ 1, takesFeed { return .apply }
        case .catalogAccepted:
            guard seq > applied else { return .skip }
            if seq == applied &+ 1, takesFeed { return .apply }
        }
        gap()
        return .gap
    }

    /// `status` answered as it should: the pause and the count of failures are over.
    public func answered() {
        failures = 0
    }

    // MARK: Requests

    /// What the follower asks next, if anything: its status, or the next replay page. `reset`:
    /// the request under way timed out, so the socket must be made anew first (a late reply must
    /// not be taken for the next one's).
    public func next(from position: UInt64, now: Int64, timeout: Int64) -> (ask: Ask, reset: Bool)? {
        guard now >= backoffUntil else { return nil }
        var reset = false
        if let pending {
            guard now - pending.sentAt > timeout else { return nil }
            reset = true
            self.pending = nil
        }
        switch phase {
        case .learning:
            return (.status, reset)
        case .catchingUp, .filling:
            return (.replay(ReplayRequest(from: position, limit: 10_000, encoding: .binary)), reset)
        case .live:
            return verifyWanted ? (.status, reset) : nil
        }
    }

    /// The ask went out as request `id` (a socket with no peer yet takes nothing: asked again
    /// next turn).
    public func sent(_ ask: Ask, id: String, now: Int64) {
        switch ask {
        case .status:
            if case .live = phase { verifyWanted = false }
            pending = .status(id: id, sentAt: now)
        case .replay:
            pending = .replay(id: id, sentAt: now)
        }
    }
}

/// What an ingest's PUB carries, as the aggregate takes it.
public enum IngestFeedMessage: Sendable {
    case reportBatch, catalogAccepted, heartbeat

    /// nil for any other type: not something an ingest publishes.
    public init?(_ type: MessageType?) {
        switch type {
        case .reportBatch?: self = .reportBatch
        case .catalogAccepted?: self = .catalogAccepted
        case .heartbeat?: self = .heartbeat
        default: return nil
        }
    }
}
