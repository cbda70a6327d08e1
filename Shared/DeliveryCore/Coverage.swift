import DeliveryMessages

/// What a computed figure leaves out (docs/PROTOCOL.md, "Coverage"): the entities beneath it that
/// the catalog expects to deliver in the period (`Catalog.expects`) and that have no figure, and,
/// for a sum of powertrain parts, the parts the entity is expected to have and has no figure of
/// (`Catalog.offers`). A sum that leaves any out is a lower bound: `atLeast`, or approximate with
/// no upper bound.
struct Coverage {
    /// The first `Coverage.listed` entities left out, in catalog order.
    var missing: [EntityKey] = []
    /// How many are left out in all.
    var missingCount = 0
    /// The first `Coverage.listed` powertrain parts left out, with the entity each is of.
    var missingParts: [(entity: EntityKey, powertrain: Powertrain)] = []
    var missingPartCount = 0

    /// How many missing entities (and parts) an answer names.
    static let listed = 20

    var isShort: Bool { missingCount > 0 || missingPartCount > 0 }
}

/// Which figures an engine has found short, so that walking a history many times costs one walk.
/// Not thread-safe: an engine answers one query (or works out one batch's facts) on one thread.
///
/// The aggregate keeps one across turns (`FactStating`): a figure's shortness depends only on the
/// catalog and the figures beneath it, and every figure a report changes is one of its own or an
/// ancestor or containing period's, so forgetting the changed figures (`forget`) and everything
/// at a catalog change (`clear`) keeps it true; it is cleared past `limit` entries.
public final class CoverageMemo: @unchecked Sendable {
    var short: [FigureKey: Bool] = [:]
    public static let limit = 200_000

    public init() {}

    public var count: Int { short.count }

    public func forget(_ key: FigureKey) {
        if !short.isEmpty { short[key] = nil }
    }

    public func clear() {
        short.removeAll()
    }
}

/// Something a computed figure leaves out: an entity's figure (of the powertrain walked), or one
/// powertrain's part of an entity.
enum Left: Hashable {
    case entity(EntityKey)
    case part(EntityKey, Powertrain)
}

extension QueryEngine {
    /// Whether a figure is a sum short of an expected part: computed, and some expected entity
    /// beneath it (a child, or a child of a computed child; for a quarter or year, in any of its
    /// months), or an expected powertrain part of a sum of parts, has no figure.
    func isShort(_ key: EntityKey, _ period: Period) -> Bool {
        isShort(key, period, store.powertrain)
    }

    func isShort(_ key: EntityKey, _ period: Period, _ powertrain: Powertrain?) -> Bool {
        let figureKey = FigureKey(key, period, store.measure, powertrain)
        if let known = memo.short[figureKey] { return known }
        var short = false
        if let figure = store.summary(key, period, powertrain: powertrain), figure.basis == .computed {
            if figure.fromParts {
                short = Powertrain.parts(of: powertrain).contains { part in
                    guard let value = store.summary(key, period, powertrain: part) else { return expectsPart(key, part, period) }
                    return value.basis == .computed && isShort(key, period, part)
                }
            } else {
                switch period.kind {
                case .month:
                    short = catalog.children(of: key).contains { child in
                        guard let value = store.summary(child, period, powertrain: powertrain) else { return expects(child, powertrain, period) }
                        return value.basis == .computed && isShort(child, period, powertrain)
                    }
                case .quarter, .year:
                    short = period.parts.contains { isShort(key, $0, powertrain) }
                }
            }
        }
        memo.short[figureKey] = short
        return short
    }

    /// Whether the catalog expects an entity's figure of a powertrain (nil: the whole) in a month.
    func expects(_ key: EntityKey, _ powertrain: Powertrain?, _ month: Period) -> Bool {
        catalog.expects(key, in: month) && (powertrain.map { catalog.offers(key, $0) } ?? true)
    }

    /// Whether the catalog expects an entity's part of a powertrain in some month of a period.
    func expectsPart(_ key: EntityKey, _ powertrain: Powertrain, _ period: Period) -> Bool {
        catalog.offers(key, powertrain) && period.months.contains { catalog.expects(key, in: $0) }
    }

