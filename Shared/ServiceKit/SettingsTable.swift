import ArgumentParser

/// One setting, written once: its environment variable (the flag is derived from it), which
/// executables take it, what it means, its default as documented and as used, and for a number its
/// allowed range. The executables' flags and help, their settings, and the table in
/// docs/operations.md all come from here (`SettingsTableTests` fails when the docs differ).
public struct SettingSpec: Sendable {
    public let variable: String
    public let services: String
    public let meaning: String
    /// The default as the docs show it.
    public let shownDefault: String
    /// The default the code uses; nil when there is none or it is worked out at start.
    public let fallback: String?
    public let range: ClosedRange<Int>?

    init(
        _ variable: String, _ services: String, _ meaning: String, shown: String, fallback: String? = nil, range: ClosedRange<Int>? = nil
    ) {
        self.variable = variable
        self.services = services
        self.meaning = meaning
        shownDefault = shown
        self.fallback = fallback
        self.range = range
    }

    /// `DELIVERY_INGEST_BIND` → `ingest-bind`.
    public var flag: String {
        String(variable.dropFirst("DELIVERY_".count)).lowercased().replacingOccurrences(of: "_", with: "-")
    }

    public var name: NameSpecification { .customLong(flag) }

    /// The flag's help: the meaning, the variable and the default.
    public var help: ArgumentHelp {
        ArgumentHelp("\(meaning.replacingOccurrences(of: "`", with: "")) (env \(variable); default \(shownDefault.replacingOccurrences(of: "`", with: "")))")
    }

    // MARK: Reading

    /// The flag, else the variable, else the default (empty when there is none).
    public func text(_ flag: String?) -> String { setting(flag, variable, default: fallback ?? "") }

    /// The value, or nil when neither the flag nor the variable is set and there is no default.
    public func optional(_ flag: String?) -> String? {
        let value = text(flag)
        return value.isEmpty ? nil : value
    }

    public func list(_ flag: String?) -> [String] { listSetting(flag, variable, default: fallback ?? "") }

    public func int(_ flag: Int?) throws -> Int {
        try int(flag, default: Int(fallback ?? "0") ?? 0)
    }

    /// A number whose default is worked out at start (such as from the open-file limit).
    public func int(_ flag: Int?, default value: Int) throws -> Int {
        try intSetting(flag, variable, default: value, range: range ?? Int.min...Int.max)
    }

    public func endpoint(_ flag: String?, binding: Bool) throws -> String {
        try endpointSetting(flag, variable, default: fallback ?? "", binding: binding)
    }

    public func endpoints(_ flag: String?) throws -> [String] {
        try endpointListSetting(flag, variable, default: fallback ?? "")
    }

    public func publicKey(_ flag: String?) throws -> String? { try publicKeySetting(flag, variable) }
}

