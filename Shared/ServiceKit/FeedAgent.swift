import DeliveryMessages
import ZeroMQ

/// One message of a feed, read once: its topic, the parsed message, and the frames as they came
/// (an aggregate's `figure.batch` carries its figures in a binary third frame).
public struct FeedMessage: Sendable {
    public let frames: [[UInt8]]
    public let read: WireMessage
    public let stream: String
    public let seq: UInt64

    public var head: EnvelopeHead { read.head }
    public var kind: MessageType? { read.head.kind }
    public var isHeartbeat: Bool { read.head.kind == .heartbeat }
    public var topic: String { String(decoding: frames[0], as: UTF8.self) }
    /// The frame after the JSON, when there is one.
    public var attachment: [UInt8]? { frames.count > 2 ? frames[2] : nil }

    /// The body, decoded from the parsed message.
    public func body<Body: Decodable>(_ type: Body.Type) -> Result<Body, ProtocolError> { read.body(type) }

    /// A feed message is a topic frame and a JSON event with `stream` and `seq`; anything else
    /// (a peer that is not a DeliveryTracker publisher, a message cut short) is nil.
    public init?(frames: [[UInt8]]) {
        guard frames.count >= 2, case .success(let read) = Wire.parse(frames[1]), let stream = read.head.stream,
            let seq = read.head.seq
        else { return nil }
        (self.frames, self.read, self.stream, self.seq) = (frames, read, stream, seq)
    }
}

/// The feed half of the Clone pattern, written once (the zguide's clone agent): it reads the SUB,
/// parses each message once, and puts it to the `CloneClient` that follows its stream, which says
/// whether to apply it, skip it, hold it until a snapshot says where the stream starts, or resync.
/// The query replica follows its aggregates with one (a source per aggregate, found by stream),
/// the page and `deliveries subscribe` their replica (one source). The aggregate reads its ingest
/// feeds with `read()` alone: its gaps are filled from the ingest's log, not by a snapshot.
///
/// Owned by one thread, like its socket; it does not own the socket's options or its life.
public final class FeedAgent {
    public enum Event {
        /// The next update of a followed stream: apply it (the source's position moved on).
        case update(FeedMessage, source: Int)
        /// A heartbeat, or an update already applied: nothing to apply. A heartbeat at the
        /// position is still a word from the source.
        case current(FeedMessage, source: Int)
        /// No snapshot says yet where this stream starts: keep it, or drop it, until one does.
        /// `source` is nil for a stream no source follows (a new or restarted upstream).
        case held(FeedMessage, source: Int?)
        /// A gap or another stream: the source forgot its position; a snapshot is wanted
        /// (`CloneClient.want`, which the agent leaves to its owner).
        case resync(String, FeedMessage, source: Int)
    }

    /// How a message finds its source: by the stream each source's snapshot named (several
    /// upstreams on one SUB), or always the one source (a client of one replica).
    public enum Routing: Sendable {
        case byStream
        case single
    }

    public let socket: Socket
    public let sources: [CloneClient]
    public let routing: Routing
    /// Messages that were not feed messages (counted, then dropped).
    public private(set) var unreadable = 0

    public init(socket: Socket, sources: [CloneClient], routing: Routing) {
        self.socket = socket
        self.sources = sources
        self.routing = routing
    }

    /// The next feed message waiting, read and parsed once; nil when nothing is waiting.
    public func read() -> FeedMessage? {
        while let frames = try? socket.receive(wait: false) {
            if let message = FeedMessage(frames: frames) { return message }
            unreadable += 1
        }
        return nil
    }

    /// The next message waiting, put to the source that follows its stream; nil when nothing is
    /// waiting.
    public func next() -> Event? {
        guard let message = read() else { return nil }
        return follow(message)
    }

    /// What the message means to its source.
    public func follow(_ message: FeedMessage) -> Event {
        let index: Int
        switch routing {
        case .single:
            index = 0
        case .byStream:
            guard let found = sources.firstIndex(where: { $0.follower.stream == message.stream }) else {
                return .held(message, source: nil)
            }
            index = found
        }
        switch sources[index].follower.take(stream: message.stream, seq: message.seq, heartbeat: message.isHeartbeat) {
        case .apply: return .update(message, source: index)
        case .skip: return .current(message, source: index)
        case .hold: return .held(message, source: index)
        case .resync(let reason): return .resync(reason, message, source: index)
        }
    }
}
