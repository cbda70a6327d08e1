import DeliveryCore
import DeliveryMessages
import Testing

/// What the hardening issue found: inputs that crashed or poisoned a service, each refused or
/// survived here at the level of the core.
@Suite struct HostileInputTests {
    static let june2025: Int64 = 1_748_736_000_000

    func report(_ fields: [String: JSONValue]) -> JSONValue {
        var all: [String: JSONValue] = ["source": .string("CPCA"), "period": .string("2025-05"), "model": .string("AITO M9"), "units": .int(1)]
        all.merge(fields) { $1 }
        return .object(all)
    }

    func validate(_ fields: [String: JSONValue]) throws(ProtocolError) -> ReportValidator.Validated {
        try ReportValidator.validate(report(fields), index: 0, catalog: try! Catalog(Sample.load().catalog), receivedAt: Self.june2025)
    }

    @Test(arguments: [
        ("2025-06-01T00:00:00.1234Z", Int64(1_748_736_000_123)),
        ("2025-06-01T00:00:00.123456789Z", 1_748_736_000_123),
        ("2025-06-01T00:00:00.1Z", 1_748_736_000_100),
        ("2025-06-01T00:00:00.12Z", 1_748_736_000_120),
        ("2025-06-01T08:00:00.99999999999999999999999+08:00", 1_748_736_000_999),
    ])
    func fractionsOfAnyLengthParse(text: String, millis: Int64) {
        #expect(Timestamp.millis(text) == millis)
    }

