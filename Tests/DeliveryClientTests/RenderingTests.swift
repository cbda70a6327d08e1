import ArgumentParser
import DeliveryClient
import DeliveryMessages
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

let hima = EntityRef(level: .group, id: "hima", name: "HIMA", path: ["hima"])
let aito = EntityRef(level: .brand, id: "aito", name: "AITO", path: ["hima", "aito"])
let m9 = EntityRef(level: .model, id: "aito-m9", name: "AITO M9", path: ["hima", "aito", "aito-m9"])

@Suite struct RenderingTests {
    @Test func unitsTableAndCSV() {
        let result = UnitsResult(
            entity: hima, period: "2025-05", units: 44_454, basis: .reported, qualifier: .exact, sources: ["HIMA", "CnEVPost"],
            reported: 44_454, computed: 44_400, complete: true, bySource: [], cause: nil
        )
        #expect(
            result.table().render() == """
                entity  period   units   basis     qualifier  sources
                ------  -------  ------  --------  ---------  -------------
                HIMA    2025-05  44,454  reported  exact      HIMA CnEVPost
                """
        )
        // A cell with a comma is quoted; numbers keep their separators as text.
        #expect(result.table().csv() == "entity,period,units,basis,qualifier,sources\nHIMA,2025-05,\"44,454\",reported,exact,HIMA CnEVPost")
        // A sum short of an expected part says so and names it.
        var luxeed = UnitsResult(
            entity: aito, period: "2025-05", units: 5_124, basis: .computed, qualifier: .atLeast, sources: ["CPCA"],
            reported: nil, computed: 5_124, complete: true, bySource: [], cause: nil
        )
        (luxeed.coverage, luxeed.missing, luxeed.missingCount) = ("partial", [m9], 3)
        #expect(luxeed.table().headers.last == "coverage")
        #expect(luxeed.table().rows.first?.last == "partial: no figure for AITO M9 and 2 more")
        #expect(luxeed.table().rows.first?[4] == "atLeast")
    }

    @Test func shareAndGrowthAsPercents() {
        let share = ShareResult(entity: aito, of: hima, period: "2025-05", share: 36_625.0 / 44_454, units: 36_625, ofUnits: 44_454, otherUnits: 7_829, qualifier: .exact)
        #expect(share.table().rows == [["AITO", "HIMA", "2025-05", "82.39 %", "36,625", "44,454", "7,829"]])
        var moved = share
        moved.previous = ShareAt(period: "2025-04", share: 0.8, units: 22_044, ofUnits: 27_555, qualifier: .exact, changePoints: 2.388, changeQualifier: .exact)
        moved.previousYear = ShareAt(period: "2024-05", share: 0.9, units: 9, ofUnits: 10, qualifier: .atLeast, changePoints: -7.6, changeQualifier: .atMost)
        #expect(moved.table().headers.suffix(2) == ["vs 2025-04", "vs 2024-05"])
        #expect(moved.table().rows[0].suffix(2) == ["80.00 %, +2.4 pts", "at least 90.00 %, at most -7.6 pts"])
        let growth = GrowthResult(
            entity: hima, period: "2025-05", vs: .mom, growth: 44_454.0 / 27_558 - 1, units: 44_454, previousUnits: 27_558,
            previousPeriod: "2025-04", qualifier: .exact
        )
        #expect(growth.table().rows == [["HIMA", "2025-05", "44,454", "2025-04", "27,558", "+61.31 %"]])
        let none = GrowthResult(entity: hima, period: "2025-05", vs: .yoy, growth: nil, units: 1, previousUnits: 0, previousPeriod: "2024-05", qualifier: .exact)
        #expect(none.table().rows[0].last == "n/a")
        let down = GrowthResult(entity: hima, period: "2025-05", vs: .yoy, growth: -0.125, units: 7, previousUnits: 8, previousPeriod: "2024-05", qualifier: .exact)
        #expect(down.table().rows[0].last == "-12.50 %")
    }

    @Test func reconcileNamesTheRemainder() {
        let result = ReconcileResult(
            entity: aito, period: "2025-05", reported: 36_625, childrenSum: 31_000, unattributed: 5_625, qualifier: .exact,
            childrenQualifier: .atLeast, children: [ReconcileChild(entity: m9, units: 31_000, basis: .reported, qualifier: .atLeast)], sources: []
        )
        #expect(
            result.table().rows == [
                ["AITO (reported)", "36,625", "reported", "exact"], ["  AITO M9", "31,000", "reported", "atLeast"],
                ["children's sum", "31,000", "computed", "atLeast"], ["unattributed", "5,625", "", ""],
            ]
        )
        let unreported = ReconcileResult(
            entity: aito, period: "2025-05", reported: nil, childrenSum: 0, unattributed: nil, qualifier: nil, childrenQualifier: .exact,
            children: [], sources: []
        )
        #expect(unreported.table().rows.first?[1] == "n/a")
    }

    @Test func streakShowsTheEntityColumnsOnlyWhenAsked() {
        var result = StreakResult(
            segment: "above-500k", period: "2025-05", leader: m9, units: 15_481, months: 11, entity: nil, leads: nil, since: "2024-07", endedBy: .condition
        )
        #expect(result.table().headers == ["segment", "period", "leader", "units", "months", "since", "ended by"])
        result.entity = m9
        result.leads = true
        #expect(result.table().rows == [["above-500k", "2025-05", "AITO M9", "15,481", "11", "2024-07", "condition", "AITO M9", "yes"]])
        // With its basis: where the lead comes from, or that it is only among the tracked models.
        result.basis = .reported
        result.source = "CPCA"
        #expect(result.table().rows == [["above-500k", "2025-05", "AITO M9", "according to CPCA", "15,481", "11", "2024-07", "condition", "AITO M9", "yes"]])
        (result.basis, result.source, result.withFigures, result.trackedModels) = (.tracked, nil, 3, 5)
        #expect(result.table().rows.first?[3] == "among tracked models (3 of 5 with figures)")
        let threshold = StreakResult(
            segment: nil, period: "2025-06", leader: nil, units: 34_611, months: 8, entity: m9, leads: nil,
            condition: StreakCondition(atLeast: 30_000), since: "2024-11", endedBy: .missing
        )
        #expect(threshold.table().rows == [["AITO M9", "2025-06", "at least 30,000", "34,611", "8", "2024-11", "missing"]])
    }

    @Test func qualifiersInWords() {
        #expect(Format.units(2_000, .atLeast) == "at least 2,000")
        #expect(Format.units(6_000, .approximate) == "about 6,000")
        #expect(Format.units(-1_234_567, .exact) == "-1,234,567")
        #expect(Format.percent(0.8239) == "82.39 %")
        #expect(Format.units(47_800, low: 47_322, high: 48_278) == "47,800 (47,322–48,278)")
        #expect(Format.units(2_000, low: 2_000, high: nil) == "2,000 (from 2,000)")
        #expect(Format.units(36_279, low: nil, high: nil) == "36,279")
    }

    @Test func growthShowsThePreviousIntervalAndTheRange() {
        var result = GrowthResult(
            entity: m9, period: "2025-05", vs: .yoy, growth: 36_279.0 / 47_800 - 1, units: 36_279, previousUnits: 47_800,
            previousPeriod: "2024-05", qualifier: .approximate
        )
        result.previousLow = 47_322
        result.previousHigh = 48_278
        result.growthLow = 36_279.0 / 48_278 - 1
        result.growthHigh = 36_279.0 / 47_322 - 1
        result.direction = "down"
        #expect(result.table().headers.last == "direction")
        #expect(result.table().rows == [["AITO M9", "2025-05", "36,279", "2024-05", "47,800 (47,322–48,278)", "-24.10 % (-24.85 % to -23.34 %)", "down"]])
    }

    @Test func seriesChartAsBarsAndSVG() {
        let series = SeriesResult(
            entity: m9, from: "2025-04", to: "2025-05", granularity: .month,
            points: [
                SeriesPoint(period: "2025-04", units: 10_000, basis: .reported, qualifier: .exact, complete: true),
                SeriesPoint(period: "2025-05", units: 20_000, basis: .reported, qualifier: .atLeast, complete: true),
            ]
        )
        let bars = Bar.bars(series)
        #expect(bars == [Bar(label: "2025-04", value: 10_000, note: ""), Bar(label: "2025-05", value: 20_000, note: "at least")])
        #expect(Bar.terminal(bars, width: 4) == "2025-04 │██ 10,000 \n2025-05 │████ 20,000 at least")
        let svg = ChartSVG(title: "M9 <&>", caption: "c", axis: "units", bars: bars, vertical: true).render()
        #expect(svg.hasPrefix("<svg "))
        #expect(svg.contains("M9 &lt;&amp;&gt;"))
        #expect(svg.components(separatedBy: "<rect ").count - 1 == 3)  // the background and two bars
        // Parses as XML.
        #expect(XMLParser(data: Data(svg.utf8)).parse())
    }

    @Test func rankingBarsCarryShares() {
        let ranking = RankingResult(
            period: "2025-05", level: .brand, within: hima,
            rows: [RankingRow(rank: 1, entity: aito, units: 36_625, share: 0.8239, basis: .reported, qualifier: .exact)], total: 44_454, candidates: 1
        )
        #expect(Bar.bars(ranking) == [Bar(label: "AITO", value: 36_625, note: "82.39 %")])
        #expect(ranking.table().rows == [["1", "AITO", "36,625", "82.39 %", "exact"]])
    }
}

