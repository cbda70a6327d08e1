import DeliveryMessages

extension QueryEngine {
    public func brief(_ query: BriefQuery) throws(ProtocolError) -> BriefResult {
        let key = try entity(query.entity)
        let period = try month(query.period, for: "a brief")
        return BriefResult(entity: catalog.ref(key), period: period.description, facts: facts(key, period))
    }

    /// The facts a story would state about an entity in a month, in the order a story states them.
    func facts(_ key: EntityKey, _ period: Period) -> [Fact] {
        let current = value(key, period)
        guard current.present else { return [] }
        let name = catalog.ref(key).name
        let history = history(key, through: period)
        var facts: [Fact] = []
        let figure = store.figure(key, period)
        let basis = factBasis(key, period, current)
        var sumWords = ""
        if current.basis == .computed, figure?.computedFrom == .powertrains {
            sumWords = " (the sum of its figures by powertrain"
            if let parts = basis.missingParts, !parts.isEmpty {
                sumWords += "; no figure for \(Words.list(parts.map { Self.partName($0, of: key) }))"
            }
            sumWords += ")"
        } else if current.basis == .computed {
            sumWords = " (the sum of its \(Words.plural(childLevel(key))) with figures"
            if let missing = basis.missing, let count = basis.missingCount, count > 0 {
                let named = missing.prefix(3).map(\.name)
                let more = count > named.count ? " and \(count - named.count) more" : ""
                sumWords += "; no figure for \(Words.list(named))\(more)"
            }
            sumWords += ")"
        }
        facts.append(
            Fact(
                kind: .units,
                text: "\(name) \(said.did(Words.units(current))) in \(Words.month(period))\(sumWords)\(said.according(figure, current)).",
                data: [
                    "units": .int(current.units), "qualifier": .string(current.qualifier.rawValue), "basis": .string(current.basis.rawValue),
                    "sources": .array((figure?.sources.map(\.source) ?? []).map { .string($0) }),
                ]
            )
        )
        if let split = powertrainFact(key, period, current) { facts.append(split) }
        facts += growthFacts(key, name, period, current)
        if let share = shareOfParent(key, name, period, current) { facts.append(share) }
        facts += childFacts(key, name, period, current, figure: figure)
        facts += leaderFacts(key, period)
        facts += ytdFacts(key, name, period)
        facts += recordFacts(key, name, period, history: history)
        facts += streakFacts(key, name, period, current)
        facts += cumulativeFacts(key, name, period, history: history)
        return facts.map { $0.basis == nil ? $0.resting(on: basis) : $0 }
    }

    /// What a fact about an entity's figure rests on: its report and source, a complete sum, or a
    /// sum short of expected parts (the market's sum of the tracked groups counts as tracked).
    func factBasis(_ key: EntityKey, _ period: Period, _ value: FigureValue) -> FactBasis {
        if value.basis == .reported {
            return FactBasis(kind: .reported, sources: sources(key, period).sorted())
        }
        let coverage = coverage(key, period)
        if coverage.isShort {
            var basis = FactBasis(
                kind: .lowerBound, sources: sources(key, period).sorted(), missing: coverage.missing.map { catalog.ref($0) },
                missingCount: coverage.missingCount
            )
            if coverage.missingPartCount > 0 { basis.missingParts = missingParts(coverage) }
            return basis
        }
        return FactBasis(kind: key.level == .market ? .tracked : .complete, sources: sources(key, period).sorted())
    }

    func childLevel(_ key: EntityKey) -> Level {
        switch key.level {
        case .market: .group
        case .group: .brand
        case .brand, .model, .segment: .model
        }
    }

    // MARK: Growth and shares

