/// What any query's body may carry besides its own fields: read-your-writes.
public struct QueryControl: Codable, Sendable {
    /// Answer only once these upstream positions are applied (for instance from an ingest ack).
    public var after: [String: UInt64]?
    /// How long to wait for `after` before replying `stale` (default 2000).
    public var timeoutMs: Int?

    public init(after: [String: UInt64]? = nil, timeoutMs: Int? = nil) {
        self.after = after
        self.timeoutMs = timeoutMs
    }
}
