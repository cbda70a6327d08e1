import ArgumentParser
import DeliveryMessages
import Foundation
import ServiceKit
import ZeroMQ

@main
struct Deliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries",
        abstract: "Submit delivery figures, query them and follow live updates.",
        subcommands: [Submit.self, Query.self, Chart.self, Subscribe.self, Ping.self, Status.self, Keygen.self]
    )
}

/// Where the client connects; each a flag with an environment fallback.
struct Endpoints: ParsableArguments {
    @Option(help: "Query endpoint(s), comma-separated: one is picked at random and the next tried when it does not answer (env DELIVERY_ENDPOINT; default tcp://127.0.0.1:5554).")
    var endpoint: String?

    @Option(help: "Ingest endpoint(s), comma-separated, tried like --endpoint; a retried batch is acknowledged as duplicates (env DELIVERY_INGEST; default tcp://127.0.0.1:5550).")
    var ingest: String?

    @Option(help: "Live feed endpoint: the PUB of the query replica that the first --endpoint names (env DELIVERY_FEED; default tcp://127.0.0.1:5555).")
    var feed: String?

    @Option(help: "How long to wait for a reply, in milliseconds.")
    var timeout: Int64 = 10_000

    @Option(help: "CURVE: this client's key file from `deliveries keygen` (env DELIVERY_CURVE_KEY_FILE).")
    var curveKeyFile: String?

    @Option(help: "CURVE: the public key of the service this command talks to (env DELIVERY_SERVER_KEY); turns CURVE on.")
    var serverKey: String?

    /// Makes a socket a CURVE client of the service, when a server key is given.
    func secure(_ socket: Socket) throws {
        guard let server = optionalSetting(serverKey, "DELIVERY_SERVER_KEY") else { return }
        let file = optionalSetting(curveKeyFile, "DELIVERY_CURVE_KEY_FILE")
        let curve = CurveSettings(own: try file.map(CurveSettings.readKeyFile))
        try curve.secureClient(socket, serverKey: server)
    }

    var queryEndpoints: [String] { listSetting(endpoint, "DELIVERY_ENDPOINT", default: "tcp://127.0.0.1:5554") }
    var ingestEndpoints: [String] { listSetting(ingest, "DELIVERY_INGEST", default: "tcp://127.0.0.1:5550") }
    var feedEndpoint: String { setting(feed, "DELIVERY_FEED", default: "tcp://127.0.0.1:5555") }
}

/// A failure the client reports in one line and a non-zero exit status.
struct ClientError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Sends one request and returns the reply's bytes, or throws a readable error: the service's
/// own error reply, or a time-out that names the endpoint.
func call<Body: Codable & Sendable>(
    _ client: RequestClient, type: String, body: Body, timeout: Int64
) throws -> (EnvelopeHead, [UInt8]) {
    let deadline = monotonicMillis() + timeout
    var answer = try client.request(type: type, body: body, timeoutMillis: timeout)
    // `busy`: the service asks to be asked again later; do so while the time allows.
    while let (head, bytes) = answer, head.type == MessageType.error,
        case .success(let error) = Wire.decodeBody(ErrorBody.self, from: bytes), error.code == .busy,
        case .int(let wait)? = error.details?["retryAfterMs"], monotonicMillis() + wait < deadline
    {
        usleep(UInt32(max(wait, 1)) * 1000)
        answer = try client.request(type: type, body: body, timeoutMillis: max(deadline - monotonicMillis(), 1))
    }
    guard let reply = answer else {
        throw ClientError(
            "no reply from \(client.endpoints.joined(separator: " or ")) within \(timeout) ms; is the service running?"
        )
    }
    if reply.0.type == MessageType.error, case .success(let error) = Wire.decodeBody(ErrorBody.self, from: reply.1) {
        var text = "\(error.code.rawValue): \(error.message)"
        if case .array(let list)? = error.details?["errors"], list.count > 1 {
            for entry in list.prefix(20) {
                if let message = entry["message"]?.stringValue, case .int(let index)? = entry["index"] {
                    text += "\n  report \(index): \(message)"
                }
            }
        }
        throw ClientError(text)
    }
    return reply
}

func decode<Body: Codable & Sendable>(_ type: Body.Type, _ bytes: [UInt8]) throws -> Body {
    switch Wire.decodeBody(Body.self, from: bytes) {
    case .success(let body): return body
    case .failure(let error): throw ClientError("unexpected reply: \(error.message)")
    }
}

/// Pretty JSON of a reply's body, for `--json`.
func prettyBody(_ bytes: [UInt8]) -> String {
    guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
        let body = object["body"],
        let data = try? JSONSerialization.data(withJSONObject: body, options: [.prettyPrinted, .sortedKeys])
    else { return String(decoding: bytes, as: UTF8.self) }
    return String(decoding: data, as: UTF8.self)
}

struct Ping: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ask a service whether it is ready (exit 0 when it answers pong).")

    @OptionGroup var endpoints: Endpoints

    @Option(help: "Timeout for the ping, in milliseconds.")
    var wait: Int64 = 2000

    func run() throws {
        let context = try Context()
        defer { context.terminate() }
        let client = try RequestClient(context: context, endpoints: endpoints.queryEndpoints, failover: true, configure: endpoints.secure)
        defer { client.close() }
        let (head, bytes) = try call(client, type: MessageType.ping, body: Empty(), timeout: wait)
        let pong = try decode(PongBody.self, bytes)
        print("\(head.type) from \(pong.service) \(pong.instance)")
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a service's status (streams, positions, counts).")

    @OptionGroup var endpoints: Endpoints

    func run() throws {
        let context = try Context()
        defer { context.terminate() }
        let client = try RequestClient(context: context, endpoints: endpoints.queryEndpoints, failover: true, configure: endpoints.secure)
        defer { client.close() }
        let (_, bytes) = try call(client, type: MessageType.status, body: Empty(), timeout: endpoints.timeout)
        print(prettyBody(bytes))
    }
}
