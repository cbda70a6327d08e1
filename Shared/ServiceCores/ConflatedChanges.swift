import DeliveryCore
import DeliveryMessages

/// The figures one batch changed, each once: its `previous` from before the batch, its state
/// after it (a subscriber sees final values, PROTOCOL.md's conflation); a figure gone at the end
/// goes out as `figure.removed`.
public struct ConflatedChanges: Sendable {
    private var order: [FigureKey] = []
    private var latest: [FigureKey: FigureChange] = [:]

    public init() {}

    public var count: Int { order.count }

    /// Each changed figure once, in the order first changed, with its final value.
    public var changes: [FigureChange] { order.compactMap { latest[$0] } }

    public mutating func add(_ changed: [FigureChange]) {
        for change in changed {
            if let held = latest[change.key] {
                var body = change.body
                body.previous = held.body.previous
                latest[change.key] = FigureChange(key: change.key, body: body, removed: change.removed)
            } else {
                order.append(change.key)
                latest[change.key] = change
            }
        }
    }

    public var publications: [Publication] { changes.map { .figure($0) } }
}
