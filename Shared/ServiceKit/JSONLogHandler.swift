import DeliveryMessages
import Foundation
import Logging

/// `DELIVERY_LOG_FORMAT=json`: one JSON object per line on standard error, for log shippers:
/// `time` (ISO 8601, UTC, milliseconds), `level`, `service`, `instance`, `message`, `metadata`
/// (every value a string), and `source` (the module that logged).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let service: String
    let instance: String

    public init(service: String, instance: String) {
        self.service = service
        self.instance = instance
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    struct Line: Encodable {
        var time: String
        var level: String
        var service: String
        var instance: String
        var message: String
        var metadata: [String: String]?
        var source: String
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line = Line(
            time: Self.timestamp(), level: event.level.rawValue, service: service, instance: instance, message: "\(event.message)",
            metadata: merged.isEmpty ? nil : merged.mapValues { "\($0)" }, source: event.source
        )
        // The one JSON writer; a line it cannot write (it always can: every field is a string)
        // still leaves a line behind.
        var bytes = (try? CompactJSONEncoder.encode(line)) ?? Array(#"{"message":"a log line could not be written"}"#.utf8)
        bytes.append(UInt8(ascii: "\n"))
        // One write(2) per line, so that lines from several threads never interleave.
        bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(now.tv_nsec / 1_000_000)
        )
    }
}
