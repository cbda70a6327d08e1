import CZeroMQ

/// Waits on several sockets at once with `zmq_poll`. Made and used on the thread that owns the
/// sockets.
public struct Poller {
    private var sockets: [Socket] = []

    public init() {}

    public init(_ sockets: [Socket]) {
        self.sockets = sockets
    }

    /// Adds a socket and returns its index in the results of `poll`.
    @discardableResult
    public mutating func add(_ socket: Socket) -> Int {
        sockets.append(socket)
        return sockets.count - 1
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever, 0: just look) for any socket to have a
    /// message to read. Returns whether each socket, by index, is readable. A signal that
    /// interrupts the wait returns early with nothing readable, so the caller's loop can look at its
    /// stop flag.
    public func poll(timeoutMilliseconds: Int) throws(ZMQError) -> [Bool] {
        var items = sockets.map { socket in
            zmq_pollitem_t(socket: socket.raw, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        }
        let count = items.count
        let result = items.withUnsafeMutableBufferPointer { buffer in
            zmq_poll(buffer.baseAddress, Int32(count), timeoutMilliseconds)
        }
        if result == -1 {
            let code = zmq_errno()
            if code == EINTR { return Array(repeating: false, count: count) }
            throw ZMQError(code: code, operation: "zmq_poll")
        }
        return items.map { ($0.revents & Int16(ZMQ_POLLIN)) != 0 }
    }
}
