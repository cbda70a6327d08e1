public struct ConvertQuery: QueryRequest {
    public static let kind = QueryKind.convert
    public typealias Result = ConvertResult

    public var amount: Double
    public var from: String
    public var to: String

    public init(amount: Double, from: String, to: String) {
        self.amount = amount
        self.from = from
        self.to = to
    }
}

public struct ConvertResult: QueryResult, Hashable {
    public var amount: Double
    public var from: String
    public var to: String
    public var rate: Double
    public var date: String?
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(amount: Double, from: String, to: String, rate: Double, date: String?) {
        self.amount = amount
        self.from = from
        self.to = to
        self.rate = rate
        self.date = date
    }
}
