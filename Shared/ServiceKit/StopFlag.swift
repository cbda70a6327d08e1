import Synchronization

/// Set once, from any thread, to ask a service loop to stop.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public var isSet: Bool { flag.load(ordering: .acquiring) }

    public func set() {
        flag.store(true, ordering: .releasing)
    }
}
