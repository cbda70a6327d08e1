import DeliveryMessages
import Foundation

/// A plain-text table with aligned columns: numbers right, text left.
public struct Table: Sendable, Equatable {
    public var headers: [String]
    public var rows: [[String]] = []
    /// A line under the table that says what its rows are (in text output; CSV keeps only rows).
    public var note: String?

    public init(_ headers: [String]) {
        self.headers = headers
    }

    public mutating func add(_ row: [String]) {
        rows.append(row)
    }

    public func render() -> String {
        let widths = headers.indices.map { column in
            ([headers[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return Self.isNumeric(cell) ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = [line(headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        if let note { out.append("(\(note))") }
        return out.joined(separator: "\n")
    }

    public func csv() -> String {
        ([headers] + rows).map { row in row.map(Self.csvCell).joined(separator: ",") }.joined(separator: "\n")
    }

    static func csvCell(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    static func isNumeric(_ text: String) -> Bool {
        guard let first = text.first else { return false }
        return first.isNumber || ((first == "-" || first == "+") && text.dropFirst().first?.isNumber == true)
    }
}

public enum Format {
    /// 44454 → "44,454".
    public static func units(_ value: Int64) -> String { value.groupedDigits }

    /// 0.8239 → "82.39 %".
    public static func percent(_ value: Double?, signed: Bool = false) -> String {
        guard let value else { return "n/a" }
        let text = String(format: "%.2f %%", value * 100)
        return signed && value > 0 ? "+" + text : text
    }

    /// The words before a number: "at least 2,000", "about 6,000".
    public static func qualifier(_ qualifier: Qualifier) -> String {
        switch qualifier {
        case .exact: ""
        case .atLeast: "at least"
        case .atMost: "at most"
        case .approximate: "about"
        }
    }

    /// A qualifier with an approximate figure's interval: "approximate (6,732–6,868)".
    public static func qualifier(_ qualifier: Qualifier, low: Int64?, high: Int64?) -> String {
        guard let low else { return qualifier.rawValue }
        guard let high else { return "\(qualifier.rawValue) (from \(units(low)))" }
        return "\(qualifier.rawValue) (\(units(low))–\(units(high)))"
    }

    /// A number with the interval it stands for when it is approximate: "47,800 (47,322–48,278)".
    public static func units(_ value: Int64, low: Int64?, high: Int64?) -> String {
        guard let low else { return units(value) }
        guard let high else { return "\(units(value)) (from \(units(low)))" }
        return "\(units(value)) (\(units(low))–\(units(high)))"
    }

    /// A number with its qualifier's words.
    public static func units(_ value: Int64, _ qualifier: Qualifier) -> String {
        let words = Self.qualifier(qualifier)
        return words.isEmpty ? units(value) : "\(words) \(units(value))"
    }
}
