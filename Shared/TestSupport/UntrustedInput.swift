import DeliveryCore
import DeliveryMessages

/// Everything a service does with the bytes of a request before it changes any state: the
/// envelope, the body of every request type, report validation, and every query against a book
/// holding the sample-like catalog; the bytes as a CSV file of reports; every string in them as a
/// time and a period; and each report that validates applied to a book, as a follower would. The
/// fuzz target (`fuzz/`) and its regression test run bytes through this; any input must end in a
/// value or an error, never a crash or a hang.
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
            qualifier: .exact, reportedAt: "2025-06-01T00:00:00Z", note: nil, entity: book.catalog.ref(EntityKey(.model, "aito-m9")),
            segmentRank: 1
        )
        book.apply(report, stream: "fuzz", seq: 1)
        // A second source's approximate figure with an interval of its own.
        var about = report
        (about.id, about.source, about.units, about.qualifier, about.low, about.high) = ("m9-about", "news", 15_500, .approximate, 15_000, 16_000)
        about.segmentRank = nil
        book.apply(about, stream: "fuzz", seq: 2)
        // A month known by its powertrain parts: a sum of parts (link layout 5, checkpoint 6).
        var part = report
        (part.id, part.period, part.units, part.segmentRank, part.powertrain) = ("m9-erev", "2025-06", 12_000, nil, .EREV)
        book.apply(part, stream: "fuzz", seq: 3)
        // A revision: the figure keeps its earlier report (link layout 6, checkpoint 7).
        var revised = part
        (revised.id, revised.units, revised.reportedAt) = ("m9-erev-revised", 12_100, "2025-07-02T00:00:00Z")
        book.apply(revised, stream: "fuzz", seq: 4)
        return book
    }

    /// Runs the bytes through every decoding path; returns how many paths accepted them.
    @discardableResult
    public static func exercise(_ bytes: [UInt8], book: FigureBook) -> Int {
        var accepted = 0
        // The bytes as a file of reports (CSV, fed in two pieces as a file read in chunks is),
        // and as the text of a time or a period.
        accepted += csv(bytes)
        accepted += scalars(String(decoding: bytes.prefix(256), as: UTF8.self))
        accepted += internalLink(bytes, book: book)
        guard case .success(let read) = Wire.parse(bytes) else { return accepted }
        let (head, message) = (read.head, read.message)
        accepted += 1
        // Every string anywhere in the message through the time and period parsers.
        var strings: [String] = []
        collectStrings(message, into: &strings)
        for text in strings.prefix(256) { accepted += scalars(text) }
        if case .success(let reports) = Wire.submittedReports(message, id: head.id) {
            var copy = book
            for (index, report) in reports.prefix(64).enumerated() {
                guard let valid = try? ReportValidator.validate(report, index: index, catalog: book.catalog, receivedAt: 1_750_000_000_000)
                else { continue }
                accepted += 1
                // What a follower does with it: check it again, then add it into every sum above.
                if ReportValidator.unusable(valid.report) == nil {
                    copy.apply(valid.report, stream: "fuzz", seq: UInt64(index) + 2)
                }
            }
        }
        if case .success(let document) = Wire.decodeBody(CatalogDocument.self, in: message) {
            var copy = book
            if (try? copy.apply(catalog: document)) != nil { accepted += 1 }
        }
        for kind in QueryKind.allCases {
            let reply = QueryDispatcher.answer(kind, message: message, id: head.id, store: book, asOf: ["fuzz": 1]).bytes
            if case .success(let replyRead) = Wire.parse(reply), replyRead.kind != .error { accepted += 1 }
        }
        if case .success = Wire.decodeBody(ReplayRequest.self, in: message) { accepted += 1 }
        if case .success = Wire.decodeBody(SnapshotRequest.self, in: message) { accepted += 1 }
        if case .success = Wire.decodeBody(QueryControl.self, in: message) { accepted += 1 }
        return accepted
    }

    /// The bytes as every record of the internal links (a figure batch, an event batch of a
    /// replay page or `report.batch`, a snapshot part, a stored report) and as the body of a
    /// checkpoint whose hash matches (anyone who can write the data dir can make one); what
    /// decodes is used as a follower would use it. How many read.
    public static func internalLink(_ bytes: [UInt8], book: FigureBook) -> Int {
        var accepted = 0
        if let batch = try? FigureBatch(decoding: bytes) {
            accepted += 1
            for figure in batch.figures.prefix(64) {
                _ = figure.body(entity: book.catalog.ref(EntityKey(figure.level, figure.id)), previous: 0)
            }
        }
        if let events = try? EventBatch.decode(bytes, stream: "fuzz") {
            accepted += 1
            var copy = book
            for (index, event) in events.prefix(64).enumerated() {
                if let report = event.report, ReportValidator.unusable(report) == nil {
                    copy.apply(report, stream: "fuzz", seq: UInt64(index) + 2)
                }
                if let catalog = event.catalog { _ = try? copy.apply(catalog: catalog) }
            }
        }
        if (try? FigureList.decode(bytes)) != nil { accepted += 1 }
        if (try? StoredReport.decode(bytes)) != nil { accepted += 1 }
        if let checkpoint = try? BookCheckpoint(decoding: BookCheckpoint.sealing(bytes)) {
            accepted += 1
            _ = checkpoint.book.figureCount
        }
        return accepted
    }

    /// Reads the bytes as a CSV file of reports; 1 when they read.
    static func csv(_ bytes: [UInt8]) -> Int {
        var reader = ReportCSVReader()
        let middle = bytes.count / 2
        do {
            _ = try reader.feed(bytes[..<middle])
            _ = try reader.feed(bytes[middle...])
            _ = try reader.finish()
            return 1
        } catch {
            return 0
        }
    }

    /// The text through the parsers of times and periods; how many took it.
    static func scalars(_ text: String) -> Int {
        var accepted = 0
        if let millis = Timestamp.millis(text) {
            _ = Timestamp.format(millis: millis)
            accepted += 1
        }
        if let period = try? Period(parsing: text) {
            _ = period.description
            _ = period.container
            accepted += 1
        }
        return accepted
    }

    static func collectStrings(_ value: JSONValue, into strings: inout [String]) {
        switch value {
        case .string(let text): strings.append(text)
        case .array(let items): for item in items { collectStrings(item, into: &strings) }
        case .object(let fields): for (key, item) in fields { strings.append(key); collectStrings(item, into: &strings) }
        default: break
        }
    }
}
