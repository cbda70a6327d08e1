import DeliveryMessages

/// The market's figures on a query replica that follows several aggregate shards.
///
/// Each shard sums only the groups it owns, so its market figures are partial. The replica sums
/// the market itself, with the same rules as the `FigureBook`: a month is the sum of every group's
/// month figure (whichever shard sent it), a quarter the sum of its months, a year the sum of its
/// quarters, a whole or a powertrain group also the sum of its powertrain parts (the larger sum,
/// as in the book); a figure reported for the market itself (one shard owns those reports) wins
/// over the sum. With a single aggregate the result is the aggregate's own market figures.
public struct MarketBook: Sendable {
    /// A market figure: its period, measure and powertrain (each summed apart).
    public struct Key: Hashable, Sendable, Comparable {
        public let period: Period
        public let measure: Measure
        public let powertrain: Powertrain?

        public init(_ period: Period, _ measure: Measure, _ powertrain: Powertrain? = nil) {
            self.period = period
            self.measure = measure
            self.powertrain = powertrain
        }

        public static func < (lhs: Key, rhs: Key) -> Bool {
            if lhs.measure.code != rhs.measure.code { return lhs.measure.code < rhs.measure.code }
            if lhs.powertrain != rhs.powertrain { return Powertrain.code(lhs.powertrain) < Powertrain.code(rhs.powertrain) }
            return lhs.period < rhs.period
        }

        func with(period: Period? = nil, powertrain: Powertrain?) -> Key {
            Key(period ?? self.period, measure, powertrain)
        }
    }

    private var nodes: [Key: FigureBook.Node] = [:]
    /// The sum of each figure's powertrain parts, for the figures that have parts.
    private var parts: [Key: FigureBook.Sums] = [:]

    private func partSums(_ key: Key) -> FigureBook.Sums? {
        parts.isEmpty ? nil : parts[key]
    }
    /// What each group's month figure adds to the market's month.
    private var groupMonths: [FigureKey: FigureBook.Contribution] = [:]
    private var table = ReportTable()

    public init() {}

    /// A group's figure from a shard; returns the market periods it touched. Only months count:
    /// the market's quarters and years are summed from its own months.
    public mutating func takeGroup(_ figure: FigureRecord, key: FigureKey) -> [Key] {
        guard key.entity.level == .group, key.period.kind == .month else { return [] }
        let new = FigureBook.Contribution(present: true, units: figure.units, qualifier: figure.qualifier, complete: true, interval: figure.interval)
        let old = groupMonths[key] ?? FigureBook.Contribution()
        guard old != new else { return [] }
        groupMonths[key] = new
        return update(Key(key.period, key.measure, key.powertrain), cause: figure.cause) { node in
            node.remove(old)
            node.add(new)
        }
    }

    /// A shard's figure for the market itself: only its reports are taken (the sum is made here).
    /// A shard that owns no market reports sends none, and changes nothing.
    public mutating func takeMarket(_ figure: FigureRecord, period: Period) -> [Key] {
        let key = Key(period, figure.measure, figure.powertrain)
        guard !figure.sources.isEmpty else {
            // A shard's partial market still names the latest report that changed the market: a
            // replica that gets conflated group figures may not see every change, but this cause it
            // does (the latest of the shards' causes is the market's).
            return takeCauseOnly(figure.cause, key: key)
        }
        if let node = nodes[key], node.slots.map(table.sourceFigure).sorted(by: { $0.source < $1.source }) == figure.sources {
            // The same reports; the cause may still be later (a change below, in this shard's groups).
            return takeCauseOnly(figure.cause, key: key)
        }
        // Each source's report where the report order puts it: the same choice as the shard's.
        let slots = figure.sources.map { source in
            let (arrival, order) = table.add(stream: source.stream, seq: source.seq, reportId: source.reportId, reportedAt: source.reportedAt, segmentRank: source.segmentRank)
            return FigureBook.Slot(units: source.units, order: order, arrival: arrival, source: table.source(source.source), qualifier: source.qualifier, interval: source.interval)
        }
        return update(key, cause: figure.cause) { $0.replaceSlots(slots) }
    }

