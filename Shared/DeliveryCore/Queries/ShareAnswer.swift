import DeliveryMessages

extension QueryEngine {
    public func share(_ query: ShareQuery) throws(ProtocolError) -> ShareResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        let wholePowertrain = try self.wholePowertrain(query)
        let whole: EntityKey
        if query.of == nil, store.powertrain != nil || query.ofPowertrain != nil {
            // A powertrain's share of its own entity's figure (of NEV, of the whole).
            guard wholePowertrain != store.powertrain, store.powertrain.map({ $0.isPart(of: wholePowertrain) }) ?? false else {
                throw Self.invalid("\(Self.name(store.powertrain)) is not a part of \(Self.name(wholePowertrain))", field: "ofPowertrain")
            }
            whole = key
        } else if let of = query.of {
            whole = try entity(of, field: "of")
            guard catalog.isUnder(key, whole) else {
                throw Self.invalid("\(key.level.rawValue) '\(key.id)' is not part of \(whole.level.rawValue) '\(whole.id)'", field: "of")
            }
        } else {
            guard let parent = catalog.parent(of: key) else {
                throw Self.invalid("\(key.level == .segment ? "a segment's total" : "the market") has no parent; name the whole with 'of'", field: "of")
            }
            whole = parent
        }
        if whole != key, !(store.powertrain.map { $0.isPart(of: wholePowertrain) } ?? (wholePowertrain == nil)) {
            throw Self.invalid("\(Self.name(store.powertrain)) is not a part of \(Self.name(wholePowertrain))", field: "ofPowertrain")
        }
        let part = value(key, period)
        let total = value(whole, period, in: wholePowertrain)
        let share = total.units > 0 ? Double(part.units) / Double(total.units) : nil
        let qualifier = Self.shareQualifier(part.qualifier, of: total.qualifier)
        var result = ShareResult(
            entity: catalog.ref(key), of: catalog.ref(whole), period: period.description, share: share,
            units: part.units, ofUnits: total.units, otherUnits: total.units.saturatingSubtracting(part.units), qualifier: qualifier
        )
        if store.powertrain != nil || query.ofPowertrain != nil { result.ofPowertrain = Self.name(wholePowertrain) }
        let of = (whole, wholePowertrain)
        if period.kind != .year { result.previous = shareAt(key, of: of, period.previous, now: (share, qualifier)) }
        result.previousYear = shareAt(key, of: of, period.sameLastYear, now: (share, qualifier))
        return result
    }

    /// The powertrain of a share's whole: `ofPowertrain` as named (`all`: the whole figure), else
    /// the whole figure when the share is of the entity's own, else the part's powertrain.
    func wholePowertrain(_ query: ShareQuery) throws(ProtocolError) -> Powertrain? {
        guard let name = query.ofPowertrain else { return query.of == nil ? nil : store.powertrain }
        guard let named = Powertrain.named(name) else {
            throw Self.invalid("ofPowertrain must be one of \(Powertrain.spellings) or \(Powertrain.wholeName), not '\(String(name.prefix(32)))'", field: "ofPowertrain")
        }
        return named
    }

    static func name(_ powertrain: Powertrain?) -> String {
        powertrain?.rawValue ?? Powertrain.wholeName
    }

    /// The share of `key` in `whole` in an earlier period, when both have a figure there, and the
    /// change since in percentage points.
    func shareAt(_ key: EntityKey, of whole: (EntityKey, Powertrain?), _ period: Period, now: (share: Double?, qualifier: Qualifier)) -> ShareAt? {
        // Both figures, or no share then: a part with no figure is not known to be 0.
        let total = value(whole.0, period, in: whole.1)
        let part = value(key, period)
        guard total.present, part.present else { return nil }
        let share = total.units > 0 ? Double(part.units) / Double(total.units) : nil
        let qualifier = Self.shareQualifier(part.qualifier, of: total.qualifier)
        let change = now.share.flatMap { current in share.map { ((current - $0) * 100_000).rounded() / 1000 } }
        // A floor on the share now, or a ceiling on the share then, is a floor on the change (and
        // the other way round): the same table as a part over a whole, both falling in the second.
        return ShareAt(
            period: period.description, share: share, units: part.units, ofUnits: total.units, qualifier: qualifier,
            changePoints: change, changeQualifier: Self.shareQualifier(now.qualifier, of: qualifier)
        )
    }

    /// The qualifier of a part over a whole: a floor on the part (or a ceiling on the whole) is a
    /// floor on the share, and the other way round; bounds that pull both ways, or an approximate
    /// figure, leave it approximate.
    static func shareQualifier(_ part: Qualifier, of whole: Qualifier) -> Qualifier {
        switch (part, whole) {
        case (.exact, .exact): .exact
        case (.atLeast, .exact), (.exact, .atMost), (.atLeast, .atMost): .atLeast
        case (.atMost, .exact), (.exact, .atLeast), (.atMost, .atLeast): .atMost
        default: .approximate
        }
    }
}

extension ShareQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> ShareResult {
        try engine.share(self)
    }
}
