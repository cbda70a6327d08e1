import Foundation
import Histogram
import ServiceKit

/// Latencies of many operations, and how many per second.
struct Measurement: Sendable {
    var operations: Int
    var seconds: Double
    /// Latency percentiles in microseconds; nil where latency is not measured.
    var p50: Double?
    var p99: Double?

    var perSecond: Double { seconds > 0 ? Double(operations) / seconds : 0 }

    init(operations: Int, seconds: Double, latenciesNanos: [UInt64] = []) {
        self.operations = operations
        self.seconds = seconds
        guard !latenciesNanos.isEmpty else { return }
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        for value in latenciesNanos { _ = histogram.record(max(value, 1)) }
        p50 = Double(histogram.valueAtPercentile(50)) / 1000
        p99 = Double(histogram.valueAtPercentile(99)) / 1000
    }
}

/// Results gathered from threads.
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [UInt64] = []
    private var count = 0

    func add(count: Int, latencies more: [UInt64]) {
        lock.withLock {
            self.count += count
            latencies += more
        }
    }

    func measurement(seconds: Double) -> Measurement {
        lock.withLock { Measurement(operations: count, seconds: seconds, latenciesNanos: latencies) }
    }
}

/// Runs `body` on `count` threads at once and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread.detachNewThread {
            body(index)
            group.leave()
        }
    }
    group.wait()
}

func seconds(since start: UInt64) -> Double { Double(monotonicNanos() - start) / 1e9 }
