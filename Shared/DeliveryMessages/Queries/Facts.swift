/// *Extension* `facts`: the facts stated since a token, from the replica's copy of each
/// aggregate's fact history, and the token to ask from next. A script that was down resumes with
/// the token it last had and sees every fact once (docs/PROTOCOL.md, "Facts with a history").
public struct FactsRequest: Codable, Sendable {
    /// Where the script stands (a `facts.result`'s `token`, or one built from the facts it saw);
    /// absent: the latest facts kept, and the token after them.
    public var since: String?
    /// The most facts in one answer (1…`FactsRequest.maxLimit`; `FactsRequest.defaultLimit` when absent).
    public var limit: Int?
    /// Only facts on topics under this prefix (`fact.hima.`); the token still moves past the others.
    public var prefix: String?

    public static let defaultLimit = 100
    public static let maxLimit = 1000

    public init(since: String? = nil, limit: Int? = nil, prefix: String? = nil) {
        self.since = since
        self.limit = limit
        self.prefix = prefix
    }
}

/// `facts.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
public struct FactsResult: Codable, Sendable, Hashable {
    /// The facts after the token, oldest first (by the time each was stated, then history and
    /// number), each with its `history` and `number`.
    public var facts: [FactEvent]
    /// Where these facts leave the script: ask `since` it next.
    public var token: String
    /// True when `limit` cut the answer: ask again `since` the new token for the rest.
    public var more: Bool
    /// Each history the replica holds: its first and last number kept.
    public var histories: [FactHistoryRange]

    public init(facts: [FactEvent], token: String, more: Bool, histories: [FactHistoryRange]) {
        self.facts = facts
        self.token = token
        self.more = more
        self.histories = histories
    }
}

/// The numbers a fact history keeps: `first` … `last` (`first` is `last` + 1 when it keeps none).
public struct FactHistoryRange: Codable, Sendable, Hashable {
    public var history: String
    public var first: UInt64
    public var last: UInt64

    public init(history: String, first: UInt64, last: UInt64) {
        self.history = history
        self.first = first
        self.last = last
    }
}

/// An aggregate's fact history as a snapshot carries it (the first `snapshot.part`): its id, the
/// number of its last fact, and the facts it keeps.
public struct FactHistoryBody: Codable, Sendable, Hashable {
    public var history: String
    public var last: UInt64
    public var facts: [FactEvent]

    public init(history: String, last: UInt64, facts: [FactEvent]) {
        self.history = history
        self.last = last
        self.facts = facts
    }
}

/// Where a script stands in each fact history: `<history>:<number>` for each history, joined by
/// commas (`f2b9c4e1a0d3:41`). A token is built from the facts seen: the highest `number` of each
/// `history`.
public struct FactToken: Sendable, Hashable {
    public var positions: [String: UInt64]

    public init(_ positions: [String: UInt64] = [:]) {
        self.positions = positions
    }

    /// Reads a token; nil when it is not one (the empty text is the token of nothing seen).
    public init?(parsing text: String) {
        positions = [:]
        guard !text.isEmpty else { return }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count == 2, !pieces[0].isEmpty, pieces[0].count <= 64, let number = UInt64(pieces[1]),
                pieces[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }), positions[String(pieces[0])] == nil
            else { return nil }
            positions[String(pieces[0])] = number
        }
    }

    public var text: String {
        positions.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    }

    /// Takes in a fact seen: its history moves to its number (never back).
    public mutating func saw(_ fact: FactEvent) {
        guard let history = fact.history, let number = fact.number else { return }
        positions[history] = max(positions[history] ?? 0, number)
    }

    /// Whether a fact is at or before where the token stands (seen already).
    public func covers(_ fact: FactEvent) -> Bool {
        guard let history = fact.history, let number = fact.number else { return false }
        return number <= positions[history] ?? 0
    }
}