    func growthFacts(_ key: EntityKey, _ name: String, _ period: Period, _ current: FigureValue) -> [Fact] {
        var facts: [Fact] = []
        for (basis, before) in [(GrowthBasis.mom, period.previous), (.yoy, period.sameLastYear)] {
            let previous = value(key, before)
            guard previous.present, previous.units > 0 else { continue }
            let growth = Double(current.units) / Double(previous.units) - 1
            let direction: String
            // Decided by the intervals; a rate from an approximate figure is itself "about".
            let about = current.qualifier == .approximate || previous.qualifier == .approximate ? "about " : ""
            switch (Self.above(current, previous), Self.above(previous, current)) {
            case (true?, _): direction = "up \(about)\(Words.percent(growth, signed: false))"
            case (_, true?): direction = "down \(about)\(Words.percent(-growth, signed: false))"
            case (false?, false?): direction = "unchanged"
            default: continue  // the intervals overlap: the direction is not known
            }
            let against = basis == .mom ? "from \(Words.month(before)) (\(Words.units(previous)))" : "year on year (\(Words.month(before)): \(Words.units(previous)))"
            facts.append(
                Fact(
                    kind: basis == .mom ? .growthMoM : .growthYoY,
                    text: "\(name) \(said.subject) \(direction) \(against).",
                    data: [
                        "growth": .double(growth), "previousPeriod": .string(before.description), "previousUnits": .int(previous.units),
                        "previousQualifier": .string(previous.qualifier.rawValue),
                    ]
                )
            )
        }
        return facts
    }

    func shareOfParent(_ key: EntityKey, _ name: String, _ period: Period, _ current: FigureValue) -> Fact? {
        guard let parent = catalog.parent(of: key) else { return nil }
        let whole = value(parent, period)
        // A computed parent is the sum of the children on record (the market: of what is tracked):
        // a share of it describes the data, not the parent. Only a reported whole is stated.
        guard whole.present, whole.units > 0, whole.basis == .reported else { return nil }
        let share = Double(current.units) / Double(whole.units)
        let qualifier = Self.shareQualifier(current.qualifier, of: whole.qualifier)
        let parentName = parent.level == .market ? "the market" : catalog.ref(parent).name
        var data: [String: JSONValue] = ["share": .double(share), "units": .int(current.units), "ofUnits": .int(whole.units)]
        var change = ""
        if period.kind != .year, let before = shareChange(key, of: parent, period.previous, now: (share, qualifier)) {
            change = ", \(before.words) from \(Words.month(period.previous)) (\(Words.percent(before.then)))"
            data["changePoints"] = .double(before.points)
        }
        return Fact(
            kind: .share,
            text: "\(name) accounted for \(Words.bound(qualifier))\(Words.percent(share)) of \(Words.possessive(parentName)) \(Words.units(whole)) \(said.counted)\(change).",
            entity: catalog.ref(parent),
            data: data
        )
    }

    /// How a share moved since an earlier period, in percentage points (a share's change is a
    /// difference of percentages, never a growth rate): stated only when both shares are exact
    /// and the whole was reported then too.
    func shareChange(_ key: EntityKey, of parent: EntityKey, _ earlier: Period, now: (share: Double, qualifier: Qualifier))
        -> (words: String, points: Double, then: Double)?
    {
        let whole = value(parent, earlier)
        let part = value(key, earlier)
        guard now.qualifier == .exact, whole.present, whole.units > 0, whole.basis == .reported, part.present,
            Self.shareQualifier(part.qualifier, of: whole.qualifier) == .exact
        else { return nil }
        let then = Double(part.units) / Double(whole.units)
        let points = ((now.share - then) * 1000).rounded() / 10
        let words =
            points == 0 ? "unchanged" : "\(points > 0 ? "up" : "down") \(Words.points(abs(points))) \(abs(points) == 1 ? "point" : "points")"
        return (words, points, then)
    }

    /// The children's figures with their shares, the part of a reported total no child accounts
    /// for, and (for a group or brand) its models ranked.
    func childFacts(_ key: EntityKey, _ name: String, _ period: Period, _ current: FigureValue, figure: FigureBody?) -> [Fact] {
        guard key.level != .model else { return [] }
        let children = present(catalog.children(of: key), period)
        var facts = children.map { child, value in childFact(child, value, period, of: current, alone: children.count == 1) }
        if let reported = figure?.reported, !children.isEmpty,
            let rest = unattributed(reported, qualifier: figure?.reportedQualifier ?? .exact, children: children, name: name, level: childLevel(key))
        {
            facts.append(rest)
        }
        if key.level == .group || key.level == .brand {
            let models = present(catalog.descendants(of: key, at: .model), period)
            if !models.isEmpty && (key.level == .group || models.count > 1) { facts.append(modelsFact(models)) }
        }
        return facts
    }

