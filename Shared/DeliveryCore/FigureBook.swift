import DeliveryMessages

/// Every figure, kept up to date report by report: the aggregate's state.
///
/// A figure is kept per entity and period. A month's figure is the report for it (the latest
/// in the order of reports: `reportedAt`, stream hash, seq) or else the sum of the children's figures; a quarter's
/// is reported or the sum of its months, a year's reported or the sum of its quarters. Applying a
/// report touches only the figure it names and the sums above it, by difference, and says which
/// figures changed.
///
/// Storage: a figure is keyed by one integer (its entity's index in the book and its period), and
/// the reports behind it are kept once in a `ReportTable`, so that applying a report costs about a
/// dozen integer-keyed dictionary updates and a figure about 150 bytes.
public struct FigureBook: MeasuredStore, Sendable {
    public internal(set) var catalog: Catalog
    var nodes = NodeTable()
    var entities = EntityIndex()
    var table = ReportTable()
    /// The running sum of each figure's powertrain parts, for the figures that have parts (a
    /// whole, `NEV` or `plug-in`), by the figure's key; most figures have none and pay nothing.
    var parts: [UInt64: Sums] = [:]

    /// Every figure's earlier reports, for the figures that have any (a source's value before its
    /// revision, a report that came after a later one of its source), in the order of reports,
    /// at most `FigureRecord.maxRevisions` each (the oldest go first): what `revisions` and
    /// `knownAt` read. Figures never revised pay nothing.
    var history: [UInt64: [Slot]] = [:]

    /// A figure's parts' sum, without hashing its key while no figure has parts (most books).
    func partSums(_ key: UInt64) -> Sums? {
        parts.isEmpty ? nil : parts[key]
    }
    /// How many reports were applied.
    public internal(set) var reportCount = 0
    /// The first month any figure covers: a history walk stops there (`QueryEngine.history`).
    public internal(set) var earliestMonth: Period?

    public init(catalog: Catalog = Catalog()) {
        self.catalog = catalog
    }

    public var figureCount: Int { nodes.count }

    /// A change to one figure: which (`key(of:)` names it), and its units before.
    public struct Change: Sendable, Hashable {
        let packed: UInt64
        public let previous: Int64

        /// Which figure changed: the same for every change of one figure, so that changes can be
        /// conflated by it.
        public var figure: UInt64 { packed }
    }

    /// The entity, period, measure and powertrain a change is about.
    public func key(of change: Change) -> FigureKey {
        key(packed: change.packed)
    }

    func key(packed: UInt64) -> FigureKey {
        let (entity, period, measure, powertrain) = Self.unpack(packed)
        return FigureKey(entities.keys[Int(entity)], period, measure, powertrain)
    }

    /// A figure's key as one integer: its powertrain (bits 52 on; the whole 0), its measure
    /// (bits 49–51; deliveries 0, so that keys from before measures and powertrains are the whole
    /// deliveries'), its entity's index (bits 17–48) and its period.
    static func pack(_ entity: UInt32, _ period: Period, _ measure: Measure = .default, _ powertrain: Powertrain? = nil) -> UInt64 {
        Powertrain.code(powertrain) << 52 | measure.code << 49 | UInt64(entity) << 17 | UInt64(period.packed)
    }

    static func unpack(_ packed: UInt64) -> (entity: UInt32, period: Period, measure: Measure, powertrain: Powertrain?) {
        (
            UInt32(truncatingIfNeeded: packed >> 17), Period(packed: UInt32(packed & 0x1FFFF)), Measure(code: (packed >> 49) & 7) ?? .default,
            Powertrain.decode(packed >> 52)
        )
    }


    // MARK: Applying

    public mutating func apply(catalog document: CatalogDocument) throws(ProtocolError) {
        try catalog.merge(document)
    }

