import ArgumentParser
import DeliveryClient
import DeliveryMessages
import Foundation

struct Brief: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The facts a story would state about a group, brand or model in a month, one sentence each.",
        discussion: """
            Examples:
              deliveries brief --group HIMA --period 2025-05
              deliveries brief --model "AITO M9" --period 2025-05 --json
            """
    )

    @OptionGroup var options: QueryOptions
    @OptionGroup var endpoints: Endpoints

    @Flag(help: "Print the reply's body as JSON (every fact with its data).") var json = false

    func run() throws {
        let (result, reply) = try runQuery(try BriefQuery(options: options), options: options, endpoints: endpoints)
        if json {
            print(prettyBody(reply))
            return
        }
        guard !result.facts.isEmpty else {
            print("\(result.entity.name) has no figure for \(result.period).")
            return
        }
        print(result.facts.map(\.text).joined(separator: "\n"))
    }
}