    /// The entities with a figure in the period, the largest first.
    private func present(_ keys: [EntityKey], _ period: Period) -> [(EntityKey, FigureValue)] {
        keys.compactMap { key -> (EntityKey, FigureValue)? in
            let value = value(key, period)
            return value.present ? (key, value) : nil
        }.sorted { $0.1.units != $1.1.units ? $0.1.units > $1.1.units : $0.0.id < $1.0.id }
    }

    /// A child's figure and its share of the whole (none when it is the one part of a sum: it is
    /// all of it).
    private func childFact(_ child: EntityKey, _ value: FigureValue, _ period: Period, of current: FigureValue, alone: Bool) -> Fact {
        let share = current.units > 0 && !(alone && current.basis == .computed) ? Double(value.units) / Double(current.units) : nil
        // A floor on the part is a floor on the share; a floor on the whole a ceiling.
        let shareWords = Words.bound(Self.shareQualifier(value.qualifier, of: current.qualifier))
        return Fact(
            kind: .children,
            text: "\(catalog.ref(child).name) \(said.verb) \(Words.units(value)) of them" + (share.map { " (\(shareWords)\(Words.percent($0)))." } ?? "."),
            entity: catalog.ref(child),
            data: ["units": .int(value.units), "qualifier": .string(value.qualifier.rawValue), "share": share.map { .double($0) } ?? .null],
            basis: factBasis(child, period, value)
        )
    }

    /// The part of a reported total that no child's figure accounts for, when there is one.
    private func unattributed(
        _ reported: Int64, qualifier: Qualifier, children: [(EntityKey, FigureValue)], name: String, level: Level
    ) -> Fact? {
        let sum = children.reduce(Int64(0)) { $0.saturatingAdding($1.1.units) }
        let childQualifier = children.reduce(Qualifier.exact) { $0.combined(with: $1.1.qualifier) }
        let rest = reported.saturatingSubtracting(sum)
        guard rest > 0 else { return nil }
        // A floor on the children is a ceiling on the rest, and the other way round.
        let restQualifier: Qualifier =
            switch (qualifier, childQualifier) {
            case (.exact, .exact): .exact
            case (.exact, .atLeast), (.atMost, .atLeast), (.atMost, .exact): .atMost
            case (.exact, .atMost), (.atLeast, .atMost), (.atLeast, .exact): .atLeast
            default: .approximate
            }
        let restValue = FigureValue(present: true, units: rest, qualifier: restQualifier, basis: .computed, complete: true)
        return Fact(
            kind: .unattributed,
            text: "\(Words.capitalized(Words.units(restValue))) of \(Words.possessive(name)) \(said.counted) are not attributed to a \(level.rawValue) in the figures.",
            data: ["units": .int(rest), "qualifier": .string(restQualifier.rawValue), "reported": .int(reported), "childrenSum": .int(sum)]
        )
    }

    /// The models with a figure, the ten largest named.
    private func modelsFact(_ models: [(EntityKey, FigureValue)]) -> Fact {
        let listed = models.prefix(10).map { "\(catalog.ref($0.0).name) \(Words.units($0.1))" }.joined(separator: "; ")
        return Fact(
            kind: .models,
            text: "By model: \(listed)\(models.count > 10 ? "; and \(models.count - 10) more" : "").",
            data: [
                "models": .array(
                    models.map { .object(["id": .string($0.0.id), "units": .int($0.1.units), "qualifier": .string($0.1.qualifier.rawValue)]) }
                )
            ]
        )
    }

    // MARK: Segments

