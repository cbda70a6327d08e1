import DeliveryCore
import DeliveryMessages
import Foundation
import Logging
import ServiceKit

/// Where the aggregate keeps its checkpoint, and the threads that read and write it, so that the
/// loop never waits on the disk: loading at start and saving periodically happen beside it (the
/// book is a value: a saved copy costs nothing until the live book changes).
///
/// A save writes a temporary file, fsyncs it, renames it over the old one and fsyncs the folder:
/// a crash at any point leaves the old checkpoint or the new one, never half of one.
final class CheckpointStore: @unchecked Sendable {
    let path: String
    private let logger: Logger
    private let lock = NSLock()
    private var loaded: BookCheckpoint??
    private var saving = false
    private(set) var lastSaveMillis: Int64 = 0
    private(set) var lastSavedAt: Int64 = 0
    private(set) var lastBytes = 0
    /// Reports applied in the last checkpoint saved.
    private(set) var lastReports = 0

    init(directory: String, instance: String, logger: Logger) {
        path = directory + "/aggregate-\(instance).checkpoint"
        self.logger = logger
    }

    // MARK: Loading

    /// Reads the checkpoint on its own thread; `takeLoaded` hands it over once read.
    func startLoading(groups: [String]) {
        let path = path
        let logger = logger
        Thread.detachNewThread { [self] in
            let started = monotonicMillis()
            let result: BookCheckpoint?
            if let bytes = FileManager.default.contents(atPath: path) {
                do {
                    let checkpoint = try BookCheckpoint(decoding: Array(bytes))
                    if checkpoint.groups != groups {
                        logger.warning(
                            "the checkpoint is of a shard with other groups; replaying from the start",
                            metadata: ["path": "\(path)", "groups": "\(checkpoint.groups)", "mine": "\(groups)"]
                        )
                        result = nil
                    } else {
                        logger.info(
                            "checkpoint loaded",
                            metadata: [
                                "path": "\(path)", "figures": "\(checkpoint.book.figureCount)", "positions": "\(checkpoint.positions)",
                                "ms": "\(monotonicMillis() - started)",
                            ]
                        )
                        result = checkpoint
                    }
                } catch {
                    logger.error(
                        "the checkpoint cannot be used; it is ignored and the ingest logs are replayed from the start",
                        metadata: ["path": "\(path)", "reason": "\(error)"]
                    )
                    result = nil
                }
            } else {
                logger.info("no checkpoint; replaying the ingest logs from the start", metadata: ["path": "\(path)"])
                result = nil
            }
            lock.withLock { loaded = .some(result) }
        }
    }

    /// The checkpoint once read: `.some(nil)` when there is none to use; nil while still reading.
    func takeLoaded() -> BookCheckpoint?? {
        lock.withLock {
            defer { if loaded != nil { loaded = .some(nil) } }
            return loaded
        }
    }

    // MARK: Saving

    var isSaving: Bool { lock.withLock { saving } }

    /// Saves on a thread of its own; does nothing while an earlier save is still under way.
    func saveInBackground(_ checkpoint: BookCheckpoint) {
        guard lock.withLock({ saving ? false : { saving = true; return true }() }) else { return }
        Thread.detachNewThread { [self] in
            write(checkpoint)
            lock.withLock { saving = false }
        }
    }

    /// Saves now (at shutdown), after any save under way.
    func saveNow(_ checkpoint: BookCheckpoint) {
        while isSaving { usleep(10_000) }
        write(checkpoint)
    }

    private func write(_ checkpoint: BookCheckpoint) {
        let started = monotonicMillis()
        do {
            let bytes = try checkpoint.encoded()
            try Self.writeAtomically(bytes, to: path)
            let took = monotonicMillis() - started
            lock.withLock {
                lastSaveMillis = took
                lastSavedAt = monotonicMillis()
                lastBytes = bytes.count
                lastReports = checkpoint.book.reportCount
            }
            logger.info(
                "checkpoint saved",
                metadata: ["path": "\(path)", "figures": "\(checkpoint.book.figureCount)", "bytes": "\(bytes.count)", "ms": "\(took)"]
            )
        } catch {
            logger.error("the checkpoint could not be saved; the last one stays", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StartError("cannot open \(temporary): \(errnoText(errno))") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            guard result > 0 else {
                let reason = errnoText(errno)
                close(fd)
                throw StartError("cannot write \(temporary): \(reason)")
            }
            written += result
        }
        guard fsync(fd) == 0 else {
            let reason = errnoText(errno)
            close(fd)
            throw StartError("cannot sync \(temporary): \(reason)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw StartError("cannot rename \(temporary): \(errnoText(errno))") }
        let directory = (path as NSString).deletingLastPathComponent
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }
}

/// Where an aggregate's checkpoints stand, as one lifecycle: off, loading the last one (nothing
/// is followed until it is in), or following with what the last one held and when it was taken.
enum Checkpointing {
    /// What a checkpoint recorded: reports applied and positions; a checkpoint is saved only
    /// when these changed.
    struct Held: Equatable {
        var reports: Int
        var positions: [String: UInt64]
    }

    /// No checkpoints (an interval of 0): a restart replays every log.
    case off
    case loading(CheckpointStore)
    /// `saved`: what the last checkpoint held (nil: none yet, or a rebuild since); `at`: when
    /// the last one was taken (or loading ended).
    case following(CheckpointStore, saved: Held?, at: Int64)

    var store: CheckpointStore? {
        switch self {
        case .off: nil
        case .loading(let store), .following(let store, _, _): store
        }
    }
}
