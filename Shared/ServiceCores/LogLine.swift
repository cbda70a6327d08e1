import Logging

/// A log line a core asks for. Cores do not log: they say what to log, and the service's loop
/// writes it (`Logger.write`) after the turn, so that a core runs in a test with no logger.
public struct LogLine: Sendable, Equatable {
    public enum Level: Sendable, Equatable {
        case info, warning, error
    }

    public var level: Level
    public var message: String
    public var metadata: [String: String]

    public init(_ level: Level, _ message: String, _ metadata: [String: String] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}

extension Logger {
    /// Writes the lines a core asked for, in order.
    public func write(_ lines: [LogLine]) {
        for line in lines {
            let level: Logger.Level =
                switch line.level {
                case .info: .info
                case .warning: .warning
                case .error: .error
                }
            log(level: level, "\(line.message)", metadata: line.metadata.mapValues { .string($0) })
        }
    }
}