    /// Segment leadership of the entity's models (or of the model itself) in the month. A segment
    /// is market-wide and the catalog tracks only some of its models: a lead is stated as the
    /// segment's only when a report states the rank ("according to CPCA") or the segment's reported
    /// total shows the tracked models are all of it; otherwise the top of the
    /// tracked models is stated as that, and only when at least two of them have figures and the
    /// top is certainly above the next.
    func leaderFacts(_ key: EntityKey, _ period: Period) -> [Fact] {
        let models = key.level == .model ? [key] : catalog.descendants(of: key, at: .model)
        var segments = Set<String>()
        for model in models {
            if let segment = catalog.model(model.id)?.segment { segments.insert(segment) }
        }
        let led = segments.sorted().compactMap { segment -> (String, Leadership, (key: EntityKey, figure: FigureBody), SegmentEntry)? in
            let lead = leadership(segmentModels(segment), period, segment: segment)
            guard let leader = lead.leader, models.contains(leader.key), let entry = catalog.segments[segment] else { return nil }
            return (segment, lead, leader, entry)
        }.sorted { $0.2.figure.units != $1.2.figure.units ? $0.2.figure.units > $1.2.figure.units : $0.0 < $1.0 }
        var facts: [Fact] = []
        for (segment, lead, leader, entry) in led {
            let figure = value(leader.key, period)
            var data: [String: JSONValue] = [
                "segment": .string(segment), "units": .int(leader.figure.units), "qualifier": .string(figure.qualifier.rawValue),
                "basis": .string(lead.basis.rawValue), "trackedModels": .int(Int64(lead.withFigures)),
            ]
            switch lead.basis {
            case .reported, .complete:
                let source = lead.source ?? ""
                data["source"] = .string(source)
                var text = "The \(leader.figure.entity.name) was the best-selling model of the \(entry.name) segment\(priceWords(entry)), "
                if lead.basis == .reported {
                    text += "according to \(source), with \(Words.units(figure))"
                } else if let total = segmentTotal(segment, period) {
                    // The segment's total, as its source reports it, is all made of tracked models.
                    data["segmentTotal"] = .int(total.value.units)
                    text += "with \(Words.units(figure)) of the segment's \(Words.units(total.value)) \(said.counted) according to \(source)"
                }
                if let run = try? streak(StreakQuery(segment: segment, period: period.description)) {
                    data["months"] = .int(Int64(run.months))
                    data["endedBy"] = .string(run.endedBy.rawValue)
                    if let since = run.since { data["since"] = .string(since) }
                    if run.months >= 2 { text += ", for the \(Words.ordinal(run.months)) month in a row" + (run.complete ? "" : " on record") }
                }
                facts.append(
                    Fact(
                        kind: .leader, text: text + ".", entity: leader.figure.entity, data: data,
                        basis: FactBasis(kind: lead.basis == .reported ? .reported : .complete, sources: [source])
                    )
                )
            case .tracked:
                // Among fewer than two, or a top not certainly above the next: nothing to state.
                let ranked = ranked(segmentModels(segment), period)
                guard ranked.count >= 2, let next = ranked.dropFirst().first,
                    Self.above(figure, value(next.0, period)) == true
                else { continue }
                let text = "The \(leader.figure.entity.name) was the best seller among the \(ranked.count) tracked models of the \(entry.name) segment\(priceWords(entry)) with figures for \(Words.month(period)), with \(Words.units(figure))."
                facts.append(
                    Fact(
                        kind: .leader, text: text, entity: leader.figure.entity, data: data,
                        basis: FactBasis(kind: .tracked, trackedModels: ranked.count)
                    )
                )
            }
        }
        return facts
    }

    /// A segment's price range in the other currencies the catalog has rates for.
    func priceWords(_ segment: SegmentEntry) -> String {
        let quotes = catalog.document.fx.filter { $0.base.uppercased() == "CNY" }.map(\.quote).sorted()
        var parts: [String] = []
        for quote in quotes {
            guard let rate = catalog.rate(from: "CNY", to: quote)?.rate else { continue }
            func money(_ cny: Double) -> String { "\(quote) \(Words.number(Int64((cny * rate).rounded())))" }
            switch (segment.minCNY, segment.maxCNY) {
            case (let low?, let high?): parts.append("\(money(low))–\(Words.number(Int64((high * rate).rounded())))")
            case (let low?, nil): parts.append("above \(money(low))")
            case (nil, let high?): parts.append("below \(money(high))")
            case (nil, nil): continue
            }
        }
        return parts.isEmpty ? "" : " (\(parts.joined(separator: "; ")) at the catalog's rate)"
    }

