import DeliveryClient
import ArgumentParser
import DeliveryMessages
import Foundation
import ServiceKit
import ZeroMQ

struct Subscribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow live figure updates (Clone pattern: subscribe, snapshot, then newer updates; resyncs on a gap or a restart).",
        discussion: """
            PREFIX is a topic prefix such as figure.hima. (every HIMA figure), figure.hima.aito. (AITO and its             models), or fact. (only the news: records, streaks, milestones as new figures make them true; with             --since or --token-file, every fact since a token, once, across restarts).             Another measure's figures have their own topics: figure:retail.hima. (or --measure retail), and a             powertrain's part its own: figure:BEV.hima., figure:retail:BEV.hima. (or --powertrain BEV).
            """
    )

    @Argument(help: "Topic prefix to follow.")
    var prefix: String = "figure."

    @OptionGroup var endpoints: Endpoints

    @Option(help: "Follow another measure's figures (retail, wholesale, registrations, production, exports): figure. becomes figure:<measure>.")
    var measure: String?

    @Option(help: "Follow one powertrain's figures (BEV, PHEV, EREV, FCEV, HEV, ICE, NEV, plug-in): figure. becomes figure:<powertrain>.")
    var powertrain: String?

    @Flag(help: "Print the current figures under the prefix first.")
    var snapshot = false

    @Flag(help: "Print each event as one line of JSON.")
    var json = false

    @Option(help: "Stop after this many updates.")
    var count: Int?

    @Option(help: "Say so on standard error when nothing, not even a heartbeat (one a second), arrives for this many seconds.")
    var silenceSeconds: Int = 5

    @Option(help: "Messages queued while this client is slow; past that, updates are lost and a resync follows.")
    var hwm: Int32 = 100_000

    @Option(
        help: "With a fact. prefix: start after this token (as `deliveries facts` or a previous run printed it; an empty one: the oldest fact kept), catch up on every fact stated since, then follow, each fact once; the token is printed at the end."
    )
    var since: String?

    @Option(
        help: "With a fact. prefix: keep the token in this file (read at start when it exists and --since is not given; written after every fact printed), so that a run resumes where the last one stopped (a kill -9 between printing a fact and writing the file prints that fact again: for exactly once, keep the token with what you keep of the facts, as --json lines carry history and number)."
    )
    var tokenFile: String?

    /// The prefix followed: `--measure` and `--powertrain` turn a `figure.` prefix into that
    /// measure's and powertrain's (`figure:retail:BEV.`).
    func followed() throws -> String {
        var measured = Measure.default
        if let measure {
            guard let known = Measure(rawValue: measure) else {
                throw ValidationError("--measure is one of \(Measure.allCases.map(\.rawValue).joined(separator: ", ")), not '\(measure)'")
            }
            measured = known
        }
        var part: Powertrain?
        if let powertrain {
            guard let known = Powertrain(rawValue: powertrain) else {
                throw ValidationError("--powertrain is one of \(Powertrain.spellings), not '\(powertrain)'")
            }
            part = known
        }
        guard measured != .default || part != nil else { return prefix }
        guard prefix.hasPrefix("figure.") else {
            throw ValidationError("--measure and --powertrain follow figures: give a prefix that starts with figure.")
        }
        return EntityRef.market.topic(.figure, measure: measured, powertrain: part) + prefix.dropFirst("figure.".count)
    }

    func run() throws {
        if since != nil || tokenFile != nil {
            guard prefix.hasPrefix("fact") else { throw ValidationError("--since and --token-file follow facts: give a prefix that starts with fact.") }
            return try followFacts()
        }
        let prefix = try followed()
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .sub)
        defer { socket.close() }
        // No feed message is near 1 MiB; a peer that sends one is dropped (and reconnected), so a
        // flood costs at most the high-water mark of small messages.
        try socket.set([
            .linger(0), .receiveHighWaterMark(max(hwm, 1)), .reconnectInterval(100), .reconnectIntervalMax(1000),
            .maxMessageSize(1 << 20),
        ])
        // Everything, so that any lost message shows as a gap in seq; the prefix is applied here.
        try socket.set(.subscribe(""))
        try endpoints.secure(socket)
        // The snapshot must come from the replica whose PUB this is: its numbering is that replica's.
        // A name that resolves to several replicas (a scaled compose service, a headless service)
        // is resolved once here, so that both connections reach the same one.
        let (feedEndpoint, queryEndpoint) = sameReplica(endpoints.feedEndpoint, endpoints.queryEndpoints.first ?? "")
        try socket.connect(feedEndpoint)
        let client = try RequestClient(context: context, endpoints: [queryEndpoint], configure: endpoints.secure)
        defer { client.close() }
        let clone = CloneClient(
            endpoint: queryEndpoint, client: client, request: SnapshotRequest(prefix: prefix),
            policy: SnapshotFetch.Policy(timeoutMillis: endpoints.timeout, firstPause: 200, longestPause: 1000, chunked: false)
        )
        var following = Following(agent: FeedAgent(socket: socket, sources: [clone], routing: .single), endpoint: feedEndpoint)
        try following.resync(nil, command: self)
        note("following \(prefix) on \(feedEndpoint) from \(clone.follower.stream ?? "?") seq \(clone.follower.position ?? 0)")
        while count.map({ following.shown < $0 }) ?? true {
            guard try following.waitForFeed(silenceSeconds: max(silenceSeconds, 1), command: self) else { continue }
            while let event = following.agent.next() {
                switch event {
                case .current, .held:
                    continue
                case .resync(let reason, _, _):
                    try following.resync(reason, command: self)
                case .update(let message, _):
                    if show(message, under: prefix) { following.shown += 1 }
                }
                if let count, following.shown >= count { return }
            }
        }
    }

    /// Follows facts from a token: catches up with the `facts` request, then takes the live
    /// `fact` events, each once; a gap in a history's numbers, a replica that restarted (a new
    /// stream) or a feed that was silent is caught up again from the token.
    func followFacts() throws {
        let context = try Context()
        defer { context.terminate() }
        let socket = try Socket(context, .sub)
        defer { socket.close() }
        try socket.set([.linger(0), .receiveHighWaterMark(max(hwm, 1)), .reconnectInterval(100), .reconnectIntervalMax(1000), .maxMessageSize(1 << 20)])
        try socket.set(.subscribe(Array(prefix.utf8)))
        try socket.set(.subscribe(Array(Topic.heartbeat.utf8)))
        try endpoints.secure(socket)
        try socket.connect(endpoints.feedEndpoint)
        let client = try RequestClient(context: context, endpoints: endpoints.queryEndpoints, configure: endpoints.secure)
        defer { client.close() }
        var reader = FactReader(client: client, prefix: prefix, json: json, timeout: endpoints.timeout)
        reader.tokenFile = tokenFile
        let saved = tokenFile.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let start = since ?? saved {
            reader.token = try FactReader.token(start)
        } else {
            // A token file not written yet: from now on.
            reader.token = FactToken(parsing: try reader.ask(FactsRequest(limit: 1, prefix: prefix)).0.token) ?? FactToken()
            try reader.saveToken()
        }
        note("following \(prefix) on \(endpoints.feedEndpoint) after \(reader.token.text.isEmpty ? "the oldest fact kept" : reader.token.text)")
        defer { note("token: \(reader.token.text)") }
        var stream: String?
        var silent = false
        // A catch-up that could not be made (no replica answered, one still loading): tried again
        // each second, the live facts held back meanwhile.
        var behind = false
        while count.map({ reader.shown < $0 }) ?? true {
            if behind { behind = try !catchUp(&reader) }
            let wait = behind ? 1000 : max(silenceSeconds, 1) * 1000
            guard try Poller([socket]).poll(timeoutMilliseconds: wait).first == true else {
                if !silent && !behind { note("no heartbeat from \(endpoints.feedEndpoint) for \(max(silenceSeconds, 1)) s: is a query replica publishing there?") }
                silent = !behind
                continue
            }
            guard let frames = try socket.receive(wait: false), let message = FeedMessage(frames: frames) else { continue }
            // The first message (the subscription is in place), a replica that restarted, or a
            // feed back after silence: what was stated meanwhile comes from the history.
            if message.stream != stream || silent {
                if silent { note("the feed on \(endpoints.feedEndpoint) is back") }
                (stream, silent) = (message.stream, false)
                behind = true
            }
            if behind {
                behind = try !catchUp(&reader)
                if behind { continue }
            }
            guard message.kind == .fact, message.topic.hasPrefix(prefix), case .success(let fact) = message.body(FactEvent.self) else { continue }
            if reader.follows(fact) {
                if reader.show(fact) { try reader.saveToken() }
            } else {
                behind = try !catchUp(&reader)
            }
        }
    }

    /// Catches up from the token; false when no replica could answer now (said on standard
    /// error; the caller tries again). A token the replicas refuse stops the command.
    func catchUp(_ reader: inout FactReader) throws -> Bool {
        do {
            try reader.catchUp(limit: count.map { $0 - reader.shown })
            return true
        } catch let error as ClientError where error.reply?.code != .invalidQuery {
            note("cannot catch up yet (\(error.description)); trying again")
            return false
        }
    }

    /// Where the subscription stands: its agent, how many updates were shown, the resyncs.
    private struct Following {
        let agent: FeedAgent
        let endpoint: String
        var shown = 0
        var first = true
        var lastResync: ContinuousClock.Instant?
        var resyncs = 0
        var silent = false

        /// Takes a snapshot (the first, or after a gap: `reason`) and shows it when asked to.
        mutating func resync(_ reason: String?, command: Subscribe) throws {
            // A feed that keeps breaking its numbering costs one snapshot and one line a second.
            if let lastResync, reason != nil {
                let wait = lastResync + .seconds(1) - .now
                if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)) }
            }
            lastResync = .now
            let result = try agent.sources[0].fetchNow(timeoutMillis: command.endpoints.timeout)
            guard case .bodies(let figures) = result.figures else { throw ClientError("the snapshot is not a replica's") }
            if let reason {
                resyncs += 1
                // The first resyncs are each said; past ten, one line per ten.
                if resyncs <= 10 || resyncs % 10 == 0 {
                    command.note(
                        "resynced (\(excerpt(reason, limit: 120))): \(figures.count) figures as of \(excerpt(result.stream, limit: 60)) seq \(result.position)"
                    )
                }
            }
            if command.snapshot && (first || reason != nil) {
                for figure in figures { command.show(figure, live: false) }
            }
            first = false
        }

        /// Waits for the feed; a feed that says nothing is a fault to report, not to wait on in
        /// silence. False when the wait ran out.
        mutating func waitForFeed(silenceSeconds: Int, command: Subscribe) throws -> Bool {
            guard try Poller([agent.socket]).poll(timeoutMilliseconds: silenceSeconds * 1000).first == true else {
                if !silent {
                    command.note(
                        "no heartbeat from \(endpoint) for \(silenceSeconds) s: is a query replica publishing there? "
                            + "(a replica sends one a second; the compose stack publishes its replicas' feeds on host ports 5580-5589)"
                    )
                    silent = true
                }
                return false
            }
            if silent {
                command.note("the feed on \(endpoint) is back")
                silent = false
            }
            return true
        }
    }

    /// Prints an update under the prefix; true when it was one to count.
    private func show(_ message: FeedMessage, under prefix: String) -> Bool {
        guard message.topic.hasPrefix(prefix) else { return false }
        if json {
            emit(String(decoding: message.read.bytes, as: UTF8.self))
            return true
        }
        switch message.kind {
        case .figureChanged?, .figureRemoved?:
            guard case .success(let figure) = message.body(FigureBody.self) else { return false }
            if message.kind == .figureRemoved {
                emit("\(figure.period)  \(figure.entity.name)  removed (was \(Format.units(figure.previous)))")
            } else {
                show(figure, live: true)
            }
        case .fact?:
            guard case .success(let event) = message.body(FactEvent.self) else { return false }
            emit("\(event.period)  \(event.entity.name)  \(event.fact.text)")
        default:
            return false
        }
        return true
    }

    fileprivate func show(_ figure: FigureBody, live: Bool) {
        if json {
            if let bytes = try? CompactJSONEncoder.encode(figure) { emit(String(decoding: bytes, as: UTF8.self)) }
        } else {
            let words = Format.qualifier(figure.qualifier)
            let value = (words.isEmpty ? "" : words + " ") + Format.units(figure.units)
            var line = "\(figure.period)  \(figure.entity.name)  \(value)  \(figure.basis.rawValue)"
            if let measure = figure.measure { line += "  \(measure.rawValue)" }
            if let powertrain = figure.powertrain { line += "  \(powertrain.rawValue)" }
            if live { line += "  (was \(Format.units(figure.previous)))" }
            if let cause = figure.cause { line += "  [\(cause.stream)#\(cause.seq) \(cause.reportId ?? "")]" }
            emit(line)
        }
    }

    /// Writes a line straight to standard output, so that a pipe sees each update at once.
    private func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    fileprivate func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
