import CZeroMQ

/// A libzmq socket. libzmq sockets are not thread safe: a socket belongs to the thread that made it
/// for its whole life, and is closed there (DESIGN.md, "Concurrency rules"). It is therefore not
/// `Sendable`; work reaches its thread by message, never by sharing the socket.
public final class Socket {
    private var handle: UnsafeMutableRawPointer?
    public let type: SocketType

    public init(_ context: Context, _ type: SocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.raw) else { throw ZMQError.last("zmq_socket") }
        self.handle = handle
        self.type = type
    }

    var raw: UnsafeMutableRawPointer {
        guard let handle else { preconditionFailure("socket used after close") }
        return handle
    }

    public var isClosed: Bool { handle == nil }

    public func bind(_ endpoint: String) throws(ZMQError) {
        let socket = raw
        try zmqCall("zmq_bind \(endpoint)") { zmq_bind(socket, endpoint) }
    }

    public func connect(_ endpoint: String) throws(ZMQError) {
        let socket = raw
        try zmqCall("zmq_connect \(endpoint)") { zmq_connect(socket, endpoint) }
    }

    /// The endpoint a `bind` ended up on (for `tcp://127.0.0.1:*`, the port chosen).
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        let socket = raw
        let ok = (try? zmqCall("zmq_getsockopt") { zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, &buffer, &size) }) != nil
        guard ok else { return "" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func set(_ option: SocketOption) throws(ZMQError) {
        let socket = raw
        switch option.value {
        case .int(let name, var value):
            try zmqCall("zmq_setsockopt \(name)") {
                zmq_setsockopt(socket, name, &value, MemoryLayout<Int32>.size)
            }
        case .int64(let name, var value):
            try zmqCall("zmq_setsockopt \(name)") {
                zmq_setsockopt(socket, name, &value, MemoryLayout<Int64>.size)
            }
        case .bytes(let name, let value):
            try zmqCall("zmq_setsockopt \(name)") {
                value.withUnsafeBytes { zmq_setsockopt(socket, name, $0.baseAddress, $0.count) }
            }
        }
    }

    public func set(_ options: [SocketOption]) throws(ZMQError) {
        for option in options { try set(option) }
    }

    /// Sends every frame as one multipart message. With `wait: false` a full queue throws EAGAIN
    /// (`isWouldBlock`) instead of blocking; nothing of the message is sent then.
    public func send(_ frames: [[UInt8]], wait: Bool = true) throws(ZMQError) {
        precondition(!frames.isEmpty, "a message has at least one frame")
        let socket = raw
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = wait ? 0 : ZMQ_DONTWAIT
            if index < frames.count - 1 { flags |= ZMQ_SNDMORE }
            try zmqCall("zmq_send") {
                frame.withUnsafeBytes { zmq_send(socket, $0.baseAddress, $0.count, flags) }
            }
        }
    }

    public func send(_ frame: [UInt8], wait: Bool = true) throws(ZMQError) {
        try send([frame], wait: wait)
    }

    /// Receives one whole multipart message, every frame at its full size. With `wait: false`
    /// returns nil when nothing is waiting; a blocking receive honours the receive timeout and
    /// returns nil when it runs out.
    public func receive(wait: Bool = true) throws(ZMQError) -> [[UInt8]]? {
        let socket = raw
        var frames: [[UInt8]] = []
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        repeat {
            let flags: Int32 = (wait || !frames.isEmpty) ? 0 : ZMQ_DONTWAIT
            do {
                try zmqCall("zmq_msg_recv") { zmq_msg_recv(&message, socket, flags) }
            } catch let error where error.isWouldBlock && frames.isEmpty {
                return nil
            }
            let size = zmq_msg_size(&message)
            if size == 0 {
                frames.append([])
            } else {
                let data = zmq_msg_data(&message)!
                frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
            }
        } while zmq_msg_more(&message) == 1
        return frames
    }

    /// Closes the socket on the owning thread. Set a short linger first so that close does not
    /// keep the context waiting for unsent messages.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        _ = zmq_close(handle)
    }

    deinit {
        // Sockets are closed by their owner; this only catches a socket dropped on its own thread.
        close()
    }
}
