import DeliveryCore
import DeliveryMessages
import Testing

@Suite struct FigureBookTests {
    @Test func aRevisionReplacesTheFigureEverywhere() throws {
        var book = try Sample.book()
        let catalog = book.catalog
        let engine0 = QueryEngine(book)
        #expect(try engine0.units(UnitsQuery(entity: EntitySelector(brand: "Luxeed"), period: "2025-05")).units == 5_124)
        // CPCA revises Luxeed R7 for May: same source, period and entity, a new id.
        let revision = try report("luxeed-r7-2025-05-rev", period: "2025-05", model: "Luxeed R7", units: 6_000, catalog: catalog)
        let changes = book.apply(revision, stream: "test", seq: 100)
        #expect(changes.first.map(book.key(of:)) == FigureKey(EntityKey(.model, "luxeed-r7"), .month(2025, 5)))
        #expect(changes.first?.previous == 5_124)
        let engine = QueryEngine(book)
        #expect(try engine.units(UnitsQuery(entity: EntitySelector(model: "Luxeed R7"), period: "2025-05")).units == 6_000)
        #expect(try engine.units(UnitsQuery(entity: EntitySelector(brand: "Luxeed"), period: "2025-05")).units == 6_000)
        #expect(try engine.units(UnitsQuery(entity: EntitySelector(brand: "Luxeed"), period: "2025-Q2")).units == 6_000)
        #expect(try engine.units(UnitsQuery(entity: EntitySelector(brand: "Luxeed"), period: "2025")).units == 6_000)
        let ranking = try engine.ranking(RankingQuery(period: "2025-05", level: .model))
        #expect(ranking.rows.first(where: { $0.entity.id == "luxeed-r7" })?.units == 6_000)
        // The group's reported figure stands; its computed sum moved.
        let hima = try engine.units(UnitsQuery(entity: EntitySelector(group: "HIMA"), period: "2025-05"))
        #expect(hima.units == 44_454)
        #expect(hima.computed == Int64(36_625 + 6_000 + 2_000))
    }

    @Test func latestSourceWinsUnlessOneIsNamed() throws {
        var book = try Sample.book()
        let catalog = book.catalog
        book.apply(
            try report("caam-aito", source: "CAAM", period: "2025-05", brand: "AITO", units: 36_700, reportedAt: "2025-06-10T00:00:00Z", catalog: catalog),
            stream: "test", seq: 200
        )
        // An older report from a third source arrives later: it does not win.
        book.apply(
            try report("old-aito", source: "Press", period: "2025-05", brand: "AITO", units: 30_000, reportedAt: "2025-05-20T00:00:00Z", catalog: catalog),
            stream: "test", seq: 201
        )
        let engine = QueryEngine(book)
        let latest = try engine.units(UnitsQuery(entity: EntitySelector(brand: "AITO"), period: "2025-05"))
        #expect(latest.units == 36_700)
        #expect(latest.sources == ["CAAM"])
        #expect(latest.bySource.map(\.source) == ["CAAM", "CPCA", "Press"])
        let cpca = try engine.units(UnitsQuery(entity: EntitySelector(brand: "AITO"), period: "2025-05", source: "CPCA"))
        #expect(cpca.units == 36_625)
        let share = try engine.share(ShareQuery(entity: EntitySelector(brand: "AITO"), period: "2025-05"))
        #expect(share.units == 36_700)
    }

    @Test func quartersAndYearsAreSumsOfMonthsAndSayWhenIncomplete() throws {
        var book = FigureBook(catalog: try Catalog(Sample.load().catalog))
        let catalog = book.catalog
        for (month, units) in [(1, 100), (2, 200), (3, 300), (4, 50)] {
            book.apply(
                try report("m9-\(month)", period: "2025-0\(month)", model: "AITO M9", units: Int64(units), catalog: catalog),
                stream: "s", seq: UInt64(month)
            )
        }
        let engine = QueryEngine(book)
        let q1 = try engine.units(UnitsQuery(entity: EntitySelector(model: "AITO M9"), period: "2025-Q1"))
        #expect(q1.units == 600)
        #expect(q1.complete)
        let q2 = try engine.units(UnitsQuery(entity: EntitySelector(model: "AITO M9"), period: "2025-Q2"))
        #expect(q2.units == 50)
        #expect(!q2.complete)
        let year = try engine.units(UnitsQuery(entity: EntitySelector(group: "HIMA"), period: "2025"))
        #expect(year.units == 650)
        #expect(!year.complete)
        let ytd = try engine.ytd(YTDQuery(entity: EntitySelector(brand: "AITO"), period: "2025-04"))
        #expect(ytd.units == 650)
        #expect(ytd.complete)
        let qoq = try engine.growth(GrowthQuery(entity: EntitySelector(model: "AITO M9"), period: "2025-Q2", vs: .qoq))
        #expect(qoq.previousUnits == 600)
        let series = try engine.series(SeriesQuery(entity: EntitySelector(model: "AITO M9"), from: "2025-01", to: "2025-06"))
        #expect(series.points.map(\.units) == [100, 200, 300, 50, 0, 0])
        #expect(series.points.map(\.complete) == [true, true, true, true, false, false])
        let quarters = try engine.series(SeriesQuery(entity: EntitySelector(model: "AITO M9"), from: "2025-01", to: "2025-06", granularity: .quarter))
        #expect(quarters.points.map(\.period) == ["2025-Q1", "2025-Q2"])
        // A quarter reported directly is the reported figure.
        book.apply(try report("m9-q1", period: "2025-Q1", model: "AITO M9", units: 610, catalog: catalog), stream: "s", seq: 9)
        #expect(try QueryEngine(book).units(UnitsQuery(entity: EntitySelector(model: "AITO M9"), period: "2025-Q1")).units == 610)
        #expect(try QueryEngine(book).units(UnitsQuery(entity: EntitySelector(model: "AITO M9"), period: "2025")).units == 660)
    }