/// Every setting of every executable.
public enum SettingsTable {
    // ingest
    public static let ingestBind = SettingSpec(
        "DELIVERY_INGEST_BIND", "ingest", "ROUTER for submit, catalog.put, replay, status, ping", shown: "`tcp://*:5550`", fallback: "tcp://*:5550"
    )
    public static let ingestPublish = SettingSpec(
        "DELIVERY_INGEST_PUBLISH", "ingest", "PUB of report.batch, catalog.accepted, heartbeat", shown: "`tcp://*:5551`", fallback: "tcp://*:5551"
    )
    public static let dataDir = SettingSpec(
        "DELIVERY_DATA_DIR", "ingest, aggregate",
        "ingest: where the log (`ingest.sqlite`) lives; aggregate: where its checkpoint (`aggregate-<instance>.checkpoint`) lives",
        shown: "`./data`", fallback: "./data"
    )
    public static let databaseURL = SettingSpec(
        "DELIVERY_DATABASE_URL", "ingest",
        "`postgres://user:password@host:port/database`: the log in PostgreSQL instead of SQLite under the data dir (each instance writes its own stream; report ids unique across instances; the catalog shared)",
        shown: "empty: SQLite"
    )
    public static let maxBatch = SettingSpec(
        "DELIVERY_MAX_BATCH", "ingest", "most reports in one `submit`", shown: "50000", fallback: "50000", range: 1...1_000_000
    )
    // aggregate
    public static let checkpointSeconds = SettingSpec(
        "DELIVERY_CHECKPOINT_SECONDS", "aggregate",
        "seconds between checkpoints while reports arrive (one is also written at SIGTERM); 0 turns checkpoints off and a restart replays every log from the start",
        shown: "30", fallback: "30", range: 0...86_400
    )
    public static let ingestEndpoints = SettingSpec(
        "DELIVERY_INGEST_ENDPOINTS", "aggregate", "every ingest ROUTER, comma-separated", shown: "`tcp://127.0.0.1:5550`",
        fallback: "tcp://127.0.0.1:5550"
    )
    public static let ingestFeeds = SettingSpec(
        "DELIVERY_INGEST_FEEDS", "aggregate", "every ingest PUB, same order", shown: "`tcp://127.0.0.1:5551`", fallback: "tcp://127.0.0.1:5551"
    )
    public static let aggregatePublish = SettingSpec(
        "DELIVERY_AGGREGATE_PUBLISH", "aggregate", "PUB of figure.batch and heartbeat", shown: "`tcp://*:5552`", fallback: "tcp://*:5552"
    )
    public static let aggregateBind = SettingSpec(
        "DELIVERY_AGGREGATE_BIND", "aggregate", "ROUTER for snapshot, status, ping", shown: "`tcp://*:5553`", fallback: "tcp://*:5553"
    )
    public static let aggregateGroups = SettingSpec(
        "DELIVERY_AGGREGATE_GROUPS", "aggregate", "the group ids this shard owns (`market` for market-wide reports), comma-separated; empty: all",
        shown: "empty"
    )
    public static let ingestPublicKey = SettingSpec(
        "DELIVERY_INGEST_PUBLIC_KEY", "aggregate", "CURVE: the ingest instances' public key, when they run with CURVE", shown: "none"
    )
    // query
    public static let aggregateEndpoints = SettingSpec(
        "DELIVERY_AGGREGATE_ENDPOINTS", "query", "every shard's ROUTER, comma-separated", shown: "`tcp://127.0.0.1:5553`",
        fallback: "tcp://127.0.0.1:5553"
    )
    public static let aggregateFeeds = SettingSpec(
        "DELIVERY_AGGREGATE_FEEDS", "query", "every shard's PUB, same order", shown: "`tcp://127.0.0.1:5552`", fallback: "tcp://127.0.0.1:5552"
    )
    public static let queryBind = SettingSpec(
        "DELIVERY_QUERY_BIND", "query", "ROUTER for queries, snapshot, status, ping", shown: "`tcp://*:5554`", fallback: "tcp://*:5554"
    )
    public static let queryPublish = SettingSpec(
        "DELIVERY_QUERY_PUBLISH", "query", "PUB for live subscribers", shown: "`tcp://*:5555`", fallback: "tcp://*:5555"
    )
    public static let snapshotChunk = SettingSpec(
        "DELIVERY_SNAPSHOT_CHUNK", "query", "figures per part when it loads an aggregate's snapshot (chunked, internal)", shown: "20000",
        fallback: "20000", range: 100...100_000
    )
    public static let maxWaitingBytes = SettingSpec(
        "DELIVERY_MAX_WAITING_BYTES", "query", "bytes of queries held while they wait for `after`; past it a query gets `busy`", shown: "64 MiB",
        fallback: "\(64 << 20)", range: (1 << 20)...(4 << 30)
    )
    public static let factsPerBatch = SettingSpec(
        "DELIVERY_FACTS_PER_BATCH", "aggregate",
        "facts (`fact` events) are stated for a turn that changes at most this many figures (a bulk load, or reports replayed after a restart, state none; `status` counts the turns skipped); 0 turns them off",
        shown: "1000", fallback: "1000", range: 0...100_000
    )
    public static let factHistory = SettingSpec(
        "DELIVERY_FACT_HISTORY", "aggregate, query",
        "facts an aggregate's fact history keeps (at least; up to a quarter more) and a replica keeps of each: how far back a `facts` token resumes",
        shown: "10000", fallback: "10000", range: 100...1_000_000
    )
    public static let aggregatePublicKey = SettingSpec(
        "DELIVERY_AGGREGATE_PUBLIC_KEY", "query", "CURVE: the aggregates' public key, when they run with CURVE", shown: "none"
    )
    // every service
    public static let instance = SettingSpec(
        "DELIVERY_INSTANCE", "all, web", "instance name, part of the stream id (an ingest adds a random part made with its log)", shown: "the host name"
    )
    public static let logLevel = SettingSpec(
        "DELIVERY_LOG_LEVEL", "all, web", "trace, debug, info, notice, warning, error or critical", shown: "`info`", fallback: "info"
    )
    public static let logFormat = SettingSpec(
        "DELIVERY_LOG_FORMAT", "all, web", "`text`, or `json` for one JSON object per line", shown: "`text`", fallback: "text"
    )
    public static let maxRequestBytes = SettingSpec(
        "DELIVERY_MAX_REQUEST_BYTES", "all", "larger requests get `too_large`", shown: "4 MiB", fallback: "\(4 << 20)", range: 1024...(256 << 20)
    )
    public static let publishHwm = SettingSpec(
        "DELIVERY_PUBLISH_HWM", "all",
        "messages a PUB queues per subscriber before it drops for that subscriber (who then sees a gap and resyncs)", shown: "100000",
        fallback: "100000", range: 1...10_000_000
    )
    public static let maxConnections = SettingSpec(
        "DELIVERY_MAX_CONNECTIONS", "all",
        "connections a ROUTER holds; past it the oldest is closed (logged, counted as `refusedConnections` in `status`). Each service raises its open-file soft limit to the hard limit at start",
        shown: "90 % of (open-file limit − 64)", range: 1...Int(Int32.max)
    )
    public static let metricsBind = SettingSpec(
        "DELIVERY_METRICS_BIND", "all", "`host:port` for `/metrics`, `/healthz`, `/readyz` over HTTP", shown: "off"
    )
    public static let curveSecretKey = SettingSpec(
        "DELIVERY_CURVE_SECRET_KEY", "all", "CURVE: this service's secret key, Z85; turns CURVE on for the sockets it binds (docs/security.md)",
        shown: "off"
    )
    public static let curveKeyFile = SettingSpec(
        "DELIVERY_CURVE_KEY_FILE", "all, deliveries, web", "CURVE: a key file from `deliveries keygen` instead of the key itself", shown: "off"
    )
    public static let curveClients = SettingSpec(
        "DELIVERY_CURVE_CLIENTS", "all", "CURVE: a file of client public keys to accept, one per line; required on ingest", shown: "off"
    )
    // the client
    public static let endpoint = SettingSpec(
        "DELIVERY_ENDPOINT", "deliveries, web",
        "query endpoint(s), comma-separated: one is picked at random and the next tried when it does not answer", shown: "`tcp://127.0.0.1:5554`",
        fallback: "tcp://127.0.0.1:5554"
    )
    public static let ingest = SettingSpec(
        "DELIVERY_INGEST", "deliveries", "ingest endpoint(s), comma-separated, tried like the query endpoints; a retried batch is acknowledged as duplicates",
        shown: "`tcp://127.0.0.1:5550`", fallback: "tcp://127.0.0.1:5550"
    )
    public static let feed = SettingSpec(
        "DELIVERY_FEED", "deliveries, web", "live feed: the PUB of the query replica that the first endpoint names", shown: "`tcp://127.0.0.1:5555`",
        fallback: "tcp://127.0.0.1:5555"
    )
    public static let serverKey = SettingSpec(
        "DELIVERY_SERVER_KEY", "deliveries, web", "CURVE: the public key of the service a command talks to; turns CURVE on", shown: "off"
    )

