import Foundation
import Logging
import ServiceLifecycle

/// Runs a service loop on its own thread (it owns that loop's sockets for their whole life) under
/// swift-service-lifecycle: SIGTERM and SIGINT set the loop's stop flag, and the process ends when
/// the loop has closed its sockets.
public struct ServiceRunner: Service {
    private let name: String
    private let loop: @Sendable (StopFlag) throws -> Void
    private let logger: Logger

    public init(name: String, logger: Logger, loop: @escaping @Sendable (StopFlag) throws -> Void) {
        self.name = name
        self.loop = loop
        self.logger = logger
    }

    public func run() async throws {
        let stop = StopFlag()
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let thread = Thread { [loop] in
                    do {
                        try loop(stop)
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                thread.name = name
                thread.stackSize = 8 << 20
                thread.start()
            }
        } onGracefulShutdown: {
            stop.set()
        }
    }

    /// Runs the loop until it ends or a signal stops it; exits non-zero when it failed.
    public static func main(name: String, logger: Logger, loop: @escaping @Sendable (StopFlag) throws -> Void) async {
        let runner = ServiceRunner(name: name, logger: logger, loop: loop)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: runner, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
            logger.info("stopped", metadata: ["service": "\(name)"])
        } catch {
            logger.critical("failed", metadata: ["service": "\(name)", "error": "\(error)"])
            exit(1)
        }
    }
}
