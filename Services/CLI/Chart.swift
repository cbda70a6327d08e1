import ArgumentParser
import DeliveryMessages
import Foundation

struct Chart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a series as monthly bars, a ranking as horizontal bars, or a share breakdown; in the terminal or as SVG.",
        discussion: """
            Examples:
              deliveries chart series --group HIMA --from 2025-01 --to 2025-05
              deliveries chart ranking --within-group HIMA --period 2025-05 --svg ranking.svg
              deliveries chart share --group HIMA --period 2025-05
            """
    )

    @Argument(help: "series, ranking or share.")
    var kind: String

    @OptionGroup var options: QueryOptions
    @OptionGroup var endpoints: Endpoints

    @Option(help: "Write the chart as an SVG file too.")
    var svg: String?

    @Option(help: "Bar width in the terminal, in characters.")
    var width: Int = 40

    struct Bar {
        var label: String
        var value: Int64
        var note: String
    }

    func run() throws {
        var bars: [Bar] = []
        var title = ""
        var caption = ""
        var axis = "units delivered"
        switch kind {
        case "series":
            let (body, _) = try runQuery("series", options: options, endpoints: endpoints)
            title = "Deliveries of \(ResultTable.name(body["entity"]))"
            caption = "\(ResultTable.text(body["from"])) to \(ResultTable.text(body["to"])), by \(ResultTable.text(body["granularity"]))"
            if case .array(let points)? = body["points"] {
                bars = points.map {
                    Bar(
                        label: ResultTable.text($0["period"]), value: ResultTable.int($0["units"]) ?? 0,
                        note: Format.qualifier(ResultTable.text($0["qualifier"]))
                    )
                }
            }
        case "ranking", "share":
            var query = options
            var rankedWithin = "the market"
            if kind == "share" {
                // The breakdown of an entity is the ranking of its children.
                let entity = try options.entity(required: true)
                query.withinGroup = nil
                query.withinBrand = nil
                query.market = false
                query.group = nil
                query.brand = nil
                query.model = nil
                if let brand = entity?["brand"]?.stringValue {
                    query.withinBrand = brand
                    query.level = "model"
                    rankedWithin = brand
                } else if let group = entity?["group"]?.stringValue {
                    query.withinGroup = group
                    query.level = "brand"
                    rankedWithin = group
                } else {
                    query.level = "group"
                }
            }
            let (body, _) = try runQuery("ranking", options: query, endpoints: endpoints)
            let within = ResultTable.name(body["within"])
            title = kind == "share" ? "Share of \(rankedWithin == "the market" ? "the market" : within) by \(ResultTable.text(body["level"]))"
                : "Top \(ResultTable.text(body["level"]))s in \(within)"
            caption = "period \(ResultTable.text(body["period"]))"
            axis = kind == "share" ? "share of deliveries" : "units delivered"
            if case .array(let rows)? = body["rows"] {
                bars = rows.map {
                    Bar(
                        label: ResultTable.name($0["entity"]), value: ResultTable.int($0["units"]) ?? 0,
                        note: Format.percent(ResultTable.double($0["share"]))
                    )
                }
            }
        default:
            throw ValidationError("chart kind is series, ranking or share")
        }
        caption += "; source: DeliveryTracker (\(endpoints.queryEndpoints.joined(separator: ", ")))"
        print(title)
        print(terminal(bars))
        print(caption)
        if let svg {
            try ChartSVG(title: title, caption: caption, axis: axis, bars: bars, vertical: kind == "series").render()
                .write(toFile: svg, atomically: true, encoding: .utf8)
            print("wrote \(svg)")
        }
    }

    func terminal(_ bars: [Bar]) -> String {
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
struct ChartSVG {
    var title: String
    var caption: String
    var axis: String
    var bars: [Chart.Bar]
    var vertical: Bool

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    func render() -> String {
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