    /// Applies a stored report (a new one, or a revision of an earlier one from the same source
    /// for the same entity and period) and returns the figures it changed, the reported one first.
    @discardableResult
    public mutating func apply(_ report: DeliveryReport, stream: String, seq: UInt64) -> [Change] {
        let catalog = catalog
        guard let period = try? Period(parsing: report.period),
            let entity = entities.index(of: EntityKey(report.entity.level, report.entity.id), in: catalog)
        else { return [] }
        reportCount += 1
        let month = period.firstMonth
        if earliestMonth.map({ month < $0 }) ?? true { earliestMonth = month }
        let (arrival, order) = table.add(stream: stream, seq: seq, reportId: report.id, reportedAt: report.reportedAt, segmentRank: report.segmentRank)
        let slot = Slot(
            units: report.units, order: order, arrival: arrival,
            source: table.source(report.source), qualifier: report.qualifier, interval: report.interval
        )
        let key = Self.pack(entity, period, report.measured, report.powertrain)
        let position = nodes.insert(key)
        // A source's report is replaced only by one later in the report order: one that comes
        // later but is earlier in the order (another stream's, replayed in another interleaving)
        // changes no value, so every order of application ends the same; it is an earlier report
        // of the figure all the same, and the figure's record (its revisions) goes out again.
        guard nodes.nodes[position].accepts(slot) else {
            keepEarlier(slot, of: key)
            return [Change(packed: key, previous: nodes.nodes[position].contribution(period.kind, parts: partSums(key)).units)]
        }
        if let replaced = nodes.nodes[position].slot(of: slot.source) { keepEarlier(replaced, of: key) }
        let causeBefore = nodes.nodes[position].cause
        let partSums = partSums(key)
        let before = nodes.nodes[position].contribution(period.kind, parts: partSums)
        nodes.nodes[position].put(slot)
        nodes.nodes[position].takeCause(arrival, order, table: table)
        let after = nodes.nodes[position].contribution(period.kind, parts: partSums)
        var changes: [Change] = []
        changes.reserveCapacity(16)
        changes.append(Change(packed: key, previous: before.units))
        if before != after || nodes.nodes[position].cause != causeBefore {
            propagate(key, before: before, after: after, cause: arrival, order: order, into: &changes)
        }
        return changes
    }

    /// Keeps an earlier report of a figure where the report order puts it, the oldest dropped
    /// past `FigureRecord.maxRevisions`.
    private mutating func keepEarlier(_ slot: Slot, of key: UInt64) {
        var earlier = history[key] ?? []
        let index = earlier.firstIndex { $0.order > slot.order } ?? earlier.endIndex
        earlier.insert(slot, at: index)
        if earlier.count > FigureRecord.maxRevisions { earlier.removeFirst(earlier.count - FigureRecord.maxRevisions) }
        history[key] = earlier
    }

    /// A figure's earlier reports as the links carry them.
    func revisions(_ key: UInt64) -> [SourceFigure] {
        guard !history.isEmpty, let earlier = history[key] else { return [] }
        return earlier.map(table.sourceFigure)
    }

    /// Which sum of a figure a change is carried into.
    enum Edge {
        /// Its children's: the entity beneath it in the same month, or a period in it.
        case children
        /// Its powertrain parts': the same entity and period, one powertrain down.
        case parts
    }

    /// Carries a change of one figure into the figures that sum it: a month's parent entity in the
    /// same month; a month's quarter and a quarter's year; a powertrain's group (or the whole) of
    /// the same entity and period. A figure's cause is the latest report, in the report order, of
    /// all it reflects; it travels up even when the sums do not change.
    private mutating func propagate(
        _ packed: UInt64, before: Contribution, after: Contribution, cause: UInt32, order: ReportOrder, into changes: inout [Change]
    ) {
        // On the key's bits: the measure and powertrain (bits 49 on) stay, the entity or the
        // period or the powertrain is replaced.
        let entity = UInt32(truncatingIfNeeded: packed >> 17)
        let period = Period(packed: UInt32(packed & 0x1FFFF))
        let kept = packed & ~((1 << 49) - 1)
        let parent = entities.parents[Int(entity)]
        if period.kind == .month, parent != EntityIndex.none {
            carry(kept | UInt64(parent) << 17 | UInt64(period.packed), .children, before: before, after: after, cause: cause, order: order, into: &changes)
        }
        if let container = period.container {
            carry(kept | UInt64(entity) << 17 | UInt64(container.packed), .children, before: before, after: after, cause: cause, order: order, into: &changes)
        }
        let code = packed >> 52
        if code != 0, code < UInt64(Powertrain.groupCodes.count) {
            let group = packed & ((1 << 52) - 1) | Powertrain.groupCodes[Int(code)] << 52
            carry(group, .parts, before: before, after: after, cause: cause, order: order, into: &changes)
        }
    }

