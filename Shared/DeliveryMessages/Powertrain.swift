/// What drives the vehicles a figure counts. A figure with a powertrain is one part of its
/// entity's figure of the same period and measure; a figure without one is the whole.
///
/// Six kinds, and two documented groups a source may report as one figure:
///
///     whole ─┬─ NEV ─┬─ BEV
///            │       ├─ plug-in ─┬─ PHEV
///            │       │           └─ EREV
///            │       └─ FCEV
///            ├─ HEV
///            └─ ICE
///
/// `NEV` (new-energy vehicles) is BEV + PHEV + EREV + FCEV; `plug-in` is PHEV + EREV, the
/// convention CAAM uses for "plug-in hybrids including range extenders". A whole (or a group)
/// that no source reports is the sum of its parts, when they have figures, or of its children's
/// (docs/PROTOCOL.md, "Figures by powertrain").
public enum Powertrain: String, Codable, Sendable, CaseIterable, Hashable {
    case BEV, PHEV, EREV, FCEV, HEV, ICE, NEV
    case plugIn = "plug-in"

    /// What this one is a part of: its group, or nil for the whole.
    public var group: Powertrain? {
        switch self {
        case .BEV, .FCEV, .plugIn: .NEV
        case .PHEV, .EREV: .plugIn
        case .NEV, .HEV, .ICE: nil
        }
    }

    /// The parts a powertrain (nil: the whole) is the sum of; none for the six kinds.
    public static func parts(of whole: Powertrain?) -> [Powertrain] {
        switch whole {
        case nil: [.NEV, .HEV, .ICE]
        case .NEV: [.BEV, .plugIn, .FCEV]
        case .plugIn: [.PHEV, .EREV]
        default: []
        }
    }

    /// The six kinds a powertrain (nil: the whole) covers: itself for a kind, its kinds for a group.
    public static func kinds(of whole: Powertrain?) -> [Powertrain] {
        let parts = parts(of: whole)
        guard !parts.isEmpty else { return whole.map { [$0] } ?? [] }
        return parts.flatMap { kinds(of: $0) }
    }

    /// Whether `self` is `whole` or one of its parts, at any depth (every powertrain is part of the whole).
    public func isPart(of whole: Powertrain?) -> Bool {
        var current: Powertrain? = self
        while let step = current {
            if step == whole { return true }
            current = step.group
        }
        return whole == nil
    }

    /// Its place in a figure's key: 0 for the whole (no powertrain, so that every key of before
    /// powertrains is a whole's), 1 on for the powertrains.
    public static func code(_ powertrain: Powertrain?) -> UInt64 {
        guard let powertrain else { return 0 }
        return codes[powertrain] ?? 0
    }

    /// The powertrain of a key's code; nil for the whole (0) or a code no powertrain has.
    public static func decode(_ code: UInt64) -> Powertrain? {
        guard code >= 1, code <= UInt64(ordered.count) else { return nil }
        return ordered[Int(code - 1)]
    }

    /// The code of each powertrain's group (0: the whole), by code: what a figure's change is
    /// carried up to, without building a powertrain for every figure a report touches.
    public static let groupCodes: [UInt64] = [0] + ordered.map { code($0.group) }

    private static let ordered = Array(allCases)
    private static let codes = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, UInt64($0 + 1)) })

    /// How the protocol spells the whole where a powertrain is asked for (`ofPowertrain`).
    public static let wholeName = "all"

    /// A name as a user may send it: the whole's ("all"), or a powertrain's exactly.
    public static func named(_ name: String) -> Powertrain?? {
        if name == wholeName { return .some(nil) }
        return Powertrain(rawValue: name).map { .some($0) }
    }

    /// A catalog's powertrain tag (`"BEV"`, `"ev"` is not one): case aside, as the catalog
    /// has always been read (`ranking`'s filter).
    public static func tagged(_ tag: String) -> Powertrain? {
        allCases.first { $0.rawValue.lowercased() == tag.lowercased() }
    }

    /// Every accepted spelling, for error messages.
    public static var spellings: String {
        allCases.map(\.rawValue).joined(separator: ", ")
    }
}
