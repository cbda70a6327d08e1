import ArgumentParser
import DeliveryClient
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
    var kind: Kind

    @OptionGroup var options: QueryOptions
    @OptionGroup var endpoints: Endpoints

    @Option(help: "Write the chart as an SVG file too.")
    var svg: String?

    @Option(help: "Bar width in the terminal, in characters.")
    var width: Int = 40

    enum Kind: String, CaseIterable, ExpressibleByArgument {
        case series, ranking, share
    }

    func run() throws {
        var bars: [Bar] = []
        var title = ""
        var caption = ""
        var axis = "units delivered"
        switch kind {
        case .series:
            let series = try runQuery(SeriesQuery(options: options), options: options, endpoints: endpoints).result
            title = "Deliveries of \(series.entity.name)"
            caption = "\(series.from) to \(series.to), by \(series.granularity.rawValue)"
            bars = Bar.bars(series)
        case .ranking, .share:
            var query = try RankingQuery(options: options)
            if kind == .share {
                // The breakdown of an entity is the ranking of its children.
                let entity = try options.entity()
                if let brand = entity.brand, entity.model == nil {
                    query.within = EntitySelector(brand: brand)
                    query.level = .model
                } else if let group = entity.group, entity.brand == nil, entity.model == nil {
                    query.within = EntitySelector(group: group)
                    query.level = .brand
                } else if entity.market == true {
                    query.within = nil
                    query.level = .group
                } else {
                    throw ValidationError("chart share breaks down a group (--group), a brand (--brand) or the market (--market)")
                }
            }
            let ranking = try runQuery(query, options: options, endpoints: endpoints).result
            title = kind == .share ? "Share of \(ranking.within.name) by \(ranking.level.rawValue)" : "Top \(ranking.level.rawValue)s in \(ranking.within.name)"
            caption = "period \(ranking.period)"
            axis = kind == .share ? "share of deliveries" : "units delivered"
            bars = Bar.bars(ranking)
        }
        caption += "; source: DeliveryTracker (\(endpoints.queryEndpoints.joined(separator: ", ")))"
        print(title)
        print(Bar.terminal(bars, width: width))
        print(caption)
        if let svg {
            try ChartSVG(title: title, caption: caption, axis: axis, bars: bars, vertical: kind == .series).render()
                .write(toFile: svg, atomically: true, encoding: .utf8)
            print("wrote \(svg)")
        }
    }
}
