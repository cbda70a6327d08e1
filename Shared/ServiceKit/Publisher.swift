import DeliveryMessages
import ZeroMQ

/// A PUB socket with its stream id and gapless sequence numbers. Every event takes the next seq;
/// a heartbeat repeats the last seq sent, so it never makes a gap.
///
/// With `tracksSubscriptions` the socket is an XPUB (SUB clients see no difference): it keeps the
/// topic prefixes its subscribers asked for, and an event on a topic no one asked for takes its
/// seq but is not encoded or sent (the PUB would have dropped it). The prefixes are read before
/// each round of publishing, so one that came before a snapshot was answered is known before the
/// events after it. Bounded: past `subscriptionLimit` prefixes, or one longer than
/// `subscriptionBytes`, every event is sent from then on, as by a plain PUB.
public final class Publisher {
    public let socket: Socket
    public private(set) var stream: String
    public private(set) var seq: UInt64
    private var lastSent: Int64 = 0
    public let heartbeatMillis: Int64
    /// How often an idle publisher sends a heartbeat: followers judge silence against it.
    public static let defaultHeartbeatMillis: Int64 = 1000
    public let tracksSubscriptions: Bool
    /// The subscribed prefixes (XPUB passes on the first subscription of a topic and the last
    /// unsubscription), and whether every event goes out (a "" subscription, or past the limits).
    private var prefixes = Set<[UInt8]>()
    private var everything = false
    /// Events not sent because no one subscribed to their topic.
    public private(set) var unsubscribedSkipped = 0
    public static let subscriptionLimit = 1000
    public static let subscriptionBytes = 256

    public init(
        context: Context, endpoint: String, stream: String, startingAfter seq: UInt64 = 0, heartbeatMillis: Int64 = Publisher.defaultHeartbeatMillis,
        highWaterMark: Int32 = 100_000, curve: CurveSettings = CurveSettings(), tracksSubscriptions: Bool = false
    ) throws {
        self.tracksSubscriptions = tracksSubscriptions
        socket = try Socket(context, tracksSubscriptions ? .xpub : .pub)
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
        guard wants(topic) else {
            unsubscribedSkipped += 1
            return
        }
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

    /// Reads the subscriptions that came (an XPUB's messages: 1 or 0, then the prefix). Every
    /// round of publishing starts with it; `heartbeatIfIdle` reads them on idle turns.
    public func takeSubscriptions() {
        guard tracksSubscriptions else { return }
        while let frames = try? socket.receive(wait: false) {
            guard let message = frames.first, let kind = message.first else { continue }
            let prefix = Array(message.dropFirst())
            switch kind {
            case 1:
                if prefix.count > Self.subscriptionBytes || prefixes.count >= Self.subscriptionLimit {
                    everything = true
                } else {
                    prefixes.insert(prefix)
                }
            case 0:
                prefixes.remove(prefix)
            default:
                continue
            }
        }
    }

    /// Whether an event on `topic` reaches anyone (always true for a plain PUB).
    public func wants(_ topic: String) -> Bool {
        guard tracksSubscriptions, !everything, !prefixes.contains([]) else { return true }
        let bytes = Array(topic.utf8)
        return prefixes.contains { bytes.starts(with: $0) }
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
        takeSubscriptions()
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
