import DeliveryCore
import DeliveryMessages
import Foundation
import Testing
import TestSupport

import ServiceCores

/// Facts with a history: the aggregate numbers what it states and never states a report's facts
/// twice (a restart replays reports it stated through), the numbers travel on the links and in
/// snapshots, and a replica answers `facts` since a token: every fact once, however a script's
/// reading is cut, on any replica, after a replica restart.
struct FactHistoryTests {
    static let stamp = "2026-01-01T00:00:00.000Z"

    /// An aggregate with one group of two brands, stating facts, after `months` months of rising
    /// figures, turn by turn (one report a turn): the batches it published.
    static func aggregate(months: ClosedRange<Int>, capacity: Int = 1000, core start: AggregateCore? = nil) -> (AggregateCore, [FigureBatch]) {
        var core = start ?? AggregateCore(groups: [], factsPerBatch: 100, facts: FactHistory(id: "fa", capacity: capacity))
        var batches: [FigureBatch] = []
        if start == nil {
            core.apply(StreamEvent(stream: "i", seq: 1, content: .catalog(AggregateCoreTests.put(["g1"], brands: [("b1", "g1"), ("b2", "g1")]))))
            batches += core.flush(statedAt: stamp)
        }
        for month in months {
            for (index, brand) in ["b1", "b2"].enumerated() {
                let seq = UInt64(2 + (month - 1) * 2 + index)
                let report = AggregateCoreTests.report(
                    "\(brand)-\(month)", brand: brand, group: "g1", units: Int64(100 * month + index), period: String(format: "2025-%02d", month)
                )
                core.apply(StreamEvent(stream: "i", seq: seq, content: .report(report)))
                batches += core.flush(statedAt: String(format: "2026-01-01T00:%02d:%02d.000Z", month, index))
            }
        }
        return (core, batches)
    }

    @Test func theAggregateNumbersItsFactsAndARestartStatesNoneTwice() throws {
        let (core, batches) = Self.aggregate(months: 1...8)
        let facts = batches.flatMap(\.facts)
        #expect(facts.count > 5)
        #expect(facts.map(\.number) == (1...UInt64(facts.count)).map { $0 })
        #expect(facts.allSatisfy { $0.history == "fa" && $0.statedAt != nil && $0.cause?.stream == "i" })
        #expect(facts.contains { $0.fact.kind == .recordHigh && $0.entity.id == "b1" && $0.period == "2025-08" })
        #expect(core.facts.last == UInt64(facts.count) && core.statedThrough == ["i": 17])

        // A restart: the state from before (as a checkpoint of month 3 would hold it), the history
        // and how far it stated (as the journal holds them); the reports of months 4–8 replayed
        // state nothing, new ones go on from the last number.
        var (restarted, _) = Self.aggregate(months: 1...3, core: nil)
        restarted.adopt(facts: core.facts, statedThrough: core.statedThrough)
        let (again, replayed) = Self.aggregate(months: 4...8, core: restarted)
        #expect(replayed.flatMap(\.facts).isEmpty)
        let (_, later) = Self.aggregate(months: 9...10, core: again)
        let new = later.flatMap(\.facts)
        #expect(!new.isEmpty && new.first?.number == UInt64(facts.count) + 1)
    }

