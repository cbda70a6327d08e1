/// What a figure counts. Makers announce deliveries; the China Passenger Car Association (CPCA)
/// publishes retail and wholesale; the China Association of Automobile Manufacturers (CAAM)
/// wholesale, production and exports; insurance registrations are counted weekly. Each is its own
/// set of figures: a retail figure never replaces a delivery figure of the same month, and sources
/// compete only within one measure.
public enum Measure: String, Codable, Sendable, CaseIterable, Hashable {
    case deliveries, retail, wholesale, registrations, production, exports

    /// The measure of a report or figure whose field is absent: deliveries, as before measures.
    public static let `default` = Measure.deliveries

    /// The field's value on the wire: absent for deliveries, so that every message of before
    /// measures reads the same.
    public var wire: Measure? { self == .deliveries ? nil : self }

    /// Its place in a figure's key (deliveries 0: keys from before measures are deliveries'): its
    /// place in `allCases` (a switch, not a table: keys are packed for every figure a report
    /// touches and every figure a query reads; `MeasureTests` checks it against `allCases`).
    public var code: UInt64 {
        switch self {
        case .deliveries: 0
        case .retail: 1
        case .wholesale: 2
        case .registrations: 3
        case .production: 4
        case .exports: 5
        }
    }

    public init?(code: UInt64) {
        guard code < UInt64(Self.ordered.count) else { return nil }
        self = Self.ordered[Int(code)]
    }

    private static let ordered = Array(allCases)
}
