import ArgumentParser
import ServiceKit

@main
struct AggregateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery-aggregate",
        abstract: "Follows the ingest streams, keeps every figure and publishes each change."
    )

    @Option(help: "PUB endpoint for figure updates (env DELIVERY_AGGREGATE_PUBLISH; default tcp://*:5552).")
    var aggregatePublish: String?

    @Option(help: "ROUTER endpoint for snapshots (env DELIVERY_AGGREGATE_BIND; default tcp://*:5553).")
    var aggregateBind: String?

    @Option(help: "Ingest ROUTERs to replay from, comma-separated (env DELIVERY_INGEST_ENDPOINTS).")
    var ingestEndpoints: String?

    @Option(help: "Ingest PUBs to follow, comma-separated (env DELIVERY_INGEST_FEEDS).")
    var ingestFeeds: String?

    @Option(help: "Group ids this shard owns, comma-separated; empty: all (env DELIVERY_AGGREGATE_GROUPS).")
    var aggregateGroups: String?

    @Option(help: "Where the checkpoint is kept (env DELIVERY_DATA_DIR; default ./data).")
    var dataDir: String?

    @Option(help: "Seconds between checkpoints while reports arrive; 0 turns them off (env DELIVERY_CHECKPOINT_SECONDS; default 30).")
    var checkpointSeconds: Int?

    @Option(help: "CURVE: the ingest instances' public key, when they run with CURVE (env DELIVERY_INGEST_PUBLIC_KEY).")
    var ingestPublicKey: String?

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = try common.makeLogger("delivery-aggregate")
        let ingestEndpoints = try endpointListSetting(self.ingestEndpoints, "DELIVERY_INGEST_ENDPOINTS", default: "tcp://127.0.0.1:5550")
        let ingestFeeds = try endpointListSetting(self.ingestFeeds, "DELIVERY_INGEST_FEEDS", default: "tcp://127.0.0.1:5551")
        try checkPaired(ingestEndpoints, "DELIVERY_INGEST_ENDPOINTS", ingestFeeds, "DELIVERY_INGEST_FEEDS")
        let settings = AggregateService.Settings(
            publish: try endpointSetting(aggregatePublish, "DELIVERY_AGGREGATE_PUBLISH", default: "tcp://*:5552", binding: true),
            bind: try endpointSetting(aggregateBind, "DELIVERY_AGGREGATE_BIND", default: "tcp://*:5553", binding: true),
            ingestEndpoints: ingestEndpoints,
            ingestFeeds: ingestFeeds,
            groups: Set(listSetting(aggregateGroups, "DELIVERY_AGGREGATE_GROUPS", default: "").map { $0.lowercased() }),
            instance: common.resolvedInstance,
            maxRequestBytes: try common.resolvedMaxRequestBytes(), publishHighWaterMark: try common.resolvedPublishHighWaterMark(),
            curve: try common.resolvedCurve(), ingestPublicKey: try publicKeySetting(ingestPublicKey, "DELIVERY_INGEST_PUBLIC_KEY"),
            maxConnections: try common.resolvedMaxConnections(),
            dataDirectory: setting(dataDir, "DELIVERY_DATA_DIR", default: "./data"),
            checkpointSeconds: try intSetting(checkpointSeconds, "DELIVERY_CHECKPOINT_SECONDS", default: 30, range: 0...86_400)
        )
        let observability = Observability(service: "aggregate")
        RequestMetrics.shared.install(observability)
        let metricsBind = try common.resolvedMetricsBind()
        await ServiceRunner.main(name: "aggregate", logger: logger, metrics: metricsBind.map { (observability, $0) }) { stop in
            var state = AggregateState(settings: settings, logger: logger, observability: observability)
            try state.run(stop: stop)
        }
    }
}