    private mutating func carry(
        _ key: UInt64, _ edge: Edge, before: Contribution, after: Contribution, cause: UInt32, order: ReportOrder, into changes: inout [Change]
    ) {
        let kind = Period(packed: UInt32(key & 0x1FFFF)).kind
        let position = nodes.insert(key)
        let causeBefore = nodes.nodes[position].cause
        var partSums = partSums(key)
        let parentBefore = nodes.nodes[position].contribution(kind, parts: partSums)
        if before != after {
            switch edge {
            case .children:
                nodes.nodes[position].remove(before)
                nodes.nodes[position].add(after)
            case .parts:
                var sums = partSums ?? Sums()
                sums.count(before, sign: -1)
                sums.count(after, sign: 1)
                parts[key] = sums
                partSums = sums
            }
        }
        nodes.nodes[position].takeCause(cause, order, table: table)
        let parentAfter = nodes.nodes[position].contribution(kind, parts: partSums)
        let causeChanged = nodes.nodes[position].cause != causeBefore
        guard parentBefore != parentAfter || causeChanged || before != after else { return }
        changes.append(Change(packed: key, previous: parentBefore.units))
        if parentBefore != parentAfter || causeChanged {
            propagate(key, before: parentBefore, after: parentAfter, cause: cause, order: order, into: &changes)
        }
    }

    // MARK: Reading

    public func figure(_ entity: EntityKey, _ period: Period) -> FigureBody? {
        body(FigureKey(entity, period), previous: nil)
    }

    public func figure(_ entity: EntityKey, _ period: Period, _ measure: Measure, _ powertrain: Powertrain?) -> FigureBody? {
        body(FigureKey(entity, period, measure, powertrain), previous: nil)
    }

    /// What the engine reads of a figure, straight from its node (no wire body is built: coverage
    /// and the facts read many figures).
    public func summary(_ entity: EntityKey, _ period: Period, _ measure: Measure, _ powertrain: Powertrain?) -> FigureSummary? {
        guard let index = entities.existing(entity) else { return nil }
        let packed = Self.pack(index, period, measure, powertrain)
        guard let position = nodes.position(of: packed) else { return nil }
        return nodes.nodes[position].summary(period.kind, parts: partSums(packed))
    }

    /// The wire form of a figure; `previous` defaults to the current units.
    public func body(_ key: FigureKey, previous: Int64?) -> FigureBody? {
        guard let entity = entities.existing(key.entity) else { return nil }
        let packed = Self.pack(entity, key.period, key.measure, key.powertrain)
        guard let position = nodes.position(of: packed) else { return nil }
        return nodes.nodes[position].body(catalog.ref(key.entity), key, previous: previous, table: table, parts: partSums(packed))
    }

    /// The wire form of a changed figure, with its units before the change as `previous`.
    public func body(_ change: Change) -> FigureBody? {
        guard let position = nodes.position(of: change.packed) else { return nil }
        let key = key(of: change)
        return nodes.nodes[position].body(catalog.ref(key.entity), key, previous: change.previous, table: table, parts: partSums(change.packed))
    }

    /// A figure as the internal links carry it, by the id of a change (`Change.figure`).
    public func record(_ figure: UInt64) -> FigureRecord? {
        guard let position = nodes.position(of: figure) else { return nil }
        var record = nodes.nodes[position].record(key(packed: figure), table: table, parts: partSums(figure))
        record?.revisions = revisions(figure)
        return record
    }

    /// A figure's earlier reports (see `history`).
    public func revisions(_ entity: EntityKey, _ period: Period, _ measure: Measure, _ powertrain: Powertrain?) -> [SourceFigure] {
        guard let index = entities.existing(entity) else { return [] }
        return revisions(Self.pack(index, period, measure, powertrain))
    }

    /// Every figure's id, for snapshots (see `record`).
    public var figureIDs: [UInt64] { nodes.keys }

    /// Every figure's key, for snapshots.
    public var keys: [FigureKey] {
        nodes.keys.map { key(packed: $0) }
    }

    // MARK: Node

    /// One source's report for a figure, by reference into the book's `ReportTable`.
    struct Slot: Sendable {
        var units: Int64
        /// Where the report stands in the report order, for choosing the latest.
        var order: ReportOrder
        /// The report's arrival number; 0 for no report.
        var arrival: UInt32
        var source: UInt32
        var qualifier: Qualifier
        /// The report's interval as how far it reaches below and above its units, saturated to 32
        /// bits (a report's units are at most a billion); `UInt32.max` above: no upper bound.
        var below: UInt32
        var above: UInt32

        init(units: Int64, order: ReportOrder, arrival: UInt32, source: UInt32, qualifier: Qualifier, interval: Interval) {
            self.units = units
            self.order = order
            self.arrival = arrival
            self.source = source
            self.qualifier = qualifier
            below = UInt32(clamping: units.saturatingSubtracting(interval.low))
            above = interval.high.map { UInt32(clamping: $0.saturatingSubtracting(units)) } ?? .max
            if above == .max, interval.high != nil { above = .max - 1 }
        }

