import ArgumentParser
import ServiceKit

@main
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery-ingest",
        abstract: "Validates delivery reports, stores them durably and publishes them."
    )

    @Option(name: SettingsTable.ingestBind.name, help: SettingsTable.ingestBind.help)
    var ingestBind: String?

    @Option(name: SettingsTable.ingestPublish.name, help: SettingsTable.ingestPublish.help)
    var ingestPublish: String?

    @Option(name: SettingsTable.dataDir.name, help: SettingsTable.dataDir.help)
    var dataDir: String?

    @Option(name: SettingsTable.maxBatch.name, help: SettingsTable.maxBatch.help)
    var maxBatch: Int?

    @Option(name: SettingsTable.databaseURL.name, help: SettingsTable.databaseURL.help)
    var databaseUrl: String?

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = try common.makeLogger("delivery-ingest")
        let settings = IngestService.Settings(
            shell: try common.shell(bind: SettingsTable.ingestBind, ingestBind, publish: SettingsTable.ingestPublish, ingestPublish, requireClientKeys: true),
            dataDirectory: SettingsTable.dataDir.text(dataDir),
            instance: common.resolvedInstance,
            maxBatch: try SettingsTable.maxBatch.int(maxBatch),
            databaseURL: SettingsTable.databaseURL.optional(databaseUrl)
        )
        try await common.serve("ingest", logger: logger) { observability in
            let service = IngestService(settings: settings, logger: logger, observability: observability)
            return { stop in try service.run(stop: stop) }
        }
    }
}
