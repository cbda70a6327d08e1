import CZeroMQ
import Synchronization

/// A libzmq context. libzmq contexts are thread safe, so one context may be shared by every thread
/// of a process; the sockets made from it are not (see `Socket`).
public final class Context: Sendable {
    /// The libzmq handle, kept as a bit pattern so that the class is plainly `Sendable`: it is only
    /// passed to calls that libzmq documents as thread safe (zmq_socket, zmq_ctx_*).
    private let address: UInt
    private let terminated = Atomic<Bool>(false)

    var handle: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: address)! }

    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        self.address = UInt(bitPattern: handle)
        try zmqCall("zmq_ctx_set") { zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) }
    }

    /// Ends the context. Close every socket first, each on its owning thread: this call waits
    /// until they are closed.
    public func terminate() {
        guard terminated.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        while zmq_ctx_term(handle) == -1 && zmq_errno() == EINTR {}
    }

    /// Makes blocking calls on every socket of this context return ETERM, without waiting.
    public func shutdown() {
        _ = zmq_ctx_shutdown(handle)
    }

    deinit {
        terminate()
    }
}