    // the page
    public static let webBind = SettingSpec(
        "DELIVERY_WEB_BIND", "web", "`host:port` the page and its JSON endpoints are served on (an IPv4 address, or `0.0.0.0` for every interface)",
        shown: "`127.0.0.1:8080`", fallback: "127.0.0.1:8080"
    )
    public static let webTimeoutMs = SettingSpec(
        "DELIVERY_WEB_TIMEOUT_MS", "web", "how long a JSON endpoint waits for the replica's answer, in milliseconds", shown: "5000",
        fallback: "5000", range: 100...60_000
    )

    public static let all: [SettingSpec] = [
        ingestBind, ingestPublish, dataDir, databaseURL, maxBatch, checkpointSeconds, ingestEndpoints, ingestFeeds, aggregatePublish, aggregateBind,
        aggregateGroups, ingestPublicKey, aggregateEndpoints, aggregateFeeds, queryBind, queryPublish, snapshotChunk, maxWaitingBytes,
        factsPerBatch, factHistory, aggregatePublicKey, instance, logLevel, logFormat, maxRequestBytes, publishHwm, maxConnections, metricsBind, curveSecretKey,
        curveKeyFile, curveClients, endpoint, ingest, feed, serverKey, webBind, webTimeoutMs,
    ]

    /// The table of docs/operations.md, "Settings".
    public static func markdown() -> String {
        var lines = ["| variable | flag | used by | meaning | default |", "|---|---|---|---|---|"]
        for spec in all {
            lines.append("| `\(spec.variable)` | `--\(spec.flag)` | \(spec.services) | \(spec.meaning) | \(spec.shownDefault) |")
        }
        return lines.joined(separator: "\n")
    }
}
