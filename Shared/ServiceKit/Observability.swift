import CoreMetrics
import Foundation
import Logging
import Metrics
import Prometheus

/// What operators see of a service over HTTP, on its own small port (`DELIVERY_METRICS_BIND`):
/// `/metrics` in the Prometheus text format, `/healthz` (the loop is turning) and `/readyz` (it
/// serves full answers: caught up, snapshot loaded, log writable). The service loop keeps its
/// thread and its sockets; it only updates the values here, which are thread-safe.
public final class Observability: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let service: String
    private let health = HealthState()

    // Every service.
    public let requests: @Sendable (String, String) -> Prometheus.Counter
    public let residentBytes: Prometheus.Gauge
    public let connections: Prometheus.Gauge
    public let published: Prometheus.Counter
    public let subscribers: Prometheus.Gauge
    /// 1 while ready, else 0.
    public let readyGauge: Prometheus.Gauge

    public init(service: String) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.service = service
        // Anything written through swift-metrics (ours or a dependency's) lands in the same registry.
        MetricsSystem.bootstrapIfNeeded(PrometheusMetricsFactory(registry: registry))
        requests = { type, outcome in
            registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    metricName: "delivery_requests_total", unitName: "", helpText: "Requests answered, by message type and outcome (ok, or the error code)."
                ),
                labels: [("type", type), ("outcome", outcome)]
            )
        }
        residentBytes = registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "delivery_process_resident_bytes", unitName: "", helpText: "Resident memory of the process, in bytes.")
        )
        connections = registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "delivery_router_connections", unitName: "", helpText: "Connections the ROUTER holds.")
        )
        subscribers = registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "delivery_pub_connections", unitName: "", helpText: "Peers connected to the PUB (subscribers).")
        )
        published = registry.makeCounter(
            descriptor: MetricNameDescriptor(metricName: "delivery_published_messages_total", unitName: "", helpText: "Messages sent on the PUB, heartbeats not counted.")
        )
        readyGauge = registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "delivery_ready", unitName: "", helpText: "1 when the service serves full answers (caught up, loaded, writable), else 0.")
        )
    }

    /// A counter of this service, made once per name and labels.
    public func counter(_ name: String, _ help: String, labels: [(String, String)] = []) -> Prometheus.Counter {
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    /// A gauge of this service, made once per name and labels.
    public func gauge(_ name: String, _ help: String, labels: [(String, String)] = []) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    /// A histogram of durations in seconds.
    public func durations(_ name: String, _ help: String, buckets: [Double]) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), buckets: buckets.map { Duration.milliseconds(Int64($0 * 1000)) }
        )
    }

    /// The loop turned: `/healthz` stays good while this is recent; `ready` and `problem` feed
    /// `/readyz`.
    public func turned(ready: Bool, problem: String?) {
        health.update(ready: ready, problem: problem)
        let now = monotonicMillis()
        guard now - lastSample.value >= 1000 else { return }
        lastSample.value = now
        residentBytes.set(to: Double(residentMemoryBytes()))
        readyGauge.set(to: ready ? 1 : 0)
    }

    /// Whether a second has passed since the last sample (for gauges a loop refreshes itself).
    public var sampled: Bool { monotonicMillis() - lastSample.value < 5 }

    /// The ROUTER's and PUB's connections, as the link monitor counts them.
    public func sample(_ monitor: LinkMonitor) {
        connections.set(to: Double(monitor.connections))
        subscribers.set(to: Double(monitor.subscribers))
    }

    private let lastSample = Box(Int64(0))

    /// The HTTP server for `/metrics`, `/healthz` and `/readyz` on `bind` (`host:port`); throws
    /// when the address cannot be used. Any other path is 404, any other method 405.
    public func makeServer(bind: String, logger: Logger) throws -> HTTPEdge {
        guard let colon = bind.lastIndex(of: ":"), let port = UInt16(bind[bind.index(after: colon)...]) else {
            throw SettingError("DELIVERY_METRICS_BIND must be host:port, not '\(bind)'")
        }
        let host = String(bind[..<colon])
        let registry = registry
        let health = health
        let server = try HTTPEdge(host: host, port: Int(port)) { request in
            guard request.method == "GET" else { return .text(405, "only GET\n") }
            switch request.path {
            case "/metrics":
                var bytes: [UInt8] = []
                registry.emit(into: &bytes)
                return EdgeResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: .bytes(bytes))
            case "/healthz":
                let since = health.secondsSinceTurn
                return since < 10 ? .text(200, "ok\n") : .text(503, "the loop has not turned for \(Int(since)) s\n")
            case "/readyz":
                let (ready, problem) = health.readiness
                return ready ? .text(200, "ready\n") : .text(503, "not ready: \(problem ?? "starting")\n")
            default:
                return .text(404, "not found; /metrics, /healthz or /readyz\n")
            }
        }
        logger.info("metrics and health", metadata: ["http": "\(host.isEmpty ? "*" : host):\(port)", "paths": "/metrics /healthz /readyz"])
        return server
    }
}

/// A value only the loop's thread touches, in a `Sendable` class.
final class Box<Value>: @unchecked Sendable {
    var value: Value

    init(_ value: Value) {
        self.value = value
    }
}

/// The loop's last turn and readiness, shared between the loop thread and the HTTP tasks.
final class HealthState: @unchecked Sendable {
    private let lock = NSLock()
    /// Before the first turn: not healthy, not ready ("starting").
    private var lastTurn: Int64 = -1_000_000
    private var ready = false
    private var problem: String? = "starting"

    func update(ready: Bool, problem: String?) {
        lock.withLock {
            lastTurn = monotonicMillis()
            self.ready = ready
            self.problem = problem
        }
    }

    var secondsSinceTurn: Double { lock.withLock { Double(monotonicMillis() - lastTurn) / 1000 } }

    var readiness: (Bool, String?) { lock.withLock { (ready, problem) } }
}

extension MetricsSystem {
    /// Bootstraps once per process (a second call would trap).
    static func bootstrapIfNeeded(_ factory: some MetricsFactory) {
        bootstrapOnce.withLock { done in
            guard !done else { return }
            MetricsSystem.bootstrap(factory)
            done = true
        }
    }
}

private let bootstrapOnce = LockedFlag()

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func withLock(_ body: (inout Bool) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        body(&value)
    }
}

/// Resident set size of a process (`/proc/<pid>/statm`; this one by default), in bytes.
public func residentMemoryBytes(pid: Int32? = nil) -> Int {
    let path = pid.map { "/proc/\($0)/statm" } ?? "/proc/self/statm"
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
