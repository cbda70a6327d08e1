import DeliveryMessages
import ServiceKit
import Testing
import ZeroMQ

/// The one feed agent: each message read once, put to the source that follows its stream, over a
/// real socket pair on `inproc://` (PUSH/PULL: no subscription to wait for).
@Suite struct FeedAgentTests {
    struct Harness {
        let context: Context
        let push: Socket
        let pull: Socket
        let sources: [CloneClient]
        let agent: FeedAgent

        init(name: String, sources count: Int, routing: FeedAgent.Routing) throws {
            context = try Context()
            push = try Socket(context, .push)
            pull = try Socket(context, .pull)
            try pull.set([.linger(0)])
            try push.set([.linger(0)])
            try pull.bind("inproc://\(name)")
            try push.connect("inproc://\(name)")
            var clones: [CloneClient] = []
            for index in 0..<count {
                let client = try RequestClient(context: context, endpoints: ["inproc://\(name)-snapshot-\(index)"])
                let policy = SnapshotFetch.Policy(timeoutMillis: 1000, firstPause: 10, longestPause: 100, chunked: false)
                clones.append(CloneClient(endpoint: "inproc://\(name)-snapshot-\(index)", client: client, request: SnapshotRequest(prefix: ""), policy: policy))
            }
            sources = clones
            agent = FeedAgent(socket: pull, sources: clones, routing: routing)
        }

        func send(_ type: MessageType, stream: String, seq: UInt64, topic: String = "figure.x.") throws {
            let body = HeartbeatBody(stream: stream, seq: seq)
            try push.send([Array(topic.utf8), Wire.encode(Envelope(type, id: .null, body: body, stream: stream, seq: seq))])
        }

        /// The next event, waiting up to 5 s for it.
        func next() throws -> FeedAgent.Event {
            let deadline = monotonicMillis() + 5000
            while monotonicMillis() < deadline {
                if let event = agent.next() { return event }
                _ = try Poller([pull]).poll(timeoutMilliseconds: 100)
            }
            throw CloneError("no event within 5 s")
        }

        func close() {
            for source in sources { source.client.close() }
            push.close()
            pull.close()
            context.terminate()
        }
    }

    static func describe(_ event: FeedAgent.Event) -> String {
        switch event {
        case .update(let message, let source): "update \(message.stream)#\(message.seq) @\(source)"
        case .current(let message, let source): "current \(message.stream)#\(message.seq) @\(source)"
        case .held(let message, let source): "held \(message.stream)#\(message.seq) @\(source.map(String.init) ?? "none")"
        case .resync(_, let message, let source): "resync \(message.stream)#\(message.seq) @\(source)"
        }
    }

    @Test func oneSourceAppliesInOrderSkipsOldAndResyncsOnAGap() throws {
        let harness = try Harness(name: "feed-agent-single", sources: 1, routing: .single)
        defer { harness.close() }
        // Before a snapshot: updates are held, heartbeats are nothing to apply.
        try harness.send(.figureChanged, stream: "query-a", seq: 1)
        #expect(Self.describe(try harness.next()) == "held query-a#1 @0")
        harness.sources[0].follower.snapshot(stream: "query-a", seq: 1)
        try harness.send(.figureChanged, stream: "query-a", seq: 1)
        try harness.send(.figureChanged, stream: "query-a", seq: 2)
        try harness.send(.heartbeat, stream: "query-a", seq: 2)
        // A message that is not a feed message is counted and passed over.
        try harness.push.send([Array("figure.x.".utf8), Array("not json".utf8)])
        try harness.send(.figureChanged, stream: "query-a", seq: 4)
        let events = try (0..<4).map { _ in Self.describe(try harness.next()) }
        #expect(events == ["current query-a#1 @0", "update query-a#2 @0", "current query-a#2 @0", "resync query-a#4 @0"])
        #expect(harness.agent.unreadable == 1)
        #expect(harness.sources[0].follower.position == nil)
        // The message keeps its topic and body, parsed once.
        try harness.send(.figureChanged, stream: "query-a", seq: 5, topic: "figure.hima.")
        guard case .held(let message, _) = try harness.next() else { Issue.record("not held"); return }
        #expect(message.topic == "figure.hima." && message.kind == .figureChanged)
        #expect(try message.body(HeartbeatBody.self).get().seq == 5)
    }

    @Test func severalSourcesAreFoundByTheirStream() throws {
        let harness = try Harness(name: "feed-agent-streams", sources: 2, routing: .byStream)
        defer { harness.close() }
        harness.sources[0].follower.snapshot(stream: "aggregate-a", seq: 10)
        harness.sources[1].follower.snapshot(stream: "aggregate-b", seq: 3)
        try harness.send(.figureBatch, stream: "aggregate-b", seq: 4)
        try harness.send(.figureBatch, stream: "aggregate-a", seq: 11)
        try harness.send(.figureBatch, stream: "aggregate-c", seq: 1)
        try harness.send(.heartbeat, stream: "aggregate-a", seq: 12)
        let events = try (0..<4).map { _ in Self.describe(try harness.next()) }
        #expect(events == ["update aggregate-b#4 @1", "update aggregate-a#11 @0", "held aggregate-c#1 @none", "resync aggregate-a#12 @0"])
        #expect(harness.sources[1].follower.position == 4)
    }
}