    /// How the brief words the figures of its store's measure and powertrain.
    var said: MeasureWords { MeasureWords(store.measure, store.powertrain) }

    /// A missing part as a sentence names it: "its PHEV", "AITO M8's BEV".
    static func partName(_ part: MissingPart, of key: EntityKey) -> String {
        part.entity.id == key.id && part.entity.level == key.level ? "its \(part.powertrain.rawValue)" : "\(Words.possessive(part.entity.name)) \(part.powertrain.rawValue)"
    }

    /// The figure's split by powertrain: each part with a figure (a group no source reports is
    /// split further), with its share of the figure. Nothing when no part has a figure.
    func powertrainFact(_ key: EntityKey, _ period: Period, _ current: FigureValue) -> Fact? {
        var parts: [(Powertrain, FigureValue)] = []
        func split(_ whole: Powertrain?) {
            for part in Powertrain.parts(of: whole) {
                let value = value(key, period, in: part)
                guard value.present else { continue }
                // A group no source reports is split into its own parts when they have figures.
                if value.basis == .computed, Powertrain.parts(of: part).contains(where: { store.summary(key, period, powertrain: $0) != nil }) {
                    split(part)
                } else {
                    parts.append((part, value))
                }
            }
        }
        split(store.powertrain)
        guard !parts.isEmpty else { return nil }
        parts.sort { $0.1.units != $1.1.units ? $0.1.units > $1.1.units : Powertrain.code($0.0) < Powertrain.code($1.0) }
        let named = parts.map { part, value in
            let share = current.units > 0 ? " (\(Words.bound(Self.shareQualifier(value.qualifier, of: current.qualifier)))\(Words.percent(Double(value.units) / Double(current.units))))" : ""
            return "\(part.rawValue) \(Words.units(value))\(share)"
        }
        // The rest of an exact whole no exact part accounts for (BYD's commercial vehicles).
        let partSum = parts.reduce(Int64(0)) { $0.saturatingAdding($1.1.units) }
        var rest = ""
        if current.qualifier == .exact, !current.short, parts.allSatisfy({ $0.1.qualifier == .exact && !$0.1.short }), partSum < current.units {
            rest = "; \(Words.number(current.units - partSum)) not attributed to a powertrain in the figures"
        }
        let partSources = parts.reduce(into: Set<String>()) { $0.formUnion(self.sources(key, period, $1.0)) }.sorted()
        let kind: FactBasis.Kind =
            parts.allSatisfy { $0.1.basis == .reported } ? .reported : parts.contains { $0.1.short } ? .lowerBound : .complete
        return Fact(
            kind: .powertrains,
            text: "By powertrain: \(named.joined(separator: ", "))\(rest).",
            data: [
                "parts": .array(parts.map { part, value in
                    .object(["powertrain": .string(part.rawValue), "units": .int(value.units), "qualifier": .string(value.qualifier.rawValue)])
                })
            ],
            basis: FactBasis(kind: kind, sources: partSources)
        )
    }

    // MARK: Year, records, streaks, totals

    func ytdFacts(_ key: EntityKey, _ name: String, _ period: Period) -> [Fact] {
        guard period.month != 1, let ytd = try? ytd(YTDQuery(entity: EntitySelector(key), period: period.description)), ytd.complete else { return [] }
        let value = FigureValue(present: true, units: ytd.units, qualifier: ytd.qualifier, basis: .computed, complete: true)
        var text = "From \(Words.month(.month(period.year, 1))) to \(Words.month(period)), \(name) \(said.verb) \(Words.units(value))"
        var data: [String: JSONValue] = ["units": .int(ytd.units), "qualifier": .string(ytd.qualifier.rawValue), "from": .string(ytd.from)]
        if ytd.exceedsPreviousYear == true, let previous = ytd.previousYear {
            text += ", already more than in the whole of \(previous.year) (\(Words.number(previous.units)))"
            data["previousYear"] = .int(previous.units)
        }
        return [Fact(kind: .ytd, text: text + ".", data: data)]
    }

