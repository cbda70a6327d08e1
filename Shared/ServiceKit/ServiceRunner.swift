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
        // Cancelled (another service of the group failed) stops the loop as a signal does.
        try await withTaskCancellationHandler {
            try await runLoop(stop)
        } onCancel: {
            stop.set()
        }
    }

    private func runLoop(_ stop: StopFlag) async throws {
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

    /// Runs the loop until it ends or a signal stops it, with the metrics and health endpoints
    /// beside it when `metrics` is given; exits non-zero when either failed.
    public static func main(
        name: String, logger: Logger, metrics: (Observability, bind: String)? = nil, extra: [any Service] = [],
        loop: @escaping @Sendable (StopFlag) throws -> Void
    ) async {
        let runner = ServiceRunner(name: name, logger: logger, loop: loop)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: runner, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        services += extra.map { .init(service: $0) }
        if let (observability, bind) = metrics {
            services.append(.init(service: MetricsService(observability: observability, bind: bind, logger: logger)))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
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

/// The HTTP endpoints of `Observability`, stopped with the service.
struct MetricsService: Service {
    let observability: Observability
    let bind: String
    let logger: Logger

    func run() async throws {
        await runUntilShutdown(try observability.makeServer(bind: bind, logger: logger))
    }
}

/// Serves an HTTP edge until the service group shuts down or the task is cancelled; open
/// connections (a scraper's keep-alive, a page's event stream) are closed at once then.
public func runUntilShutdown(_ server: HTTPEdge) async {
    await withGracefulShutdownHandler {
        await server.run()
    } onGracefulShutdown: {
        server.close()
    }
}