        static let empty = Slot(units: 0, order: .none, arrival: 0, source: 0, qualifier: .exact, interval: Interval(low: 0, high: 0))

        var interval: Interval {
            Interval(low: units.saturatingSubtracting(Int64(below)), high: above == .max ? nil : units.saturatingAdding(Int64(above)))
        }

        func isLater(than other: Slot) -> Bool {
            order > other.order
        }
    }

    /// What a figure adds to the sums above it.
    struct Contribution: Equatable {
        var present = false
        var units: Int64 = 0
        var qualifier = Qualifier.exact
        var complete = false
        /// The least and the most the figure can be (`Interval`; high `Int64.max` for none).
        var low: Int64 = 0
        var high: Int64 = 0

        init() {}

        init(present: Bool, units: Int64, qualifier: Qualifier, complete: Bool, interval: Interval) {
            self.present = present
            self.units = units
            self.qualifier = qualifier
            self.complete = complete
            low = interval.low
            high = interval.high ?? .max
        }

        /// The interval of a figure with these units and qualifier; an approximate one's own.
        var interval: Interval {
            qualifier == .approximate ? Interval(low: low, high: high == .max ? nil : high) : Interval.of(units, qualifier)
        }
    }

    /// A running sum of contributions: a figure's children's (entities beneath it, or the
    /// periods in it), or its powertrain parts'.
    /// (The 64-bit fields first: 48 bytes with no padding, as the node's fields were.)
    struct Sums: Sendable, Equatable {
        var units: Int64 = 0
        /// The sums of the parts' lows and highs, and how many parts have no high (`open`): the
        /// interval of an approximate sum.
        var low: Int64 = 0
        var high: Int64 = 0
        var present: Int32 = 0
        var complete: Int32 = 0
        var approximate: Int32 = 0
        var atLeast: Int32 = 0
        var atMost: Int32 = 0
        var open: Int32 = 0

        var qualifier: Qualifier {
            if approximate > 0 || (atLeast > 0 && atMost > 0) { return .approximate }
            if atLeast > 0 { return .atLeast }
            if atMost > 0 { return .atMost }
            return .exact
        }

        /// The interval of the sum.
        var interval: Interval {
            qualifier == .approximate ? Interval(low: low, high: open > 0 ? nil : high) : Interval.of(units, qualifier)
        }

        /// The sum as a contribution; `complete` whether it covers its whole period.
        func contribution(complete: Bool) -> Contribution {
            guard present > 0 else { return Contribution() }
            return Contribution(present: true, units: units, qualifier: qualifier, complete: complete, interval: interval)
        }

        mutating func count(_ part: Contribution, sign: Int32) {
            guard part.present else { return }
            present += sign
            units = sign > 0 ? units.saturatingAdding(part.units) : units.saturatingSubtracting(part.units)
            if part.complete { complete += sign }
            let interval = part.interval
            if sign > 0 {
                low = low.saturatingAdding(interval.low)
                if let high = interval.high { self.high = self.high.saturatingAdding(high) } else { open += 1 }
            } else {
                low = low.saturatingSubtracting(interval.low)
                if let high = interval.high { self.high = self.high.saturatingSubtracting(high) } else { open -= 1 }
            }
            switch part.qualifier {
            case .exact: break
            case .approximate: approximate += sign
            case .atLeast: atLeast += sign
            case .atMost: atMost += sign
            }
        }
    }

    /// A figure: the latest report of each source (the first inline, others beside it), and the
    /// running sum of its children's contributions. The sum of its powertrain parts, for the few
    /// figures that have parts, is kept beside it (`FigureBook.parts`).
    public struct Node: Sendable {
        var first = Slot.empty
        var others: [Slot] = []
        var children = Sums()
        /// The arrival number of the report that changed it last; 0 for none.
        var cause: UInt32 = 0

        var slots: [Slot] {
            first.arrival == 0 ? [] : [first] + others
        }

        /// The winning report: the latest in the order of reports (`ReportOrder`).
        var chosen: Slot? {
            guard first.arrival != 0 else { return nil }
            var best = first
            for slot in others where slot.isLater(than: best) {
                best = slot
            }
            return best
        }

        /// The report a source has in this figure, if any.
        func slot(of source: UInt32) -> Slot? {
            if first.arrival != 0, first.source == source { return first }
            return others.first { $0.source == source }
        }

        /// Whether a report would be kept: no report of its source yet, or the source's report is
        /// earlier in the report order (a revision).
        func accepts(_ slot: Slot) -> Bool {
            if first.arrival == 0 { return true }
            if first.source == slot.source { return slot.order >= first.order }
            if let other = others.first(where: { $0.source == slot.source }) { return slot.order >= other.order }
            return true
        }