    func recordFacts(_ key: EntityKey, _ name: String, _ period: Period, history: [(month: Period, value: FigureValue)]) -> [Fact] {
        let record = record(key, period, history: history)
        guard record.monthsBefore >= 2, let first = record.firstMonth, let firstMonth = try? Period(parsing: first) else { return [] }
        var facts: [Fact] = []
        let onRecord = "on record (since \(Words.month(firstMonth)))"
        if record.isHighest {
            facts.append(Fact(kind: .recordHigh, text: "It was \(Words.possessive(name)) highest month \(onRecord).", data: ["firstMonth": .string(first)]))
        } else if let since = record.highestSince, since.period != period.previous.description, let month = try? Period(parsing: since.period) {
            facts.append(
                Fact(
                    kind: .highestSince, text: "It was \(Words.possessive(name)) highest month since \(Words.month(month)) (\(Words.number(since.units))).",
                    data: ["since": .string(since.period), "units": .int(since.units)]
                )
            )
        }
        if record.isLowest {
            facts.append(Fact(kind: .recordLow, text: "It was \(Words.possessive(name)) lowest month \(onRecord).", data: ["firstMonth": .string(first)]))
        } else if let since = record.lowestSince, since.period != period.previous.description, let month = try? Period(parsing: since.period) {
            facts.append(
                Fact(
                    kind: .lowestSince, text: "It was \(Words.possessive(name)) lowest month since \(Words.month(month)) (\(Words.number(since.units))).",
                    data: ["since": .string(since.period), "units": .int(since.units)]
                )
            )
        }
        return facts
    }

    /// The largest round number (one significant digit) at or below a figure's floor.
    static func roundThreshold(_ value: FigureValue) -> Int64? {
        let floor = value.interval.low
        guard floor >= 10 else { return nil }
        var scale: Int64 = 1
        while floor / scale >= 10 { scale *= 10 }
        return floor / scale * scale
    }

    func streakFacts(_ key: EntityKey, _ name: String, _ period: Period, _ current: FigureValue) -> [Fact] {
        var facts: [Fact] = []
        if let threshold = Self.roundThreshold(current) {
            let condition = StreakCondition(atLeast: threshold)
            let run = run(through: period) { verdict(key, $0, condition) }
            if run.months >= 2 {
                facts.append(
                    Fact(
                        kind: .streakThreshold,
                        text: "It was the \(Words.ordinal(run.months)) month in a row\(run.endedBy == .condition ? "" : " on record") with at least \(Words.number(threshold)) \(said.counted).",
                        data: ["atLeast": .int(threshold), "months": .int(Int64(run.months)), "since": .string(run.since?.description ?? ""), "endedBy": .string(run.endedBy.rawValue)]
                    )
                )
            }
        }
        for basis in [GrowthBasis.mom, .yoy] {
            for direction in StreakCondition.Direction.allCases {
                let condition = StreakCondition(growth: basis, direction: direction)
                let run = run(through: period) { verdict(key, $0, condition) }
                guard run.months >= 2 else { continue }
                let what = basis == .mom
                    ? (direction == .up ? "month-on-month growth" : "month-on-month decline")
                    : (direction == .up ? "year-on-year growth" : "year-on-year decline")
                facts.append(
                    Fact(
                        kind: .streakGrowth,
                        text: "It was the \(Words.ordinal(run.months)) month in a row\(run.endedBy == .condition ? "" : " on record") of \(what).",
                        data: [
                            "growth": .string(basis.rawValue), "direction": .string(direction.rawValue), "months": .int(Int64(run.months)),
                            "since": .string(run.since?.description ?? ""), "endedBy": .string(run.endedBy.rawValue),
                        ]
                    )
                )
            }
        }
        return facts
    }

