import DeliveryMessages

/// A calendar month (`2025-05`), quarter (`2025-Q2`) or year (`2025`). Months are the base:
/// quarters sum their months and years their quarters, unless a figure was reported for them.
public struct Period: Hashable, Comparable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case month, quarter, year
    }

    public let year: Int
    /// 1…12 for a month, 13…16 for quarters 1…4, 17 for the year.
    let code: Int

    public static func month(_ year: Int, _ month: Int) -> Period {
        precondition((1...12).contains(month))
        return Period(year: year, code: month)
    }

    public static func quarter(_ year: Int, _ quarter: Int) -> Period {
        precondition((1...4).contains(quarter))
        return Period(year: year, code: 12 + quarter)
    }

    public static func year(_ year: Int) -> Period { Period(year: year, code: 17) }

    /// The period in 17 bits (year × 32 + code), for compact keys.
    var packed: UInt32 { UInt32(year) << 5 | UInt32(code) }

    init(packed: UInt32) {
        self.init(year: Int(packed >> 5), code: Int(packed & 31))
    }

    public var kind: Kind {
        switch code {
        case 1...12: .month
        case 13...16: .quarter
        default: .year
        }
    }

    /// The month number (1…12) of a month.
    public var month: Int? { kind == .month ? code : nil }
    /// The quarter number (1…4) of a month or quarter.
    public var quarterNumber: Int? {
        switch kind {
        case .month: (code - 1) / 3 + 1
        case .quarter: code - 12
        case .year: nil
        }
    }

    /// Parses `YYYY-MM`, `YYYY-Qn` or `YYYY`, saying what is wrong otherwise.
    public init(parsing text: String) throws(PeriodError) {
        let bytes = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 4, let year = digits(0..<4) else {
            throw PeriodError(text: text, reason: "a period is a month YYYY-MM, a quarter YYYY-Qn or a year YYYY")
        }
        guard year >= 1900 && year <= 2999 else {
            throw PeriodError(text: text, reason: "the year must be between 1900 and 2999")
        }
        if bytes.count == 4 {
            self = .year(year)
            return
        }
        guard bytes.count == 7, bytes[4] == UInt8(ascii: "-") else {
            throw PeriodError(text: text, reason: "a period is a month YYYY-MM, a quarter YYYY-Qn or a year YYYY")
        }
        if bytes[5] == UInt8(ascii: "Q") || bytes[5] == UInt8(ascii: "q") {
            guard let quarter = digits(6..<7), (1...4).contains(quarter) else {
                throw PeriodError(text: text, reason: "a quarter is Q1, Q2, Q3 or Q4")
            }
            self = .quarter(year, quarter)
            return
        }
        guard let month = digits(5..<7) else {
            throw PeriodError(text: text, reason: "a period is a month YYYY-MM, a quarter YYYY-Qn or a year YYYY")
        }
        guard (1...12).contains(month) else {
            throw PeriodError(text: text, reason: "the month must be 01 to 12")
        }
        self = .month(year, month)
    }

    init(year: Int, code: Int) {
        self.year = year
        self.code = code
    }

    public var description: String {
        switch kind {
        case .month: code < 10 ? "\(year)-0\(code)" : "\(year)-\(code)"
        case .quarter: "\(year)-Q\(code - 12)"
        case .year: "\(year)"
        }
    }

    public static func < (lhs: Period, rhs: Period) -> Bool {
        (lhs.year, lhs.code) < (rhs.year, rhs.code)
    }

    /// The period just before, of the same kind.
    public var previous: Period {
        switch kind {
        case .month: code == 1 ? .month(year - 1, 12) : .month(year, code - 1)
        case .quarter: code == 13 ? .quarter(year - 1, 4) : Period(year: year, code: code - 1)
        case .year: .year(year - 1)
        }
    }

    /// The period just after, of the same kind.
    public var next: Period {
        switch kind {
        case .month: code == 12 ? .month(year + 1, 1) : .month(year, code + 1)
        case .quarter: code == 16 ? .quarter(year + 1, 1) : Period(year: year, code: code + 1)
        case .year: .year(year + 1)
        }
    }

    /// The same period a year earlier.
    public var sameLastYear: Period { Period(year: year - 1, code: code) }

    /// The quarter a month is in (a quarter: itself).
    public var quarter: Period? {
        switch kind {
        case .month, .quarter: .quarter(year, quarterNumber!)
        case .year: nil
        }
    }

    /// The year of any period.
    public var wholeYear: Period { .year(year) }

    /// The period this one sums into: a month's quarter, a quarter's year; a year: none.
    public var container: Period? {
        switch kind {
        case .month: quarter
        case .quarter: .year(year)
        case .year: nil
        }
    }

    /// The periods this one is the sum of: a quarter's months, a year's quarters; a month: none.
    public var parts: [Period] {
        switch kind {
        case .month:
            return []
        case .quarter:
            let first = (code - 13) * 3 + 1
            return (first..<first + 3).map { .month(year, $0) }
        case .year: return (1...4).map { .quarter(year, $0) }
        }
    }

    /// The period's first month (a month: itself), without building `months`.
    public var firstMonth: Period {
        switch kind {
        case .month: self
        case .quarter: .month(year, (code - 13) * 3 + 1)
        case .year: .month(year, 1)
        }
    }

    /// Every month in the period (a month: itself).
    public var months: [Period] {
        switch kind {
        case .month: [self]
        case .quarter: parts
        case .year: (1...12).map { .month(year, $0) }
        }
    }

    /// The periods of this kind from `self` to `end`, both included.
    public func through(_ end: Period) -> [Period] {
        var result: [Period] = []
        var current = self
        while current <= end {
            result.append(current)
            current = current.next
        }
        return result
    }
}

/// A period that does not parse.
public struct PeriodError: Error, Sendable, CustomStringConvertible {
    public let text: String
    public let reason: String

    public var description: String { "'\(text)' is not a period: \(reason)" }
}
