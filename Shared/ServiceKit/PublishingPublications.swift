import DeliveryCore
import DeliveryMessages

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
                let topic = change.body.entity.topic(.figure, measure: change.key.measure, powertrain: change.key.powertrain)
                let body = change.removed || !wants(topic) ? change.body : figureBody?(change) ?? change.body
                publish(topic: topic, type: change.removed ? MessageType.figureRemoved : MessageType.figureChanged, body: body)
            case .catalog(let event):
                publish(topic: Topic.catalog, type: MessageType.catalogAccepted, body: event)
            case .report(let event):
                publish(topic: event.report.entity.topic(.report), type: MessageType.reportAccepted, body: event)
            case .fact(let event):
                publish(topic: event.entity.topic(.fact), type: .fact, body: event)
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
