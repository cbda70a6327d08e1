import DeliveryCore
import DeliveryMessages
import Foundation
import Testing

/// The binary records of the internal links (docs/PROTOCOL.md, "Internal links"): each reads back
/// as written, over random reports and the figures a book makes of them; every strict prefix and
/// a trailing byte are refused; another tag or version is refused by name.
@Suite struct LinkRecordTests {
    static func material(seed: UInt64) throws -> (reports: [DeliveryReport], records: [FigureRecord], catalog: Catalog) {
        let catalog = try ShardingTests.catalog()
        let reports = ShardingTests.reports(seed: seed, catalog: catalog, measures: seed % 2 == 0)
        var book = FigureBook(catalog: catalog)
        for (index, report) in reports.enumerated() { book.apply(report, stream: "ingest-a", seq: UInt64(index + 1)) }
        return (reports, book.figureIDs.compactMap(book.record), catalog)
    }

    /// Every strict prefix throws, and so does one byte more.
    static func refusesCutsAndTails(_ bytes: [UInt8], _ decode: ([UInt8]) throws -> Void) {
        for length in 0..<bytes.count {
            #expect(throws: (any Error).self, "cut at \(length) of \(bytes.count)") { try decode(Array(bytes.prefix(length))) }
        }
        #expect(throws: (any Error).self, "a trailing byte") { try decode(bytes + [0]) }
    }

    @Test(arguments: 1...6 as ClosedRange<UInt64>)
    func storedReportsRoundTrip(seed: UInt64) throws {
        let (reports, _, _) = try Self.material(seed: seed)
        for report in reports {
            #expect(try StoredReport.decode(StoredReport.encode(report)) == report)
        }
        Self.refusesCutsAndTails(StoredReport.encode(reports[0])) { _ = try StoredReport.decode($0) }
    }

    @Test(arguments: 1...6 as ClosedRange<UInt64>)
    func figureListsRoundTrip(seed: UInt64) throws {
        let (_, records, _) = try Self.material(seed: seed)
        let bytes = FigureList.encode(records)
        #expect(try FigureList.decode(bytes) == records)
        #expect(try FigureList.decode(FigureList.encode([])) == [])
        Self.refusesCutsAndTails(FigureList.encode(Array(records.prefix(3)))) { _ = try FigureList.decode($0) }
    }

    @Test(arguments: 1...6 as ClosedRange<UInt64>)
    func figureBatchesRoundTrip(seed: UInt64) throws {
        let (reports, records, catalog) = try Self.material(seed: seed)
        let accepted = reports.enumerated().map { ReportAcceptedEvent(report: $1, stream: "ingest-a", seq: UInt64($0 + 1)) }
        let batch = FigureBatch(
            upstream: ["ingest-a": UInt64(reports.count), "ingest-b": 7],
            catalogs: [CatalogAcceptedEvent(catalog: catalog.document, stream: "ingest-a", seq: 1)],
            reports: accepted, figures: records
        )
        let back = try FigureBatch(decoding: try batch.encoded())
        #expect(back.upstream == batch.upstream)
        #expect(back.figures == records)
        #expect(back.reports.map(\.report) == reports && back.reports.map(\.seq) == accepted.map(\.seq))
        #expect(try CompactJSONEncoder.encode(back.catalogs[0].catalog) == CompactJSONEncoder.encode(catalog.document))
        let small = FigureBatch(upstream: ["ingest-a": 2], reports: Array(accepted.prefix(1)), figures: Array(records.prefix(2)))
        Self.refusesCutsAndTails(try small.encoded()) { _ = try FigureBatch(decoding: $0) }
    }

    @Test(arguments: 1...6 as ClosedRange<UInt64>)
    func eventBatchesRoundTrip(seed: UInt64) throws {
        let (reports, _, catalog) = try Self.material(seed: seed)
        let json = try CompactJSONEncoder.encode(catalog.document)
        var entries: [EventBatch.Entry] = [.catalog(seq: 1, json: json)]
        entries += reports.enumerated().map { .report(seq: UInt64($0 + 2), stored: StoredReport.encode($1)) }
        entries.append(.problem(seq: UInt64(reports.count + 2), type: "report.accepted", text: "the stored row does not parse"))
        let events = try EventBatch.decode(EventBatch.encode(entries), stream: "ingest-a")
        #expect(events.count == entries.count)
        #expect(events.map(\.seq) == Array(1...UInt64(entries.count)))
        #expect(events.dropFirst().dropLast().map(\.report) == reports)
        #expect(try events.first?.catalog.map(CompactJSONEncoder.encode) == json)
        #expect(events.last?.problem == "the stored row does not parse" && events.last?.report == nil)
        Self.refusesCutsAndTails(EventBatch.encode(Array(entries.prefix(3)))) { _ = try EventBatch.decode($0, stream: "s") }
    }

    @Test func otherTagsAndVersionsAreRefusedByName() throws {
        let (reports, records, _) = try Self.material(seed: 1)
        var list = FigureList.encode(records)
        list[1] = InternalLink.version + 1
        #expect(throws: LinkError.self) { try FigureList.decode(list) }
        let stored = StoredReport.encode(reports[0])
        #expect(throws: LinkError.self) { try FigureList.decode(stored) }
        #expect(throws: LinkError.self) { try FigureBatch(decoding: stored) }
        #expect(throws: LinkError.self) { try EventBatch.decode(stored, stream: "s") }
        #expect(throws: LinkError.self) { try StoredReport.decode(list) }
    }

    /// Layouts 3 (before measures), 4 (before powertrains) and 5 (before revisions), as logs and
    /// links of earlier builds hold them: the same bytes without the trailing fields, read as the
    /// whole deliveries figure with no earlier reports; this layout keeps a measure and a powertrain.
    @Test(arguments: [(UInt8(3), 2, 4), (UInt8(4), 1, 3), (UInt8(5), 0, 1)])
    func aReportOrFigureOfAnEarlierLayoutReadsAsTheWholeDeliveries(version: UInt8, reportTail: Int, recordTail: Int) throws {
        let (reports, records, _) = try Self.material(seed: 1)
        var old = StoredReport.encode(reports[0])
        #expect(old.suffix(2) == [0, 0])  // deliveries, the first measure; no powertrain
        old[1] = version
        old.removeLast(reportTail)
        #expect(try StoredReport.decode(old) == reports[0])
        var retail = reports[0]
        (retail.measure, retail.powertrain) = (.retail, .plugIn)
        let decoded = try StoredReport.decode(StoredReport.encode(retail))
        #expect(decoded.measure == .retail && decoded.powertrain == .plugIn)
        var writer = BinaryWriter(capacity: 64)
        writer.byte(FigureList.encode([]).first!)
        writer.byte(version)
        writer.varint(1)
        var one = FigureList.encode([records[0]])
        one.removeLast(recordTail)  // the measure, the powertrain with its fromParts, the revisions' count
        // The list's header is tag, version, count; the record follows it.
        let oldList = writer.bytes + one.dropFirst(3)
        #expect(try FigureList.decode(oldList) == [records[0]])
        var wholesale = records[0]
        (wholesale.measure, wholesale.powertrain, wholesale.fromParts) = (.wholesale, .BEV, true)
        #expect(try FigureList.decode(FigureList.encode([wholesale])).first == wholesale)
    }
}
