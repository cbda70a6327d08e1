import ArgumentParser
import ServiceLifecycle
import Foundation
import Logging
import ServiceKit
import ZeroMQ

@main
struct WebCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery-web",
        abstract: "Serves a live page of the figures: follows a query replica and asks it questions."
    )

    @Option(name: SettingsTable.webBind.name, help: SettingsTable.webBind.help)
    var webBind: String?

    @Option(name: SettingsTable.endpoint.name, help: SettingsTable.endpoint.help)
    var endpoint: String?

    @Option(name: SettingsTable.feed.name, help: SettingsTable.feed.help)
    var feed: String?

    @Option(name: SettingsTable.serverKey.name, help: SettingsTable.serverKey.help)
    var serverKey: String?

    @Option(name: SettingsTable.webTimeoutMs.name, help: SettingsTable.webTimeoutMs.help)
    var webTimeoutMs: Int?

    @Option(name: SettingsTable.logLevel.name, help: SettingsTable.logLevel.help)
    var logLevel: String?

    @Option(name: SettingsTable.logFormat.name, help: SettingsTable.logFormat.help)
    var logFormat: String?

    @Option(name: SettingsTable.curveKeyFile.name, help: SettingsTable.curveKeyFile.help)
    var curveKeyFile: String?

    @Option(name: SettingsTable.instance.name, help: SettingsTable.instance.help)
    var instance: String?

    func run() async throws {
        let logger = try CommonOptions.makeLogger("delivery-web", level: logLevel, format: logFormat, instance: instanceName(instance))
        let bind = SettingsTable.webBind.text(webBind)
        guard let colon = bind.lastIndex(of: ":"), let port = UInt16(bind[bind.index(after: colon)...]), port > 0 else {
            throw SettingError("DELIVERY_WEB_BIND must be host:port (such as 127.0.0.1:8080), not '\(bind)'")
        }
        let host = String(bind[..<colon])
        let endpoints = try SettingsTable.endpoint.endpoints(endpoint)
        let feed = try SettingsTable.feed.endpoint(feed, binding: false)
        let timeout = Int64(try SettingsTable.webTimeoutMs.int(webTimeoutMs))
        let serverKey = try SettingsTable.serverKey.publicKey(serverKey)
        let keyFile = SettingsTable.curveKeyFile.optional(curveKeyFile)
        let own = try keyFile.map(CurveSettings.readKeyFile)
        let secure: @Sendable (Socket) throws -> Void = { socket in
            guard let serverKey else { return }
            try CurveSettings(own: own).secureClient(socket, serverKey: serverKey)
        }
        let context = try Context()
        let broadcaster = Broadcaster()
        let link = ReplicaLink(context: context, endpoints: endpoints, feed: feed, timeout: timeout, logger: logger, broadcaster: broadcaster, secure: secure)
        let clients = ClientPool { try RequestClient(context: context, endpoints: endpoints, failover: true, configure: secure) }
        let web = WebServer(
            link: link, broadcaster: broadcaster, context: context, endpoints: endpoints, timeout: timeout, secure: secure, logger: logger,
            clients: clients
        )
        let server = try web.make(host: host, port: port)
        logger.info("web starting", metadata: ["http": "\(bind)", "replica": "\(endpoints.joined(separator: ","))", "feed": "\(feed)"])
        await ServiceRunner.main(name: "web", logger: logger, extra: [WebHTTPService(server: server, broadcaster: broadcaster)]) { stop in
            defer {
                clients.close()
                context.terminate()
            }
            try link.run(stop: stop)
        }
    }
}

/// The HTTP server under the service group, stopped with it; a keep-alive comment goes to every
/// listening page every 5 s (a page that left is found when the write fails).
struct WebHTTPService: Service {
    let server: HTTPEdge
    let broadcaster: Broadcaster

    func run() async throws {
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                broadcaster.keepAlive()
            }
        }
        defer { ticker.cancel() }
        await runUntilShutdown(server)
    }
}
