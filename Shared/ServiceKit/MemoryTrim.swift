#if canImport(Glibc)
import Glibc
#endif

/// Gives memory that a burst freed back to the system: a large load or resync leaves the heap
/// with freed space that glibc keeps, and a service's resident size should show what it holds.
/// Called from a loop when it is idle, at most every `intervalMillis`, and only after work.
public struct MemoryTrim {
    private var lastTrim: Int64 = 0
    private var workSince = false
    public let intervalMillis: Int64

    public init(intervalMillis: Int64 = 5000) {
        self.intervalMillis = intervalMillis
    }

    /// Notes that the loop did work (received, applied, answered) this turn.
    public mutating func worked() {
        workSince = true
    }

    /// Trims when the loop is idle and has worked since the last trim.
    public mutating func idle() {
        let now = monotonicMillis()
        guard workSince, now - lastTrim >= intervalMillis else { return }
        lastTrim = now
        workSince = false
        Self.mallocTrim?(0)
    }

    /// glibc's `malloc_trim`, looked up at run time (the Glibc module does not export it).
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()
}
