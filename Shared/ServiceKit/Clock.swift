import Foundation

/// Monotonic milliseconds, for deadlines and heartbeats.
public func monotonicMillis() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// Wall-clock milliseconds since 1970, for `reportedAt` defaults and epochs.
public func wallMillis() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1000).rounded())
}