        /// Keeps the later of the cause held and `arrival` in the report order.
        mutating func takeCause(_ arrival: UInt32, _ order: ReportOrder, table: ReportTable) {
            if cause == 0 || order > table.order(cause) { cause = arrival }
        }

        /// A source's new report replaces its earlier one (a revision); see `accepts`.
        mutating func put(_ slot: Slot) {
            if first.arrival == 0 || first.source == slot.source {
                first = slot
            } else if let index = others.firstIndex(where: { $0.source == slot.source }) {
                others[index] = slot
            } else {
                others.append(slot)
            }
        }

        /// Replaces every report at once (a replica taking an aggregate's reports).
        mutating func replaceSlots(_ slots: [Slot]) {
            first = slots.first ?? .empty
            others = Array(slots.dropFirst())
        }

        /// The computed figure, when nothing is reported: the sum of the children's figures, or of
        /// the powertrain parts' (`fromParts`), whichever is larger. Both count only what has
        /// figures, so neither is above the truth when the figures are true: the larger is the
        /// closer (and the truth itself when its parts are all there); on a tie, the children's.
        func computed(_ kind: Period.Kind, parts: Sums?) -> (value: Contribution, fromParts: Bool)? {
            let complete: Bool
            switch kind {
            case .month: complete = true
            case .quarter: complete = children.complete == 3
            case .year: complete = children.complete == 4
            }
            let mine = children.present > 0 ? children.contribution(complete: complete) : nil
            guard let parts, parts.present > 0 else { return mine.map { ($0, false) } }
            let theirs = parts.contribution(complete: parts.complete == parts.present)
            guard let mine, mine.units >= theirs.units else { return (theirs, true) }
            return (mine, false)
        }

        func contribution(_ kind: Period.Kind, parts: Sums? = nil) -> Contribution {
            if let chosen {
                return Contribution(present: true, units: chosen.units, qualifier: chosen.qualifier, complete: true, interval: chosen.interval)
            }
            return computed(kind, parts: parts)?.value ?? Contribution()
        }

        /// This node's figure as the internal links carry it; nil while nothing is reported or summed.
        func record(_ key: FigureKey, table: ReportTable, parts: Sums? = nil) -> FigureRecord? {
            let value = contribution(key.period.kind, parts: parts)
            guard value.present else { return nil }
            let chosen = chosen
            let computed = computed(key.period.kind, parts: parts)
            var record = FigureRecord(
                level: key.entity.level,
                id: key.entity.id,
                period: key.period.description,
                units: value.units,
                basis: chosen != nil ? .reported : .computed,
                qualifier: value.qualifier,
                cause: table.cause(cause),
                source: chosen.map { table.name($0.source) },
                reported: chosen?.units,
                reportedQualifier: chosen?.qualifier,
                computed: computed?.value.units,
                computedQualifier: computed?.value.qualifier,
                complete: value.complete,
                sources: slots.map(table.sourceFigure).sorted { $0.source < $1.source },
                interval: value.interval,
                measure: key.measure
            )
            record.powertrain = key.powertrain
            record.fromParts = chosen == nil && computed?.fromParts == true
            return record
        }

        /// The summary of this node's figure, as its wire form would give it (`FigureSummary(body)`).
        func summary(_ kind: Period.Kind, parts: Sums? = nil) -> FigureSummary? {
            let value = contribution(kind, parts: parts)
            guard value.present else { return nil }
            let chosen = chosen
            let (low, high) = FigureBody.wireBounds(value.qualifier, value.interval)
            return FigureSummary(
                units: value.units, qualifier: value.qualifier, basis: chosen != nil ? .reported : .computed, complete: value.complete,
                interval: FigureBody.wireInterval(value.units, value.qualifier, low: low, high: high),
                fromParts: chosen == nil && computed(kind, parts: parts)?.fromParts == true
            )
        }

        /// The wire form of this node's figure; nil while nothing is reported or summed.
        func body(_ entity: EntityRef, _ key: FigureKey, previous: Int64?, table: ReportTable, parts: Sums? = nil) -> FigureBody? {
            guard let record = record(key, table: table, parts: parts) else { return nil }
            return record.body(entity: entity, previous: previous ?? record.units)
        }

        mutating func add(_ part: Contribution) {
            children.count(part, sign: 1)
        }

        mutating func remove(_ part: Contribution) {
            children.count(part, sign: -1)
        }
    }
}
