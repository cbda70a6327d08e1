import ArgumentParser
import DeliveryMessages
import Foundation
import ServiceKit
import ZeroMQ

/// The flags that name an entity and the other query fields; shared by `query` and `chart`.
struct QueryOptions: ParsableArguments {
    @Flag(help: "The whole market.") var market = false
    @Option(help: "Group (alliance or automaker group) name, id or alias.") var group: String?
    @Option(help: "Brand name, id or alias.") var brand: String?
    @Option(help: "Model name, id or alias.") var model: String?
    @Option(help: "Period: YYYY-MM, YYYY-Qn or YYYY.") var period: String?
    @Option(help: "units: only this source's reports.") var source: String?
    @Option(help: "share: the whole, a group (default: the parent).") var ofGroup: String?
    @Option(help: "share: the whole, a brand.") var ofBrand: String?
    @Flag(help: "share: the whole market.") var ofMarket = false
    @Option(help: "growth: mom, qoq or yoy.") var vs: String?
    @Option(help: "ranking: model, brand or group.") var level: String?
    @Option(help: "ranking: within this group.") var withinGroup: String?
    @Option(help: "ranking: within this brand.") var withinBrand: String?
    @Option(help: "ranking, streak: price segment id or name.") var segment: String?
    @Option(help: "ranking: powertrain (BEV, EREV, PHEV…).") var powertrain: String?
    @Option(help: "ranking: only the first N rows.") var top: Int?
    @Option(help: "series: first period; convert: currency code.") var from: String?
    @Option(help: "series: last period; convert: currency code.") var to: String?
    @Option(help: "series: month, quarter or year.") var granularity: String?
    @Option(help: "convert: the amount.") var amount: Double?
    @Option(help: "Answer only once these positions are applied: stream:seq[,stream:seq].") var after: String?
    @Option(help: "With --after: how long the service may wait, in milliseconds.") var timeoutMs: Int?

    func entity(required: Bool) throws -> JSONValue? {
        var fields: [String: JSONValue] = [:]
        if market { fields["market"] = .bool(true) }
        if let group { fields["group"] = .string(group) }
        if let brand { fields["brand"] = .string(brand) }
        if let model { fields["model"] = .string(model) }
        if fields.isEmpty {
            if required { throw ValidationError("name an entity: --group, --brand, --model or --market") }
            return nil
        }
        return .object(fields)
    }

    /// The request body for a query kind, from the flags.
    func body(for kind: String) throws -> [String: JSONValue] {
        var body: [String: JSONValue] = [:]
        func need(_ value: String?, _ flag: String) throws -> JSONValue {
            guard let value else { throw ValidationError("\(kind) needs --\(flag)") }
            return .string(value)
        }
        switch kind {
        case "units", "share", "growth", "ytd", "reconcile":
            body["entity"] = try entity(required: true)
            body["period"] = try need(period, "period")
            if kind == "units", let source { body["source"] = .string(source) }
            if kind == "share" {
                if ofMarket {
                    body["of"] = .object(["market": .bool(true)])
                } else if let ofBrand {
                    body["of"] = .object(["brand": .string(ofBrand)])
                } else if let ofGroup {
                    body["of"] = .object(["group": .string(ofGroup)])
                }
            }
            if kind == "growth" { body["vs"] = try need(vs, "vs (mom, qoq or yoy)") }
        case "ranking":
            body["period"] = try need(period, "period")
            body["level"] = .string(level ?? "model")
            if let withinBrand {
                body["within"] = .object(["brand": .string(withinBrand)])
            } else if let withinGroup {
                body["within"] = .object(["group": .string(withinGroup)])
            }
            if let segment { body["segment"] = .string(segment) }
            if let powertrain { body["powertrain"] = .string(powertrain) }
            if let top { body["top"] = .int(Int64(top)) }
        case "streak":
            body["segment"] = try need(segment, "segment")
            body["period"] = try need(period, "period")
            if let entity = try entity(required: false) { body["entity"] = entity }
        case "series":
            body["entity"] = try entity(required: true)
            body["from"] = try need(from, "from")
            body["to"] = try need(to, "to")
            if let granularity { body["granularity"] = .string(granularity) }
        case "convert":
            guard let amount else { throw ValidationError("convert needs --amount") }
            body["amount"] = .double(amount)
            body["from"] = try need(from, "from (a currency code)")
            body["to"] = try need(to, "to (a currency code)")
        case "catalog":
            break
        default:
            throw ValidationError("unknown query '\(kind)'; one of \(MessageType.queries.sorted().joined(separator: ", "))")
        }
        if let after {
            var positions: [String: JSONValue] = [:]
            for part in after.split(separator: ",") {
                let pieces = part.split(separator: ":")
                guard pieces.count == 2, let seq = UInt64(pieces[1]) else {
                    throw ValidationError("--after takes stream:seq pairs, comma-separated")
                }
                positions[String(pieces[0])] = .int(Int64(seq))
            }
            body["after"] = .object(positions)
        }
        if let timeoutMs { body["timeoutMs"] = .int(Int64(timeoutMs)) }
        return body
    }
}

/// Runs a query against the query endpoints and returns the reply's body.
func runQuery(_ kind: String, options: QueryOptions, endpoints: Endpoints) throws -> (JSONValue, [UInt8]) {
    let body = try options.body(for: kind)
    let context = try Context()
    defer { context.terminate() }
    let client = try RequestClient(context: context, endpoints: endpoints.queryEndpoints, failover: true, configure: endpoints.secure)
    defer { client.close() }
    let (_, bytes) = try call(client, type: kind, body: JSONValue.object(body), timeout: endpoints.timeout)
    let envelope = try JSONDecoder().decode([String: JSONValue].self, from: Data(bytes))
    return (envelope["body"] ?? .null, bytes)
}

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a query: units, share, growth, ytd, ranking, streak, series, reconcile, convert or catalog.",
        discussion: """
            Examples:
              deliveries query units --group HIMA --period 2025-05
              deliveries query share --brand AITO --period 2025-05
              deliveries query growth --group HIMA --period 2025-05 --vs mom
              deliveries query ranking --within-group HIMA --period 2025-05 --level model
              deliveries query streak --segment above-500k --period 2025-05
              deliveries query reconcile --brand AITO --period 2025-05
              deliveries query convert --amount 500000 --from CNY --to USD
            """
    )

    @Argument(help: "The query kind.")
    var kind: String

    @OptionGroup var options: QueryOptions
    @OptionGroup var endpoints: Endpoints

    @Flag(help: "Print the reply's body as JSON.") var json = false
    @Flag(help: "Print the result as CSV.") var csv = false

    func run() throws {
        let (body, bytes) = try runQuery(kind, options: options, endpoints: endpoints)
        if json {
            print(prettyBody(bytes))
            return
        }
        let table = ResultTable.make(kind: kind, body: body)
        print(csv ? table.csv() : table.render())
    }
}
