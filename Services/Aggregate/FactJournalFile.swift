import DeliveryCore
import DeliveryMessages
import Foundation
import Logging
import ServiceKit

/// The aggregate's fact journal on disk (`aggregate-<instance>.facts` beside its checkpoint; see
/// `FactJournal`): read once at start, a line appended for each turn that stated facts before
/// they are published (a `write` to the file, which a kill -9 does not undo; a line without facts
/// for a bulk turn, which states none), and rewritten as one line of the facts kept once it holds
/// twice as many facts, or lines, as the history keeps facts, so that the file stays bounded.
final class FactJournalFile {
    let path: String
    private let logger: Logger
    private var fd: Int32 = -1
    /// Facts and lines in the file beyond the first line, for the compaction.
    private var factsInFile = 0
    private var linesInFile = 0
    private(set) var lastError: String?

    init(directory: String, instance: String, logger: Logger) {
        path = directory + "/aggregate-\(instance).facts"
        self.logger = logger
    }

    /// Reads the journal, creating it under a new history id when there is none; returns the
    /// history and how far it stated facts.
    func load(capacity: Int) throws -> (FactHistory, [String: UInt64]) {
        let bytes = FileManager.default.contents(atPath: path).map { Array($0) } ?? []
        if let contents = FactJournal.read(bytes, capacity: capacity) {
            if contents.unreadable > 0 {
                logger.warning("fact journal lines that do not read were dropped", metadata: ["path": "\(path)", "lines": "\(contents.unreadable)"])
            }
            logger.info(
                "fact journal read",
                metadata: ["path": "\(path)", "history": "\(contents.history.id)", "last": "\(contents.history.last)", "through": "\(contents.through)"]
            )
            try compact(contents.history, through: contents.through)
            return (contents.history, contents.through)
        }
        let history = FactHistory(id: Self.newID(), capacity: capacity)
        logger.info("a new fact history", metadata: ["path": "\(path)", "history": "\(history.id)"])
        try compact(history, through: [:])
        return (history, [:])
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// A new history's id: `f` and 12 random hex digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let bits = generator.next() & 0xFFFF_FFFF_FFFF
        let hex = String(bits, radix: 16)
        return "f" + String(repeating: "0", count: 12 - hex.count) + hex
    }

    /// Appends a turn's facts (before they are published); compacts when the file has grown.
    func append(_ facts: [FactEvent], history: FactHistory, through: [String: UInt64]) {
        let line = FactJournal.Line(history: history.id, through: through, facts: facts, last: history.last).bytes
        do {
            try write(line)
            factsInFile += facts.count
            linesInFile += 1
            if factsInFile > 2 * history.capacity || linesInFile > 2 * history.capacity { try compact(history, through: through) }
            lastError = nil
        } catch {
            lastError = "\(error)"
            logger.error("the fact journal could not be written", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    /// Rewrites the file as one line holding the facts kept (atomically), then appends to it.
    private func compact(_ history: FactHistory, through: [String: UInt64]) throws {
        if fd >= 0 { close(fd) }
        fd = -1
        let line = FactJournal.Line(history: history.id, through: through, facts: history.facts, last: history.last).bytes
        try CheckpointStore.writeAtomically(line, to: path)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw StartError("cannot open \(path): \(errnoText(errno))") }
        factsInFile = 0
        linesInFile = 0
    }

    private func write(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw StartError("\(path) is not open") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            guard result > 0 else { throw StartError("cannot write \(path): \(errnoText(errno))") }
            written += result
        }
    }
}
