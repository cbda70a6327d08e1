import DeliveryMessages

/// Every figure, kept up to date report by report: the aggregate's state.
///
/// A figure is kept per entity and period. A month's figure is the report for it (the latest
/// source by `reportedAt`, then by arrival) or else the sum of the children's figures; a quarter's
/// is reported or the sum of its months, a year's reported or the sum of its quarters. Applying a
/// report touches only the figure it names and the sums above it, by difference, and says which
/// figures changed.
public struct FigureBook: FigureStore, Sendable {
    public private(set) var catalog: Catalog
    private var nodes: [FigureKey: Node] = [:]
    private var arrivals: UInt64 = 0
    /// How many reports were applied.
    public private(set) var reportCount = 0

    public init(catalog: Catalog = Catalog()) {
        self.catalog = catalog
    }

    public var figureCount: Int { nodes.count }

    /// A change to one figure: which, and its units before.
    public struct Change: Sendable, Hashable {
        public let key: FigureKey
        public let previous: Int64
    }

    // MARK: Applying

    public mutating func apply(catalog document: CatalogDocument) throws(ProtocolError) {
        try catalog.merge(document)
    }

    /// Applies a stored report (a new one, or a revision of an earlier one from the same source
    /// for the same entity and period) and returns the figures it changed, the reported one first.
    @discardableResult
    public mutating func apply(_ report: DeliveryReport, stream: String, seq: UInt64) -> [Change] {
        guard let period = try? Period(parsing: report.period) else { return [] }
        let entity = EntityKey(report.entity.level, report.entity.id)
        guard catalog.contains(entity) else { return [] }
        let key = FigureKey(entity, period)
        arrivals += 1
        reportCount += 1
        let cause = Cause(stream: stream, seq: seq, reportId: report.id)
        let slot = Slot(
            figure: SourceFigure(
                source: report.source, units: report.units, qualifier: report.qualifier,
                reportedAt: report.reportedAt, reportId: report.id, stream: stream, seq: seq
            ),
            at: Timestamp.millis(report.reportedAt) ?? 0,
            arrival: arrivals
        )
        var node = nodes[key] ?? Node()
        let before = node.contribution(period.kind)
        node.put(slot)
        node.cause = cause
        let after = node.contribution(period.kind)
        nodes[key] = node
        var changes = [Change(key: key, previous: before.units)]
        if before != after {
            propagate(from: key, before: before, after: after, cause: cause, into: &changes)
        }
        return changes
    }

    private mutating func propagate(
        from key: FigureKey, before: Contribution, after: Contribution, cause: Cause, into changes: inout [Change]
    ) {
        for parent in parents(of: key) {
            var node = nodes[parent] ?? Node()
            let parentBefore = node.contribution(parent.period.kind)
            node.remove(before)
            node.add(after)
            node.cause = cause
            let parentAfter = node.contribution(parent.period.kind)
            nodes[parent] = node
            changes.append(Change(key: parent, previous: parentBefore.units))
            if parentBefore != parentAfter {
                propagate(from: parent, before: parentBefore, after: parentAfter, cause: cause, into: &changes)
            }
        }
    }

    /// The figures that sum this one: a month's parent entity in the same month and its own quarter;
    /// a quarter's year.
    private func parents(of key: FigureKey) -> [FigureKey] {
        var result: [FigureKey] = []
        if key.period.kind == .month, let parent = catalog.parent(of: key.entity) {
            result.append(FigureKey(parent, key.period))
        }
        if let container = key.period.container {
            result.append(FigureKey(key.entity, container))
        }
        return result
    }

    // MARK: Reading

    public func figure(_ entity: EntityKey, _ period: Period) -> FigureBody? {
        body(FigureKey(entity, period), previous: nil)
    }

    /// The wire form of a figure; `previous` defaults to the current units.
    public func body(_ key: FigureKey, previous: Int64?) -> FigureBody? {
        nodes[key]?.body(catalog.ref(key.entity), key.period, previous: previous)
    }

    /// Every figure, for snapshots.
    public var keys: Dictionary<FigureKey, Node>.Keys { nodes.keys }

    // MARK: Node

    struct Slot: Sendable {
        var figure: SourceFigure
        var at: Int64
        var arrival: UInt64

        func isLater(than other: Slot) -> Bool {
            (at, arrival) > (other.at, other.arrival)
        }
    }

    /// What a figure adds to the sums above it.
    struct Contribution: Equatable {
        var present = false
        var units: Int64 = 0
        var qualifier = Qualifier.exact
        var complete = false
    }

    public struct Node: Sendable {
        var slots: [Slot] = []
        var childPresent: Int32 = 0
        var childComplete: Int32 = 0
        var childSum: Int64 = 0
        var approximate: Int32 = 0
        var atLeast: Int32 = 0
        var atMost: Int32 = 0
        var cause: Cause?

        /// The winning report: the latest `reportedAt`, then the latest arrival.
        var chosen: Slot? {
            var best: Slot?
            for slot in slots where best == nil || slot.isLater(than: best!) {
                best = slot
            }
            return best
        }

        /// The wire form of this node's figure; nil while nothing is reported or summed.
        func body(_ entity: EntityRef, _ period: Period, previous: Int64?) -> FigureBody? {
            let value = contribution(period.kind)
            guard value.present else { return nil }
            let chosen = chosen
            let computed = childPresent > 0 ? childSum : nil
            return FigureBody(
                entity: entity,
                period: period.description,
                units: value.units,
                previous: previous ?? value.units,
                basis: chosen != nil ? .reported : .computed,
                qualifier: value.qualifier,
                cause: cause,
                source: chosen?.figure.source,
                reported: chosen?.figure.units,
                reportedQualifier: chosen?.figure.qualifier,
                computed: computed,
                computedQualifier: computed == nil ? nil : childQualifier,
                complete: value.complete,
                sources: slots.map(\.figure).sorted { $0.source < $1.source }
            )
        }

        /// A source's new report replaces its earlier one (a revision).
        mutating func put(_ slot: Slot) {
            if let index = slots.firstIndex(where: { $0.figure.source == slot.figure.source }) {
                slots[index] = slot
            } else {
                slots.append(slot)
            }
        }

        var childQualifier: Qualifier {
            if approximate > 0 || (atLeast > 0 && atMost > 0) { return .approximate }
            if atLeast > 0 { return .atLeast }
            if atMost > 0 { return .atMost }
            return .exact
        }

        func contribution(_ kind: Period.Kind) -> Contribution {
            if let chosen {
                return Contribution(present: true, units: chosen.figure.units, qualifier: chosen.figure.qualifier, complete: true)
            }
            guard childPresent > 0 else { return Contribution() }
            let complete: Bool
            switch kind {
            case .month: complete = true
            case .quarter: complete = childComplete == 3
            case .year: complete = childComplete == 4
            }
            return Contribution(present: true, units: childSum, qualifier: childQualifier, complete: complete)
        }

        mutating func add(_ part: Contribution) {
            count(part, sign: 1)
        }

        mutating func remove(_ part: Contribution) {
            count(part, sign: -1)
        }

        private mutating func count(_ part: Contribution, sign: Int32) {
            guard part.present else { return }
            childPresent += sign
            childSum += Int64(sign) * part.units
            if part.complete { childComplete += sign }
            switch part.qualifier {
            case .exact: break
            case .approximate: approximate += sign
            case .atLeast: atLeast += sign
            case .atMost: atMost += sign
            }
        }
    }
}
