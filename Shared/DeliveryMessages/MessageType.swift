/// The `type` of every message in PROTOCOL.md, and the extensions of this implementation.
public enum MessageType {
    // Requests any ROUTER answers.
    public static let ping = "ping"
    public static let pong = "pong"
    public static let status = "status"
    public static let statusResult = "status.result"
    public static let error = "error"

    // Ingest.
    public static let submit = "submit"
    public static let submitOK = "submit.ok"
    public static let catalogPut = "catalog.put"
    public static let catalogOK = "catalog.ok"
    public static let replay = "replay"
    public static let replayResult = "replay.result"

    // Events.
    public static let reportAccepted = "report.accepted"
    public static let catalogAccepted = "catalog.accepted"
    public static let figureChanged = "figure.changed"
    /// *Extension*: a figure a replica no longer has (its aggregate's new state lacks it).
    public static let figureRemoved = "figure.removed"
    public static let heartbeat = "heartbeat"

    // Aggregate and query.
    public static let snapshot = "snapshot"
    public static let snapshotResult = "snapshot.result"

    // Internal links (docs/PROTOCOL.md, "Internal links"): a JSON head and a binary frame.
    public static let figureBatch = "figure.batch"
    public static let reportBatch = "report.batch"
    public static let snapshotPart = "snapshot.part"

    // Queries.
    public static let units = "units"
    public static let share = "share"
    public static let growth = "growth"
    public static let ytd = "ytd"
    public static let ranking = "ranking"
    public static let streak = "streak"
    public static let series = "series"
    public static let reconcile = "reconcile"
    public static let convert = "convert"
    public static let catalog = "catalog"

    public static let queries: Set<String> = [
        units, share, growth, ytd, ranking, streak, series, reconcile, convert, catalog,
    ]

    public static func result(_ type: String) -> String { type + ".result" }
}

/// The topics of pub/sub messages.
public enum Topic {
    public static let heartbeat = "heartbeat"
    public static let catalog = "catalog."
    public static let figureBatch = "batch."
    public static let reportBatch = "report."
}
