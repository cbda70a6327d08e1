import ArgumentParser
import Logging

/// The flags every service takes besides its endpoints.
public struct CommonOptions: ParsableArguments {
    @Option(name: SettingsTable.instance.name, help: SettingsTable.instance.help)
    public var instance: String?

    @Option(name: SettingsTable.logLevel.name, help: SettingsTable.logLevel.help)
    public var logLevel: String?

    @Option(name: SettingsTable.logFormat.name, help: SettingsTable.logFormat.help)
    public var logFormat: String?

    @Option(name: SettingsTable.maxRequestBytes.name, help: SettingsTable.maxRequestBytes.help)
    public var maxRequestBytes: Int?

    @Option(name: SettingsTable.publishHwm.name, help: SettingsTable.publishHwm.help)
    public var publishHwm: Int32?

    @Option(name: SettingsTable.maxConnections.name, help: SettingsTable.maxConnections.help)
    public var maxConnections: Int?

    @Option(name: SettingsTable.metricsBind.name, help: SettingsTable.metricsBind.help)
    public var metricsBind: String?

    @Option(name: SettingsTable.curveSecretKey.name, help: SettingsTable.curveSecretKey.help)
    public var curveSecretKey: String?

    @Option(name: SettingsTable.curveKeyFile.name, help: SettingsTable.curveKeyFile.help)
    public var curveKeyFile: String?

    @Option(name: SettingsTable.curveClients.name, help: SettingsTable.curveClients.help)
    public var curveClients: String?

    public init() {}

    public var resolvedInstance: String { instanceName(instance) }

    /// The metrics address, checked (`host:port`, the host an IPv4 address or `*`); nil when off.
    public func resolvedMetricsBind() throws -> String? {
        let value = SettingsTable.metricsBind.text(metricsBind)
        guard !value.isEmpty else { return nil }
        guard let colon = value.lastIndex(of: ":"), let port = UInt16(value[value.index(after: colon)...]), port > 0 else {
            throw SettingError("DELIVERY_METRICS_BIND must be host:port (such as 0.0.0.0:9100 or 127.0.0.1:9100), not '\(value)'")
        }
        let host = value[..<colon]
        let parts = host.split(separator: ".")
        guard host == "*" || (parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }) else {
            throw SettingError("DELIVERY_METRICS_BIND must name an IPv4 address or *, not '\(host)'")
        }
        return value
    }

    public func resolvedMaxRequestBytes() throws -> Int { try SettingsTable.maxRequestBytes.int(maxRequestBytes) }

    /// The high-water mark of the service's PUB: past it a slow subscriber loses messages (and
    /// finds the gap by seq) instead of slowing the service.
    public func resolvedPublishHighWaterMark() throws -> Int32 {
        Int32(try SettingsTable.publishHwm.int(publishHwm.map(Int.init)))
    }

    /// The most connections the service's ROUTER holds (env DELIVERY_MAX_CONNECTIONS); the default
    /// leaves room under the process's open-file limit, which the service raises to its hard limit.
    public func resolvedMaxConnections() throws -> Int {
        let cap = connectionCap(openFileLimit: raiseOpenFileLimit())
        return try SettingsTable.maxConnections.int(maxConnections, default: cap)
    }

    /// The log level, checked.
    public static func logLevel(_ flag: String?) throws -> Logger.Level {
        let text = SettingsTable.logLevel.text(flag)
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw SettingError("DELIVERY_LOG_LEVEL='\(text)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }

    /// The CURVE settings (off unless a key is given).
    public func resolvedCurve() throws -> CurveSettings {
        try CurveSettings.load(
            secretKey: SettingsTable.curveSecretKey.text(curveSecretKey),
            keyFile: SettingsTable.curveKeyFile.text(curveKeyFile),
            clientsFile: SettingsTable.curveClients.text(curveClients)
        )
    }

    /// The ROUTER, PUB, limits and CURVE of a service binding `bind` and `publish`.
    public func shell(bind: SettingSpec, _ bindFlag: String?, publish: SettingSpec, _ publishFlag: String?, requireClientKeys: Bool = false) throws -> ShellSettings {
        ShellSettings(
            bind: try bind.endpoint(bindFlag, binding: true), publish: try publish.endpoint(publishFlag, binding: true),
            maxRequestBytes: try resolvedMaxRequestBytes(), publishHighWaterMark: try resolvedPublishHighWaterMark(), curve: try resolvedCurve(),
            maxConnections: try resolvedMaxConnections(), requireClientKeys: requireClientKeys
        )
    }

    /// Runs a service: its metrics registered, its HTTP endpoints when `DELIVERY_METRICS_BIND` is
    /// set, and the loop `make` returns on its own thread until SIGTERM or SIGINT.
    public func serve(
        _ name: String, logger: Logger, make: (Observability) -> @Sendable (StopFlag) throws -> Void
    ) async throws {
        let observability = Observability(service: name)
        RequestMetrics.shared.install(observability)
        let metricsBind = try resolvedMetricsBind()
        await ServiceRunner.main(name: name, logger: logger, metrics: metricsBind.map { (observability, $0) }, loop: make(observability))
    }

    /// Makes the process's logger; only `main` calls this.
    public func makeLogger(_ label: String) throws -> Logger {
        try Self.makeLogger(label, level: logLevel, format: logFormat, instance: resolvedInstance)
    }

    /// The logger of an executable that takes only the log settings (`delivery-web`).
    public static func makeLogger(_ label: String, level levelFlag: String?, format formatFlag: String?, instance: String) throws -> Logger {
        let level = try logLevel(levelFlag)
        let format = SettingsTable.logFormat.text(formatFlag).lowercased()
        guard format == "text" || format == "json" else {
            throw SettingError("DELIVERY_LOG_FORMAT='\(format)' is not text or json")
        }
        LoggingSystem.bootstrap { name in
            if format == "json" {
                var handler = JSONLogHandler(service: label, instance: instance)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: name)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}
