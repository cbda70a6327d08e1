import DeliveryMessages

/// An aggregate's fact history: every fact it stated, numbered from 1 in the order stated, under
/// an id that lasts as long as the aggregate's data directory. It keeps at least the last
/// `capacity` facts (up to a quarter more, trimmed in one go), so that its cost is bounded
/// whatever the feed; a replica keeps a copy of each aggregate's.
public struct FactHistory: Sendable, Equatable {
    public let id: String
    public let capacity: Int
    /// The facts kept, oldest first; numbers `first` … `last`.
    public private(set) var facts: [FactEvent] = []
    /// The number of the last fact stated (0: none yet).
    public private(set) var last: UInt64 = 0

    public init(id: String, capacity: Int) {
        self.id = id
        self.capacity = max(capacity, 1)
    }

    /// The history as a snapshot or journal carries it (facts beyond `capacity` dropped).
    public init(_ body: FactHistoryBody, capacity: Int) {
        self.init(id: body.history, capacity: capacity)
        facts = Array(body.facts.filter { $0.history == body.history && ($0.number ?? 0) <= body.last }.suffix(self.capacity))
        last = body.last
    }

    public var body: FactHistoryBody { FactHistoryBody(history: id, last: last, facts: facts) }

    /// The number of the oldest fact kept (`last` + 1 when none is kept).
    public var first: UInt64 { facts.first?.number ?? last &+ 1 }

    public var range: FactHistoryRange { FactHistoryRange(history: id, first: first, last: last) }

    /// A fact stated now: numbered next, kept, and returned as it goes out.
    public mutating func state(_ event: FactEvent, at statedAt: String) -> FactEvent {
        var event = event
        last += 1
        event.history = id
        event.number = last
        event.statedAt = statedAt
        keep(event)
        return event
    }

    /// A fact stated by the aggregate whose history this is a copy of: kept when it is the next
    /// (true), ignored when it is one already held (false). A fact past the next leaves a gap:
    /// kept too (the caller resyncs to fill it).
    public mutating func take(_ event: FactEvent) -> Bool {
        guard event.history == id, let number = event.number, number > last else { return false }
        last = number
        keep(event)
        return true
    }

    /// The last number moves on to `number` (a journal line naming a later last fact than it
    /// holds: the history's numbers never go back).
    public mutating func advance(to number: UInt64) {
        last = max(last, number)
    }

    private mutating func keep(_ event: FactEvent) {
        facts.append(event)
        if facts.count > capacity + capacity / 4 { facts.removeFirst(facts.count - capacity) }
    }

    /// The facts kept after `number`, oldest first.
    public func after(_ number: UInt64) -> ArraySlice<FactEvent> {
        // Numbers rise along the array (a binary search: a copy may have gaps).
        var (low, high) = (0, facts.count)
        while low < high {
            let middle = (low + high) / 2
            if facts[middle].number ?? 0 <= number { low = middle + 1 } else { high = middle }
        }
        return facts[low...]
    }
}

/// The fact histories a replica holds (one per aggregate it follows), and the `facts` request
/// answered from them.
public struct FactHistories: Sendable {
    public private(set) var byOrigin: [UInt8: FactHistory] = [:]
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// An aggregate's history as its snapshot had it; returns the facts newer than the copy held
    /// (same history), for subscribers that missed them. A new history (its aggregate lost its
    /// data directory) replaces the old one and tells nothing: its facts are not news.
    public mutating func install(_ body: FactHistoryBody, origin: UInt8) -> [FactEvent] {
        let installed = FactHistory(body, capacity: capacity)
        defer { byOrigin[origin] = installed }
        guard let held = byOrigin[origin], held.id == installed.id else { return [] }
        return Array(installed.after(held.last))
    }

    /// A batch's facts from an aggregate; returns the ones not held before (each fact once).
    public mutating func take(_ facts: [FactEvent], origin: UInt8) -> [FactEvent] {
        guard let first = facts.first, let id = first.history else { return [] }
        var history = byOrigin[origin] ?? FactHistory(id: id, capacity: capacity)
        // An aggregate whose history is new to this replica (it started after the snapshot).
        if history.id != id { history = FactHistory(id: id, capacity: capacity) }
        let new = facts.filter { history.take($0) }
        byOrigin[origin] = history
        return new
    }

    public var ranges: [FactHistoryRange] { byOrigin.values.map(\.range).sorted { $0.history < $1.history } }

    /// Answers `facts`: the facts after the token (each history from its position; a history the
    /// token does not name, from its start), oldest first, at most `limit` of those under
    /// `prefix`; the token moves past every fact looked at.
    public func answer(_ request: FactsRequest) throws(ProtocolError) -> FactsResult {
        let limit = request.limit ?? FactsRequest.defaultLimit
        guard (1...FactsRequest.maxLimit).contains(limit) else {
            throw ProtocolError(.invalidQuery, "'limit' must be 1 to \(FactsRequest.maxLimit)", details: ["field": .string("limit")])
        }
        let prefix = request.prefix ?? Topic.fact
        guard prefix.hasPrefix(Topic.fact) || Topic.fact.hasPrefix(prefix) else {
            throw ProtocolError(.invalidQuery, "'prefix' must be a fact topic prefix (fact.…)", details: ["field": .string("prefix")])
        }
        let histories = byOrigin.values.sorted { $0.id < $1.id }
        var token: FactToken
        let candidates: [FactEvent]
        if let since = request.since {
            token = try Self.token(since, histories: histories)
            candidates = Self.merged(histories.map { $0.after(token.positions[$0.id] ?? 0) })
        } else {
            // No token: the latest facts (a script starting now), and the token after them.
            token = FactToken(Dictionary(uniqueKeysWithValues: histories.map { ($0.id, $0.last) }))
            let latest = Self.merged(histories.map { $0.facts[...] }).filter { prefix == Topic.fact || Self.topic($0).hasPrefix(prefix) }
            return FactsResult(facts: Array(latest.suffix(limit)), token: token.text, more: false, histories: ranges)
        }
        var facts: [FactEvent] = []
        var more = false
        for fact in candidates {
            let wanted = prefix == Topic.fact || Self.topic(fact).hasPrefix(prefix)
            if wanted && facts.count == limit {
                more = true
                break
            }
            token.saw(fact)
            if wanted { facts.append(fact) }
        }
        return FactsResult(facts: facts, token: token.text, more: more, histories: ranges)
    }

