import DeliveryCore
import DeliveryMessages
import Foundation
import ServiceCores
import ServiceKit

/// Facts with a history, in this process: what stating facts costs the aggregate (an
/// `AggregateCore` taking one report a turn, as a live feed gives them, with facts on against the
/// same with facts off), what a `facts` answer over a whole history costs, and (`memory`) what one
/// history of `capacity` facts keeps.
enum FactsBench {
    struct Result {
        var stating: Measurement
        var baseline: Measurement
        var stated: Int
        var answer: Measurement
    }

    /// The memory one history keeps, filled to the most it keeps (a quarter over `capacity`) with
    /// facts stated by a small aggregate, each with its own strings as facts decoded from the links
    /// are: its resident growth per fact. Run first in the process, on a heap nothing was freed
    /// from yet; the history is returned so that it stays (the sections after it then measure
    /// on fresh memory too).
    static func memory(capacity: Int) throws -> (bytesPerFact: Double, history: FactHistory) {
        let catalog = try Catalog(Workload.catalog(groups: 1))
        var core = AggregateCore(groups: [], factsPerBatch: 1000, facts: FactHistory(id: "fsample", capacity: capacity))
        core.apply(StreamEvent(stream: "i", seq: 1, content: .catalog(catalog.document)))
        for (index, report) in Workload.reports(100 * 24, catalog: catalog, models: 100).enumerated() {
            core.apply(StreamEvent(stream: "i", seq: UInt64(index + 2), content: .report(report)))
            _ = core.flush(statedAt: "2026-01-01T00:00:00.000Z")
        }
        let sample = core.facts.facts
        guard !sample.isEmpty else { throw BenchError("no facts were stated") }
        let before = residentMemoryBytes()
        var history = FactHistory(id: "fmemory", capacity: capacity)
        var n = 0
        while history.facts.count < capacity + capacity / 4 {
            var fact = sample[n % sample.count]
            fact.fact.text = String(decoding: Array(fact.fact.text.utf8), as: UTF8.self)
            fact.entity.name = String(decoding: Array(fact.entity.name.utf8), as: UTF8.self)
            _ = history.state(fact, at: "2026-01-01T00:00:\(n % 60).000Z")
            n += 1
        }
        return (Double(residentMemoryBytes() - before) / Double(history.facts.count), history)
    }

    static func run(models: Int, months: Int, capacity: Int) throws -> Result {
        let catalog = try Catalog(Workload.catalog(groups: max(models / 100, 1)))
        let reports = Workload.reports(models * months, catalog: catalog, models: models)
        func turns(factsPerBatch: Int) -> (Measurement, AggregateCore) {
            var core = AggregateCore(groups: [], factsPerBatch: factsPerBatch, facts: FactHistory(id: "fbench", capacity: capacity))
            core.apply(StreamEvent(stream: "i", seq: 1, content: .catalog(catalog.document)))
            _ = core.flush(statedAt: "2026-01-01T00:00:00.000Z")
            let start = monotonicNanos()
            for (index, report) in reports.enumerated() {
                core.apply(StreamEvent(stream: "i", seq: UInt64(index + 2), content: .report(report)))
                _ = core.flush(statedAt: "2026-01-01T00:00:00.000Z")
            }
            return (Measurement(operations: reports.count, seconds: seconds(since: start)), core)
        }
        let (baseline, _) = turns(factsPerBatch: 0)
        let (stating, core) = turns(factsPerBatch: 1000)
        var history = FactHistory(id: "fmemory", capacity: capacity)
        for (n, fact) in core.facts.facts.enumerated() where history.facts.count < capacity + capacity / 4 {
            _ = history.state(fact, at: "2026-01-01T00:00:\(n % 60).000Z")
        }

        // A script that was down as long as the history reaches: every fact kept, 1,000 an answer.
        var histories = FactHistories(capacity: capacity)
        _ = histories.install(history.body, origin: 0)
        let answerStart = monotonicNanos()
        let kept = histories.ranges[0]
        var token = "fmemory:\(kept.first - 1)"
        var answered = 0
        while true {
            let result = try histories.answer(FactsRequest(since: token, limit: FactsRequest.maxLimit))
            answered += result.facts.count
            token = result.token
            if !result.more { break }
        }
        precondition(answered == Int(kept.last - kept.first + 1))
        return Result(
            stating: stating, baseline: baseline, stated: Int(core.facts.last), answer: Measurement(operations: answered, seconds: seconds(since: answerStart))
        )
    }
}
