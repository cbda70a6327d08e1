import DeliveryMessages

extension QueryEngine {
    func segmentID(_ name: String) throws(ProtocolError) -> String {
        let lowered = name.lowercased()
        if let segment = catalog.segments.values.first(where: { $0.id == lowered || $0.name.lowercased() == lowered }) {
            return segment.id
        }
        throw ProtocolError(
            .unknownEntity, "no segment named '\(name)' in the catalog",
            details: ["field": .string("segment"), "name": .string(name)]
        )
    }

    /// The models of a segment, ranked in a period: units descending, ties to the smaller id.
    func ranked(_ candidates: [EntityKey], _ period: Period) -> [(EntityKey, FigureBody)] {
        candidates
            .compactMap { key in store.figure(key, period).map { (key, covered($0, key, period)) } }
            .sorted { $0.1.units != $1.1.units ? $0.1.units > $1.1.units : $0.0.id < $1.0.id }
    }

    /// The entities a ranking compares: those of its level within `within`, and (for models) of
    /// its segment and powertrain; with the segment's id.
    func candidates(_ query: RankingQuery, within: EntityKey) throws(ProtocolError) -> ([EntityKey], String?) {
        var candidates = catalog.descendants(of: within, at: query.level)
        // By a powertrain's figures (the dispatcher reads them from that powertrain): every
        // entity of the level, none filtered by the catalog's powertrains.
        let filter = query.byPowertrain == true ? nil : query.powertrain
        if query.byPowertrain == true, query.powertrain == nil {
            throw Self.invalid("byPowertrain ranks by one powertrain's figures; name it with powertrain", field: "powertrain")
        }
        if query.segment != nil || filter != nil {
            guard query.level == .model else {
                throw Self.invalid("segment and powertrain select models; use level model", field: query.segment != nil ? "segment" : "powertrain")
            }
        }
        var segmentID: String?
        if let segment = query.segment {
            let id = try self.segmentID(segment)
            candidates = candidates.filter { catalog.model($0.id)?.segment == id }
            segmentID = id
        }
        if let powertrain = filter?.lowercased() {
            candidates = candidates.filter { key in
                catalog.model(key.id)?.powertrains?.contains { $0.lowercased() == powertrain } ?? false
            }
        }
        return (candidates, segmentID)
    }

    public func ranking(_ query: RankingQuery) throws(ProtocolError) -> RankingResult {
        let period = try period(query.period)
        guard query.level != .market, query.level != .segment else {
            throw Self.invalid("level is model, brand or group", field: "level")
        }
        let within = try query.within.map { selector throws(ProtocolError) in try entity(selector, field: "within") } ?? .market
        guard within.level != .segment else {
            throw Self.invalid("a segment is not a parent of models; rank within it with 'segment'", field: "within")
        }
        guard within.level < query.level else {
            throw Self.invalid("a ranking of \(query.level.rawValue)s within a \(within.level.rawValue) is empty; rank a lower level", field: "within")
        }
        if let top = query.top, top < 1 {
            throw Self.invalid("top must be at least 1", field: "top")
        }
        let (candidates, segmentID) = try self.candidates(query, within: within)
        let all = ranked(candidates, period)
        let rows = query.top.map { Array(all.prefix($0)) } ?? all
        let total = rows.reduce(Int64(0)) { $0.saturatingAdding($1.1.units) }
        var result = RankingResult(
            period: period.description, level: query.level, within: catalog.ref(within),
            rows: rows.enumerated().map { index, row in
                var ranked = RankingRow(
                    rank: index + 1, entity: row.1.entity, units: row.1.units,
                    share: total > 0 ? Double(row.1.units) / Double(total) : nil,
                    basis: row.1.basis, qualifier: row.1.qualifier
                )
                (ranked.low, ranked.high) = (row.1.low, row.1.high)
                if let stated = Self.statedRank(row.1) { (ranked.segmentRank, ranked.rankSource) = (stated.rank, stated.source) }
                return ranked
            },
            total: total, candidates: all.count
        )
        if let segmentID {
            // A segment is market-wide: the rows rank the models the catalog tracks, and only a
            // report names the segment's leader.
            let lead = leadership(segmentModels(segmentID), period, segment: segmentID)
            result.coverage = lead.basis == .complete ? "complete" : "tracked"
            result.trackedModels = candidates.filter { catalog.expects($0, in: period) || store.summary($0, period) != nil }.count
            if lead.basis != .tracked, let leader = lead.leader {
                (result.segmentLeader, result.leaderSource) = (leader.figure.entity, lead.source)
            }
        }
        return result
    }
}

extension RankingQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> RankingResult {
        try engine.ranking(self)
    }
}
