import DeliveryCore
import DeliveryMessages
import Testing
import TestSupport

/// An aggregate's checkpoint: saved at any point and loaded, then the rest of the streams
/// applied, it gives exactly what applying everything from the start gives; a damaged one is
/// refused, never trusted.
@Suite struct CheckpointTests {
    /// Every figure of two books, as the wire shows them (cause included).
    static func same(_ a: FigureBook, _ b: FigureBook) -> Bool {
        guard a.figureCount == b.figureCount, a.reportCount == b.reportCount else { return false }
        return a.keys.allSatisfy { a.body($0, previous: nil) == b.body($0, previous: nil) }
    }

    /// Random streams (reports interleaved from two ingest streams), a "kill" at a random point:
    /// checkpoint there, load it, replay only the tail. Always the same figures as a full replay.
    @Test(arguments: 1...25)
    func checkpointPlusTailEqualsFullReplay(seed: UInt64) throws {
        let catalog = try ShardingTests.catalog()
        let reports = ShardingTests.reports(seed: seed, catalog: catalog, measures: seed % 2 == 0)
        var random = SplitMix(state: seed &* 7919)
        let streams = reports.indices.map { _ in Bool.random(using: &random) ? "ingest-a" : "ingest-b" }
        var full = FigureBook(catalog: catalog)
        for (index, report) in reports.enumerated() { full.apply(report, stream: streams[index], seq: UInt64(index + 1)) }

        let cut = Int.random(in: 0...reports.count, using: &random)
        var before = FigureBook(catalog: catalog)
        for index in 0..<cut { before.apply(reports[index], stream: streams[index], seq: UInt64(index + 1)) }
        let saved = BookCheckpoint(
            book: before, groups: ["hima"], positions: ["ingest-a": UInt64(cut)], waiting: [(reports[0], "ingest-a", 3)], skipped: 2,
            setAside: 1
        )
        var loaded = try BookCheckpoint(decoding: try saved.encoded())
        #expect(loaded.groups == ["hima"] && loaded.positions == ["ingest-a": UInt64(cut)] && loaded.skipped == 2 && loaded.setAside == 1)
        #expect(loaded.waiting.count == 1 && loaded.waiting[0].0 == reports[0])
        #expect(Self.same(loaded.book, before), "seed \(seed): the loaded book differs before the tail")
        for index in cut..<reports.count { loaded.book.apply(reports[index], stream: streams[index], seq: UInt64(index + 1)) }
        #expect(Self.same(loaded.book, full), "seed \(seed), cut at \(cut) of \(reports.count)")
    }

    /// Cut short anywhere, a byte changed anywhere, another version, not a checkpoint: refused.
    @Test func aDamagedCheckpointIsRefused() throws {
        let catalog = try ShardingTests.catalog()
        var book = FigureBook(catalog: catalog)
        for (index, report) in ShardingTests.reports(seed: 5, catalog: catalog).enumerated() {
            book.apply(report, stream: "ingest-a", seq: UInt64(index + 1))
        }
        let bytes = try BookCheckpoint(book: book, groups: [], positions: ["ingest-a": 9], waiting: [], skipped: 0, setAside: 0).encoded()
        #expect(throws: LinkError.self) { try BookCheckpoint(decoding: []) }
        #expect(throws: LinkError.self) { try BookCheckpoint(decoding: Array("not a checkpoint at all".utf8)) }
        for length in stride(from: 0, to: bytes.count, by: max(bytes.count / 97, 1)) {
            #expect(throws: LinkError.self, "cut at \(length)") { try BookCheckpoint(decoding: Array(bytes.prefix(length))) }
        }
        for offset in stride(from: 0, to: bytes.count, by: max(bytes.count / 89, 1)) {
            var damaged = bytes
            damaged[offset] ^= 0x5A
            #expect(throws: LinkError.self, "byte \(offset) changed") { try BookCheckpoint(decoding: damaged) }
        }
        var otherVersion = bytes
        otherVersion[4] = BookCheckpoint.version + 1
        #expect(throws: LinkError.self) { try BookCheckpoint(decoding: otherVersion) }
        #expect(Self.same(try BookCheckpoint(decoding: bytes).book, book))
    }
}