    /// A measure is one of the protocol's words exactly; one powertrain's part would replace the
    /// entity's whole figure: both refused by name.
    @Test(arguments: [
        (["measure": JSONValue.string("retail ")], "measure", "must be one of deliveries, retail, wholesale"),
        (["measure": .string("Deliveries")], "measure", "not 'Deliveries'"),
        (["measure": .int(1)], "measure", "must be a string"),
        (["powertrain": .string("PHEV")], "powertrain", "PHEV"),
    ])
    func aBadMeasureOrAPowertrainIsRefusedByName(fields: [String: JSONValue], field: String, says: String) {
        #expect {
            try validate(fields)
        } throws: { error in
            guard let error = error as? ProtocolError else { return false }
            return error.code == .invalidReport && error.details?["field"] == .string(field) && error.message.contains(says)
        }
    }

    @Test func deliveriesNamedOrNotAreTheSameReportAndRetailIsAnother() throws {
        let plain = try validate([:])
        let named = try validate(["measure": .string("deliveries")])
        #expect(plain.report.id == named.report.id && plain.contentHash == named.contentHash && named.report.measure == nil)
        let retail = try validate(["measure": .string("retail")])
        #expect(retail.report.measure == .retail && retail.report.id != plain.report.id)
    }

    @Test func aReportedAtWithManyFractionDigitsValidates() throws {
        let valid = try validate(["reportedAt": .string("2025-06-01T00:00:00.1234Z")])
        #expect(valid.report.reportedAt == "2025-06-01T00:00:00.1234Z")
    }

    @Test(arguments: ["0000-01-01T00:00:00Z", "1899-12-31", "9999-12-31T23:59:59Z", "2025-06-03T00:00:00Z"])
    func reportedAtFarInThePastOrAheadIsRefused(text: String) {
        let error = #expect(throws: ProtocolError.self) { try validate(["reportedAt": .string(text)]) }
        #expect(error?.code == .invalidReport)
        #expect(error?.details?["field"] == .string("reportedAt"))
    }

    @Test func aReportedAtWithinADayAheadIsTaken() throws {
        _ = try validate(["reportedAt": .string("2025-06-01T23:00:00Z")])
    }

    @Test(arguments: [JSONValue.int(.max), .int(5_000_000_000_000_000_000), .int(1_000_000_001), .double(1e18), .double(2e9)])
    func unitsBeyondAnyRealFigureAreRefused(units: JSONValue) {
        let error = #expect(throws: ProtocolError.self) { try validate(["units": units]) }
        #expect(error?.code == .invalidReport)
        #expect(error?.message.contains("at most") == true)
    }

    @Test func theLargestAllowedUnitsAreTaken() throws {
        #expect(try validate(["units": .int(ReportValidator.maxUnits)]).report.units == ReportValidator.maxUnits)
        #expect(try validate(["units": .double(15481.0)]).report.units == 15481)
    }

    @Test func aStoredReportOutOfRangeIsUnusableAndSumsNeverTrap() throws {
        var book = try Sample.book()
        let catalog = book.catalog
        let huge = DeliveryReport(
            id: "old", source: "X", period: "2025-05", group: "hima", brand: nil, model: nil, units: .max, qualifier: .exact,
            reportedAt: "2025-07-01T00:00:00Z", note: nil, entity: catalog.ref(EntityKey(.group, "hima"))
        )
        #expect(ReportValidator.unusable(huge) != nil)
        // Even applied regardless (as an older follower would), sums pin instead of trapping.
        book.apply(huge, stream: "s", seq: 1000)
        var other = huge
        other.id = "old2"
        other.group = "market"
        other.entity = catalog.ref(.market)
        other.period = "2025"
        book.apply(other, stream: "s", seq: 1001)
        #expect(book.figure(.market, try Period(parsing: "2025-05"))?.units == .max)
        #expect(Int64.max.saturatingAdding(1) == .max)
        #expect(Int64.min.saturatingSubtracting(1) == .min)
        #expect(Int64(5).saturatingSubtracting(7) == -2)
    }

    // MARK: CSV

    func csv(_ text: [UInt8], chunk: Int = 3) throws(CSVError) -> [(line: Int, report: JSONValue)] {
        var reader = ReportCSVReader()
        var all: [(line: Int, report: JSONValue)] = []
        var start = 0
        while start < text.count {
            all += try reader.feed(text[start..<min(start + chunk, text.count)])
            start += chunk
        }
        return all + (try reader.finish())
    }

    @Test func csvWithABOMAndCRLFReadsInAnyChunking() throws {
        let text = Array("\u{FEFF}source,period,model,units\r\nCPCA,2025-05,\"AITO, \"\"M9\"\"\",15481.0\r\nCAAM,2025-04,M8,7\r\n".utf8)
        for chunk in [1, 2, 5, 1000] {
            let reports = try csv(text, chunk: chunk)
            #expect(reports.count == 2)
            #expect(reports[0].line == 2 && reports[1].line == 3)
            #expect(reports[0].report["model"] == .string("AITO, \"M9\""))
            #expect(reports[0].report["units"] == .double(15481))
            #expect(reports[1].report["units"] == .int(7))
            #expect(reports[0].report["source"] == .string("CPCA"))
        }
    }

    @Test func anUnclosedQuoteIsAnErrorNamingItsLine() {
        let text = Array("source,period,model,units\nCPCA,2025-05,AITO M9,1\nCPCA,2025-05,\"AITO M9,2\nCPCA,2025-04,AITO M9,3\n".utf8)
        let error = #expect(throws: CSVError.self) { try csv(text) }
        #expect(error?.line == 3)
        #expect(error?.message.contains("never closed") == true)
    }

    @Test func bytesThatAreNotUTF8AreAnErrorNamingTheLine() {
        let text = Array("source,period,model,units\nCPCA,2025-05,AITO M9,1\n".utf8) + [0x43, 0xFF, 0x2C] + Array("2025-05,M8,2\n".utf8)
        let error = #expect(throws: CSVError.self) { try csv(text) }
        #expect(error?.line == 3)
        #expect(error?.message.contains("UTF-8") == true)
    }

    @Test func unknownColumnsAndShortRowsNameTheirLine() {
        let unknown = #expect(throws: CSVError.self) { try csv(Array("source,units,colour\n".utf8)) }
        #expect(unknown?.line == 1)
        let short = #expect(throws: CSVError.self) { try csv(Array("source,period,model,units\nCPCA,2025-05\n".utf8)) }
        #expect(short?.line == 2)
        let empty = #expect(throws: CSVError.self) { try csv([]) }
        #expect(empty?.line == 1)
    }

    @Test func aQuotedFieldSpanningLinesKeepsLineNumbersRight() throws {
        let text = Array("source,period,model,units,note\nCPCA,2025-05,M9,1,\"two\nlines\"\nCPCA,2025-04,M9,2,x".utf8)
        let reports = try csv(text)
        #expect(reports.map(\.line) == [2, 4])
        #expect(reports[0].report["note"] == .string("two\nlines"))
    }

    // MARK: Catalog

    @Test func aPutWhoseNamesCollideIsRefusedAndChangesNothing() throws {
        var catalog = try Catalog(Sample.load().catalog)
        let before = catalog.document
        let alias = #expect(throws: ProtocolError.self) {
            try catalog.merge(
                CatalogDocument(brands: [BrandEntry(id: "newbrand", name: "New Brand", group: "hima", aliases: ["AITO"])]),
                refusingCollisions: true
            )
        }
        #expect(alias?.code == .invalidReport)
        #expect(alias?.details?["collidesWith"] == .string("aito"))
        #expect(catalog.document == before)
        #expect(try catalog.resolve(EntitySelector(brand: "AITO")) == EntityKey(.brand, "aito"))
        // Two models may share a name under different brands; not under the same one.
        try catalog.merge(
            CatalogDocument(models: [ModelEntry(id: "luxeed-x9", name: "AITO M9", brand: "luxeed")]), refusingCollisions: true
        )
        let sameBrand = #expect(throws: ProtocolError.self) {
            try catalog.merge(
                CatalogDocument(models: [ModelEntry(id: "aito-m9b", name: "M9 bis", brand: "aito", aliases: ["aito m9"])]),
                refusingCollisions: true
            )
        }
        #expect(sameBrand?.details?["collidesWith"] == .string("aito-m9"))
        // A log written before the check still loads.
        try catalog.merge(CatalogDocument(brands: [BrandEntry(id: "newbrand", name: "New Brand", group: "hima", aliases: ["AITO"])]))
    }

    @Test func puttingEntriesOneByOneIndexesLikeOnePut() throws {
        let document = try Sample.load().catalog
        let whole = try Catalog(document)
        var piecewise = Catalog()
        try piecewise.merge(CatalogDocument(groups: document.groups, segments: document.segments, fx: document.fx))
        for brand in document.brands { try piecewise.merge(CatalogDocument(brands: [brand])) }
        for model in document.models.reversed() { try piecewise.merge(CatalogDocument(models: [model])) }
        #expect(piecewise.document == whole.document)
        for group in document.groups {
            let key = EntityKey(.group, group.id)
            #expect(piecewise.children(of: key) == whole.children(of: key))
        }
        for model in document.models {
            #expect(try piecewise.resolve(EntitySelector(model: model.name)) == whole.resolve(EntitySelector(model: model.name)))
        }
        #expect(whole.holds(CatalogDocument(models: [document.models[0]])))
        var renamed = document.models[0]
        renamed.name += " (renamed)"
        #expect(!whole.holds(CatalogDocument(models: [renamed])))
        // A rename frees the old name and takes the new one.
        var catalog = whole
        try catalog.merge(CatalogDocument(models: [renamed]), refusingCollisions: true)
        #expect(try catalog.resolve(EntitySelector(model: renamed.name)) == EntityKey(.model, renamed.id))
    }
}

