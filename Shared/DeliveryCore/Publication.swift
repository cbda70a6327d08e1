import DeliveryMessages

/// What a core asks to be published on its service's PUB; the executable publishes it.
public enum Publication: Sendable {
    case figure(FigureChange)
    case catalog(CatalogAcceptedEvent)
    case report(ReportAcceptedEvent)
    case fact(FactEvent)
    /// An aggregate's turn: one `figure.batch` (binary), its head counting what it holds.
    case batch(FigureBatch)
}