    /// The coverage the aggregate keeps across turns (forgotten for what each turn changed and
    /// all that rests on it) states the same facts as a fresh walk every turn: random histories of
    /// model and brand reports from two sources, zeros (a first report of 0 units leaves its
    /// brand's sum as it was and its coverage not), revisions, a catalog put half-way.
    @Test(arguments: 0..<12) func factsWithTheKeptCoverageEqualAFreshWalk(seed: Int) {
        var rng = SplitMix(state: UInt64(seed) &+ 17)
        let put = AggregateCoreTests.put(["g"], brands: [("b1", "g"), ("b2", "g")], models: [("m1", "b1"), ("m2", "b1"), ("m3", "b2"), ("m4", "b2")])
        var kept = AggregateCore(groups: [], factsPerBatch: 100, facts: FactHistory(id: "fk", capacity: 1000))
        // Its own core (a copy would share the kept coverage: one core's alone).
        var fresh = AggregateCore(groups: [], factsPerBatch: 100, facts: FactHistory(id: "fk", capacity: 1000))
        kept.apply(StreamEvent(stream: "i", seq: 1, content: .catalog(put)))
        fresh.apply(StreamEvent(stream: "i", seq: 1, content: .catalog(put)))
        _ = kept.flush(statedAt: Self.stamp)
        _ = fresh.flush(statedAt: Self.stamp)
        for seq in UInt64(2)...UInt64(90) {
            let entity = ["m1", "m2", "m3", "m4", "b1", "b2"][Int(rng.next() % 6)]
            let brand = entity.hasPrefix("m") ? (entity == "m1" || entity == "m2" ? "b1" : "b2") : entity
            let month = Int(rng.next() % 8) + 1
            let units = rng.next() % 5 == 0 ? 0 : Int64(rng.next() % 1000)
            let report = DeliveryReport(
                id: "r\(seq)", source: rng.next() % 3 == 0 ? "Press" : "CPCA", period: String(format: "2025-%02d", month), group: "g",
                brand: brand, model: entity.hasPrefix("m") ? entity : nil, units: units, qualifier: .exact,
                reportedAt: String(format: "2025-09-%02dT00:00:00Z", Int(seq % 28) + 1), note: nil,
                entity: EntityRef(level: entity.hasPrefix("m") ? .model : .brand, id: entity, name: entity, path: entity.hasPrefix("m") ? ["g", brand, entity] : ["g", brand])
            )
            kept.apply(StreamEvent(stream: "i", seq: seq, content: .report(report)))
            fresh.apply(StreamEvent(stream: "i", seq: seq, content: .report(report)))
            let a = kept.flush(statedAt: Self.stamp).flatMap(\.facts)
            fresh.stating.coverage.clear()
            let b = fresh.flush(statedAt: Self.stamp).flatMap(\.facts)
            #expect(a == b, "seed \(seed), report \(seq)")
        }
        #expect(kept.facts.last > 0)
    }

    @Test func aBulkTurnStatesNothingAndIsCounted() {
        var core = AggregateCore(groups: [], factsPerBatch: 3, facts: FactHistory(id: "fb", capacity: 100))
        core.apply(StreamEvent(stream: "i", seq: 1, content: .catalog(AggregateCoreTests.put(["g1"], brands: [("b1", "g1")]))))
        for month in 1...6 {
            let report = AggregateCoreTests.report("r\(month)", brand: "b1", group: "g1", units: Int64(month * 10), period: String(format: "2025-%02d", month))
            core.apply(StreamEvent(stream: "i", seq: UInt64(month + 1), content: .report(report)))
        }
        #expect(core.flush(statedAt: Self.stamp).flatMap(\.facts).isEmpty)
        #expect(core.factBatchesSkipped == 1 && core.statedThrough == ["i": 7])
    }

    @Test func factsTravelOnTheLinkAndInTheHistoryBody() throws {
        let (_, batches) = Self.aggregate(months: 1...4)
        let batch = try #require(batches.first { !$0.facts.isEmpty })
        let read = try FigureBatch(decoding: try batch.encoded())
        #expect(read.facts == batch.facts && read.figures == batch.figures)
        let history = FactHistory(FactHistoryBody(history: "fa", last: 3, facts: batches.flatMap(\.facts).filter { ($0.number ?? 0) <= 3 }), capacity: 10)
        #expect(history.last == 3 && history.first == 1 && history.after(1).map(\.number) == [2, 3])
    }

    /// A replica that took `batches` (applied as aggregate stream `stream` from seq 1).
    static func replica(_ batches: [FigureBatch], snapshot: FactHistoryBody? = nil, capacity: Int = 1000) throws -> (ReplicaCore<Int>, [FactEvent]) {
        var core = ReplicaCore<Int>(factHistory: capacity, maxWaitingBytes: 1 << 20)
        var loaded = Snapshot(stream: "agg", position: 0, upstream: [:], catalog: nil, figures: .records([]), tookMillis: 1)
        loaded.facts = snapshot
        _ = core.install(loaded, origin: 0, resync: false)
        var published: [FactEvent] = []
        for (index, batch) in batches.enumerated() {
            let out = core.apply(frames: [Array("batch.".utf8), [], try batch.encoded()], stream: "agg", seq: UInt64(index + 1), origin: 0)
            published += out.compactMap { if case .fact(let fact) = $0 { fact } else { nil } }
        }
        return (core, published)
    }

