import ArgumentParser
import ServiceKit

@main
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery-query",
        abstract: "Holds a replica of the figures, answers queries and republishes live updates."
    )

    @Option(help: "ROUTER endpoint for queries (env DELIVERY_QUERY_BIND; default tcp://*:5554).")
    var queryBind: String?

    @Option(help: "PUB endpoint for live subscribers (env DELIVERY_QUERY_PUBLISH; default tcp://*:5555).")
    var queryPublish: String?

    @Option(help: "Aggregate ROUTERs for snapshots, comma-separated (env DELIVERY_AGGREGATE_ENDPOINTS).")
    var aggregateEndpoints: String?

    @Option(help: "Aggregate PUBs to follow, comma-separated (env DELIVERY_AGGREGATE_FEEDS).")
    var aggregateFeeds: String?

    @Option(help: "CURVE: the aggregates' public key, when they run with CURVE (env DELIVERY_AGGREGATE_PUBLIC_KEY).")
    var aggregatePublicKey: String?

    @Option(help: "Bytes of queries held while they wait for 'after' (env DELIVERY_MAX_WAITING_BYTES; default 64 MiB).")
    var maxWaitingBytes: Int?

    @Option(help: "Figures per part of the aggregates' snapshots (env DELIVERY_SNAPSHOT_CHUNK; default 20000).")
    var snapshotChunk: Int?

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = try common.makeLogger("delivery-query")
        let aggregateEndpoints = try endpointListSetting(
            self.aggregateEndpoints, "DELIVERY_AGGREGATE_ENDPOINTS", default: "tcp://127.0.0.1:5553"
        )
        let aggregateFeeds = try endpointListSetting(self.aggregateFeeds, "DELIVERY_AGGREGATE_FEEDS", default: "tcp://127.0.0.1:5552")
        try checkPaired(aggregateEndpoints, "DELIVERY_AGGREGATE_ENDPOINTS", aggregateFeeds, "DELIVERY_AGGREGATE_FEEDS")
        let settings = QueryService.Settings(
            bind: try endpointSetting(queryBind, "DELIVERY_QUERY_BIND", default: "tcp://*:5554", binding: true),
            publish: try endpointSetting(queryPublish, "DELIVERY_QUERY_PUBLISH", default: "tcp://*:5555", binding: true),
            aggregateEndpoints: aggregateEndpoints,
            aggregateFeeds: aggregateFeeds,
            instance: common.resolvedInstance,
            maxRequestBytes: try common.resolvedMaxRequestBytes(), publishHighWaterMark: try common.resolvedPublishHighWaterMark(),
            curve: try common.resolvedCurve(),
            aggregatePublicKey: try publicKeySetting(aggregatePublicKey, "DELIVERY_AGGREGATE_PUBLIC_KEY"),
            maxConnections: try common.resolvedMaxConnections(),
            maxWaitingBytes: try intSetting(maxWaitingBytes, "DELIVERY_MAX_WAITING_BYTES", default: 64 << 20, range: (1 << 20)...(4 << 30)),
            snapshotChunk: try intSetting(snapshotChunk, "DELIVERY_SNAPSHOT_CHUNK", default: 20_000, range: 100...100_000)
        )
        let observability = Observability(service: "query")
        RequestMetrics.shared.install(observability)
        let metricsBind = try common.resolvedMetricsBind()
        await ServiceRunner.main(name: "query", logger: logger, metrics: metricsBind.map { (observability, $0) }) { stop in
            var state = ReplicaState(settings: settings, logger: logger, observability: observability)
            try state.run(stop: stop)
        }
    }
}
