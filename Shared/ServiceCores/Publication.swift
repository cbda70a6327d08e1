import DeliveryCore
import DeliveryMessages
import ServiceKit

/// What a core asks to be published on its service's PUB; the executable publishes it.
public enum Publication: Sendable {
    case figure(FigureChange)
    case catalog(CatalogAcceptedEvent)
    case report(ReportAcceptedEvent)
    case fact(FactEvent)
    /// An aggregate's turn: one `figure.batch` (binary), its head counting what it holds.
    case batch(FigureBatch)
}

extension Publisher {
    /// Publishes what a core produced, in order. A batch that cannot be encoded is skipped in the
    /// numbering (followers resync) and returned as an error. `figureBody` gives a changed figure
    /// as subscribers get it (a query replica applies its coverage); it is asked only for a figure
    /// someone subscribed to.
    @discardableResult
    public func publish(_ publications: [Publication], figureBody: ((FigureChange) -> FigureBody)? = nil) -> [any Error] {
        var errors: [any Error] = []
        takeSubscriptions()
        for publication in publications {
            switch publication {
            case .figure(let change):
                let topic = change.body.entity.topic("figure")
                let body = change.removed || !wants(topic) ? change.body : figureBody?(change) ?? change.body
                publish(topic: topic, type: change.removed ? MessageType.figureRemoved : MessageType.figureChanged, body: body)
            case .catalog(let event):
                publish(topic: Topic.catalog, type: MessageType.catalogAccepted, body: event)
            case .report(let event):
                publish(topic: event.report.entity.topic("report"), type: MessageType.reportAccepted, body: event)
            case .fact(let event):
                publish(topic: event.entity.topic("fact"), type: .fact, body: event)
            case .batch(let batch):
                guard wants(Topic.figureBatch) else {
                    skip()
                    continue
                }
                do {
                    publish(
                        topic: Topic.figureBatch, type: MessageType.figureBatch,
                        body: BatchHead(figures: batch.figures.count, reports: batch.reports.count, catalogs: batch.catalogs.count),
                        attachment: try batch.encoded()
                    )
                } catch {
                    skip()
                    errors.append(error)
                }
            }
        }
        return errors
    }
}

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
