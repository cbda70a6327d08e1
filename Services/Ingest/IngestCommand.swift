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

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = try common.makeLogger("delivery-ingest")
        let settings = IngestService.Settings(
            bind: try SettingsTable.ingestBind.endpoint(ingestBind, binding: true),
            publish: try SettingsTable.ingestPublish.endpoint(ingestPublish, binding: true),
            dataDirectory: SettingsTable.dataDir.text(dataDir),
            instance: common.resolvedInstance,
            maxRequestBytes: try common.resolvedMaxRequestBytes(), publishHighWaterMark: try common.resolvedPublishHighWaterMark(),
            curve: try common.resolvedCurve(),
            maxBatch: try SettingsTable.maxBatch.int(maxBatch),
            maxConnections: try common.resolvedMaxConnections()
        )
        let observability = Observability(service: "ingest")
        RequestMetrics.shared.install(observability)
        let metricsBind = try common.resolvedMetricsBind()
        let service = IngestService(settings: settings, logger: logger, observability: observability)
        await ServiceRunner.main(name: "ingest", logger: logger, metrics: metricsBind.map { (observability, $0) }) { stop in
            try service.run(stop: stop)
        }
    }
}
