import DeliveryMessages
import Foundation

/// One bar of a chart: its label, its value and a note printed beside it.
public struct Bar: Sendable, Equatable {
    public var label: String
    public var value: Int64
    public var note: String

    public init(label: String, value: Int64, note: String) {
        self.label = label
        self.value = value
        self.note = note
    }

    /// A series as bars, one per period, each with its qualifier's words.
    public static func bars(_ series: SeriesResult) -> [Bar] {
        series.points.map { Bar(label: $0.period, value: $0.units, note: Format.qualifier($0.qualifier)) }
    }

    /// A ranking as bars, each with its share.
    public static func bars(_ ranking: RankingResult) -> [Bar] {
        ranking.rows.map { Bar(label: $0.entity.name, value: $0.units, note: Format.percent($0.share)) }
    }

    /// Bars as lines of text, the longest `width` characters.
    public static func terminal(_ bars: [Bar], width: Int) -> String {
        let top = max(bars.map(\.value).max() ?? 0, 1)
        let labelWidth = bars.map(\.label.count).max() ?? 0
        return bars.map { bar in
            let length = Int((Double(bar.value) / Double(top) * Double(width)).rounded())
            let label = bar.label.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
            return "\(label) │\(String(repeating: "█", count: length)) \(Format.units(bar.value)) \(bar.note)"
        }.joined(separator: "\n")
    }
}

/// A bar chart as a standalone SVG document: title, labelled axes, caption with period and source.
public struct ChartSVG {
    public var title: String
    public var caption: String
    public var axis: String
    public var bars: [Bar]
    public var vertical: Bool

    public init(title: String, caption: String, axis: String, bars: [Bar], vertical: Bool) {
        self.title = title
        self.caption = caption
        self.axis = axis
        self.bars = bars
        self.vertical = vertical
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    public func render() -> String {
        let width = 760.0
        let height = 420.0
        let left = vertical ? 80.0 : 160.0
        let right = 40.0
        let top = 50.0
        let bottom = 70.0
        let plotW = width - left - right
        let plotH = height - top - bottom
        let maxValue = Double(max(bars.map(\.value).max() ?? 0, 1))
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="28" text-anchor="middle" font-size="18" font-weight="bold">\(Self.escape(title))</text>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(top + plotH)" stroke="black"/>
            <line x1="\(left)" y1="\(top + plotH)" x2="\(left + plotW)" y2="\(top + plotH)" stroke="black"/>

            """
        let count = Double(max(bars.count, 1))
        for (index, bar) in bars.enumerated() {
            let fraction = Double(bar.value) / maxValue
            if vertical {
                let slot = plotW / count
                let barW = slot * 0.7
                let x = left + slot * Double(index) + (slot - barW) / 2
                let h = plotH * fraction
                out += "<rect x=\"\(x)\" y=\"\(top + plotH - h)\" width=\"\(barW)\" height=\"\(h)\" fill=\"#3b6ea5\"/>\n"
                out += "<text x=\"\(x + barW / 2)\" y=\"\(top + plotH - h - 4)\" text-anchor=\"middle\" font-size=\"11\">\(Self.escape(Format.units(bar.value)))</text>\n"
                out += "<text x=\"\(x + barW / 2)\" y=\"\(top + plotH + 16)\" text-anchor=\"middle\" font-size=\"11\">\(Self.escape(bar.label))</text>\n"
            } else {
                let slot = plotH / count
                let barH = slot * 0.7
                let y = top + slot * Double(index) + (slot - barH) / 2
                let w = (plotW - 120) * fraction
                out += "<rect x=\"\(left)\" y=\"\(y)\" width=\"\(w)\" height=\"\(barH)\" fill=\"#3b6ea5\"/>\n"
                out += "<text x=\"\(left - 6)\" y=\"\(y + barH / 2 + 4)\" text-anchor=\"end\" font-size=\"12\">\(Self.escape(bar.label))</text>\n"
                out += "<text x=\"\(left + w + 6)\" y=\"\(y + barH / 2 + 4)\" font-size=\"11\">\(Self.escape(Format.units(bar.value) + " " + bar.note))</text>\n"
            }
        }
        let axisLabel = vertical
            ? "<text x=\"18\" y=\"\(top + plotH / 2)\" transform=\"rotate(-90 18 \(top + plotH / 2))\" text-anchor=\"middle\" font-size=\"12\">\(Self.escape(axis))</text>"
            : "<text x=\"\(left + plotW / 2)\" y=\"\(top + plotH + 30)\" text-anchor=\"middle\" font-size=\"12\">\(Self.escape(axis))</text>"
        out += axisLabel + "\n"
        out += "<text x=\"\(width / 2)\" y=\"\(height - 14)\" text-anchor=\"middle\" font-size=\"11\" fill=\"#555\">\(Self.escape(caption))</text>\n"
        out += "</svg>\n"
        return out
    }
}
