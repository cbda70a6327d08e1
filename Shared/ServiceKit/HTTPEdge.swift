import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP request as a route sees it: the path (percent-decoded, no query), the query's
/// parameters in order, the headers and the whole body (already within `EdgeLimits.bodyBytes`).
public struct EdgeRequest: Sendable {
    public let method: String
    public let path: String
    public let query: [(name: String, value: String)]
    public let headers: [(String, String)]
    public let body: [UInt8]
}

/// What a route answers: a status, headers, and a body that is either whole or a stream of
/// chunks (server-sent events) that ends when the stream finishes or the peer goes.
public struct EdgeResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        case stream(AsyncStream<[UInt8]>)
    }

    public var status: Int
    public var headers: [(String, String)]
    public var body: Body

    public init(status: Int, headers: [(String, String)] = [], body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func text(_ status: Int, _ text: String) -> EdgeResponse {
        EdgeResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: .bytes(Array(text.utf8)))
    }
}

/// What one client may cost the HTTP edge. The request line and each header are refused past
/// `fieldBytes`, all of them past `headerBytes` or `headerCount` (431, at once, by NIO's parser:
/// no quadratic work however long a line is); a body past `bodyBytes` gets 413 and is not read.
/// Past `connections` open connections a new one is closed at once; a connection that sends
/// nothing for `idleSeconds` while no answer is streaming to it is closed.
public struct EdgeLimits: Sendable {
    public var fieldBytes = 8 * 1024
    public var headerBytes = 16 * 1024
    public var headerCount = 100
    public var bodyBytes = 1 << 20
    public var connections = 2000
    public var idleSeconds: Int64 = 30

    public init() {}
}

/// A small HTTP/1.1 server on SwiftNIO for the edges (the page, `/metrics`, health): parsing
/// with hard limits in C, routes as one async function, whole or streamed answers, and a stop
/// that closes every connection at once whatever it is doing.
public final class HTTPEdge: Sendable {
    /// Kept for the life of the server: its one event loop serves every connection.
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let open: ConnectionSet

