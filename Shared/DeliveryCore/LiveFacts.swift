import DeliveryMessages

extension QueryEngine {
    /// The facts a changed figure makes true, for `fact` events: a record high or low, a streak
    /// it extends (a round threshold, growth month on month or year on year), a streak it ends,
    /// a milestone its running total crosses. Empty for a figure that is not a month's, the
    /// market's, or gone.
    public func liveFacts(_ key: EntityKey, _ period: Period) -> [Fact] {
        guard period.kind == .month, key.level != .market else { return [] }
        let current = value(key, period)
        guard current.present else { return [] }
        let name = catalog.ref(key).name
        let history = history(key, through: period)
        var facts = recordFacts(key, name, period, history: history).filter { $0.kind.isRecord }
        facts += streakFacts(key, name, period, current)
        facts += endedStreaks(key, name, period)
        facts += cumulativeFacts(key, name, period, history: history).filter { $0.kind == .milestone }
        guard !facts.isEmpty else { return [] }
        let basis = factBasis(key, period, current)
        return facts.map { $0.basis == nil ? $0.resting(on: basis) : $0 }
    }

    /// Runs of two months or more up to the month before that this month breaks.
    func endedStreaks(_ key: EntityKey, _ name: String, _ period: Period) -> [Fact] {
        let before = period.previous
        var conditions: [(StreakCondition, String)] = []
        if let threshold = Self.roundThreshold(value(key, before)) {
            conditions.append((StreakCondition(atLeast: threshold), "with at least \(Words.number(threshold)) deliveries"))
        }
        for basis in [GrowthBasis.mom, .yoy] {
            for direction in StreakCondition.Direction.allCases {
                let words = (basis == .mom ? "month-on-month " : "year-on-year ") + (direction == .up ? "growth" : "decline")
                conditions.append((StreakCondition(growth: basis, direction: direction), "of \(words)"))
            }
        }
        var facts: [Fact] = []
        for (condition, words) in conditions where verdict(key, period, condition) == .fails {
            let run = run(through: before) { verdict(key, $0, condition) }
            guard run.months >= 2 else { continue }
            var data: [String: JSONValue] = ["months": .int(Int64(run.months)), "since": .string(run.since?.description ?? "")]
            if let atLeast = condition.atLeast { data["atLeast"] = .int(atLeast) }
            if let growth = condition.growth { data["growth"] = .string(growth.rawValue) }
            if let direction = condition.direction { data["direction"] = .string(direction.rawValue) }
            facts.append(
                Fact(
                    kind: .streakEnded,
                    text: "\(name) ended a run of \(run.months) months\(run.endedBy == .condition ? "" : " on record") \(words) in \(Words.month(period)).",
                    data: data
                )
            )
        }
        return facts
    }
}

extension FigureBook {
    /// The facts the changed figures (by id, as `Change.figure` gives them) make true now, as
    /// `fact` events not yet numbered in a history: each whole deliveries figure's, in the order
    /// of figure ids, with the report behind its last change as `cause`. Facts are worded for
    /// deliveries: another measure's figures, and powertrain parts, are answered by queries, not
    /// stated as news. `memo`: what is known of the book's coverage (see `CoverageMemo`).
    public func liveFactEvents(_ figures: some Sequence<UInt64>, memo: CoverageMemo = CoverageMemo()) -> [FactEvent] {
        if memo.count > CoverageMemo.limit { memo.clear() }
        let engine = QueryEngine(self, memo: memo)
        var events: [FactEvent] = []
        for figure in figures.sorted() {
            let key = key(packed: figure)
            guard key.measure == .default, key.powertrain == nil else { continue }
            let facts = engine.liveFacts(key.entity, key.period)
            guard !facts.isEmpty, let body = body(key, previous: nil) else { continue }
            for fact in facts {
                var event = FactEvent(entity: body.entity, period: body.period, fact: fact)
                event.cause = body.cause
                events.append(event)
            }
        }
        return events
    }
}

extension FigureBook {
    /// Makes `memo` forget what it knew of the changed figures (by id) and of every figure whose
    /// coverage may rest on them: each one's entity and its ancestors, in its period and the
    /// periods containing it, for its powertrain and the groups above it. (A figure's shortness
    /// can change with a child's even when its own value does not: a first report of 0 units.)
    public func forgetCoverage(of figures: some Sequence<UInt64>, in memo: CoverageMemo) {
        guard memo.count > 0 else { return }
        for figure in figures {
            let (entity, period, measure, powertrain) = Self.unpack(figure)
            var periods = [period]
            while let container = periods.last?.container { periods.append(container) }
            var powertrains = [powertrain]
            while let part = powertrains.last ?? nil { powertrains.append(part.group) }
            var index = entity
            while index != EntityIndex.none, Int(index) < entities.keys.count {
                let key = entities.keys[Int(index)]
                for period in periods {
                    for powertrain in powertrains { memo.forget(FigureKey(key, period, measure, powertrain)) }
                }
                index = entities.parents[Int(index)]
            }
        }
    }
}
