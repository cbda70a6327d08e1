import DeliveryCore
import DeliveryMessages

/// The ingest's decisions, without its log or sockets: what a `submit` asks (every report checked
/// against the catalog; the batch refused whole, each bad report named by index, or written), and
/// the acknowledgements once the log has answered. The service does the writing and publishing.
public struct IngestCore: Sendable {
    /// What to do with a `submit`.
    public enum Step: Sendable {
        /// Refuse the batch with this error (nothing is written).
        case refuse(ProtocolError)
        /// A report names an entity the catalog does not know: the catalog may have grown under
        /// another writer (a shared PostgreSQL log). Refresh it and check once more; if it did not
        /// change, refuse with the error given.
        case refreshCatalog(otherwise: ProtocolError)
        /// Every report is valid: write them, in this order.
        case write([ReportValidator.Validated])
    }

    /// What the log said of each report written.
    public enum Outcome: Sendable, Equatable {
        case stored(seq: UInt64)
        /// A repeat of a report stored before (with PostgreSQL, perhaps by another writer's
        /// stream), and the report that superseded it since, if any.
        case duplicate(stream: String, seq: UInt64, supersededBy: Superseding?)
    }

    /// The most reports one `submit` may hold.
    public let maxBatch: Int

    public init(maxBatch: Int) {
        self.maxBatch = maxBatch
    }

    /// The first look at a `submit`: its reports against `catalog`, received at `now` (ms).
    /// `refreshed`: the catalog was refreshed for this batch already (no second refresh).
    public func submit(_ message: JSONValue, id: JSONValue, catalog: Catalog, now: Int64, refreshed: Bool = false) -> Step {
        let reports: [JSONValue]
        switch Wire.submittedReports(message, id: id) {
        case .failure(let error): return .refuse(error)
        case .success(let list): reports = list
        }
        guard !reports.isEmpty else {
            return .refuse(ProtocolError(.invalidReport, "reports is empty; send at least one report", id: id))
        }
        guard reports.count <= maxBatch else {
            return .refuse(
                ProtocolError(
                    .tooLarge, "a batch holds at most \(maxBatch) reports; this one has \(reports.count)",
                    details: ["limit": .int(Int64(maxBatch))], id: id
                )
            )
        }
        var validated: [ReportValidator.Validated] = []
        var problems: [ProtocolError] = []
        for (index, value) in reports.enumerated() {
            do {
                validated.append(try ReportValidator.validate(value, index: index, catalog: catalog, receivedAt: now))
            } catch {
                problems.append(error)
            }
        }
        guard !problems.isEmpty else { return .write(validated) }
        let refusal = Self.refusal(problems, id: id)
        if !refreshed, problems.contains(where: { $0.code == .unknownEntity }) { return .refreshCatalog(otherwise: refusal) }
        return .refuse(refusal)
    }

    /// The batch refused whole: the first problem's code, every bad report listed by index (the
    /// first 100) with the count.
    static func refusal(_ problems: [ProtocolError], id: JSONValue) -> ProtocolError {
        let first = problems[0]
        var details = first.details ?? [:]
        details["errors"] = .array(
            problems.prefix(100).map { problem in
                var entry = problem.details ?? [:]
                entry["code"] = .string(problem.code.rawValue)
                entry["message"] = .string(problem.message)
                return .object(entry)
            }
        )
        details["count"] = .int(Int64(problems.count))
        let prefix = problems.count == 1 ? "" : "\(problems.count) reports are bad; the first: "
        var index = "?"
        if case .int(let number)? = first.details?["index"] { index = "\(number)" }
        return ProtocolError(first.code, prefix + "report \(index): \(first.message)", details: details, id: id)
    }

    /// The acknowledgement of a written batch: a report each, in the order sent, stored under
    /// `stream` or a duplicate of one stored before.
    public func acknowledge(_ written: [ReportValidator.Validated], outcomes: [Outcome], stream: String) -> SubmitResult {
        let acks = zip(written, outcomes).enumerated().map { index, pair in
            switch pair.1 {
            case .stored(let seq):
                SubmitAck(index: index, id: pair.0.report.id, stream: stream, seq: seq, duplicate: false)
            case .duplicate(let other, let seq, let supersededBy):
                // A repeat is acknowledged as before; it also says when its report no longer
                // stands (A, B, then A again: the second A is a duplicate of a superseded one).
                SubmitAck(index: index, id: pair.0.report.id, stream: other, seq: seq, duplicate: true, supersededBy: supersededBy)
            }
        }
        return SubmitResult(accepted: acks)
    }

    /// What a log does with a batch: an outcome per report, and the reports new to it, each under
    /// the next seq after `lastSeq` of `stream`.
    public struct Plan: Sendable {
        public var outcomes: [LogOutcome]
        public var fresh: [ReportValidator.Validated]
    }

    /// What became of one report of a batch in the log.
    public enum LogOutcome: Sendable, Equatable {
        case stored(seq: UInt64)
        case duplicate(stream: String, seq: UInt64)
    }

    /// Plans a batch for a log: a report stored before with the same content (`known`: by id, its
    /// stream, seq and content hash) is a duplicate, as is a repeat within the batch; the same id
    /// with other content refuses the whole batch, naming the report. Seqs are stored as signed
    /// integers: a log whose last seq was forged near the top refuses writes, loudly, per batch.
    public static func plan(
        _ batch: [ReportValidator.Validated], stream: String, lastSeq: UInt64, known: (String) -> (stream: String, seq: UInt64, hash: String)?
    ) throws(ProtocolError) -> Plan {
        var plan = Plan(outcomes: [], fresh: [])
        var seenInBatch: [String: (seq: UInt64, hash: String)] = [:]
        for (index, item) in batch.enumerated() {
            let id = item.report.id
            if let stored = known(id) {
                guard stored.hash == item.contentHash else {
                    throw Self.conflict(index, "report id '\(id)' is already stored with other content; a revision needs its own id")
                }
                plan.outcomes.append(.duplicate(stream: stored.stream, seq: stored.seq))
            } else if let earlier = seenInBatch[id] {
                guard earlier.hash == item.contentHash else {
                    throw Self.conflict(index, "report id '\(id)' appears twice in the batch with different content")
                }
                plan.outcomes.append(.duplicate(stream: stream, seq: earlier.seq))
            } else {
                let seq = lastSeq &+ UInt64(plan.fresh.count + 1)
                seenInBatch[id] = (seq, item.contentHash)
                plan.fresh.append(item)
                plan.outcomes.append(.stored(seq: seq))
            }
        }
        guard plan.fresh.isEmpty || lastSeq <= UInt64(Int64.max) - UInt64(plan.fresh.count) else {
            throw ProtocolError(.unavailable, "the log's seq \(lastSeq) leaves no room for \(plan.fresh.count) more reports; the log needs repair")
        }
        return plan
    }

    private static func conflict(_ index: Int, _ message: String) -> ProtocolError {
        ProtocolError(.invalidReport, message, details: ["index": .int(Int64(index)), "field": .string("id")])
    }
}
