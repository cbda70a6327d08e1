import ArgumentParser
import ServiceKit

@main
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery-query",
        abstract: "Holds a replica of the figures, answers queries and republishes live updates."
    )

    @Option(name: SettingsTable.queryBind.name, help: SettingsTable.queryBind.help)
    var queryBind: String?

    @Option(name: SettingsTable.queryPublish.name, help: SettingsTable.queryPublish.help)
    var queryPublish: String?

    @Option(name: SettingsTable.aggregateEndpoints.name, help: SettingsTable.aggregateEndpoints.help)
    var aggregateEndpoints: String?

    @Option(name: SettingsTable.aggregateFeeds.name, help: SettingsTable.aggregateFeeds.help)
    var aggregateFeeds: String?

    @Option(name: SettingsTable.aggregatePublicKey.name, help: SettingsTable.aggregatePublicKey.help)
    var aggregatePublicKey: String?

    @Option(name: SettingsTable.maxWaitingBytes.name, help: SettingsTable.maxWaitingBytes.help)
    var maxWaitingBytes: Int?

    @Option(name: SettingsTable.snapshotChunk.name, help: SettingsTable.snapshotChunk.help)
    var snapshotChunk: Int?

    @Option(name: SettingsTable.factHistory.name, help: SettingsTable.factHistory.help)
    var factHistory: Int?

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = try common.makeLogger("delivery-query")
        let aggregateEndpoints = try SettingsTable.aggregateEndpoints.endpoints(self.aggregateEndpoints)
        let aggregateFeeds = try SettingsTable.aggregateFeeds.endpoints(self.aggregateFeeds)
        try checkPaired(aggregateEndpoints, SettingsTable.aggregateEndpoints.variable, aggregateFeeds, SettingsTable.aggregateFeeds.variable)
        var shell = try common.shell(bind: SettingsTable.queryBind, queryBind, publish: SettingsTable.queryPublish, queryPublish)
        // Users' subscriptions are to a few groups or kinds: what no one follows is not encoded.
        shell.publishOnlySubscribed = true
        let settings = QueryService.Settings(
            shell: shell,
            aggregateEndpoints: aggregateEndpoints,
            aggregateFeeds: aggregateFeeds,
            instance: common.resolvedInstance,
            aggregatePublicKey: try SettingsTable.aggregatePublicKey.publicKey(aggregatePublicKey),
            maxWaitingBytes: try SettingsTable.maxWaitingBytes.int(maxWaitingBytes),
            snapshotChunk: try SettingsTable.snapshotChunk.int(snapshotChunk),
            factHistory: try SettingsTable.factHistory.int(factHistory)
        )
        try await common.serve("query", logger: logger) { observability in
            { stop in
                var state = ReplicaState(settings: settings, logger: logger, observability: observability)
                try state.run(stop: stop)
            }
        }
    }
}
