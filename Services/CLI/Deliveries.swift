import ArgumentParser
import DeliveryClient
import DeliveryMessages
import Foundation
import ServiceKit
import ZeroMQ

@main
struct Deliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries",
        abstract: "Submit delivery figures, query them and follow live updates.",
        subcommands: [Submit.self, Query.self, Brief.self, Chart.self, Subscribe.self, Facts.self, Ping.self, Status.self, Keygen.self]
    )
}

/// Where the client connects; each a flag with an environment fallback.
struct Endpoints: ParsableArguments {
    @Option(name: SettingsTable.endpoint.name, help: SettingsTable.endpoint.help)
    var endpoint: String?

    @Option(name: SettingsTable.ingest.name, help: SettingsTable.ingest.help)
    var ingest: String?

    @Option(name: SettingsTable.feed.name, help: SettingsTable.feed.help)
    var feed: String?

    @Option(help: "How long to wait for a reply, in milliseconds.")
    var timeout: Int64 = 10_000

    @Option(name: SettingsTable.curveKeyFile.name, help: SettingsTable.curveKeyFile.help)
    var curveKeyFile: String?

    @Option(name: SettingsTable.serverKey.name, help: SettingsTable.serverKey.help)
    var serverKey: String?

    /// Makes a socket a CURVE client of the service, when a server key is given.
    func secure(_ socket: Socket) throws {
        guard let server = SettingsTable.serverKey.optional(serverKey) else { return }
        let file = SettingsTable.curveKeyFile.optional(curveKeyFile)
        let curve = CurveSettings(own: try file.map(CurveSettings.readKeyFile))
        try curve.secureClient(socket, serverKey: server)
    }

    var queryEndpoints: [String] { SettingsTable.endpoint.list(endpoint) }
    var ingestEndpoints: [String] { SettingsTable.ingest.list(ingest) }
    var feedEndpoint: String { SettingsTable.feed.text(feed) }
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
        let reply = try call(client, type: MessageType.ping, body: Empty(), timeout: wait)
        let pong = try decode(PongBody.self, reply)
        print("\(reply.head.type) from \(pong.service) \(pong.instance)")
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
        print(prettyBody(try call(client, type: MessageType.status, body: Empty(), timeout: endpoints.timeout)))
    }
}
