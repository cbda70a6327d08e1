import DeliveryCore
import DeliveryMessages
import Testing

/// Every `expect` of the sample, straight through the domain (the integration tests do the same
/// through the real services).
@Suite struct GoldenTests {
    let engine: QueryEngine<FigureBook>

    init() throws {
        engine = QueryEngine(try Sample.book())
    }

    @Test func unitsOfHIMAIsReported() throws {
        let result = try engine.units(UnitsQuery(entity: EntitySelector(group: "HIMA"), period: "2025-05"))
        #expect(result.units == 44_454)
        #expect(result.basis == .reported)
        #expect(result.sources == ["CPCA"])
        // The models reported one by one plus AITO's own figure: what the computed sum shows.
        #expect(result.computed == Int64(36_625 + 5_124 + 2_000))
    }

    @Test func growthMonthOverMonth() throws {
        let result = try engine.growth(GrowthQuery(entity: EntitySelector(group: "HIMA"), period: "2025-05", vs: .mom))
        #expect(abs((result.growth ?? 0) - 0.6133) < 0.0001)
        #expect(result.previousUnits == 27_555)
        #expect(result.previousPeriod == "2025-04")
    }

    @Test func shareOfAITOWithinHIMA() throws {
        let result = try engine.share(ShareQuery(entity: EntitySelector(brand: "AITO"), period: "2025-05"))
        #expect(result.units == 36_625)
        #expect(abs((result.share ?? 0) - 0.8239) < 0.0001)
        #expect(result.otherUnits == 7_829)
        #expect(result.of.id == "hima")
    }

    @Test func aitoModelsNotReportedOneByOne() throws {
        let result = try engine.reconcile(ReconcileQuery(entity: EntitySelector(brand: "AITO"), period: "2025-05"))
        #expect(result.reported == 36_625)
        #expect(result.childrenSum == 27_597)
        #expect(result.unattributed == 9_028)
    }

    @Test func rankingOfHIMAModels() throws {
        let result = try engine.ranking(RankingQuery(period: "2025-05", level: .model, within: EntitySelector(group: "HIMA")))
        #expect(result.rows.map(\.entity.id) == ["aito-m9", "aito-m8", "luxeed-r7", "stelato-s9"])
        #expect(result.rows.map(\.rank) == [1, 2, 3, 4])
        #expect(abs(result.rows.compactMap(\.share).reduce(0, +) - 1) < 1e-9)
    }

    @Test(arguments: [("above-500k", "aito-m9"), ("400k-500k", "aito-m8")])
    func segmentLeaders(segment: String, leader: String) throws {
        let result = try engine.streak(StreakQuery(segment: segment, period: "2025-05"))
        #expect(result.leader?.id == leader)
        #expect(result.months == 1)
    }

    @Test func stelatoIsAtLeast() throws {
        let result = try engine.units(UnitsQuery(entity: EntitySelector(model: "Stelato S9"), period: "2025-05"))
        #expect(result.qualifier == .atLeast)
        #expect(result.units == 2_000)
        // Stelato's brand figure is computed from it and carries the qualifier.
        let brand = try engine.units(UnitsQuery(entity: EntitySelector(brand: "Stelato"), period: "2025-05"))
        #expect(brand.basis == .computed)
        #expect(brand.qualifier == .atLeast)
    }

    @Test func convertsYuanToDollars() throws {
        let result = try engine.convert(ConvertQuery(amount: 500_000, from: "CNY", to: "USD"))
        #expect(abs(result.amount - 69_587) <= 1)
    }
}
