import DeliveryMessages
import ZeroMQ

/// A PUB socket with its stream id and gapless sequence numbers. Every event takes the next seq;
/// a heartbeat repeats the last seq sent, so it never makes a gap.
public final class Publisher {
    public let socket: Socket
    public private(set) var stream: String
    public private(set) var seq: UInt64
    private var lastSent: Int64 = 0
    public let heartbeatMillis: Int64
    /// How often an idle publisher sends a heartbeat: followers judge silence against it.
    public static let defaultHeartbeatMillis: Int64 = 1000

    public init(
        context: Context, endpoint: String, stream: String, startingAfter seq: UInt64 = 0, heartbeatMillis: Int64 = Publisher.defaultHeartbeatMillis,
        highWaterMark: Int32 = 100_000, curve: CurveSettings = CurveSettings()
    ) throws {
        socket = try Socket(context, .pub)
        try curve.secureServer(socket)
        try socket.set([.linger(200), .sendHighWaterMark(highWaterMark)])
        try socket.bind(endpoint)
        self.stream = stream
        self.seq = seq
        self.heartbeatMillis = heartbeatMillis
    }

    /// Publishes an event on a topic with the next seq; returns that seq.
    @discardableResult
    public func publish<Body: Codable & Sendable>(topic: String, type: MessageType, body: Body) -> UInt64 {
        seq += 1
        publish(topic: topic, seq: seq, type: type, body: body)
        return seq
    }

    /// Publishes with a seq given by the caller (an ingest log's own numbering).
    public func publish<Body: Codable & Sendable>(topic: String, seq: UInt64, type: MessageType, body: Body) {
        self.seq = max(self.seq, seq)
        let envelope = Envelope(type, id: .string("\(stream):\(seq)"), body: body, stream: stream, seq: seq)
        send(topic: topic, Wire.encode(envelope))
    }

    /// Publishes an internal-link message: a JSON envelope, then `attachment` as a third frame
    /// (the binary part, docs/PROTOCOL.md "Internal links"). Returns its seq.
    @discardableResult
    public func publish<Body: Codable & Sendable>(topic: String, type: MessageType, body: Body, attachment: [UInt8]) -> UInt64 {
        seq += 1
        let envelope = Envelope(type, id: .string("\(stream):\(seq)"), body: body, stream: stream, seq: seq)
        send([Array(topic.utf8), Wire.encode(envelope), attachment])
        return seq
    }

    /// Publishes an internal-link message with a seq given by the caller (an ingest log's own).
    public func publish<Body: Codable & Sendable>(topic: String, seq: UInt64, type: MessageType, body: Body, attachment: [UInt8]) {
        self.seq = max(self.seq, seq)
        let envelope = Envelope(type, id: .string("\(stream):\(seq)"), body: body, stream: stream, seq: seq)
        send([Array(topic.utf8), Wire.encode(envelope), attachment])
    }

    /// Starts a new stream (a new epoch): followers see a stream they do not know and take a
    /// snapshot, so that nothing they held from the old one survives.
    public func restart(as stream: String, startingAfter seq: UInt64 = 0) {
        self.stream = stream
        self.seq = seq
    }

    /// Takes a seq without sending anything: followers see a gap and resync (what a message that
    /// could not be written must cause).
    public func skip() {
        seq += 1
    }

    private func send(topic: String, _ bytes: [UInt8]) {
        send([Array(topic.utf8), bytes])
    }

    private func send(_ frames: [[UInt8]]) {
        do {
            // A PUB never blocks: past the high-water mark a slow subscriber loses messages and
            // finds the gap by seq.
            try socket.send(frames, wait: false)
        } catch {
            // EAGAIN cannot happen on PUB; anything else means the socket is closing.
        }
        lastSent = monotonicMillis()
    }

    /// Sends a heartbeat when nothing went out for a heartbeat interval.
    public func heartbeatIfIdle(positions: [String: UInt64]? = nil) {
        guard monotonicMillis() - lastSent >= heartbeatMillis else { return }
        heartbeat(positions: positions)
    }

    public func heartbeat(positions: [String: UInt64]? = nil) {
        let body = HeartbeatBody(stream: stream, seq: seq, positions: positions)
        let envelope = Envelope(MessageType.heartbeat, id: .string("\(stream):hb"), body: body, stream: stream, seq: seq)
        send(topic: Topic.heartbeat, Wire.encode(envelope))
    }

    public func close() {
        socket.close()
    }
}
