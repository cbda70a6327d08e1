import DeliveryMessages

/// What a computed figure leaves out (docs/PROTOCOL.md, "Coverage"): the entities beneath it that
/// the catalog expects to deliver in the period (`Catalog.expects`) and that have no figure. A sum
/// that leaves any out is a lower bound: `atLeast`, or approximate with no upper bound.
struct Coverage {
    /// The first `Coverage.listed` entities left out, in catalog order.
    var missing: [EntityKey] = []
    /// How many are left out in all.
    var missingCount = 0

    /// How many missing entities an answer names.
    static let listed = 20

    var isShort: Bool { missingCount > 0 }
}

/// Which figures an engine has found short, so that walking a history many times costs one walk.
/// Not thread-safe: an engine answers one query (or works out one batch's facts) on one thread.
final class CoverageMemo {
    var short: [FigureKey: Bool] = [:]
}

extension QueryEngine {
    /// Whether a figure is a sum short of an expected part: computed, and some expected entity
    /// beneath it (a child, or a child of a computed child; for a quarter or year, in any of its
    /// months) has no figure.
    func isShort(_ key: EntityKey, _ period: Period) -> Bool {
        let figureKey = FigureKey(key, period)
        if let known = memo.short[figureKey] { return known }
        var short = false
        if let figure = store.summary(key, period), figure.basis == .computed {
            switch period.kind {
            case .month:
                short = catalog.children(of: key).contains { child in
                    guard let part = store.summary(child, period) else { return catalog.expects(child, in: period) }
                    return part.basis == .computed && isShort(child, period)
                }
            case .quarter, .year:
                short = period.parts.contains { isShort(key, $0) }
            }
        }
        memo.short[figureKey] = short
        return short
    }

    /// Every expected entity a computed figure leaves out (none for a reported figure).
    func coverage(_ key: EntityKey, _ period: Period) -> Coverage {
        var coverage = Coverage()
        var seen = Set<EntityKey>()
        walkMissing(key, period) { missing in
            if seen.insert(missing).inserted {
                coverage.missingCount += 1
                if coverage.missing.count < Coverage.listed { coverage.missing.append(missing) }
            }
            return true
        }
        return coverage
    }

    /// Calls `found` for each expected entity with no figure beneath a computed figure, until it
    /// returns false. A reported figure is what its source says: nothing beneath it is missing.
    @discardableResult
    private func walkMissing(_ key: EntityKey, _ period: Period, _ found: (EntityKey) -> Bool) -> Bool {
        guard let figure = store.summary(key, period), figure.basis == .computed else { return true }
        switch period.kind {
        case .month:
            for child in catalog.children(of: key) {
                if store.summary(child, period) != nil {
                    guard walkMissing(child, period, found) else { return false }
                } else if catalog.expects(child, in: period) {
                    guard found(child) else { return false }
                }
            }
        case .quarter, .year:
            for part in period.parts {
                guard walkMissing(key, part, found) else { return false }
            }
        }
        return true
    }

    /// A figure's body with its coverage applied: a sum short of an expected part becomes a lower
    /// bound.
    func covered(_ body: FigureBody, _ key: EntityKey, _ period: Period) -> FigureBody {
        guard body.basis == .computed, isShort(key, period) else { return body }
        var body = body
        let bound = FigureValue.lowerBound(body.qualifier, body.interval)
        body.qualifier = bound.qualifier
        (body.low, body.high) = FigureBody.wireBounds(bound.qualifier, bound.interval)
        return body
    }

    /// A figure as subscribers get it (`figure.changed`, snapshots): with its coverage applied,
    /// except the market's, which is the sum of the tracked groups by nature and whose walk would
    /// cover the whole catalog on every batch.
    public func coveredForSubscribers(_ body: FigureBody, _ key: FigureKey) -> FigureBody {
        key.entity.level == .market ? body : covered(body, key.entity, key.period)
    }

    /// The figure's coverage as an answer states it: nil for a reported figure; for a computed
    /// one `complete`, `partial` (short of an expected part, with what is missing), or, for the
    /// market summed from the tracked groups, `tracked`.
    func coverageWords(_ key: EntityKey, _ period: Period, basis: Basis) -> (coverage: String, missing: [EntityRef], count: Int)? {
        guard basis == .computed else { return nil }
        let coverage = coverage(key, period)
        if coverage.isShort { return ("partial", coverage.missing.map { catalog.ref($0) }, coverage.missingCount) }
        return (key.level == .market ? "tracked" : "complete", [], 0)
    }
}

extension FigureValue {
    /// The qualifier and interval of a sum with a part left out: no upper bound.
    static func lowerBound(_ qualifier: Qualifier, _ interval: Interval) -> (qualifier: Qualifier, interval: Interval) {
        (qualifier.combined(with: .atLeast), Interval(low: interval.low, high: nil))
    }
}

/// Figures as subscribers get them, each with the coverage of its own measure: one engine per
/// measure met, so that the coverage memo is shared across a batch's figures.
public final class SubscriberCoverage<Store: MeasuredStore> {
    private let store: Store
    private let deliveries: QueryEngine<Store>
    private var others: [Measure: QueryEngine<MeasureView<Store>>] = [:]

    public init(_ store: Store) {
        self.store = store
        deliveries = QueryEngine(store)
    }

    public func covered(_ body: FigureBody, _ key: FigureKey) -> FigureBody {
        guard key.measure != .default else { return deliveries.coveredForSubscribers(body, key) }
        let engine = others[key.measure] ?? QueryEngine(MeasureView(store, key.measure))
        others[key.measure] = engine
        return engine.coveredForSubscribers(body, key)
    }
}
