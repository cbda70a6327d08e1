import ArgumentParser
import Logging

/// The flags every service takes besides its endpoints.
public struct CommonOptions: ParsableArguments {
    @Option(help: "This instance's name, part of its stream id (env DELIVERY_INSTANCE; default: the host name).")
    public var instance: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env DELIVERY_LOG_LEVEL; default info).")
    public var logLevel: String?

    @Option(help: "text, or json for one JSON object per line (env DELIVERY_LOG_FORMAT; default text).")
    public var logFormat: String?

    @Option(help: "Largest request answered, in bytes (env DELIVERY_MAX_REQUEST_BYTES; default 4 MiB).")
    public var maxRequestBytes: Int?

    @Option(help: "Messages a PUB queues per subscriber before it drops (env DELIVERY_PUBLISH_HWM; default 100000).")
    public var publishHwm: Int32?

    @Option(help: "Most client connections the ROUTER holds (env DELIVERY_MAX_CONNECTIONS; default: 90 % of the open-file limit).")
    public var maxConnections: Int?

    @Option(help: "host:port for /metrics, /healthz and /readyz over HTTP (env DELIVERY_METRICS_BIND; default: off).")
    public var metricsBind: String?

    @Option(help: "CURVE: this service's secret key, Z85 (env DELIVERY_CURVE_SECRET_KEY); turns CURVE on for the sockets it binds.")
    public var curveSecretKey: String?

    @Option(help: "CURVE: a key file from `deliveries keygen` instead of the key itself (env DELIVERY_CURVE_KEY_FILE).")
    public var curveKeyFile: String?

    @Option(help: "CURVE: a file of client public keys to accept, one per line (env DELIVERY_CURVE_CLIENTS); required on ingest.")
    public var curveClients: String?

    public init() {}

    public var resolvedInstance: String { instanceName(instance) }

    /// The metrics address, checked (`host:port`, the host an IPv4 address or `*`); nil when off.
    public func resolvedMetricsBind() throws -> String? {
        let value = setting(metricsBind, "DELIVERY_METRICS_BIND", default: "")
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

    public func resolvedMaxRequestBytes() throws -> Int { try ServiceKit.maxRequestBytes(maxRequestBytes) }

    /// The high-water mark of the service's PUB: past it a slow subscriber loses messages (and
    /// finds the gap by seq) instead of slowing the service.
    public func resolvedPublishHighWaterMark() throws -> Int32 {
        Int32(try intSetting(publishHwm.map(Int.init), "DELIVERY_PUBLISH_HWM", default: 100_000, range: 1...10_000_000))
    }

    /// The most connections the service's ROUTER holds (env DELIVERY_MAX_CONNECTIONS); the default
    /// leaves room under the process's open-file limit, which the service raises to its hard limit.
    public func resolvedMaxConnections() throws -> Int {
        let cap = connectionCap(openFileLimit: raiseOpenFileLimit())
        return try intSetting(maxConnections, "DELIVERY_MAX_CONNECTIONS", default: cap, range: 1...Int(Int32.max))
    }

    /// The log level, checked.
    public func resolvedLogLevel() throws -> Logger.Level {
        let text = setting(logLevel, "DELIVERY_LOG_LEVEL", default: "info")
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw SettingError("DELIVERY_LOG_LEVEL='\(text)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }

    /// The CURVE settings (off unless a key is given).
    public func resolvedCurve() throws -> CurveSettings {
        try CurveSettings.load(
            secretKey: setting(curveSecretKey, "DELIVERY_CURVE_SECRET_KEY", default: ""),
            keyFile: setting(curveKeyFile, "DELIVERY_CURVE_KEY_FILE", default: ""),
            clientsFile: setting(curveClients, "DELIVERY_CURVE_CLIENTS", default: "")
        )
    }

    /// Makes the process's logger; only `main` calls this.
    public func makeLogger(_ label: String) throws -> Logger {
        let level = try resolvedLogLevel()
        let format = setting(logFormat, "DELIVERY_LOG_FORMAT", default: "text").lowercased()
        guard format == "text" || format == "json" else {
            throw SettingError("DELIVERY_LOG_FORMAT='\(format)' is not text or json")
        }
        let instance = resolvedInstance
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
