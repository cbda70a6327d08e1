import Testing
import ZeroMQ

/// Each pattern on real sockets over loopback TCP and inproc. Every socket is made, used and closed
/// on the test's own thread.
@Suite struct SocketTests {
    func pair(_ context: Context, _ a: SocketType, _ b: SocketType, tcp: Bool = true) throws -> (Socket, Socket) {
        let server = try Socket(context, a)
        try server.set([.linger(0), .receiveTimeout(5000), .sendTimeout(5000)])
        try server.bind(tcp ? "tcp://127.0.0.1:*" : "inproc://pair-\(UInt64.random(in: 0...UInt64.max))")
        let client = try Socket(context, b)
        try client.set([.linger(0), .receiveTimeout(5000), .sendTimeout(5000)])
        try client.connect(server.lastEndpoint)
        return (server, client)
    }

    @Test func requestReply() throws {
        let context = try Context()
        defer { context.terminate() }
        let (rep, req) = try pair(context, .rep, .req)
        defer { rep.close(); req.close() }
        try req.send(Array("ping".utf8))
        #expect(try rep.receive() == [Array("ping".utf8)])
        try rep.send(Array("pong".utf8))
        #expect(try req.receive() == [Array("pong".utf8)])
    }

    @Test func dealerRouterMultipartKeepsEveryFrame() throws {
        let context = try Context()
        defer { context.terminate() }
        let (router, dealer) = try pair(context, .router, .dealer)
        defer { router.close(); dealer.close() }
        try dealer.send([[], Array("a".utf8), [], Array("ccc".utf8)])
        let frames = try #require(try router.receive())
        #expect(frames.count == 5)
        #expect(Array(frames.dropFirst()) == [[], Array("a".utf8), [], Array("ccc".utf8)])
        try router.send([frames[0], [], Array("reply".utf8)])
        #expect(try dealer.receive() == [[], Array("reply".utf8)])
    }

    @Test func aFiveMebibyteMessageArrivesWhole() throws {
        let context = try Context()
        defer { context.terminate() }
        let (pull, push) = try pair(context, .pull, .push)
        defer { pull.close(); push.close() }
        let big = (0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try push.send(big)
        let received = try #require(try pull.receive())
        #expect(received.count == 1)
        #expect(received[0].count == big.count)
        #expect(received[0] == big)
    }

    @Test func publishSubscribeFiltersByPrefix() throws {
        let context = try Context()
        defer { context.terminate() }
        let (pub, sub) = try pair(context, .pub, .sub, tcp: false)
        defer { pub.close(); sub.close() }
        try sub.set(.subscribe("figure.hima."))
        // A subscription takes effect asynchronously: publish until one arrives, with a deadline.
        var got: [[UInt8]]?
        for _ in 0..<500 where got == nil {
            try pub.send([Array("figure.other.".utf8), Array("no".utf8)])
            try pub.send([Array("figure.hima.aito.".utf8), Array("yes".utf8)])
            if try Poller([sub]).poll(timeoutMilliseconds: 10)[0] { got = try sub.receive(wait: false) }
        }
        #expect(got == [Array("figure.hima.aito.".utf8), Array("yes".utf8)])
    }

    @Test func pollTimesOutWhenNothingArrives() throws {
        let context = try Context()
        defer { context.terminate() }
        let (pull, push) = try pair(context, .pull, .push)
        defer { pull.close(); push.close() }
        #expect(try Poller([pull]).poll(timeoutMilliseconds: 20) == [false])
        #expect(try pull.receive(wait: false) == nil)
        try push.send(Array("x".utf8))
        #expect(try Poller([pull]).poll(timeoutMilliseconds: 5000) == [true])
    }

    @Test func errorsCarryErrnoAndText() throws {
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .router)
        defer { socket.close() }
        let error = #expect(throws: ZMQError.self) { try socket.bind("nonsense://endpoint") }
        #expect(error?.message.isEmpty == false)
        #expect(error?.code != 0)
    }

    @Test func closingEverySocketLetsTheContextEnd() throws {
        let context = try Context()
        let (router, dealer) = try pair(context, .router, .dealer)
        try dealer.send([[], Array("unsent".utf8)])
        router.close()
        dealer.close()
        // With linger 0 on every socket, terminate returns at once.
        context.terminate()
        #expect(router.isClosed && dealer.isClosed)
    }
}
