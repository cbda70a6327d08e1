import ArgumentParser
import DeliveryClient
import DeliveryMessages
import Foundation
import ServiceKit
import ZeroMQ

extension QueryKind: ExpressibleByArgument {}

/// Runs a typed query against the query endpoints.
func runQuery<Query: QueryRequest>(_ query: Query, options: QueryOptions, endpoints: Endpoints) throws -> (result: Query.Result, reply: WireMessage) {
    let context = try Context()
    defer { context.terminate() }
    let client = try RequestClient(context: context, endpoints: endpoints.queryEndpoints, failover: true, configure: endpoints.secure)
    defer { client.close() }
    return try ask(client, query, control: try options.control(for: Query.kind), timeout: endpoints.timeout)
}

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a query: \(QueryKind.allCases.map(\.rawValue).joined(separator: ", ")).",
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

    @Argument(help: ArgumentHelp("The query kind.", valueName: "kind"))
    var kind: QueryKind

    @OptionGroup var options: QueryOptions
    @OptionGroup var endpoints: Endpoints

    @Flag(help: "Print the reply's body as JSON.") var json = false
    @Flag(help: "Print the result as CSV.") var csv = false

    func run() throws {
        try show(kind.client.init(options: options))
    }

    func show<Request: ClientQuery>(_ query: Request) throws {
        let (result, reply) = try runQuery(query, options: options, endpoints: endpoints)
        if json {
            print(prettyBody(reply))
            return
        }
        var table = result.table()
        if result.measure != nil || result.powertrain != nil {
            // Every number above is of that measure and powertrain, not the whole deliveries: said
            // under the table.
            let what = [result.powertrain?.rawValue, (result.measure ?? .default).rawValue].compactMap { $0 }.joined(separator: " ")
            table.note = [table.note, "\(what) figures"].compactMap { $0 }.joined(separator: "; ")
        }
        if let knownAt = result.knownAt {
            table.note = [table.note, "as known at \(knownAt)"].compactMap { $0 }.joined(separator: "; ")
        }
        print(csv ? table.csv() : table.render())
    }
}
