/// A query's result body: every one says which upstream positions it reflects.
public protocol QueryResult: Codable, Sendable {
    var asOf: [String: UInt64] { get set }
    /// *Extension*: the measure the answer speaks of, absent for deliveries.
    var measure: Measure? { get set }
    /// *Extension*: the powertrain whose figures the answer speaks of, absent for the whole.
    var powertrain: Powertrain? { get set }
    /// *Extension*: the moment the answer is as of (the query's `knownAt`), absent for now.
    var knownAt: String? { get set }
}