@Suite struct RequestBuildingTests {
    func options(_ arguments: [String]) throws -> QueryOptions { try QueryOptions.parse(arguments) }

    func json<Body: Encodable>(_ body: Body) throws -> [String: Any] {
        let encoder = JSONEncoder()
        return try JSONSerialization.jsonObject(with: encoder.encode(body)) as! [String: Any]
    }

    @Test func everyKindHasOneRequestType() throws {
        for kind in QueryKind.allCases {
            #expect(kind.client.kind == kind)
            #expect(kind.resultType == kind.rawValue + ".result")
        }
    }

    @Test func flagsBecomeTypedRequests() throws {
        let share = try ShareQuery(options: options(["--brand", "AITO", "--period", "2025-05", "--of-market"]))
        #expect(share.entity == EntitySelector(brand: "AITO"))
        #expect(share.of == .wholeMarket)
        let growth = try GrowthQuery(options: options(["--group", "HIMA", "--period", "2025-05", "--vs", "YoY"]))
        #expect(growth.vs == .yoy)
        let ranking = try RankingQuery(options: options(["--within-group", "HIMA", "--period", "2025-05", "--top", "3"]))
        #expect(ranking.level == .model && ranking.top == 3 && ranking.within == EntitySelector(group: "HIMA"))
        let streak = try StreakQuery(options: options(["--segment", "above-500k", "--period", "2025-05"]))
        #expect(streak.entity == nil)
    }