/// A checkpoint whose hash matches (FNV-1a, which anyone who can write the data dir recomputes)
/// and whose counts pass what an `Int` holds: refused with the decoder's error, never a trap.
@Suite struct ForgedCheckpointTests {
    /// A checkpoint body up to the report count: no groups or positions, `skipped`, `setAside`,
    /// no waiting reports, the sample's catalog, then `reportCount`.
    static func body(skipped: UInt64, setAside: UInt64, reportCount: UInt64) throws -> [UInt8] {
        var writer = BinaryWriter()
        writer.varint(0)
        writer.varint(0)
        writer.varint(skipped)
        writer.varint(setAside)
        writer.varint(0)
        writer.raw(try CompactJSONEncoder.encode(try Sample.book().catalog.document))
        writer.varint(reportCount)
        return writer.bytes
    }

    @Test(arguments: [
        (UInt64(1) << 63, UInt64(0), UInt64(0)), (0, UInt64.max, 0), (0, 0, UInt64(1) << 63), (0, 0, UInt64.max),
    ])
    func countsPastIntAreRefused(skipped: UInt64, setAside: UInt64, reportCount: UInt64) throws {
        let forged = BookCheckpoint.sealing(try Self.body(skipped: skipped, setAside: setAside, reportCount: reportCount))
        let error = #expect(throws: LinkError.self) { try BookCheckpoint(decoding: forged) }
        #expect(error?.description.contains("past the largest") == true, "\(String(describing: error))")
    }

    @Test func aRealCheckpointResealedStillReads() throws {
        let bytes = try BookCheckpoint(book: try Sample.book(), groups: [], positions: ["ingest-a": 3], waiting: [], skipped: 0, setAside: 0).encoded()
        let resealed = BookCheckpoint.sealing(Array(bytes[5..<(bytes.count - 8)]))
        #expect(resealed == bytes)
        #expect(try BookCheckpoint(decoding: resealed).positions == ["ingest-a": 3])
    }
}
