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
        let models = catalog.models.values.filter { $0.segment == segment }.map { EntityKey(.model, $0.id) }
        func leader(_ month: Period) -> (EntityKey, FigureBody)? { ranked(models, month).first }
        var subject: EntityKey?
        if let selector = query.entity {
            let key = try entity(selector)
            guard key.level == .model, catalog.model(key.id)?.segment == segment else {
                throw Self.invalid("'\(key.id)' is not a model of segment '\(segment)'", field: "entity")
            }
            subject = key
        }
        let top = leader(period)
        let counted = subject ?? top?.0
        let run = run(through: period) { month in
            guard let current = leader(month) else { return .missing }
            return current.0 == counted ? .meets : .fails
        }
        return StreakResult(
            segment: segment, period: period.description, leader: top?.1.entity, units: top?.1.units ?? 0,
            months: counted == nil ? 0 : run.months, entity: subject.map { catalog.ref($0) }, leads: subject.map { $0 == top?.0 },
            since: run.since?.description, endedBy: run.endedBy
        )
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

extension StreakQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> StreakResult {
        try engine.streak(self)
    }
}
