/// What any query's body may carry besides its own fields: read-your-writes.
public struct QueryControl: Codable, Sendable {
    /// Answer only once these upstream positions are applied (for instance from an ingest ack).
    public var after: [String: UInt64]?
    /// How long to wait for `after` before replying `stale` (default 2000).
    public var timeoutMs: Int?
    /// *Extension*: which figures to answer from (deliveries when absent): every query kind takes
    /// it, and each measure has its own figures, sums, growth, rankings, records and streaks.
    public var measure: Measure?
    /// *Extension*: which powertrain's figures to answer from (the whole when absent): `BEV`,
    /// `PHEV`, `EREV`, `FCEV`, `HEV`, `ICE`, or a group, `NEV` or `plug-in`. Read by the dispatcher
    /// from the body (a string here: `ranking` has long had its own `powertrain`, a catalog filter,
    /// and takes this one only with `byPowertrain`).
    public var powertrain: String?
    /// *Extension*: answer as of this moment (RFC 3339): from the reports whose `reportedAt` is at
    /// or before it, as if later ones had never come (docs/PROTOCOL.md, "What was known when").
    public var knownAt: String?

    public init(after: [String: UInt64]? = nil, timeoutMs: Int? = nil, measure: Measure? = nil, powertrain: Powertrain? = nil) {
        self.after = after
        self.timeoutMs = timeoutMs
        self.measure = measure?.wire
        self.powertrain = powertrain?.rawValue
    }
}
