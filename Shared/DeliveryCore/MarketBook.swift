import DeliveryMessages

/// The market's figures on a query replica that follows several aggregate shards.
///
/// Each shard sums only the groups it owns, so its market figures are partial. The replica sums
/// the market itself, with the same rules as the `FigureBook`: a month is the sum of every group's
/// month figure (whichever shard sent it), a quarter the sum of its months, a year the sum of its
/// quarters; a figure reported for the market itself (one shard owns those reports) wins over the
/// sum. With a single aggregate the result is the aggregate's own market figures.
public struct MarketBook: Sendable {
    private var nodes: [Period: FigureBook.Node] = [:]
    /// What each group's month figure adds to the market's month.
    private var groupMonths: [FigureKey: FigureBook.Contribution] = [:]
    private var table = ReportTable()

    public init() {}

    /// A group's figure from a shard; returns the market periods it touched. Only months count:
    /// the market's quarters and years are summed from its own months.
    public mutating func takeGroup(_ figure: FigureRecord, key: FigureKey) -> [Period] {
        guard key.entity.level == .group, key.period.kind == .month else { return [] }
        let new = FigureBook.Contribution(present: true, units: figure.units, qualifier: figure.qualifier, complete: true)
        let old = groupMonths[key] ?? FigureBook.Contribution()
        guard old != new else { return [] }
        groupMonths[key] = new
        return update(key.period, cause: figure.cause) { node in
            node.remove(old)
            node.add(new)
        }
    }

    /// A shard's figure for the market itself: only its reports are taken (the sum is made here).
    /// A shard that owns no market reports sends none, and changes nothing.
    public mutating func takeMarket(_ figure: FigureRecord, period: Period) -> [Period] {
        guard !figure.sources.isEmpty else {
            // A shard's partial market still names the latest report that changed the market: a
            // replica that gets conflated group figures may not see every change, but this cause it
            // does (the latest of the shards' causes is the market's).
            return takeCauseOnly(figure.cause, period: period)
        }
        if let node = nodes[period], node.slots.map(table.sourceFigure).sorted(by: { $0.source < $1.source }) == figure.sources {
            return []
        }
        // Ordered as the aggregate chose: its winning source last, so that it wins ties here too.
        let ordered = figure.sources.sorted { ($0.source == figure.source ? 1 : 0, $0.seq) < ($1.source == figure.source ? 1 : 0, $1.seq) }
        let slots = ordered.map { source in
            FigureBook.Slot(
                units: source.units, at: Timestamp.millis(source.reportedAt) ?? 0,
                arrival: table.add(stream: source.stream, seq: source.seq, reportId: source.reportId, reportedAt: source.reportedAt).0,
                source: table.source(source.source), qualifier: source.qualifier
            )
        }
        return update(period, cause: figure.cause) { $0.replaceSlots(slots) }
    }

    /// Changes one period's node and carries the difference up to its quarter and year.
    private mutating func update(_ period: Period, cause: Cause?, _ change: (inout FigureBook.Node) -> Void) -> [Period] {
        let arrival = cause.map { table.add(stream: $0.stream, seq: $0.seq, reportId: $0.reportId, reportedAt: "").0 } ?? 0
        var node = nodes[period] ?? FigureBook.Node()
        let before = node.contribution(period.kind)
        change(&node)
        takeCause(arrival, into: &node)
        let after = node.contribution(period.kind)
        nodes[period] = node
        var touched = [period]
        var child = period
        var childBefore = before
        var childAfter = after
        while childBefore != childAfter, let container = child.container {
            var parent = nodes[container] ?? FigureBook.Node()
            let parentBefore = parent.contribution(container.kind)
            parent.remove(childBefore)
            parent.add(childAfter)
            takeCause(arrival, into: &parent)
            let parentAfter = parent.contribution(container.kind)
            nodes[container] = parent
            touched.append(container)
            (child, childBefore, childAfter) = (container, parentBefore, parentAfter)
        }
        return touched
    }

    private mutating func takeCauseOnly(_ cause: Cause?, period: Period) -> [Period] {
        guard let cause, var node = nodes[period] else { return [] }
        let before = node.cause
        // Added first, in a statement of its own: the table must hold it before it is compared.
        let arrival = table.add(stream: cause.stream, seq: cause.seq, reportId: cause.reportId, reportedAt: "").0
        takeCause(arrival, into: &node)
        nodes[period] = node
        return node.cause == before ? [] : [period]
    }

    /// Keeps the greatest (stream, seq) as the cause: shards' updates reach replicas in different
    /// orders, and every replica must still name the same cause.
    private func takeCause(_ arrival: UInt32, into node: inout FigureBook.Node) {
        guard let new = table.position(arrival) else { return }
        if let old = table.position(node.cause), old >= new { return }
        node.cause = arrival
    }

    /// The market's figure for a period, in the wire form.
    public func body(_ period: Period, entity: EntityRef) -> FigureBody? {
        nodes[period]?.body(entity, period, previous: nil, table: table)
    }
}
