import Foundation
import ServiceKit
import ZeroMQ

/// Raw libzmq on this machine, with the payload sizes of the real messages: the most any
/// service could do over the same sockets.
enum Ceiling {
    /// A ROUTER that answers every request with a fixed reply, as fast as it can, on its own
    /// thread (which makes, uses and closes the socket).
    final class EchoServer: @unchecked Sendable {
        private(set) var endpoint = ""
        private let stop = StopFlag()
        private let done = DispatchSemaphore(value: 0)

        init(context: Context, reply: [UInt8]) throws {
            let ready = DispatchSemaphore(value: 0)
            Thread.detachNewThread { [self] in
                defer { done.signal() }
                guard let router = try? Socket(context, .router), (try? router.set(.linger(0))) != nil,
                    (try? router.bind("tcp://127.0.0.1:*")) != nil
                else {
                    ready.signal()
                    return
                }
                endpoint = router.lastEndpoint
                ready.signal()
                while !stop.isSet {
                    guard (try? Poller([router]).poll(timeoutMilliseconds: 50))?.first == true else { continue }
                    while let frames = try? router.receive(wait: false), frames.count >= 2 {
                        try? router.send([frames[0], [], reply])
                    }
                }
                router.close()
            }
            ready.wait()
            guard !endpoint.isEmpty else { throw BenchError("the echo ROUTER could not bind") }
        }

        func shutdown() {
            stop.set()
            done.wait()
        }
    }

    /// DEALER clients, each doing one request at a time for `seconds`.
    static func roundTrips(context: Context, endpoint: String, clients: Int, seconds duration: Double, request: [UInt8]) -> Measurement {
        let collector = Collector()
        let start = monotonicNanos()
        onThreads(clients) { _ in
            guard let socket = try? Socket(context, .dealer) else { return }
            defer { socket.close() }
            try? socket.set([.linger(0), .receiveTimeout(5000)])
            try? socket.connect(endpoint)
            var latencies: [UInt64] = []
            latencies.reserveCapacity(200_000)
            let end = start + UInt64(duration * 1e9)
            while monotonicNanos() < end {
                let sent = monotonicNanos()
                guard (try? socket.send([[], request])) != nil, (try? socket.receive()) != nil else { break }
                latencies.append(monotonicNanos() - sent)
            }
            collector.add(count: latencies.count, latencies: latencies)
        }
        return collector.measurement(seconds: seconds(since: start))
    }

    /// PUSH to PULL, one way, as fast as the pusher can send.
    static func pushPull(context: Context, seconds duration: Double, payload: [UInt8]) throws -> Measurement {
        let pull = try Socket(context, .pull)
        defer { pull.close() }
        try pull.set([.linger(0), .receiveTimeout(200)])
        try pull.bind("tcp://127.0.0.1:*")
        let endpoint = pull.lastEndpoint
        let stop = StopFlag()
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            guard let push = try? Socket(context, .push) else { return }
            defer { push.close() }
            try? push.set([.linger(0), .sendTimeout(200)])
            try? push.connect(endpoint)
            while !stop.isSet { _ = try? push.send(payload) }
        }
        var received = 0
        _ = try pull.receive()
        let start = monotonicNanos()
        let end = start + UInt64(duration * 1e9)
        while monotonicNanos() < end {
            if try pull.receive() != nil { received += 1 }
        }
        let elapsed = seconds(since: start)
        stop.set()
        group.wait()
        return Measurement(operations: received, seconds: elapsed)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
