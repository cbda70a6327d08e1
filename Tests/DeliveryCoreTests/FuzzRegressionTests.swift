import DeliveryCore
import DeliveryMessages
import Foundation
import TestSupport
import Testing

/// Every input the fuzz target keeps (fuzz/corpus: the seeds and any crash it ever found) runs
/// through the same paths on every `swift test`; and the seeds still reach the paths they are for.
@Suite struct FuzzRegressionTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/corpus")

    @Test func theCorpusRunsThroughEveryPath() throws {
        let book = UntrustedInput.book()
        let files = try FileManager.default.contentsOfDirectory(at: Self.folder, includingPropertiesForKeys: nil)
        #expect(files.count >= 12)
        for file in files {
            _ = UntrustedInput.exercise(Array(try Data(contentsOf: file)), book: book)
        }
    }

    @Test(arguments: ["units.json", "ranking.json", "series.json", "streak.json", "convert.json", "submit-sample.json", "catalog.json", "timestamp-fraction.json"])
    func seedsReachTheirPaths(name: String) throws {
        let bytes = Array(try Data(contentsOf: Self.folder.appendingPathComponent(name)))
        #expect(UntrustedInput.exercise(bytes, book: UntrustedInput.book()) >= 2, "\(name)")
    }

    /// Real frames of the internal links (made by the encoders from a small book) read as what
    /// they are, so the fuzzer starts from inputs that reach deep into each decoder.
    /// The `-v1` seeds are version 1 frames (before approximate intervals) and the `-v2` ones (and
    /// the figure and report batches) version 2 frames (before segment ranks), which this build still reads.
    @Test(arguments: [
        "link-figure-batch.bin", "link-report-batch.bin", "link-figure-list.bin", "link-stored-report.bin", "link-checkpoint-body.bin",
        "link-figure-batch-v1.bin", "link-report-batch-v1.bin", "link-figure-list-v1.bin", "link-stored-report-v1.bin",
        "link-figure-list-v2.bin", "link-stored-report-v2.bin",
    ])
    func linkSeedsReachTheirDecoders(name: String) throws {
        let bytes = Array(try Data(contentsOf: Self.folder.appendingPathComponent(name)))
        #expect(UntrustedInput.internalLink(bytes, book: UntrustedInput.book()) >= 1, "\(name)")
    }

    /// Every cut and every single-byte change of a real frame ends in a value or an error.
    @Test func cutAndDamagedLinkFramesAreRefusedNotFatal() throws {
        let book = UntrustedInput.book()
        for name in ["link-figure-batch.bin", "link-report-batch.bin", "link-checkpoint-body.bin"] {
            let bytes = Array(try Data(contentsOf: Self.folder.appendingPathComponent(name)))
            for length in 0..<bytes.count { _ = UntrustedInput.internalLink(Array(bytes.prefix(length)), book: book) }
            for offset in 0..<bytes.count {
                for value: UInt8 in [0x00, 0x7F, 0x80, 0xFF] {
                    var damaged = bytes
                    damaged[offset] = value
                    _ = UntrustedInput.internalLink(damaged, book: book)
                }
            }
        }
    }

    @Test func hostileShapesAreRefusedNotFatal() {
        let book = UntrustedInput.book()
        let hostile: [[UInt8]] = [
            [], [0xFF, 0xFE], Array("{".utf8), Array(String(repeating: "[", count: 100_000).utf8),
            Array(#"{"v":1,"type":"submit","body":{"reports":[1,"a",null,{"units":1e400}]}}"#.utf8),
            Array(#"{"v":1,"type":"series","body":{"entity":{"market":true},"from":"1900-01","to":"2999-12"}}"#.utf8),
            Array(#"{"v":1,"type":"units","id":{"a":1},"body":{}}"#.utf8),
        ]
        for bytes in hostile { _ = UntrustedInput.exercise(bytes, book: book) }
        #expect(UntrustedInput.exercise(Array(String(repeating: "[", count: 100_000).utf8), book: book) == 0)
    }
}