    @Test func aReplicaPublishesEachFactOnceAndAResyncTellsWhatWasMissed() throws {
        let (aggregate, batches) = Self.aggregate(months: 1...8)
        let all = batches.flatMap(\.facts)
        let (core, published) = try Self.replica(batches)
        #expect(published == all)
        // The same batch again (another shard's copy, a replay): nothing new.
        var copy = core
        let repeated = copy.apply(frames: [Array("batch.".utf8), [], try batches.last { !$0.facts.isEmpty }!.encoded()], stream: "agg", seq: 99, origin: 0)
        #expect(!repeated.contains { if case .fact = $0 { true } else { false } })
        // A replica that missed the last batches resyncs: the facts it missed go out, once.
        let cut = batches.count - 4
        var (behind, _) = try Self.replica(Array(batches[..<cut]))
        var snapshot = Snapshot(stream: "agg-2", position: 9, upstream: [:], catalog: nil, figures: .records([]), tookMillis: 1)
        snapshot.facts = aggregate.facts.body
        let missed = behind.install(snapshot, origin: 0, resync: true).compactMap { if case .fact(let fact) = $0 { fact } else { nil } }
        #expect(missed == Array(all.dropFirst(batches[..<cut].flatMap(\.facts).count)))
        // A new history (the aggregate lost its data directory) tells nothing.
        snapshot.facts = FactHistoryBody(history: "fz", last: 2, facts: [])
        #expect(behind.install(snapshot, origin: 0, resync: true).isEmpty)
    }

    /// Reads every fact from `start` with cuts of random sizes, the way a script that stops and
    /// resumes from its token does; each answer may come from another replica.
    static func readAll(from start: String, replicas: [ReplicaCore<Int>], rng: inout some RandomNumberGenerator) throws -> ([FactEvent], String) {
        var token = start
        var seen: [FactEvent] = []
        while true {
            let replica = replicas[Int.random(in: 0..<replicas.count, using: &rng)]
            let answer = try replica.factHistories.answer(FactsRequest(since: token, limit: Int.random(in: 1...4, using: &rng)))
            seen += answer.facts
            token = answer.token
            if !answer.more { return (seen, token) }
        }
    }

