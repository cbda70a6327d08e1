import ArgumentParser
import ServiceKit

@main
struct AggregateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery-aggregate",
        abstract: "Follows the ingest streams, keeps every figure and publishes each change."
    )

    @Option(name: SettingsTable.aggregatePublish.name, help: SettingsTable.aggregatePublish.help)
    var aggregatePublish: String?

    @Option(name: SettingsTable.aggregateBind.name, help: SettingsTable.aggregateBind.help)
    var aggregateBind: String?

    @Option(name: SettingsTable.ingestEndpoints.name, help: SettingsTable.ingestEndpoints.help)
    var ingestEndpoints: String?

    @Option(name: SettingsTable.ingestFeeds.name, help: SettingsTable.ingestFeeds.help)
    var ingestFeeds: String?

    @Option(name: SettingsTable.aggregateGroups.name, help: SettingsTable.aggregateGroups.help)
    var aggregateGroups: String?

    @Option(name: SettingsTable.dataDir.name, help: SettingsTable.dataDir.help)
    var dataDir: String?

    @Option(name: SettingsTable.checkpointSeconds.name, help: SettingsTable.checkpointSeconds.help)
    var checkpointSeconds: Int?

    @Option(name: SettingsTable.ingestPublicKey.name, help: SettingsTable.ingestPublicKey.help)
    var ingestPublicKey: String?

    @Option(name: SettingsTable.factsPerBatch.name, help: SettingsTable.factsPerBatch.help)
    var factsPerBatch: Int?

    @Option(name: SettingsTable.factHistory.name, help: SettingsTable.factHistory.help)
    var factHistory: Int?

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = try common.makeLogger("delivery-aggregate")
        let ingestEndpoints = try SettingsTable.ingestEndpoints.endpoints(self.ingestEndpoints)
        let ingestFeeds = try SettingsTable.ingestFeeds.endpoints(self.ingestFeeds)
        try checkPaired(ingestEndpoints, SettingsTable.ingestEndpoints.variable, ingestFeeds, SettingsTable.ingestFeeds.variable)
        let settings = AggregateService.Settings(
            shell: try common.shell(bind: SettingsTable.aggregateBind, aggregateBind, publish: SettingsTable.aggregatePublish, aggregatePublish),
            ingestEndpoints: ingestEndpoints,
            ingestFeeds: ingestFeeds,
            groups: Set(SettingsTable.aggregateGroups.list(aggregateGroups).map { $0.lowercased() }),
            instance: common.resolvedInstance,
            ingestPublicKey: try SettingsTable.ingestPublicKey.publicKey(ingestPublicKey),
            dataDirectory: SettingsTable.dataDir.text(dataDir),
            checkpointSeconds: try SettingsTable.checkpointSeconds.int(checkpointSeconds),
            factsPerBatch: try SettingsTable.factsPerBatch.int(factsPerBatch),
            factHistory: try SettingsTable.factHistory.int(factHistory)
        )
        try await common.serve("aggregate", logger: logger) { observability in
            { stop in
                var state = AggregateState(settings: settings, logger: logger, observability: observability)
                try state.run(stop: stop)
            }
        }
    }
}
