import DeliveryCore
import DeliveryMessages
import Foundation
import ServiceKit

/// DeliveryCore alone, in this process: how fast the `FigureBook` applies reports, and how much
/// memory a figure takes.
enum Core {
    struct Result {
        var apply: Measurement
        /// The same reports into a plain dictionary keyed by (model, period): the cheapest
        /// conceivable bookkeeping, as a baseline.
        var baseline: Measurement
        var figures: Int
        var bytesPerFigure: Double
        /// The same book after 5 % of its reports were revised twice: bytes per figure over all
        /// of them, and what each revised figure added.
        var bytesPerFigureRevised: Double
        var bytesPerRevisedFigure: Double
    }

    static func run(reports count: Int, figures target: Int) throws -> Result {
        let groups = 100
        let catalog = try Catalog(Workload.catalog(groups: groups))
        let models = groups * 100

        // Memory first, on a heap nothing was freed from yet: a book grown to `target` figures from
        // reports made a batch at a time (so that the book owns every string it keeps), measured
        // as the growth of resident memory.
        var grown = FigureBook(catalog: catalog)
        let before = residentMemoryBytes()
        var n = 0
        while grown.figureCount < target {
            for report in Workload.reports(10_000, catalog: catalog, models: models, offset: n) {
                n += 1
                grown.apply(report, stream: "ingest-1", seq: UInt64(n))
            }
        }
        let after = residentMemoryBytes()
        let figures = grown.figureCount
        // Revisions cost memory only where they are: every 20th report of the load (made again,
        // the same batches) revised twice by its source, later and by other units.
        var revised = 0
        var offset = 0
        while offset < n {
            let batch = Workload.reports(min(10_000, n - offset), catalog: catalog, models: models, offset: offset)
            for (index, report) in batch.enumerated() where (offset + index) % 20 == 0 {
                for round in 1...2 {
                    var revision = report
                    (revision.id, revision.units, revision.reportedAt) = ("\(report.id)-rev\(round)", report.units + Int64(round), "2025-07-0\(round)T00:00:00Z")
                    grown.apply(revision, stream: "ingest-1", seq: UInt64(n + 2 * revised + round))
                }
                revised += 1
            }
            offset += batch.count
        }
        let revisedAfter = residentMemoryBytes()
        grown = FigureBook()

        let reports = Workload.reports(count, catalog: catalog, models: models)
        var book = FigureBook(catalog: catalog)
        let start = monotonicNanos()
        for (index, report) in reports.enumerated() {
            book.apply(report, stream: "ingest-1", seq: UInt64(index + 1))
        }
        let apply = Measurement(operations: count, seconds: seconds(since: start))
        precondition(book.reportCount == count, "every report applies")

        var plain: [String: Int64] = [:]
        let baselineStart = monotonicNanos()
        for report in reports {
            plain[report.model! + report.period, default: 0] += report.units
        }
        let baseline = Measurement(operations: count, seconds: seconds(since: baselineStart))
        precondition(plain.count == count)
        return Result(
            apply: apply, baseline: baseline, figures: figures, bytesPerFigure: Double(after - before) / Double(figures),
            bytesPerFigureRevised: Double(revisedAfter - before) / Double(figures),
            bytesPerRevisedFigure: Double(revisedAfter - after) / Double(max(revised, 1))
        )
    }
}
