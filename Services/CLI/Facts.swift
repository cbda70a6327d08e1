import ArgumentParser
import DeliveryClient
import DeliveryMessages
import Foundation
import ServiceKit
import ZeroMQ

struct Facts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the facts (records, streaks, milestones) stated since a token, and the token to ask from next.",
        discussion: """
            Without --since: the latest facts kept and the current token. With --since TOKEN (as this command or             `subscribe fact. --since` printed it): every fact after it, once, from any replica. A script that was             down resumes with the token it last had; the token moves past facts --prefix leaves out.
            """
    )

    @OptionGroup var endpoints: Endpoints

    @Option(help: "The token to start after (<history>:<number>, comma-separated); an empty one starts at the oldest fact kept.")
    var since: String?

    @Option(help: "Only facts on topics under this prefix (fact.hima.).")
    var prefix: String?

    @Option(help: "The most facts to list (1-1000 an answer; with --since, every fact after the token is listed, answer by answer, up to this many).")
    var limit: Int?

    @Flag(help: "Print the facts.result replies as JSON (one per answer).")
    var json = false

    func run() throws {
        let context = try Context()
        defer { context.terminate() }
        let client = try RequestClient(context: context, endpoints: endpoints.queryEndpoints, configure: endpoints.secure)
        defer { client.close() }
        var reader = FactReader(client: client, prefix: prefix, json: json, timeout: endpoints.timeout)
        reader.replies = true
        if let since {
            reader.token = try FactReader.token(since)
            try reader.catchUp(limit: limit)
        } else {
            try reader.latest(limit: limit)
        }
        FileHandle.standardError.write(Data("token: \(reader.token.text)\n".utf8))
    }
}

/// Reads facts since a token from the replicas, shows each once and moves the token: the
/// `facts` command and `subscribe fact. --since`.
struct FactReader {
    let client: RequestClient
    let prefix: String?
    let json: Bool
    /// With `json`: each answer as its reply (`deliveries facts`), not each fact as a line.
    var replies = false
    let timeout: Int64
    var token = FactToken()
    /// Where the token is written after each fact shown (`subscribe --token-file`).
    var tokenFile: String?
    var shown = 0

    init(client: RequestClient, prefix: String?, json: Bool, timeout: Int64) {
        self.client = client
        self.prefix = prefix
        self.json = json
        self.timeout = timeout
    }

    static func token(_ text: String) throws -> FactToken {
        guard let token = FactToken(parsing: text) else {
            throw ValidationError("--since is a fact token (<history>:<number>, comma-separated, as `deliveries facts` prints it), not '\(text)'")
        }
        return token
    }

    func ask(_ request: FactsRequest) throws -> (FactsResult, WireMessage) {
        let reply = try call(client, type: MessageType.facts, body: request, timeout: timeout)
        switch Wire.reply(FactsResult.self, reply, expecting: MessageType.factsResult.rawValue) {
        case .success(let result): return (result, reply)
        case .failure(let error): throw ClientError(error)
        }
    }

    /// The latest facts and the current token.
    mutating func latest(limit: Int?) throws {
        let (result, reply) = try ask(FactsRequest(limit: limit, prefix: prefix))
        if json { emit(String(decoding: reply.bytes, as: UTF8.self)) } else { result.facts.forEach { emit(Self.line($0)) } }
        token = FactToken(parsing: result.token) ?? token
    }

    /// Every fact after the token, answer by answer (up to `limit` in all).
    mutating func catchUp(limit: Int? = nil) throws {
        while limit.map({ shown < $0 }) ?? true {
            let ask = min(limit.map { $0 - shown } ?? FactsRequest.maxLimit, FactsRequest.maxLimit)
            let (result, reply) = try self.ask(FactsRequest(since: token.text, limit: ask, prefix: prefix))
            if json && replies {
                emit(String(decoding: reply.bytes, as: UTF8.self))
                shown += result.facts.count
                token = FactToken(parsing: result.token) ?? token
            } else {
                for fact in result.facts { show(fact) }
                // The token moves past the facts the prefix left out too.
                token = FactToken(parsing: result.token) ?? token
            }
            try saveToken()
            if !result.more { return }
        }
    }

    /// Shows a fact not seen yet (true), or passes one seen (false).
    @discardableResult
    mutating func show(_ fact: FactEvent) -> Bool {
        guard !token.covers(fact) else { return false }
        if json {
            if let bytes = try? CompactJSONEncoder.encode(fact) { emit(String(decoding: bytes, as: UTF8.self)) }
        } else {
            emit(Self.line(fact))
        }
        token.saw(fact)
        shown += 1
        return true
    }

    /// Whether a live fact follows the token without a gap (its history's next, or the first of
    /// a history the token does not name).
    func follows(_ fact: FactEvent) -> Bool {
        guard let history = fact.history, let number = fact.number else { return true }
        return number == 0 || number - 1 <= token.positions[history] ?? 0
    }

    static func line(_ fact: FactEvent) -> String {
        "\(fact.period)  \(fact.entity.name)  \(fact.fact.text)  [\(fact.history ?? "?"):\(fact.number ?? 0)]"
    }

    /// Writes the token to its file (a new file renamed over the old: never half a token).
    func saveToken() throws {
        guard let tokenFile else { return }
        let temporary = tokenFile + ".tmp"
        do {
            try Data((token.text + "\n").utf8).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, tokenFile) == 0 else { throw ClientError("cannot rename \(temporary) to \(tokenFile)") }
        } catch {
            throw ClientError("cannot write the token to \(tokenFile): \(error)")
        }
    }

    func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
