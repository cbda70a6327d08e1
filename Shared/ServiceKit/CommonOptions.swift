import ArgumentParser
import Logging

/// The flags every service takes besides its endpoints.
public struct CommonOptions: ParsableArguments {
    @Option(help: "This instance's name, part of its stream id (env DELIVERY_INSTANCE; default: the host name).")
    public var instance: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env DELIVERY_LOG_LEVEL; default info).")
    public var logLevel: String?

    @Option(help: "Largest request answered, in bytes (env DELIVERY_MAX_REQUEST_BYTES; default 4 MiB).")
    public var maxRequestBytes: Int?

    @Option(help: "Messages a PUB queues per subscriber before it drops (env DELIVERY_PUBLISH_HWM; default 100000).")
    public var publishHwm: Int32?

    public init() {}

    public var resolvedInstance: String { instanceName(instance) }

    public var resolvedMaxRequestBytes: Int { ServiceKit.maxRequestBytes(maxRequestBytes) }

    /// The high-water mark of the service's PUB: past it a slow subscriber loses messages (and
    /// finds the gap by seq) instead of slowing the service.
    public var resolvedPublishHighWaterMark: Int32 {
        publishHwm ?? Int32(setting(nil, "DELIVERY_PUBLISH_HWM", default: "100000")).map { max($0, 1) } ?? 100_000
    }

    /// Makes the process's logger; only `main` calls this.
    public func makeLogger(_ label: String) -> Logger {
        let level = Logger.Level(rawValue: setting(logLevel, "DELIVERY_LOG_LEVEL", default: "info").lowercased()) ?? .info
        LoggingSystem.bootstrap { name in
            var handler = StreamLogHandler.standardError(label: name)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}