    /// Changes one figure's node and carries the difference (and the cause) up to its quarter
    /// and year, and to its powertrain group (or the whole).
    private mutating func update(_ key: Key, cause: Cause?, _ change: (inout FigureBook.Node) -> Void) -> [Key] {
        let arrival = keep(cause)
        var node = nodes[key] ?? FigureBook.Node()
        let before = node.contribution(key.period.kind, parts: partSums(key))
        let causeBefore = node.cause
        change(&node)
        takeCause(arrival, into: &node)
        let after = node.contribution(key.period.kind, parts: partSums(key))
        nodes[key] = node
        var touched = [key]
        if before != after || node.cause != causeBefore {
            propagate(key, before: before, after: after, arrival: arrival, into: &touched)
        }
        return touched
    }

    private mutating func propagate(_ key: Key, before: FigureBook.Contribution, after: FigureBook.Contribution, arrival: UInt32, into touched: inout [Key]) {
        if let container = key.period.container {
            carry(key.with(period: container, powertrain: key.powertrain), .children, before: before, after: after, arrival: arrival, into: &touched)
        }
        if let powertrain = key.powertrain {
            carry(key.with(powertrain: powertrain.group), .parts, before: before, after: after, arrival: arrival, into: &touched)
        }
    }

    private mutating func carry(
        _ key: Key, _ edge: FigureBook.Edge, before: FigureBook.Contribution, after: FigureBook.Contribution, arrival: UInt32,
        into touched: inout [Key]
    ) {
        var parent = nodes[key] ?? FigureBook.Node()
        var partSums = partSums(key)
        let parentBefore = parent.contribution(key.period.kind, parts: partSums)
        let parentCause = parent.cause
        if before != after {
            switch edge {
            case .children:
                parent.remove(before)
                parent.add(after)
            case .parts:
                var sums = partSums ?? FigureBook.Sums()
                sums.count(before, sign: -1)
                sums.count(after, sign: 1)
                parts[key] = sums
                partSums = sums
            }
        }
        takeCause(arrival, into: &parent)
        let parentAfter = parent.contribution(key.period.kind, parts: partSums)
        let causeChanged = parent.cause != parentCause
        nodes[key] = parent
        // Touched when its sum or its cause moved (a reported figure's computed part counts).
        guard before != after || causeChanged else { return }
        touched.append(key)
        if parentBefore != parentAfter || causeChanged {
            propagate(key, before: parentBefore, after: parentAfter, arrival: arrival, into: &touched)
        }
    }

    private mutating func takeCauseOnly(_ cause: Cause?, key: Key) -> [Key] {
        guard cause != nil, nodes[key] != nil else { return [] }
        return update(key, cause: cause) { _ in }
    }

    /// Keeps a cause's report in the table; its arrival number (0 for none).
    private mutating func keep(_ cause: Cause?) -> UInt32 {
        guard let cause else { return 0 }
        return table.add(stream: cause.stream, seq: cause.seq, reportId: cause.reportId, reportedAt: cause.reportedAt ?? "").0
    }

    /// Keeps the later cause in the report order: shards' updates reach replicas in different
    /// orders, and every replica must still name the same cause as one aggregate would.
    private func takeCause(_ arrival: UInt32, into node: inout FigureBook.Node) {
        guard arrival != 0 else { return }
        node.takeCause(arrival, table.order(arrival), table: table)
    }

    /// Every period, measure and powertrain the market has a node for.
    public var keys: [Key] { Array(nodes.keys) }

    /// The market's figure for a period, measure and powertrain, in the wire form.
    public func body(_ key: Key, entity: EntityRef) -> FigureBody? {
        nodes[key]?.body(entity, FigureKey(.market, key.period, key.measure, key.powertrain), previous: nil, table: table, parts: partSums(key))
    }
}