    @Test func missingAndBadFlagsAreNamed() throws {
        #expect(throws: ValidationError.self) { try UnitsQuery(options: options(["--period", "2025-05"])) }
        #expect(throws: ValidationError.self) { try UnitsQuery(options: options(["--group", "HIMA"])) }
        #expect(throws: ValidationError.self) { try GrowthQuery(options: options(["--group", "HIMA", "--period", "2025-05", "--vs", "weekly"])) }
        #expect(throws: ValidationError.self) { try RankingQuery(options: options(["--period", "2025-05", "--level", "segment"])) }
        #expect(throws: ValidationError.self) { try options(["--after", "stream"]).control(for: .units) }
    }

    @Test func theBodyCarriesQueryAndControlSideBySide() throws {
        let units = try UnitsQuery(options: options(["--model", "AITO M9", "--period", "2025-05"]))
        let control = try options(["--after", "ingest-a-x:7,ingest-b-y:9", "--timeout-ms", "500"]).control(for: .units)
        let body = try json(QueryBody(query: units, control: control))
        #expect(body["period"] as? String == "2025-05")
        #expect((body["entity"] as? [String: Any])?["model"] as? String == "AITO M9")
        #expect((body["after"] as? [String: Any])?["ingest-b-y"] as? Int == 9)
        #expect(body["timeoutMs"] as? Int == 500)
        // No control fields: nothing but the query's own.
        #expect(Set(try json(QueryBody(query: units)).keys) == ["entity", "period"])
    }

    @Test func aBatchErrorNamesEachReportByItsPlace() {
        let error = ProtocolError(
            .invalidReport, "2 reports are bad; the first: report 0: units must be a whole number",
            details: [
                "count": .int(2),
                "errors": .array([
                    .object(["index": .int(0), "message": .string("units must be a whole number")]),
                    .object(["index": .int(3), "message": .string("period is not a month")]),
                ]),
            ]
        )
        let text = ClientError(error) { "report at line \($0 + 2)" }.description
        #expect(
            text == """
                invalid_report: 2 reports are bad; the first: report at line 2: units must be a whole number
                  report at line 2: units must be a whole number
                  report at line 5: period is not a month
                """
        )
        let plain = ClientError(ProtocolError(.unknownType, "'x' is not a request this service answers")).description
        #expect(plain == "unknown_type: 'x' is not a request this service answers")
    }
}
