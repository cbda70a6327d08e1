import DeliveryCore
import DeliveryMessages
import Testing

@Suite struct CatalogTests {
    @Test func resolvesIdsNamesAndAliasesCaseInsensitively() throws {
        let catalog = try Catalog(Sample.load().catalog)
        #expect(try catalog.resolve(EntitySelector(group: "HIMA")) == EntityKey(.group, "hima"))
        #expect(try catalog.resolve(EntitySelector(group: "harmony intelligent mobility alliance")) == EntityKey(.group, "hima"))
        #expect(try catalog.resolve(EntitySelector(brand: "wenjie")) == EntityKey(.brand, "aito"))
        #expect(try catalog.resolve(EntitySelector(model: "aito m9")) == EntityKey(.model, "aito-m9"))
        #expect(try catalog.resolve(EntitySelector(model: "AITO-M9")) == EntityKey(.model, "aito-m9"))
        #expect(try catalog.resolve(.wholeMarket) == .market)
        #expect(catalog.path(of: EntityKey(.model, "aito-m9")) == ["hima", "aito", "aito-m9"])
        #expect(catalog.ref(EntityKey(.brand, "aito")).topic(.figure) == "figure.hima.aito.")
    }

    @Test func unknownAndMisplacedNamesAreErrors() throws {
        let catalog = try Catalog(Sample.load().catalog)
        let unknown = #expect(throws: ProtocolError.self) { try catalog.resolve(EntitySelector(brand: "Tesla")) }
        #expect(unknown?.code == .unknownEntity)
        let misplaced = #expect(throws: ProtocolError.self) {
            try catalog.resolve(EntitySelector(brand: "Luxeed", model: "AITO M9"))
        }
        #expect(misplaced?.code == .unknownEntity)
    }

    @Test func mergeValidatesReferencesAndKeepsParents() throws {
        var catalog = try Catalog(Sample.load().catalog)
        let orphan = #expect(throws: ProtocolError.self) {
            try catalog.merge(CatalogDocument(models: [ModelEntry(id: "x1", name: "X1", brand: "nobody")]))
        }
        #expect(orphan?.code == .invalidReport)
        #expect(catalog.model("x1") == nil)
        let move = #expect(throws: ProtocolError.self) {
            try catalog.merge(CatalogDocument(models: [ModelEntry(id: "aito-m9", name: "AITO M9", brand: "luxeed")]))
        }
        #expect(move?.message.contains("cannot move") == true)
        let badID = #expect(throws: ProtocolError.self) {
            try catalog.merge(CatalogDocument(groups: [GroupEntry(id: "Has Space", name: "x")]))
        }
        #expect(badID?.code == .invalidReport)
        // A new model under an existing brand, with an alias, in the same put as its brand.
        try catalog.merge(
            CatalogDocument(
                brands: [BrandEntry(id: "newb", name: "NewBrand", group: "HIMA")],
                models: [ModelEntry(id: "newb-1", name: "NewBrand One", brand: "NewBrand", aliases: ["N1"])]
            )
        )
        #expect(try catalog.resolve(EntitySelector(model: "n1")) == EntityKey(.model, "newb-1"))
        #expect(catalog.children(of: EntityKey(.group, "hima")).map(\.id).contains("newb"))
    }

    @Test func convertsAtTheCatalogRateBothWays() throws {
        let catalog = try Catalog(Sample.load().catalog)
        let usd = try #require(catalog.rate(from: "CNY", to: "usd"))
        #expect(abs(500_000 * usd.rate - 69_587) < 1)
        let cny = try #require(catalog.rate(from: "USD", to: "CNY"))
        #expect(abs(69_587 * cny.rate - 500_000) < 10)
        #expect(catalog.rate(from: "EUR", to: "USD") == nil)
    }
}
