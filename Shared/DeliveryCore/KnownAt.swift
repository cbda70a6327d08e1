import DeliveryMessages

/// The figures as they stood at a past moment (`knownAt`): computed from the reports whose
/// `reportedAt` is at or before it, as if later reports had never come. Each figure's reports are
/// its sources' current ones and its earlier ones (revisions, late reports; `FigureBook.history`);
/// a figure is the latest of those in the order of reports, else the larger of its children's and
/// its powertrain parts' sums at that moment, the book's own rule (`FigureBook.Node.computed`),
/// worked out again from the leaves. The catalog is today's: entities added later are there, with
/// no figure.
///
/// A query reads a bounded number of figures this way (`budget`): past it the answer is a clear
/// error, never an unbounded walk on the replica's one thread.
/// What the dispatcher asks of any `KnownAtStore`, whatever it reads.
protocol KnownAtReading {
    var exhausted: Bool { get }
    var budget: Int { get }
}

public struct KnownAtStore<Base: MeasuredStore>: FigureStore, KnownAtReading {
    public let base: Base
    public let measure: Measure
    public let powertrain: Powertrain?
    /// The moment, in milliseconds since 1970.
    public let cutoff: Int64
    private let memo = Memo()

    /// The most figures one query may work out as of a moment.
    public static var budget: Int { 200_000 }

    final class Memo {
        var values: [FigureKey: Value] = [:]
        var spent = 0
        var exhausted = false
    }

    struct Value {
        var contribution: FigureBook.Contribution
        var fromParts: Bool
        /// Each source's latest report at the moment, and the one that stands (the latest of them).
        var sources: [SourceFigure]
        var chosen: SourceFigure?
        var earlier: [SourceFigure]
    }

    public init(_ base: Base, _ measure: Measure, _ powertrain: Powertrain?, cutoff: Int64) {
        self.base = base
        self.measure = measure
        self.powertrain = powertrain
        self.cutoff = cutoff
    }

    public var catalog: Catalog { base.catalog }
    public var earliestMonth: Period? { base.earliestMonth }
    /// Whether a query read more figures than `budget` allows (its answer is then refused).
    public var exhausted: Bool { memo.exhausted }
    var budget: Int { Self.budget }

    public func summary(_ entity: EntityKey, _ period: Period) -> FigureSummary? {
        summary(entity, period, powertrain: powertrain)
    }

    public func figure(_ entity: EntityKey, _ period: Period) -> FigureBody? {
        figure(entity, period, powertrain: powertrain)
    }

    public func summary(_ entity: EntityKey, _ period: Period, powertrain: Powertrain?) -> FigureSummary? {
        let value = value(FigureKey(entity, period, measure, powertrain))
        guard value.contribution.present else { return nil }
        let part = value.contribution
        return FigureSummary(
            units: part.units, qualifier: part.qualifier, basis: value.chosen == nil ? .computed : .reported, complete: part.complete,
            interval: part.interval, fromParts: value.fromParts
        )
    }

    public func figure(_ entity: EntityKey, _ period: Period, powertrain: Powertrain?) -> FigureBody? {
        let key = FigureKey(entity, period, measure, powertrain)
        let value = value(key)
        guard value.contribution.present else { return nil }
        let part = value.contribution
        let computed = value.chosen == nil ? part.units : nil
        return FigureBody(
            entity: catalog.ref(entity), period: period.description, units: part.units, previous: part.units,
            basis: value.chosen == nil ? .computed : .reported, qualifier: part.qualifier, cause: nil, source: value.chosen?.source,
            reported: value.chosen?.units, reportedQualifier: value.chosen?.qualifier, computed: computed,
            computedQualifier: computed == nil ? nil : part.qualifier, complete: part.complete, sources: value.sources, interval: part.interval,
            measure: measure, powertrain: powertrain, computedFrom: value.fromParts ? .powertrains : nil
        )
    }

    public func revisions(_ entity: EntityKey, _ period: Period) -> [SourceFigure] {
        value(FigureKey(entity, period, measure, powertrain)).earlier
    }

    /// A figure at the moment, from its reports then and its children's and parts' figures then.
    func value(_ key: FigureKey) -> Value {
        if let known = memo.values[key] { return known }
        memo.spent += 1
        guard memo.spent <= Self.budget else {
            memo.exhausted = true
            return Value(contribution: FigureBook.Contribution(), fromParts: false, sources: [], chosen: nil, earlier: [])
        }
        let current = base.figure(key.entity, key.period, key.measure, key.powertrain)?.sources ?? []
        let all = (current + base.revisions(key.entity, key.period, key.measure, key.powertrain))
            .filter { (Timestamp.millis($0.reportedAt) ?? .max) <= cutoff }
            .sorted { Self.order($0) < Self.order($1) }
        var latest: [String: SourceFigure] = [:]
        for report in all { latest[report.source] = report }
        let sources = latest.values.sorted { $0.source < $1.source }
        let standing = Set(sources.map { Self.order($0) })
        let earlier = all.filter { !standing.contains(Self.order($0)) }
        let value: Value
        if let chosen = all.last {
            let interval = FigureBody.wireInterval(chosen.units, chosen.qualifier, low: chosen.low, high: chosen.high)
            let part = FigureBook.Contribution(present: true, units: chosen.units, qualifier: chosen.qualifier, complete: true, interval: interval)
            value = Value(contribution: part, fromParts: false, sources: sources, chosen: chosen, earlier: earlier)
        } else {
            var node = FigureBook.Node()
            let children: [FigureKey]
            switch key.period.kind {
            case .month: children = catalog.children(of: key.entity).map { FigureKey($0, key.period, key.measure, key.powertrain) }
            case .quarter, .year: children = key.period.parts.map { FigureKey(key.entity, $0, key.measure, key.powertrain) }
            }
            for child in children { node.add(self.value(child).contribution) }
            var parts = FigureBook.Sums()
            for part in Powertrain.parts(of: key.powertrain) {
                parts.count(self.value(FigureKey(key.entity, key.period, key.measure, part)).contribution, sign: 1)
            }
            let computed = node.computed(key.period.kind, parts: parts)
            value = Value(
                contribution: computed?.value ?? FigureBook.Contribution(), fromParts: computed?.fromParts ?? false, sources: [], chosen: nil,
                earlier: earlier
            )
        }
        memo.values[key] = value
        return value
    }

    static func order(_ report: SourceFigure) -> ReportOrder {
        ReportOrder(reportedAt: report.reportedAt, stream: report.stream, seq: report.seq)
    }
}