    /// The round milestones a total can cross: 1, 2 and 5 times a power of ten, from 10,000.
    static func milestones(upTo total: Int64) -> [Int64] {
        var result: [Int64] = []
        var scale: Int64 = 10_000
        while scale <= total {
            for step in [1, 2, 5] as [Int64] where scale * step <= total { result.append(scale * step) }
            guard scale <= Int64.max / 10 else { break }
            scale *= 10
        }
        return result
    }

    func cumulativeFacts(_ key: EntityKey, _ name: String, _ period: Period, history: [(month: Period, value: FigureValue)]) -> [Fact] {
        // A total with a month missing, or of approximate figures, is not stated.
        let total = cumulative(key, period, milestone: nil, history: history)
        guard total.complete, total.months >= 3, total.qualifier == .exact, let from = total.from, let first = try? Period(parsing: from) else { return [] }
        // A model whose deliveries began in its first month on record: the total is its whole.
        let began = key.level == .model && catalog.model(key.id)?.deliveriesBegan == from && said.measure == .default && said.powertrain == nil
        var facts = [
            Fact(
                kind: .cumulative,
                text: began
                    ? "Since deliveries began in \(Words.month(first)), \(name) has delivered \(Words.number(total.units)) vehicles."
                    : "Since \(Words.month(first)), the first month on record, \(name) has \(said.did(Words.number(total.units))).",
                data: ["units": .int(total.units), "from": .string(from), "months": .int(Int64(total.months))]
            )
        ]
        let before = total.units.saturatingSubtracting(history.first?.value.units ?? 0)
        if let milestone = Self.milestones(upTo: total.units).last(where: { $0 > before }) {
            facts.append(
                Fact(
                    kind: .milestone,
                    text: "The total passed \(Words.number(milestone)) in \(Words.month(period)).",
                    data: ["milestone": .int(milestone), "units": .int(total.units), "from": .string(from)]
                )
            )
        }
        return facts
    }
}

extension EntitySelector {
    /// The selector that names a catalog entity by its id.
    public init(_ key: EntityKey) {
        switch key.level {
        case .market: self = .wholeMarket
        case .group: self.init(group: key.id)
        case .brand: self.init(brand: key.id)
        case .model: self.init(model: key.id)
        case .segment: self.init(segment: key.id)
        }
    }
}

extension BriefQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> BriefResult {
        try engine.brief(self)
    }
}

