import DeliveryMessages

/// The market's figures on a query replica that follows several aggregate shards.
///
/// Each shard sums only the groups it owns, so its market figures are partial. The replica sums
/// the market itself, with the same rules as the `FigureBook`: a month is the sum of every group's
/// month figure (whichever shard sent it), a quarter the sum of its months, a year the sum of its
/// quarters; a figure reported for the market itself (one shard owns those reports) wins over the
/// sum. With a single aggregate the result is the aggregate's own market figures.
public struct MarketBook: Sendable {
    /// A market figure: its period and measure (each measure's market is summed apart).
    public struct Key: Hashable, Sendable, Comparable {
        public let period: Period
        public let measure: Measure

        public init(_ period: Period, _ measure: Measure) {
            self.period = period
            self.measure = measure
        }

        public static func < (lhs: Key, rhs: Key) -> Bool {
            lhs.measure.code != rhs.measure.code ? lhs.measure.code < rhs.measure.code : lhs.period < rhs.period
        }
    }

    private var nodes: [Key: FigureBook.Node] = [:]
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
        return update(Key(key.period, key.measure), cause: figure.cause) { node in
            node.remove(old)
            node.add(new)
        }
    }

    /// A shard's figure for the market itself: only its reports are taken (the sum is made here).
    /// A shard that owns no market reports sends none, and changes nothing.
    public mutating func takeMarket(_ figure: FigureRecord, period: Period) -> [Key] {
        let key = Key(period, figure.measure)
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

    /// Changes one period's node and carries the difference (and the cause) up to its quarter
    /// and year.
    private mutating func update(_ key: Key, cause: Cause?, _ change: (inout FigureBook.Node) -> Void) -> [Key] {
        let (period, measure) = (key.period, key.measure)
        let arrival = keep(cause)
        var node = nodes[key] ?? FigureBook.Node()
        let before = node.contribution(period.kind)
        let causeBefore = node.cause
        change(&node)
        takeCause(arrival, into: &node)
        let after = node.contribution(period.kind)
        var causeChanged = node.cause != causeBefore
        nodes[key] = node
        var touched = [key]
        var child = period
        var childBefore = before
        var childAfter = after
        while childBefore != childAfter || causeChanged, let container = child.container {
            var parent = nodes[Key(container, measure)] ?? FigureBook.Node()
            let parentBefore = parent.contribution(container.kind)
            let parentCause = parent.cause
            if childBefore != childAfter {
                parent.remove(childBefore)
                parent.add(childAfter)
            }
            takeCause(arrival, into: &parent)
            let parentAfter = parent.contribution(container.kind)
            causeChanged = parent.cause != parentCause
            nodes[Key(container, measure)] = parent
            // Touched when its sum or its cause moved (a reported figure's computed part counts).
            if childBefore != childAfter || causeChanged { touched.append(Key(container, measure)) }
            (child, childBefore, childAfter) = (container, parentBefore, parentAfter)
        }
        return touched
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

    /// Every period and measure the market has a node for.
    public var keys: [Key] { Array(nodes.keys) }

    /// The market's figure for a period and measure, in the wire form.
    public func body(_ key: Key, entity: EntityRef) -> FigureBody? {
        nodes[key]?.body(entity, key.period, previous: nil, table: table, measure: key.measure)
    }
}