    /// Every expected entity (and powertrain part) a computed figure leaves out (none for a
    /// reported figure).
    func coverage(_ key: EntityKey, _ period: Period) -> Coverage {
        var coverage = Coverage()
        var seen = Set<Left>()
        walkMissing(key, period, store.powertrain) { left in
            guard seen.insert(left).inserted else { return true }
            switch left {
            case .entity(let entity):
                coverage.missingCount += 1
                if coverage.missing.count < Coverage.listed { coverage.missing.append(entity) }
            case .part(let entity, let powertrain):
                coverage.missingPartCount += 1
                if coverage.missingParts.count < Coverage.listed { coverage.missingParts.append((entity, powertrain)) }
            }
            return true
        }
        return coverage
    }

    /// Calls `found` for each expected entity (or part) with no figure beneath a computed figure,
    /// until it returns false. A reported figure is what its source says: nothing beneath it is
    /// missing. A sum of powertrain parts is walked by its parts, in the same period.
    @discardableResult
    private func walkMissing(_ key: EntityKey, _ period: Period, _ powertrain: Powertrain?, _ found: (Left) -> Bool) -> Bool {
        guard let figure = store.summary(key, period, powertrain: powertrain), figure.basis == .computed else { return true }
        if figure.fromParts {
            for part in Powertrain.parts(of: powertrain) {
                if store.summary(key, period, powertrain: part) != nil {
                    guard walkMissing(key, period, part, found) else { return false }
                } else if expectsPart(key, part, period) {
                    // A group left out is named by the kinds of it the entity may have.
                    for kind in Powertrain.kinds(of: part) where catalog.offers(key, kind) {
                        guard found(.part(key, kind)) else { return false }
                    }
                }
            }
            return true
        }
        switch period.kind {
        case .month:
            for child in catalog.children(of: key) {
                if store.summary(child, period, powertrain: powertrain) != nil {
                    guard walkMissing(child, period, powertrain, found) else { return false }
                } else if expects(child, powertrain, period) {
                    guard found(.entity(child)) else { return false }
                }
            }
        case .quarter, .year:
            for part in period.parts {
                guard walkMissing(key, part, powertrain, found) else { return false }
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
    func coverageWords(_ key: EntityKey, _ period: Period, basis: Basis) -> (coverage: String, missing: [EntityRef], count: Int, parts: [MissingPart])? {
        guard basis == .computed else { return nil }
        let coverage = coverage(key, period)
        if coverage.isShort { return ("partial", coverage.missing.map { catalog.ref($0) }, coverage.missingCount, missingParts(coverage)) }
        return (key.level == .market ? "tracked" : "complete", [], 0, [])
    }

    /// The powertrain parts a sum leaves out, as answers name them.
    func missingParts(_ coverage: Coverage) -> [MissingPart] {
        coverage.missingParts.map { MissingPart(entity: catalog.ref($0.entity), powertrain: $0.powertrain) }
    }
}

extension FigureValue {
    /// The qualifier and interval of a sum with a part left out: no upper bound.
    static func lowerBound(_ qualifier: Qualifier, _ interval: Interval) -> (qualifier: Qualifier, interval: Interval) {
        (qualifier.combined(with: .atLeast), Interval(low: interval.low, high: nil))
    }
}

/// Figures as subscribers get them, each with the coverage of its own measure and powertrain: one
/// engine per pair met, so that the coverage memo is shared across a batch's figures.
public final class SubscriberCoverage<Store: MeasuredStore> {
    private struct View: Hashable {
        let measure: Measure
        let powertrain: Powertrain?
    }

    private let store: Store
    private let deliveries: QueryEngine<Store>
    private var others: [View: QueryEngine<MeasureView<Store>>] = [:]

    public init(_ store: Store) {
        self.store = store
        deliveries = QueryEngine(store)
    }

    public func covered(_ body: FigureBody, _ key: FigureKey) -> FigureBody {
        guard key.measure != .default || key.powertrain != nil else { return deliveries.coveredForSubscribers(body, key) }
        let view = View(measure: key.measure, powertrain: key.powertrain)
        let engine = others[view] ?? QueryEngine(MeasureView(store, key.measure, key.powertrain))
        others[view] = engine
        return engine.coveredForSubscribers(body, key)
    }
}
