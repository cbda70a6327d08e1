import DeliveryMessages

/// A snapshot as a Clone client installs it: where the stream stands, the ingest positions it
/// reflects, the catalog, and the figures (binary records from an aggregate's chunked parts, or
/// JSON bodies from a whole `snapshot.result`).
public struct Snapshot: Sendable {
    public enum Figures: Sendable {
        /// An aggregate's records, part by part as they came (not copied into one array).
        case records([[FigureRecord]])
        case bodies([FigureBody])
    }

    public var stream: String
    public var position: UInt64
    public var upstream: [String: UInt64]
    public var catalog: CatalogDocument?
    public var figures: Figures
    /// Milliseconds from asking to the last part.
    public var tookMillis: Int64
    /// Figures handed out before, part by part (`SnapshotFetch.handsOutParts`): `figures` is the
    /// rest.
    public var handedOut = 0
    /// The aggregate's fact history (nil from a whole JSON snapshot).
    public var facts: FactHistoryBody?

    public init(
        stream: String, position: UInt64, upstream: [String: UInt64], catalog: CatalogDocument?, figures: Figures, tookMillis: Int64,
        handedOut: Int = 0
    ) {
        self.handedOut = handedOut
        self.stream = stream
        self.position = position
        self.upstream = upstream
        self.catalog = catalog
        self.figures = figures
        self.tookMillis = tookMillis
    }
}
