import Foundation

/// A plain-text table with aligned columns: numbers right, text left.
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: [String]) {
        self.headers = headers
    }

    mutating func add(_ row: [String]) {
        rows.append(row)
    }

    func render() -> String {
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
        return out.joined(separator: "\n")
    }

    func csv() -> String {
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

enum Format {
    /// 44454 → "44,454".
    static func units(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, char) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(char)
        }
        return value < 0 ? "-" + out : out
    }

    /// 0.8239 → "82.39 %".
    static func percent(_ value: Double?, signed: Bool = false) -> String {
        guard let value else { return "n/a" }
        let text = String(format: "%.2f %%", value * 100)
        return signed && value > 0 ? "+" + text : text
    }

    static func qualifier(_ text: String) -> String {
        switch text {
        case "atLeast": "at least"
        case "atMost": "at most"
        case "approximate": "about"
        default: ""
        }
    }
}
