import DeliveryMessages

extension QueryEngine {
    public func streak(_ query: StreakQuery) throws(ProtocolError) -> StreakResult {
        let period = try month(query.period, for: "a streak")
        if let condition = query.condition {
            return try streak(condition, query: query, period: period)
        }
        guard let name = query.segment else {
            throw Self.invalid("a streak needs a segment (months as its leader) or a condition", field: "segment")
        }
        let segment = try segmentID(name)
        let models = segmentModels(segment)
        var subject: EntityKey?
        if let selector = query.entity {
            let key = try entity(selector)
            guard key.level == .model, catalog.model(key.id)?.segment == segment else {
                throw Self.invalid("'\(key.id)' is not a model of segment '\(segment)'", field: "entity")
            }
            subject = key
        }
        let lead = leadership(models, period, segment: segment)
        let top = lead.leader
        let counted = subject ?? top?.key
        // Only a lead a source states (or a complete segment shows) counts as a month led; the top
        // of the tracked models is not the segment's leader, but a tracked model certainly above
        // the counted one shows it did not lead.
        let run = run(through: period) { month in
            let current = leadership(models, month, segment: segment)
            guard let leader = current.leader else { return .missing }
            if current.basis != .tracked { return leader.key == counted ? .meets : .fails }
            guard leader.key != counted else { return .notEstablished }
            guard let counted else { return .fails }
            let own = value(counted, month)
            guard own.present else { return .missing }
            return Self.above(value(leader.key, month), own) == true ? .fails : .notEstablished
        }
        var result = StreakResult(
            segment: segment, period: period.description, leader: top?.figure.entity, units: top?.figure.units ?? 0,
            months: counted == nil ? 0 : run.months, entity: subject.map { catalog.ref($0) }, leads: subject.map { $0 == top?.key },
            since: run.since?.description, endedBy: run.endedBy
        )
        result.basis = top == nil ? nil : lead.basis
        result.source = lead.source
        result.coverage = "tracked"
        (result.trackedModels, result.withFigures) = (lead.trackedModels, lead.withFigures)
        return result
    }

    /// Months in a row that an entity's figure meets a condition.
    func streak(_ condition: StreakCondition, query: StreakQuery, period: Period) throws(ProtocolError) -> StreakResult {
        let kinds = [condition.atLeast != nil, condition.atMost != nil, condition.growth != nil].filter { $0 }.count
        guard kinds == 1 else {
            throw Self.invalid("a condition is one of {\"atLeast\": n}, {\"atMost\": n} or {\"growth\": \"mom\"|\"yoy\", \"direction\": \"up\"|\"down\"}", field: "condition")
        }
        if let growth = condition.growth {
            guard growth != .qoq else { throw Self.invalid("a growth streak counts months: growth is mom or yoy", field: "condition.growth") }
            guard condition.direction != nil else { throw Self.invalid("a growth streak needs a direction: up or down", field: "condition.direction") }
        } else if condition.direction != nil {
            throw Self.invalid("direction goes with growth", field: "condition.direction")
        }
        if let bound = condition.atLeast ?? condition.atMost, bound < 0 {
            throw Self.invalid("a threshold is a number of units, 0 or more", field: "condition")
        }
        guard query.segment == nil else {
            throw Self.invalid("a condition counts an entity's own months; segment is for leadership streaks", field: "segment")
        }
        guard let selector = query.entity else { throw Self.invalid("a streak with a condition needs an entity", field: "entity") }
        let key = try entity(selector)
        var approximate = false
        let run = run(through: period) { month in
            let verdict = verdict(key, month, condition)
            // The months judged: each of the run and the one that ends it, with what growth compares them with.
            if value(key, month).qualifier == .approximate { approximate = true }
            if let growth = condition.growth, value(key, growth == .yoy ? month.sameLastYear : month.previous).qualifier == .approximate {
                approximate = true
            }
            return verdict
        }
        var result = StreakResult(
            segment: nil, period: period.description, leader: nil, units: value(key, period).units, months: run.months,
            entity: catalog.ref(key), leads: nil, condition: condition, since: run.since?.description, endedBy: run.endedBy
        )
        if approximate { result.approximate = true }
        return result
    }
}

/// A segment's reported total for a month.
struct SegmentTotal {
    var value: FigureValue
    var source: String

    /// Whether models' figures add up to all of it: their least sum reaches its most, so nothing is
    /// left for a model not tracked.
    func covered(by parts: [FigureValue]) -> Bool {
        guard let most = value.interval.high else { return false }
        let least = parts.reduce(Interval(low: 0, high: 0)) { $0.adding($1.interval) }.low
        return least >= most
    }
}

/// Who leads a segment in a month, and what that rests on.
struct Leadership {
    /// The model a report states is first in the segment, or else the top of the tracked models.
    var leader: (key: EntityKey, figure: FigureBody)?
    var basis: LeadBasis
    /// The source of the report that states the lead.
    var source: String?
    /// The segment's models the catalog expects in the month (or that have a figure in it).
    var trackedModels: Int
    var withFigures: Int
}

extension QueryEngine {
    /// The models the catalog puts in a segment, by id.
    func segmentModels(_ segment: String) -> [EntityKey] {
        catalog.models.values.filter { $0.segment == segment }.map { EntityKey(.model, $0.id) }.sorted()
    }

    /// The rank a figure's reports state for its model within its segment: the latest report's
    /// among those that state one, with its source.
    static func statedRank(_ figure: FigureBody) -> (rank: Int, source: String)? {
        var latest: SourceFigure?
        for source in figure.sources where source.segmentRank != nil {
            if let held = latest, (held.reportedAt, source.source) >= (source.reportedAt, held.source) { continue }
            latest = source
        }
        guard let latest, let rank = latest.segmentRank else { return nil }
        return (rank, latest.source)
    }

    /// A segment's lead in a month: `reported` when a report states a model of it first;
    /// `complete` when the segment's reported total shows the tracked models are all of it and the
    /// top of them is certainly above the next; else the top of the tracked models (`tracked`).
    func leadership(_ models: [EntityKey], _ month: Period, segment: String) -> Leadership {
        let ranked = ranked(models, month)
        let tracked = models.filter { catalog.expects($0, in: month) || store.summary($0, month) != nil }.count
        for (key, figure) in ranked {
            if let stated = Self.statedRank(figure), stated.rank == 1 {
                return Leadership(leader: (key, figure), basis: .reported, source: stated.source, trackedModels: tracked, withFigures: ranked.count)
            }
        }
        var lead = Leadership(
            leader: ranked.first.map { (key: $0.0, figure: $0.1) }, basis: .tracked, source: nil, trackedModels: tracked,
            withFigures: ranked.count
        )
        if let top = ranked.first, let total = segmentTotal(segment, month), total.covered(by: ranked.map { value($0.0, month) }) {
            let next = ranked.dropFirst().first.map { value($0.0, month) }
            if next.map({ Self.above(value(top.0, month), $0) == true }) ?? true {
                (lead.basis, lead.source) = (.complete, total.source)
            }
        }
        return lead
    }

    /// A segment's reported market-wide total in a month, with its source.
    func segmentTotal(_ segment: String, _ month: Period) -> SegmentTotal? {
        let key = EntityKey(.segment, segment)
        guard let figure = store.figure(key, month), figure.basis == .reported else { return nil }
        return SegmentTotal(value: value(key, month), source: figure.source ?? figure.sources.first?.source ?? "")
    }
}

extension StreakQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> StreakResult {
        try engine.streak(self)
    }
}
