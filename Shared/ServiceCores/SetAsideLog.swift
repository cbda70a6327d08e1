import DeliveryMessages

/// The events a follower could not apply: each one named by stream and seq in a log line as it is
/// set aside, all of them counted, the latest 20 kept for `status`.
public struct SetAsideLog {
    public private(set) var count = 0
    private var kept: [SetAsideEvent] = []

    public init() {}

    /// The latest first, or nil when none were set aside.
    public var latest: [SetAsideEvent]? { kept.isEmpty ? nil : kept.reversed() }

    /// Sets an event aside; returns the line that says so.
    public mutating func record(_ stream: String, _ seq: UInt64, _ reason: String) -> LogLine {
        count += 1
        kept.append(SetAsideEvent(stream: stream, seq: seq, reason: reason))
        if kept.count > 20 { kept.removeFirst(kept.count - 20) }
        return LogLine(.error, "an event cannot be applied; it is set aside", ["stream": stream, "seq": "\(seq)", "reason": reason])
    }
}
