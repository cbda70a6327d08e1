import DeliveryMessages

/// Everything a service does with the bytes of a request before it changes any state: the
/// envelope, the body of every request type, report validation, and every query against a book
/// holding the sample-like catalog. The fuzz target (`fuzz/`) and its regression test run bytes
/// through this; any input must end in a value or a `ProtocolError`, never a crash or a hang.
public enum UntrustedInput {
    /// A small catalog and book for the queries and validation to work against.
    public static func book() -> FigureBook {
        let catalog = CatalogDocument(
            groups: [GroupEntry(id: "hima", name: "HIMA")],
            brands: [BrandEntry(id: "aito", name: "AITO", group: "hima")],
            models: [ModelEntry(id: "aito-m9", name: "AITO M9", brand: "aito", segment: "above-500k")],
            segments: [SegmentEntry(id: "above-500k", name: "above 500,000 yuan", minCNY: 500_000)],
            fx: [FXRate(quote: "CNY", base: "USD", rate: 7.1853)]
        )
        var book = FigureBook()
        try? book.apply(catalog: catalog)
        let report = DeliveryReport(
            id: "m9", source: "CPCA", period: "2025-05", group: "hima", brand: "aito", model: "aito-m9", units: 15_481,
            qualifier: .exact, reportedAt: "2025-06-01T00:00:00Z", note: nil, entity: book.catalog.ref(EntityKey(.model, "aito-m9"))
        )
        book.apply(report, stream: "fuzz", seq: 1)
        return book
    }

    /// Runs the bytes through every decoding path; returns how many paths accepted them.
    @discardableResult
    public static func exercise(_ bytes: [UInt8], book: FigureBook) -> Int {
        var accepted = 0
        guard case .success(let (head, message)) = Wire.parse(bytes) else { return 0 }
        accepted += 1
        if case .success(let reports) = Wire.submittedReports(message, id: head.id) {
            for (index, report) in reports.prefix(64).enumerated() {
                if (try? ReportValidator.validate(report, index: index, catalog: book.catalog, receivedAt: 0)) != nil { accepted += 1 }
            }
        }
        if case .success(let document) = Wire.decodeBody(CatalogDocument.self, in: message) {
            var copy = book
            if (try? copy.apply(catalog: document)) != nil { accepted += 1 }
        }
        for type in MessageType.queries {
            let reply = QueryDispatcher.answer(type: type, message: message, id: head.id, store: book, asOf: ["fuzz": 1])
            if case .success(let replyHead) = Wire.decodeHead(reply), replyHead.type != MessageType.error { accepted += 1 }
        }
        if case .success = Wire.decodeBody(ReplayRequest.self, in: message) { accepted += 1 }
        if case .success = Wire.decodeBody(SnapshotRequest.self, in: message) { accepted += 1 }
        if case .success = Wire.decodeBody(QueryControl.self, in: message) { accepted += 1 }
        return accepted
    }
}