/// Numbers, months and shares as a story writes them.
enum Words {
    static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]

    static func month(_ period: Period) -> String {
        guard let month = period.month else { return period.description }
        return "\(monthNames[month - 1]) \(period.year)"
    }

    /// 44454 → "44,454".
    static func number(_ value: Int64) -> String { value.groupedDigits }

    /// A figure with its qualifier as a story puts it: "just over 2,000", "about 6,000".
    static func units(_ value: FigureValue) -> String {
        switch value.qualifier {
        case .exact: number(value.units)
        case .atLeast: value.short ? "at least \(number(value.units))" : "just over \(number(value.units))"
        case .atMost: "up to \(number(value.units))"
        case .approximate: "about \(number(value.units))"
        }
    }

    /// 0.6133 → "61.3%".
    static func percent(_ value: Double, signed: Bool = false) -> String {
        let tenths = (value * 1000).rounded()
        let whole = Int64(tenths / 10)
        let fraction = Int64(abs(tenths.truncatingRemainder(dividingBy: 10)))
        let sign = tenths < 0 && whole == 0 ? "-" : (signed && tenths > 0 ? "+" : "")
        return "\(sign)\(whole).\(fraction)%"
    }

    /// Percentage points to one decimal: 2.3, 10.4.
    static func points(_ value: Double) -> String {
        let tenths = Int64((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    static func ordinal(_ n: Int) -> String {
        let suffix =
            switch (n % 10, n % 100) {
            case (_, 11...13): "th"
            case (1, _): "st"
            case (2, _): "nd"
            case (3, _): "rd"
            default: "th"
            }
        return "\(n)\(suffix)"
    }

    static func possessive(_ name: String) -> String { name.hasSuffix("s") ? name + "'" : name + "'s" }

    static func plural(_ level: Level) -> String {
        switch level {
        case .market: "markets"
        case .group: "groups"
        case .brand: "brands"
        case .model: "models"
        case .segment: "segments"
        }
    }

    /// The words before a bounded number: "at least ", "at most ", "about ", or none.
    static func bound(_ qualifier: Qualifier) -> String {
        switch qualifier {
        case .exact: ""
        case .atLeast: "at least "
        case .atMost: "at most "
        case .approximate: "about "
        }
    }

    /// ["a"] → "the a"; ["a", "b"] → "the a and the b"; three or more with commas.
    static func list(_ names: [String]) -> String {
        let named = names.map { "the \($0)" }
        guard named.count > 1 else { return named.first ?? "" }
        return named.dropLast().joined(separator: ", ") + " and " + named[named.count - 1]
    }

    static func capitalized(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }
}

/// The words of a measure in a brief: deliveries are "delivered", retail sales "sold at retail"…,
/// so that a sentence never calls another measure's figure deliveries; and of a powertrain's
/// part, "battery-electric vehicles", "BEV deliveries".
struct MeasureWords {
    let measure: Measure
    let powertrain: Powertrain?

    init(_ measure: Measure, _ powertrain: Powertrain? = nil) {
        self.measure = measure
        self.powertrain = powertrain
    }

    /// The vehicles a powertrain's part counts: "battery-electric vehicles".
    var vehicles: String {
        switch powertrain {
        case nil: "vehicles"
        case .BEV: "battery-electric vehicles"
        case .PHEV: "plug-in hybrid vehicles"
        case .EREV: "range-extended electric vehicles"
        case .FCEV: "fuel-cell vehicles"
        case .HEV: "hybrid vehicles"
        case .ICE: "combustion-engine vehicles"
        case .NEV: "new-energy vehicles"
        case .plugIn: "plug-in hybrid vehicles (range extenders included)"
        }
    }

    /// The verb of a count: "AITO delivered 36,625 of them".
    var verb: String {
        switch measure {
        case .deliveries: "delivered"
        case .retail, .wholesale: "sold"
        case .registrations: "registered"
        case .production: "produced"
        case .exports: "exported"
        }
    }

    /// "delivered 36,625 vehicles", "sold 30,000 vehicles at retail".
    func did(_ units: String) -> String {
        switch measure {
        case .retail: "sold \(units) \(vehicles) at retail"
        case .wholesale: "sold \(units) \(vehicles) wholesale"
        default: "\(verb) \(units) \(vehicles)"
        }
    }

    /// What is counted, after a number: "44,454 deliveries", "44,454 retail sales".
    var counted: String {
        let counted =
            switch measure {
            case .deliveries: "deliveries"
            case .retail: "retail sales"
            case .wholesale: "wholesale sales"
            case .registrations: "registrations"
            case .production: "vehicles produced"
            case .exports: "exports"
            }
        guard let powertrain else { return counted }
        return measure == .production ? "\(powertrain.rawValue) vehicles produced" : "\(powertrain.rawValue) \(counted)"
    }

    /// The subject of a change, with its verb: "deliveries were", "production was".
    var subject: String {
        switch measure {
        case .production: powertrain.map { "\($0.rawValue) production was" } ?? "production was"
        default: "\(counted) were"
        }
    }

    /// For another measure than deliveries, whose figures come from bodies other than the maker, a
    /// reported figure names its sources: ", according to CPCA".
    func according(_ figure: FigureBody?, _ value: FigureValue) -> String {
        guard measure != .default, value.basis == .reported, let sources = figure?.sources.map(\.source), !sources.isEmpty else { return "" }
        let named = Array(Set(sources)).sorted()
        return ", according to " + (named.count > 1 ? named.dropLast().joined(separator: ", ") + " and " + named[named.count - 1] : named[0])
    }
}
