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

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = common.makeLogger("delivery-query")
        let settings = QueryService.Settings(
            bind: setting(queryBind, "DELIVERY_QUERY_BIND", default: "tcp://*:5554"),
            publish: setting(queryPublish, "DELIVERY_QUERY_PUBLISH", default: "tcp://*:5555"),
            aggregateEndpoints: listSetting(aggregateEndpoints, "DELIVERY_AGGREGATE_ENDPOINTS", default: "tcp://127.0.0.1:5553"),
            aggregateFeeds: listSetting(aggregateFeeds, "DELIVERY_AGGREGATE_FEEDS", default: "tcp://127.0.0.1:5552"),
            instance: common.resolvedInstance,
            maxRequestBytes: common.resolvedMaxRequestBytes, publishHighWaterMark: common.resolvedPublishHighWaterMark,
            curve: try common.resolvedCurve(), aggregatePublicKey: optionalSetting(aggregatePublicKey, "DELIVERY_AGGREGATE_PUBLIC_KEY")
        )
        await ServiceRunner.main(name: "query", logger: logger) { stop in
            var state = ReplicaState(settings: settings, logger: logger)
            try state.run(stop: stop)
        }
    }
}
