import Foundation

/// A loopback TCP port that nobody is bound to right now, for tests and benchmarks that start
/// services on free ports. It is taken below the kernel's ephemeral range: a port from that range
/// can be taken by an outgoing connection (a follower reconnecting to a service that is not bound
/// yet can even connect to itself) before the service binds it. Never the same port twice in one
/// process.
public func freeLoopbackPort() -> Int {
    PortPicker.shared.next()
}

final class PortPicker: @unchecked Sendable {
    static let shared = PortPicker()
    private let lock = NSLock()
    private var given = Set<Int>()
    private let range: Range<Int>

    init() {
        // The first port the kernel hands to outgoing connections (Linux: 32768 by default).
        var low = 32768
        if let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
            let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap({ Int($0) })
        {
            low = first
        }
        range = 10_000..<max(low, 10_001)
    }

    func next() -> Int {
        lock.withLock {
            while true {
                let port = Int.random(in: range)
                if given.contains(port) { continue }
                if Self.bindable(port) {
                    given.insert(port)
                    return port
                }
            }
        }
    }

    static func bindable(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } } == 0
    }
}

/// Monotonic nanoseconds, for latencies.
public func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