    /// The token read and checked against the histories held: every history it names must be
    /// one held, and its position not older than the oldest fact kept.
    static func token(_ text: String, histories: [FactHistory]) throws(ProtocolError) -> FactToken {
        guard var token = FactToken(parsing: text) else {
            throw ProtocolError(
                .invalidQuery, "'since' is not a fact token (<history>:<number>, comma-separated, as a facts.result gives it)",
                details: ["field": .string("since")]
            )
        }
        for (id, number) in token.positions {
            guard let history = histories.first(where: { $0.id == id }) else {
                throw ProtocolError(
                    .invalidQuery,
                    "unknown token: fact history '\(id)' is not one this replica holds (an aggregate's history starts anew when its "
                        + "data directory is lost); ask without 'since' for the current token",
                    details: ["field": .string("since"), "histories": .array(histories.map { .string($0.id) })]
                )
            }
            // (No `number + 1`: a token's number may be the largest there is.)
            guard history.first == 0 || number >= history.first - 1 else {
                throw ProtocolError(
                    .invalidQuery,
                    "the token is older than the facts kept: history '\(id)' keeps facts \(history.first) to \(history.last), the token "
                        + "stands at \(number); facts \(number + 1) to \(history.first - 1) are no longer kept",
                    details: ["field": .string("since"), "history": .string(id), "first": .int(Int64(history.first)), "last": .int(Int64(history.last))]
                )
            }
            // A replica behind the token (another replica answered it before): nothing older is
            // answered again, and the token keeps its place.
            token.positions[id] = number
        }
        return token
    }

    /// Oldest first: the histories' runs merged by the time each fact was stated (then history),
    /// each history's facts kept in the order of their numbers whatever its clock did.
    static func merged(_ runs: [ArraySlice<FactEvent>]) -> [FactEvent] {
        var runs = runs.filter { !$0.isEmpty }
        var out: [FactEvent] = []
        out.reserveCapacity(runs.reduce(0) { $0 + $1.count })
        while !runs.isEmpty {
            var pick = 0
            for index in runs.indices.dropFirst() {
                let (a, b) = (runs[index].first!, runs[pick].first!)
                if (a.statedAt ?? "", a.history ?? "") < (b.statedAt ?? "", b.history ?? "") { pick = index }
            }
            out.append(runs[pick].removeFirst())
            if runs[pick].isEmpty { runs.remove(at: pick) }
        }
        return out
    }

    static func topic(_ fact: FactEvent) -> String {
        fact.entity.topic(.fact)
    }
}

/// An aggregate's fact journal, as JSON lines: each line the facts one turn stated and the
/// ingest positions its reports reached (`through`); the first line names the history (and, after
/// a compaction, holds every fact kept). Appended before the facts go out, so that a restart
/// neither renumbers them nor states them again.
public enum FactJournal {
    /// One line.
    public struct Line: Codable, Sendable {
        public var history: String
        public var through: [String: UInt64]
        public var facts: [FactEvent]
        /// The number of the history's last fact when the line was written.
        public var last: UInt64

        public init(history: String, through: [String: UInt64], facts: [FactEvent], last: UInt64) {
            self.history = history
            self.through = through
            self.facts = facts
            self.last = last
        }

        public var bytes: [UInt8] {
            // A fact event always encodes (strings, numbers, JSON values).
            ((try? CompactJSONEncoder.encode(self)) ?? []) + [0x0A]
        }
    }

    /// What a journal's bytes hold: the history, how far it stated facts, and the lines that did
    /// not read (a crash mid-write tears the last one): dropped, counted.
    public struct Contents: Sendable {
        public var history: FactHistory
        public var through: [String: UInt64]
        public var unreadable: Int
    }

    /// Reads a journal; nil when no line names a history (an empty or new file).
    public static func read(_ bytes: [UInt8], capacity: Int) -> Contents? {
        var contents: Contents?
        var unreadable = 0
        for raw in bytes.split(separator: 0x0A) where !raw.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) {
            guard let parsed = try? JSONParser.parse(Array(raw)), let line = try? JSONValueDecoder.decode(Line.self, from: parsed) else {
                unreadable += 1
                continue
            }
            if contents == nil {
                contents = Contents(history: FactHistory(id: line.history, capacity: capacity), through: [:], unreadable: 0)
            }
            guard line.history == contents?.history.id else {
                unreadable += 1
                continue
            }
            for fact in line.facts { _ = contents?.history.take(fact) }
            contents?.history.advance(to: line.last)
            contents?.through.merge(line.through) { max($0, $1) }
        }
        contents?.unreadable = unreadable
        return contents
    }
}
