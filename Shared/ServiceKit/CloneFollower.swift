/// The Clone pattern's follower, written once (the zguide's Clone: subscribe, take a snapshot,
/// then apply only newer updates, gapless by seq): the query replica follows each aggregate with
/// one, and `deliveries subscribe` follows a replica with one.
///
/// It decides; it does not read sockets or hold figures. Each event of the feed is put to
/// `take`, which says to apply it, skip it, hold it (no snapshot yet: keep it until one comes),
/// or to snapshot again, and why.
public struct CloneFollower: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// No snapshot yet, or a resync asked for one: events are held, not applied.
        case awaitingSnapshot
        /// Following `stream`, every event up to `seq` applied.
        case live(stream: String, seq: UInt64)
    }

    public enum Verdict: Sendable, Equatable {
        case apply
        case skip
        case hold
        case resync(String)
    }

    public private(set) var state = State.awaitingSnapshot

    public init() {}

    // Not inlined into callers: Swift 6.3's release optimizer crashes ("Found ownership error")
    // on the switch over `state` once it is inlined into the replica's feed loop.

    /// The stream followed, once a snapshot is in.
    public var stream: String? {
        @inline(never) get { streamFollowed }
    }

    private var streamFollowed: String? {
        if case .live(let stream, _) = state { return stream }
        return nil
    }

    /// The last seq applied, once a snapshot is in.
    public var position: UInt64? {
        @inline(never) get { positionApplied }
    }

    private var positionApplied: UInt64? {
        if case .live(_, let seq) = state { return seq }
        return nil
    }

    /// A snapshot is in: it reflects `stream` up to `seq`.
    public mutating func snapshot(stream: String, seq: UInt64) {
        state = .live(stream: stream, seq: seq)
    }

    /// Forgets the position: the next events are held until a new snapshot is in.
    public mutating func resync() {
        state = .awaitingSnapshot
    }

    /// What to do with the next event of the feed; `.apply` also moves the position on.
    @inline(never)
    public mutating func take(stream: String, seq: UInt64, heartbeat: Bool) -> Verdict {
        guard case .live(let followed, let position) = state else { return heartbeat ? .skip : .hold }
        guard stream == followed else {
            state = .awaitingSnapshot
            return .resync("the stream changed (\(followed) to \(stream)): a restart")
        }
        if heartbeat {
            guard seq <= position else {
                state = .awaitingSnapshot
                return .resync("missed \(seq - position) update(s) (heartbeat ahead)")
            }
            return .skip
        }
        if seq <= position { return .skip }
        guard seq == position + 1 else {
            state = .awaitingSnapshot
            return .resync("missed \(seq - position - 1) update(s)")
        }
        state = .live(stream: followed, seq: seq)
        return .apply
    }
}
