import DeliveryClient
import ArgumentParser
import DeliveryMessages
import Foundation
import ServiceKit
import ZeroMQ

struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit reports from a file: JSON like the sample (catalog and reports), a JSON array of reports, or CSV with a header row."
    )

    @Argument(help: "The file to submit (- for standard input); JSON up to 64 MiB, CSV of any size.")
    var file: String

    @OptionGroup var endpoints: Endpoints

    @Option(help: "Reports per batch; each batch is stored atomically.")
    var batch: Int = 1000

    @Flag(help: "Print the acknowledgements as JSON.")
    var json = false

    func validate() throws {
        guard batch >= 1 && batch <= 50_000 else { throw ValidationError("--batch must be from 1 to 50000") }
    }

    func run() throws {
        var input: any ReportBatches
        var catalog: CatalogDocument?
        let opened = try InputFile(path: file)
        if opened.isCSV {
            input = try CSVBatches(opened)
        } else {
            let whole = try ReportFile.load(opened)
            catalog = whole.catalog
            input = JSONBatches(file: whole)
        }
        let context = try Context()
        defer { context.terminate() }
        if let catalog { try putCatalog(catalog, context: context) }
        let client = try RequestClient(context: context, endpoints: endpoints.ingestEndpoints, failover: true, configure: endpoints.secure)
        defer { client.close() }
        var tally = Tally(keepAcks: json)
        let started = Date()
        let showProgress = isatty(2) == 1
        while let (reports, places) = try input.next(batch) {
            let start = tally.count
            let body = SubmitRequest(reports: reports)
            let reply = try wrap("reports \(start)..<\(start + reports.count)") {
                do {
                    return try call(client, type: MessageType.submit, body: body, timeout: endpoints.timeout)
                } catch let error as ClientError {
                    // Reports are numbered within their batch; name their place in the file instead.
                    guard let reply = error.reply else { throw error }
                    throw ClientError(reply) { index in "report at \(index < places.count ? places[index] : "index \(index)")" }
                }
            }
            tally.add(try decode(SubmitResult.self, reply), start: start, sent: reports.count)
            if showProgress && tally.count > batch { progress(sent: tally.count, since: started) }
        }
        if showProgress && tally.count > batch { FileHandle.standardError.write(Data("\n".utf8)) }
        tally.print(json: json)
    }

    /// Every ingest instance validates against its own catalog: each one gets the catalog.
    private func putCatalog(_ catalog: CatalogDocument, context: Context) throws {
        for endpoint in endpoints.ingestEndpoints {
            let single = try RequestClient(context: context, endpoints: [endpoint], configure: endpoints.secure)
            defer { single.close() }
            let reply = try wrap("catalog (\(endpoint))") {
                try call(single, type: MessageType.catalogPut, body: catalog, timeout: endpoints.timeout)
            }
            let result = try decode(CatalogPutResult.self, reply)
            if !json {
                print(
                    "catalog: \(result.groups) groups, \(result.brands) brands, \(result.models) models, \(result.segments) segments"
                        + (result.duplicate ? " (unchanged)" : " (stored as \(result.stream) seq \(result.seq))")
                )
            }
        }
    }

    /// What the acknowledgements added up to. Only --json keeps every one; otherwise a count and
    /// the last positions.
    private struct Tally {
        let keepAcks: Bool
        var acks: [SubmitAck] = []
        var count = 0
        var duplicates = 0
        var last: [String: UInt64] = [:]

        init(keepAcks: Bool) { self.keepAcks = keepAcks }

        mutating func add(_ result: SubmitResult, start: Int, sent: Int) {
            for ack in result.accepted {
                if ack.duplicate { duplicates += 1 }
                if let later = ack.supersededBy {
                    // A repeat of a report that no longer stands: the value it states is not current.
                    FileHandle.standardError.write(
                        Data(
                            ("note: report \(ack.index + start) repeats \(ack.id) (\(ack.stream) seq \(ack.seq)), which no longer stands: "
                                + "\(later.id) (seq \(later.seq)) came later. To state this value again, send it with a later reportedAt.\n").utf8
                        )
                    )
                }
                last[ack.stream] = max(last[ack.stream] ?? 0, ack.seq)
                if keepAcks {
                    var ack = ack
                    ack.index += start
                    acks.append(ack)
                }
            }
            count = start + sent
        }

        func print(json: Bool) {
            if json {
                Swift.print(String(decoding: (try? CompactJSONEncoder.encode(SubmitResult(accepted: acks))) ?? [], as: UTF8.self))
                return
            }
            let positions = last.sorted { $0.key < $1.key }.map { "\($0.key) seq \($0.value)" }.joined(separator: ", ")
            Swift.print("submitted \(count) reports: \(count - duplicates) new, \(duplicates) duplicates; \(positions)")
            if !last.isEmpty {
                let after = last.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
                Swift.print("read your writes with: deliveries query … --after \(after)")
            }
        }
    }

    private func wrap<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ClientError {
            throw ClientError("\(file): \(error.description)")
        } catch {
            throw ClientError("\(file) (\(what)): \(error)")
        }
    }

    private func progress(sent: Int, since: Date) {
        let elapsed = max(Date().timeIntervalSince(since), 0.001)
        let line = String(format: "\r%d reports sent  %.0f/s", sent, Double(sent) / elapsed)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
