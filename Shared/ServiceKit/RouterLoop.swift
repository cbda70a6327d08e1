import DeliveryMessages
import Logging
import ZeroMQ

/// Reads every request waiting on a ROUTER and hands each well-formed one, with its head, to
/// `handle`. Malformed frames, bad JSON, oversize and bad envelopes get their error reply here.
public func drainRouter(
    _ socket: Socket,
    maxBytes: Int,
    logger: Logger,
    budget: Int = 256,
    stop: StopFlag? = nil,
    handle: (RouterRequest, EnvelopeHead) -> Void
) {
    for _ in 0..<budget {
        // A stop asked for while requests are queued is honoured at once; they go unanswered.
        if stop?.isSet == true { return }
        let frames: [[UInt8]]
        do {
            guard let received = try socket.receive(wait: false) else { return }
            frames = received
        } catch {
            logger.warning("receive failed", metadata: ["error": "\(error)"])
            return
        }
        let (request, problem) = RouterRequest.read(frames, from: socket, maxBytes: maxBytes)
        guard let request else { continue }
        if let problem {
            logger.debug("bad request", metadata: ["error": "\(problem)"])
            request.reply(problem, on: socket)
            continue
        }
        switch Wire.parse(request.payload) {
        case .failure(let error):
            logger.debug("bad request", metadata: ["error": "\(error)"])
            request.reply(error, on: socket)
        case .success(let read):
            var parsed = request
            parsed.message = read.message
            parsed.type = read.head.type
            parsed.received = monotonicNanosNow()
            handle(parsed, read.head)
        }
    }
}

/// The ROUTER every service binds, with the limits every one of them sets.
public func makeRouter(_ context: Context, bind endpoint: String, maxBytes: Int, curve: CurveSettings = CurveSettings()) throws -> Socket {
    let socket = try Socket(context, .router)
    try curve.secureServer(socket)
    try socket.set([
        .linger(200),
        .routerMandatory(false),
        .maxMessageSize(Int64(max(maxBytes, 16 << 20))),
        .receiveHighWaterMark(10_000),
        .sendHighWaterMark(10_000),
    ])
    try socket.bind(endpoint)
    return socket
}

/// The reply to a request that would take the service past a limit it keeps to protect its other
/// clients: nothing was done; ask again after `retryAfterMs`.
public func busy(_ why: String, id: JSONValue, retryAfterMs: Int = 1000) -> ProtocolError {
    ProtocolError(.busy, "busy: \(why); ask again later", details: ["retryAfterMs": .int(Int64(retryAfterMs))], id: id)
}

/// The standard `pong`.
public func pong(_ head: EnvelopeHead, service: String, instance: String) -> Envelope<PongBody> {
    Envelope(MessageType.pong, id: head.id, body: PongBody(service: service, instance: instance))
}

/// The reply for a type this ROUTER does not serve.
public func unknownType(_ head: EnvelopeHead, serves: [String]) -> ProtocolError {
    ProtocolError(
        .unknownType,
        "'\(head.type)' is not a request this service answers; it answers \(serves.joined(separator: ", "))",
        id: head.id
    )
}

/// The version string of every service's `status`.
public let serviceVersion = "0.1.0"