    @Test func streakCountsConsecutiveMonthsLed() throws {
        var book = FigureBook(catalog: try Catalog(Sample.load().catalog))
        let catalog = book.catalog
        var seq: UInt64 = 0
        // Luxeed S7 leads 200k-300k in Jan; AITO M7 from Feb to May; R7 ties M7 in May (M7 wins: smaller id).
        // A source states each month's leader (a segment is market-wide: only a stated lead counts).
        let months: [(String, Int64, Int64, Int64)] = [
            ("2025-01", 10, 50, 5), ("2025-02", 60, 50, 5), ("2025-03", 70, 50, 5), ("2025-04", 80, 50, 5), ("2025-05", 90, 50, 90),
        ]
        for (period, m7, s7, r7) in months {
            for (model, units) in [("AITO M7", m7), ("Luxeed S7", s7), ("Luxeed R7", r7)] {
                seq += 1
                let leads = (model == "Luxeed S7") == (period == "2025-01")
                book.apply(
                    try report("\(model)-\(period)", period: period, model: model, units: units, segmentRank: leads && model != "Luxeed R7" ? 1 : nil, catalog: catalog),
                    stream: "s", seq: seq
                )
            }
        }
        let engine = QueryEngine(book)
        let streak = try engine.streak(StreakQuery(segment: "200k-300k", period: "2025-05"))
        #expect(streak.leader?.id == "aito-m7")
        #expect(streak.months == 4)
        let s7 = try engine.streak(StreakQuery(segment: "200k-300k", period: "2025-05", entity: EntitySelector(model: "Luxeed S7")))
        #expect(s7.leads == false)
        #expect(s7.months == 0)
        let january = try engine.streak(StreakQuery(segment: "200k-300k", period: "2025-01", entity: EntitySelector(model: "Luxeed S7")))
        #expect(january.leads == true)
        #expect(january.months == 1)
        let erev = try engine.ranking(RankingQuery(period: "2025-05", level: .model, powertrain: "erev", top: 2))
        #expect(erev.rows.map(\.entity.id) == ["aito-m7", "luxeed-r7"])
        #expect(erev.candidates == 3)
    }

    @Test func badQueriesSayWhatIsWrong() throws {
        let engine = QueryEngine(try Sample.book())
        let period = #expect(throws: ProtocolError.self) {
            try engine.units(UnitsQuery(entity: EntitySelector(group: "HIMA"), period: "May"))
        }
        #expect(period?.code == .invalidQuery)
        let mom = #expect(throws: ProtocolError.self) {
            try engine.growth(GrowthQuery(entity: EntitySelector(group: "HIMA"), period: "2025-Q2", vs: .mom))
        }
        #expect(mom?.code == .invalidQuery)
        let segment = #expect(throws: ProtocolError.self) {
            try engine.streak(StreakQuery(segment: "luxury", period: "2025-05"))
        }
        #expect(segment?.code == .unknownEntity)
        let within = #expect(throws: ProtocolError.self) {
            try engine.ranking(RankingQuery(period: "2025-05", level: .brand, within: EntitySelector(model: "AITO M9")))
        }
        #expect(within?.code == .invalidQuery)
        let share = #expect(throws: ProtocolError.self) {
            try engine.share(ShareQuery(entity: EntitySelector(brand: "AITO"), period: "2025-05", of: EntitySelector(brand: "Luxeed")))
        }
        #expect(share?.code == .invalidQuery)
    }
}
