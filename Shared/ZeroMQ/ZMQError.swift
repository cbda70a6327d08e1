import CZeroMQ

/// An error reported by libzmq: the errno value and libzmq's text for it.
public struct ZMQError: Error, CustomStringConvertible, Sendable, Equatable {
    public let code: Int32
    public let message: String
    public let operation: String

    init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
        self.message = String(cString: zmq_strerror(code))
    }

    /// The last error of the calling thread.
    static func last(_ operation: String) -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation)
    }

    public var description: String { "\(operation): \(message) (errno \(code))" }

    /// The operation would block (a non-blocking call found nothing to do, or a timeout ran out).
    public var isWouldBlock: Bool { code == EAGAIN }
    /// The context was terminated while the call waited.
    public var isTerminated: Bool { code == ETERM }
    /// ROUTER_MANDATORY: the peer is not (or no longer) connected.
    public var isHostUnreachable: Bool { code == EHOSTUNREACH }
}

/// Runs a libzmq call that returns -1 on error, retrying when a signal interrupted it.
/// Every libzmq call of this module goes through here, so EINTR is handled in one place.
@discardableResult
func zmqCall(_ operation: String, _ body: () -> Int32) throws(ZMQError) -> Int32 {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = zmq_errno()
        if code == EINTR { continue }
        throw ZMQError(code: code, operation: operation)
    }
}