    @Test func aScriptResumedAtRandomPointsSeesEveryFactOnceOnAnyReplicaAndAfterARestart() throws {
        let (aggregate, batches) = Self.aggregate(months: 1...12)
        let all = batches.flatMap(\.facts)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            // The script starts before any fact, reads some, stops; the replicas go on.
            let cut = Int.random(in: 0...batches.count, using: &rng)
            let (early, _) = try Self.replica(Array(batches[..<cut]))
            let (first, token) = try Self.readAll(from: "", replicas: [early], rng: &rng)
            // Later: one replica that followed all along, one restarted from the aggregate's
            // snapshot (its history body).
            let (along, _) = try Self.replica(batches)
            let (restarted, _) = try Self.replica([], snapshot: aggregate.facts.body)
            let (rest, end) = try Self.readAll(from: token, replicas: [along, restarted], rng: &rng)
            #expect(first + rest == all)
            #expect(FactToken(parsing: end)?.positions == ["fa": UInt64(all.count)])
        }
    }

    /// Two shards, two histories: a replica merges them; a script reading with random cuts sees
    /// each fact of both once, each history in the order of its numbers, and its token names both.
    @Test func twoShardsHistoriesResumeTogether() throws {
        let (_, first) = Self.aggregate(months: 1...10)
        var second = AggregateCore(groups: [], factsPerBatch: 100, facts: FactHistory(id: "fb", capacity: 1000))
        second.apply(StreamEvent(stream: "j", seq: 1, content: .catalog(AggregateCoreTests.put(["g2"], brands: [("c1", "g2")]))))
        var other: [FigureBatch] = second.flush(statedAt: Self.stamp)
        for month in 1...10 {
            let report = AggregateCoreTests.report("c1-\(month)", brand: "c1", group: "g2", units: Int64(50 * month), period: String(format: "2025-%02d", month))
            second.apply(StreamEvent(stream: "j", seq: UInt64(month + 1), content: .report(report)))
            other += second.flush(statedAt: String(format: "2026-01-01T00:%02d:00.500Z", month))
        }
        var core = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 1 << 20)
        for origin: UInt8 in [0, 1] {
            _ = core.install(Snapshot(stream: "agg\(origin)", position: 0, upstream: [:], catalog: nil, figures: .records([]), tookMillis: 1), origin: origin, resync: false)
        }
        var rng = SystemRandomNumberGenerator()
        var (a, b) = (first[...], other[...])
        var seqs: [UInt8: UInt64] = [0: 0, 1: 0]
        while !a.isEmpty || !b.isEmpty {
            let origin: UInt8 = b.isEmpty || (!a.isEmpty && Bool.random(using: &rng)) ? 0 : 1
            let batch = origin == 0 ? a.removeFirst() : b.removeFirst()
            seqs[origin]! += 1
            _ = core.apply(frames: [Array("batch.".utf8), [], try batch.encoded()], stream: "agg\(origin)", seq: seqs[origin]!, origin: origin)
        }
        let all = first.flatMap(\.facts) + other.flatMap(\.facts)
        for _ in 0..<10 {
            let (seen, token) = try Self.readAll(from: "", replicas: [core], rng: &rng)
            #expect(seen.count == all.count && Set(seen) == Set(all))
            #expect(seen.filter { $0.history == "fa" }.map(\.number) == first.flatMap(\.facts).map(\.number))
            #expect(FactToken(parsing: token)?.positions == ["fa": UInt64(first.flatMap(\.facts).count), "fb": UInt64(other.flatMap(\.facts).count)])
        }
    }

    @Test func tokensPrefixesAndLimitsAreCheckedAndTheTokenMovesPastFilteredFacts() throws {
        let (aggregate, batches) = Self.aggregate(months: 1...12, capacity: 4)
        let (core, _) = try Self.replica(batches, capacity: 4)
        let histories = core.factHistories
        let last = aggregate.facts.last
        // No token: the latest facts and the token after them.
        let now = try histories.answer(FactsRequest(limit: 2))
        #expect(now.token == "fa:\(last)" && now.facts.map(\.number) == [last - 1, last] && !now.more)
        // Only b2's facts; the token still moves past b1's.
        let b2 = try histories.answer(FactsRequest(since: "fa:\(last - 3)", prefix: "fact.g1.b2."))
        #expect(b2.facts.allSatisfy { $0.entity.id == "b2" } && b2.token == "fa:\(last)")
        for (since, words) in [
            ("fa", "not a fact token"), ("fa:x", "not a fact token"), ("fa:1,fa:2", "not a fact token"), ("zz:3", "unknown token"),
            ("fa:1", "older than the facts kept"),
        ] {
            #expect(throws: ProtocolError.self) { try histories.answer(FactsRequest(since: since)) }
            do {
                _ = try histories.answer(FactsRequest(since: since))
            } catch {
                #expect(error.code == .invalidQuery && error.message.contains(words), "\(since): \(error.message)")
            }
        }
        #expect(throws: ProtocolError.self) { try histories.answer(FactsRequest(limit: 0)) }
        #expect(throws: ProtocolError.self) { try histories.answer(FactsRequest(prefix: "figure.")) }
        // The largest number there is: an answer, not a trap.
        let largest = try histories.answer(FactsRequest(since: "fa:\(UInt64.max)"))
        #expect(largest.facts.isEmpty && largest.token == "fa:\(UInt64.max)")
        // A token ahead of this replica (another answered it): nothing, and the token stays.
        let ahead = try histories.answer(FactsRequest(since: "fa:\(last + 5)"))
        #expect(ahead.facts.isEmpty && ahead.token == "fa:\(last + 5)")
        // Bounded: at most a quarter over the capacity kept.
        #expect(histories.ranges.allSatisfy { $0.last - $0.first + 1 <= 5 })
    }

    @Test func theJournalReadsBackAndDropsATornLine() {
        let (aggregate, batches) = Self.aggregate(months: 1...6)
        var bytes = FactJournal.Line(history: "fa", through: [:], facts: [], last: 0).bytes
        var through: [String: UInt64] = [:]
        for batch in batches {
            // The figures' batch reaches the positions; its facts come in the next one.
            if !batch.upstream.isEmpty { through = batch.upstream }
            guard !batch.facts.isEmpty else { continue }
            bytes += FactJournal.Line(history: "fa", through: through, facts: batch.facts, last: batch.facts.last!.number!).bytes
        }
        let whole = FactJournal.read(bytes, capacity: 1000)
        #expect(whole?.history == aggregate.facts && whole?.unreadable == 0 && whole?.through == ["i": 13])
        let torn = FactJournal.read(Array(bytes.dropLast(7)), capacity: 1000)
        #expect(torn?.unreadable == 1 && torn?.history.last == aggregate.facts.last - UInt64(batches.last { !$0.facts.isEmpty }!.facts.count))
        #expect(FactJournal.read([], capacity: 10) == nil)
    }
}
