/// Queries waiting for their `after` positions (read-your-writes) or for the first snapshot:
/// bounded in count and in bytes, each with a deadline. Generic over what is held, so that a test
/// drives it with plain values and the replica with requests.
public struct WaitQueue<Item> {
    public struct Entry {
        public var item: Item
        public var after: [String: UInt64]
        public var deadline: Int64
        public var bytes: Int
    }

    /// What became of a waiting query at a turn.
    public enum Due {
        /// Its positions are reached: answer it.
        case answer(Item)
        /// Its deadline passed with the replica loaded but behind: `stale`.
        case stale(Item)
        /// Its deadline passed before the first snapshot: `unavailable`.
        case unavailable(Item)
    }

    public let countLimit: Int
    public let byteLimit: Int
    public private(set) var entries: [Entry] = []
    public private(set) var bytes = 0

    public init(countLimit: Int, byteLimit: Int) {
        self.countLimit = countLimit
        self.byteLimit = byteLimit
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Holds a query until `now + timeoutMillis` (clamped to 0…60 s); false when the queue is full.
    public mutating func add(_ item: Item, after: [String: UInt64], timeoutMillis: Int?, bytes size: Int, now: Int64) -> Bool {
        guard entries.count < countLimit, bytes + size <= byteLimit else { return false }
        let timeout = Int64(min(max(timeoutMillis ?? 2000, 0), 60_000))
        bytes += size
        entries.append(Entry(item: item, after: after, deadline: now + timeout, bytes: size))
        return true
    }

    /// Takes out every query that is due, in the order they came: reached (when `ready`) or past
    /// its deadline. `reached` says whether a query's `after` positions are in.
    public mutating func due(now: Int64, ready: Bool, reached: ([String: UInt64]) -> Bool) -> [Due] {
        guard !entries.isEmpty else { return [] }
        var result: [Due] = []
        var still: [Entry] = []
        for entry in entries {
            if ready && reached(entry.after) {
                result.append(.answer(entry.item))
            } else if now >= entry.deadline {
                result.append(ready ? .stale(entry.item) : .unavailable(entry.item))
            } else {
                still.append(entry)
                continue
            }
            bytes -= entry.bytes
        }
        entries = still
        return result
    }
}

/// Each client may take a few snapshots in a row (`burst`), then one a second: one that asks again
/// and again without reading the replies cannot make a service build snapshot after snapshot for
/// it, while a subscriber that resyncs now and then never notices. A token bucket per client.
public struct SnapshotAllowance<Client: Hashable> {
    public let burst: Double
    /// Past this many clients remembered, those not heard from for 10 s are forgotten.
    public let clientLimit: Int
    private var credit: [Client: (credit: Double, at: Int64)] = [:]

    public init(burst: Double = 5, clientLimit: Int = 10_000) {
        self.burst = burst
        self.clientLimit = clientLimit
    }

    public var clients: Int { credit.count }

    /// nil when `client` may have a snapshot now, else the milliseconds until it may.
    public func wait(for client: Client, now: Int64) -> Int? {
        let credit = available(client, now: now)
        return credit >= 1 ? nil : Int(((1 - credit) * 1000).rounded(.up))
    }

    /// Counts a snapshot given to `client`.
    public mutating func take(for client: Client, now: Int64) {
        credit[client] = (available(client, now: now) - 1, now)
        if credit.count > clientLimit {
            credit = credit.filter { now - $0.value.at < 10_000 }
        }
    }

    private func available(_ client: Client, now: Int64) -> Double {
        let held = credit[client] ?? (burst, now)
        return min(burst, held.credit + Double(now - held.at) / 1000)
    }
}
