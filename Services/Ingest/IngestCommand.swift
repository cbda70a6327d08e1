import ArgumentParser
import ServiceKit

@main
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery-ingest",
        abstract: "Validates delivery reports, stores them durably and publishes them."
    )

    @Option(help: "ROUTER endpoint for requests (env DELIVERY_INGEST_BIND; default tcp://*:5550).")
    var ingestBind: String?

    @Option(help: "PUB endpoint for report events (env DELIVERY_INGEST_PUBLISH; default tcp://*:5551).")
    var ingestPublish: String?

    @Option(help: "Where the log lives (env DELIVERY_DATA_DIR; default ./data).")
    var dataDir: String?

    @Option(help: "Most reports in one submit (env DELIVERY_MAX_BATCH; default 50000).")
    var maxBatch: Int?

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = try common.makeLogger("delivery-ingest")
        let settings = IngestService.Settings(
            bind: try endpointSetting(ingestBind, "DELIVERY_INGEST_BIND", default: "tcp://*:5550", binding: true),
            publish: try endpointSetting(ingestPublish, "DELIVERY_INGEST_PUBLISH", default: "tcp://*:5551", binding: true),
            dataDirectory: setting(dataDir, "DELIVERY_DATA_DIR", default: "./data"),
            instance: common.resolvedInstance,
            maxRequestBytes: try common.resolvedMaxRequestBytes(), publishHighWaterMark: try common.resolvedPublishHighWaterMark(),
            curve: try common.resolvedCurve(),
            maxBatch: try intSetting(maxBatch, "DELIVERY_MAX_BATCH", default: 50_000, range: 1...1_000_000),
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