    /// Binds `host:port` (`*` or empty for every address) and serves until `close()`.
    public init(host: String, port: Int, limits: EdgeLimits = EdgeLimits(), route: @escaping @Sendable (EdgeRequest) async -> EdgeResponse) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let open = ConnectionSet()
        let decoderLimits = {
            var decoder = NIOHTTPDecoderLimitConfiguration()
            decoder.maxHeaderFieldSize = limits.fieldBytes
            decoder.maxHeaderListSize = limits.headerBytes
            decoder.maxHeaderFieldCount = limits.headerCount
            return decoder
        }()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard open.enter(channel, limit: limits.connections) else {
                        channel.close(promise: nil)
                        return
                    }
                    channel.closeFuture.whenComplete { _ in open.leave(channel) }
                    let sync = channel.pipeline.syncOperations
                    let gate = DrainGate()
                    try sync.addHandler(gate)
                    try sync.configureHTTPServerPipeline(
                        withPipeliningAssistance: true, withErrorHandling: false, withEncoderConfiguration: .init(),
                        withDecoderLimitConfiguration: decoderLimits
                    )
                    try sync.addHandler(IdleStateHandler(readTimeout: .seconds(limits.idleSeconds)))
                    try sync.addHandler(EdgeHandler(limits: limits, gate: gate, route: route))
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
        do {
            channel = try bootstrap.bind(host: host.isEmpty || host == "*" ? "0.0.0.0" : host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.group = group
        self.open = open
    }

    /// Closes the listener; `run()` then closes every connection (streams included). Returns at
    /// once; safe from any thread, more than once.
    public func close() {
        channel.close(promise: nil)
    }

    /// Serves until `close()`, the task is cancelled or the service group shuts down, then
    /// closes every connection. The event loop is left to end with the process: a route still
    /// answering then finds its connection closed instead of a loop that is gone.
    public func run() async {
        await withTaskCancellationHandler {
            try? await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
        for connection in open.all() { try? await connection.close() }
    }
}

/// Connections open, bounded.
final class ConnectionSet: @unchecked Sendable {
    private let lock = NSLock()
    private var channels: [ObjectIdentifier: any Channel] = [:]

    func enter(_ channel: any Channel, limit: Int) -> Bool {
        lock.withLock {
            guard channels.count < limit else { return false }
            channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func leave(_ channel: any Channel) { lock.withLock { channels[ObjectIdentifier(channel)] = nil } }

    func all() -> [any Channel] { lock.withLock { Array(channels.values) } }
}

/// First in a connection's pipeline: once a request is refused, every byte after it is read
/// and dropped until the peer closes or a short while passes, so that the refusal (written, then
/// the output shut) reaches a client still sending its over-long line instead of being lost to
/// the reset a close with unread input sends.
final class DrainGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    static let lingerSeconds: Int64 = 2
    private var draining = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !draining else { return }
        context.fireChannelRead(data)
    }

    /// Writes `response` through the pipeline, shuts the output once it is out, drops what comes
    /// after, and closes at the end of the input or after `lingerSeconds`.
    func refuse(_ context: ChannelHandlerContext, with parts: [HTTPServerResponsePart]) {
        guard !draining else { return }
        draining = true
        let channel = context.channel
        for part in parts.dropLast() { channel.write(part, promise: nil) }
        if let last = parts.last {
            channel.writeAndFlush(last).whenComplete { _ in channel.close(mode: .output, promise: nil) }
        }
        channel.eventLoop.scheduleTask(in: .seconds(Self.lingerSeconds)) { channel.close(promise: nil) }
    }
}

/// One connection: gathers a request (head, body within the limit), asks the route on a task,
/// writes the answer on the event loop. NIO's pipelining handler holds a second request until
/// the first answer has ended.
final class EdgeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let limits: EdgeLimits
    private let gate: DrainGate
    private let route: @Sendable (EdgeRequest) async -> EdgeResponse
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var refused = false
    /// An answer is being made or streamed: the connection is not idle.
    private var answering = false

    init(limits: EdgeLimits, gate: DrainGate, route: @escaping @Sendable (EdgeRequest) async -> EdgeResponse) {
        self.limits = limits
        self.gate = gate
        self.route = route
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
            body = []
            refused = false
            if let length = request.headers.first(name: "content-length").flatMap(Int.init), length > limits.bodyBytes {
                refuse(context, 413, "a body of \(length) bytes; at most \(limits.bodyBytes)\n")
            }
        case .body(let chunk):
            guard !refused else { return }
            guard body.count + chunk.readableBytes <= limits.bodyBytes else {
                return refuse(context, 413, "a body past \(limits.bodyBytes) bytes\n")
            }
            body += chunk.readableBytesView
        case .end:
            guard !refused, let request = head else { return }
            head = nil
            answer(context, request, body: body)
            body = []
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            if !answering { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// A request the parser refused: 431 for a line or header past the limits, 400 for the rest,
    /// written at once; what the client still sends is dropped (see `DrainGate`).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError, !answering else {
            context.close(promise: nil)
            return
        }
        let status = (error as? HTTPParserError) == .headerOverflow ? 431 : 400
        let text = status == 431
            ? "the request line or a header passes \(limits.fieldBytes) bytes, or the headers \(limits.headerBytes) bytes or \(limits.headerCount) fields\n"
            : "not an HTTP request this server reads\n"
        refuse(context, status, text)
    }

    private func refuse(_ context: ChannelHandlerContext, _ status: Int, _ why: String) {
        refused = true
        body = []
        let bytes = Array(why.utf8)
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        let response = EdgeResponse.text(status, why)
        gate.refuse(context, with: [.head(Self.head(response, keepAlive: false, length: bytes.count)), .body(.byteBuffer(buffer)), .end(nil)])
    }

    private func answer(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, body: [UInt8]) {
        let (path, query) = Self.split(head.uri)
        let request = EdgeRequest(
            method: head.method.rawValue, path: path, query: query, headers: head.headers.map { ($0.name, $0.value) }, body: body
        )
        let keepAlive = head.isKeepAlive
        answering = true
        let route = route
        let channel = context.channel
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        Self.spawn(route, request, keepAlive: keepAlive, channel: channel, handler: handler)
    }

    private static func spawn(
        _ route: @escaping @Sendable (EdgeRequest) async -> EdgeResponse, _ request: EdgeRequest, keepAlive: Bool,
        channel: any Channel, handler: NIOLoopBound<EdgeHandler>
    ) {
        Task { await respond(route, request, keepAlive: keepAlive, channel: channel, handler: handler) }
    }

    /// The route's answer to one request, written; `answering` ends with it.
    private static func respond(
        _ route: @Sendable (EdgeRequest) async -> EdgeResponse, _ request: EdgeRequest, keepAlive: Bool,
        channel: any Channel, handler: NIOLoopBound<EdgeHandler>
    ) async {
        let response = await route(request)
        switch response.body {
        case .bytes:
            channel.eventLoop.execute {
                handler.value.answering = false
                write(channel, response, keepAlive: keepAlive)
            }
        case .stream(let chunks):
            await stream(response, chunks, on: channel)
            channel.eventLoop.execute { handler.value.answering = false }
        }
    }

    /// A streamed answer: the head, then each chunk as it comes, until the stream ends or a
    /// write fails (the peer left); the connection closes after.
    private static func stream(_ response: EdgeResponse, _ chunks: AsyncStream<[UInt8]>, on channel: any Channel) async {
        channel.writeAndFlush(HTTPServerResponsePart.head(head(response, keepAlive: false, length: nil)), promise: nil)
        let reader = Task {
            for await chunk in chunks {
                guard channel.isActive else { break }
                var buffer = channel.allocator.buffer(capacity: chunk.count)
                buffer.writeBytes(chunk)
                do {
                    try await channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)))
                } catch {
                    break
                }
            }
        }
        // A peer that leaves ends the stream (and the listener with it) at once.
        channel.closeFuture.whenComplete { _ in reader.cancel() }
        await reader.value
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// A whole answer (head, body, end), then the connection closed unless kept alive.
    private static func write(_ channel: any Channel, _ response: EdgeResponse, keepAlive: Bool) {
        guard case .bytes(let bytes) = response.body, channel.isActive else { return }
        channel.write(HTTPServerResponsePart.head(head(response, keepAlive: keepAlive, length: bytes.count)), promise: nil)
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
        let done = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }

    private static func head(_ response: EdgeResponse, keepAlive: Bool, length: Int?) -> HTTPResponseHead {
        var headers = HTTPHeaders(response.headers)
        if let length { headers.replaceOrAdd(name: "Content-Length", value: "\(length)") }
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        return HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
    }

    /// The path (percent-decoded) and the query's parameters (`+` as a space, percent-decoded);
    /// a parameter without `=` has an empty value.
    static func split(_ uri: String) -> (String, [(name: String, value: String)]) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = decode(parts.first ?? "", plus: false)
        guard parts.count > 1 else { return (path, []) }
        let query = parts[1].split(separator: "&").map { pair -> (name: String, value: String) in
            let sides = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(sides[0], plus: true), sides.count > 1 ? decode(sides[1], plus: true) : "")
        }
        return (path, query)
    }

    private static func decode(_ text: Substring, plus: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+") where plus:
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next(), let low = iterator.next(), let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else {
                    bytes.append(byte)
                    continue
                }
                bytes.append(value)
            default:
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
