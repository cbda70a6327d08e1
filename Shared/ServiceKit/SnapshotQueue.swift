import DeliveryMessages
import ZeroMQ

/// Whole `snapshot` requests waiting their turn: one is answered per loop turn, so that the feed
/// and the other requests are served between snapshots, and a snapshot of the same prefix at the
/// same position is built once. Past `limit` waiting, a request gets `busy`.
public struct SnapshotQueue {
    public static let limit = 32
    private var waiting: [(request: RouterRequest, id: JSONValue, prefix: String)] = []
    private var cache: (prefix: String, seq: UInt64, body: SnapshotResult)?

    public init() {}

    public var count: Int { waiting.count }
    public var isEmpty: Bool { waiting.isEmpty }

    /// Queues a request; false (and `busy` replied) when the queue is full.
    public mutating func add(_ request: RouterRequest, id: JSONValue, prefix: String, router: Socket) -> Bool {
        guard waiting.count < Self.limit else {
            request.reply(busy("\(waiting.count) snapshots are queued", id: id), on: router)
            return false
        }
        waiting.append((request.stripped, id, prefix))
        return true
    }

    /// Answers the oldest request. `build` makes the snapshot of a prefix; `seq` is the position it
    /// reflects (the cache is kept while it is the same).
    public mutating func serveOne(router: Socket, seq: UInt64, build: (String) -> SnapshotResult) {
        guard !waiting.isEmpty else { return }
        let (request, id, prefix) = waiting.removeFirst()
        let body: SnapshotResult
        if let cached = cache, cached.prefix == prefix, cached.seq == seq {
            body = cached.body
        } else {
            body = build(prefix)
            cache = (prefix, seq, body)
        }
        request.reply(Envelope(MessageType.snapshotResult, id: id, body: body), on: router)
    }

    /// Forgets the cached snapshot (the state it was built from is gone).
    public mutating func forget() {
        cache = nil
    }
}
