import DeliveryMessages

/// A query result as a table a person can read: thousands separators, shares and growth as
/// percents, qualifiers in words. Every result a client shows conforms (`ClientQuery` asks it).
public protocol TableRenderable {
    func table() -> Table
}

extension UnitsResult: TableRenderable {
    public func table() -> Table {
        // A computed figure says what it covers: a lower bound names what has no figure.
        var table = Table(["entity", "period", "units", "basis", "qualifier", "sources"] + (coverage == nil ? [] : ["coverage"]))
        var row = [entity.name, period, Format.units(units), basis.rawValue, Format.qualifier(qualifier, low: low, high: high), sources.joined(separator: " ")]
        if var covers = coverage {
            if let missing, let missingCount {
                covers += ": no figure for " + missing.map(\.name).joined(separator: ", ") + (missingCount > missing.count ? " and \(missingCount - missing.count) more" : "")
            }
            row.append(covers)
        }
        if let compared {
            // The other measure beside it, and by how much it differs.
            table.headers += [compared.measure.rawValue, "difference"]
            let words = Format.qualifier(compared.qualifier)
            row += [(words.isEmpty ? "" : words + " ") + Format.units(compared.units), (compared.difference > 0 ? "+" : "") + Format.units(compared.difference)]
        }
        table.add(row)
        return table
    }
}

extension ShareResult: TableRenderable {
    public func table() -> Table {
        // Earlier shares and the change in percentage points ("pts"): a share's change is never a
        // growth rate.
        let earlier = [previous, previousYear].compactMap { $0 }
        var table = Table(["entity", "of", "period", "share", "units", "of units", "rest"] + earlier.map { "vs \($0.period)" })
        table.add(
            [
                entity.name + (powertrain.map { " " + $0.rawValue } ?? ""), of.name + (ofPowertrain.map { $0 == Powertrain.wholeName ? "" : " " + $0 } ?? ""), period, [Format.qualifier(qualifier), Format.percent(share)].filter { !$0.isEmpty }.joined(separator: " "),
                Format.units(units), Format.units(ofUnits), Format.units(otherUnits),
            ] + earlier.map(Self.change)
        )
        return table
    }

    static func change(_ then: ShareAt) -> String {
        let was = [Format.qualifier(then.qualifier), Format.percent(then.share)].filter { !$0.isEmpty }.joined(separator: " ")
        guard let points = then.changePoints else { return was }
        let bound = Format.qualifier(then.changeQualifier)
        let signed = (points > 0 ? "+" : "") + String(format: "%.1f", points)
        return "\(was), \(bound.isEmpty ? "" : bound + " ")\(signed) pts"
    }
}

extension GrowthResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["entity", "period", "units", "vs", "previous", "growth"] + (direction == nil ? [] : ["direction"]))
        var range = ""
        if growthLow != nil || growthHigh != nil {
            range = " (\(growthLow.map { Format.percent($0, signed: true) } ?? "?") to \(growthHigh.map { Format.percent($0, signed: true) } ?? "?"))"
        }
        table.add(
            [
                entity.name, period, Format.units(units), previousPeriod, Format.units(previousUnits, low: previousLow, high: previousHigh),
                Format.percent(growth, signed: true) + range,
            ] + (direction.map { [$0] } ?? [])
        )
        return table
    }
}

extension YTDResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["entity", "from", "to", "units", "qualifier", "complete", "previous year", "exceeds it"])
        table.add([
            entity.name, from, period, Format.units(units), qualifier.rawValue, complete ? "yes" : "no",
            previousYear.map { "\($0.year): \(Format.units($0.units, $0.qualifier))\($0.complete ? "" : " (incomplete)")" } ?? "",
            exceedsPreviousYear.map { $0 ? "yes" : "no" } ?? "",
        ])
        return table
    }
}

extension RankingResult: TableRenderable {
    public func table() -> Table {
        let segment = coverage == "tracked"
        var table = Table(["rank", "entity", "units", "share", "qualifier"] + (segment ? ["segment rank"] : []))
        for row in rows {
            var cells = ["\(row.rank)", row.entity.name, Format.units(row.units), Format.percent(row.share), Format.qualifier(row.qualifier, low: row.low, high: row.high)]
            if segment { cells.append(row.segmentRank.map { "\($0) (\(row.rankSource ?? ""))" } ?? "") }
            table.add(cells)
        }
        if segment {
            // A segment is market-wide: the rows are the tracked models; say so under the table.
            table.note = "ranked among the segment's tracked models: \(candidates) of \(trackedModels ?? candidates) with figures"
                + (segmentLeader.map { "; the segment's leader according to \(leaderSource ?? "a report"): \($0.name)" } ?? "")
        }
        return table
    }
}

extension StreakResult: TableRenderable {
    public func table() -> Table {
        let run = [since ?? "", endedBy.rawValue]
        if let condition {
            var table = Table(["entity", "period", "condition", "units", "months", "since", "ended by"])
            table.add([entity?.name ?? "", period, condition.words, Format.units(units), "\(months)"] + run)
            return table
        }
        // The lead says what it rests on: a source's rank, or only the tracked models.
        let leadBasis: String? =
            switch basis {
            case .reported?: "according to \(source ?? "a report")"
            case .complete?: "all of the segment's total (\(source ?? "a report"))"
            case .tracked?: "among tracked models (\(withFigures ?? 0) of \(trackedModels ?? 0) with figures)"
            case nil: nil
            }
        var table = Table(
            ["segment", "period", "leader"] + (leadBasis == nil ? [] : ["basis"]) + ["units", "months", "since", "ended by"]
                + (entity == nil ? [] : ["entity", "leads"])
        )
        var row = [segment ?? "", period, leader?.name ?? ""] + (leadBasis.map { [$0] } ?? []) + [Format.units(units), "\(months)"] + run
        if let entity { row += [entity.name, leads == true ? "yes" : "no"] }
        table.add(row)
        return table
    }
}

extension StreakCondition {
    /// "at least 30,000", "yoy down".
    public var words: String {
        if let atLeast { return "at least \(Format.units(atLeast))" }
        if let atMost { return "at most \(Format.units(atMost))" }
        return "\(growth?.rawValue ?? "") \(direction?.rawValue ?? "")"
    }
}

extension RecordResult: TableRenderable {
    public func table() -> Table {
        func month(_ figure: MonthFigure?) -> String {
            figure.map { "\($0.period) (\(Format.units($0.units, $0.qualifier)))" } ?? ""
        }
        var table = Table(["entity", "period", "units", "months before", "highest", "lowest", "previous high", "previous low", "highest since", "lowest since"])
        table.add([
            entity.name, period, figure.map { Format.units($0.units, $0.qualifier) } ?? "n/a", "\(monthsBefore)", isHighest ? "yes" : "no",
            isLowest ? "yes" : "no", month(previousHigh), month(previousLow), month(highestSince), month(lowestSince),
        ])
        return table
    }
}

extension CumulativeResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["entity", "from", "to", "units", "qualifier", "months", "missing", "milestone", "crossed in"])
        table.add([
            entity.name, from ?? "", period, Format.units(units), qualifier.rawValue, "\(months)", "\(missingMonths)",
            milestone.map(Format.units) ?? "", crossedIn ?? "",
        ])
        return table
    }
}

extension BriefResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["fact", "text"])
        for fact in facts { table.add([fact.kind.rawValue, fact.text]) }
        return table
    }
}

extension SeriesResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["period", "units", "basis", "qualifier", "complete"])
        for point in points {
            table.add([
                point.period, Format.units(point.units), point.basis.rawValue, Format.qualifier(point.qualifier, low: point.low, high: point.high),
                point.complete ? "yes" : "no",
            ])
        }
        return table
    }
}

extension PanelResult: TableRenderable {
    /// Periods down, entities across; a bound in words before the number ("at least 5,124").
    public func table() -> Table {
        var table = Table(["period"] + series.map(\.entity.name))
        let periods = series.first?.points.map(\.period) ?? []
        for (row, period) in periods.enumerated() {
            table.add(
                [period]
                    + series.map { one in
                        guard row < one.points.count, one.points[row].complete || one.points[row].units > 0 else { return "" }
                        let point = one.points[row]
                        return [Format.qualifier(point.qualifier), Format.units(point.units)].filter { !$0.isEmpty }.joined(separator: " ")
                    }
            )
        }
        return table
    }
}

extension ReconcileResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["entity", "units", "basis", "qualifier"])
        table.add(["\(entity.name) (reported)", reported.map(Format.units) ?? "n/a", "reported", qualifier?.rawValue ?? ""])
        for child in children {
            table.add(["  " + child.entity.name, Format.units(child.units), child.basis.rawValue, child.qualifier.rawValue])
        }
        table.add(["children's sum", Format.units(childrenSum), "computed", childrenQualifier.rawValue])
        table.add(["unattributed", unattributed.map(Format.units) ?? "n/a", "", ""])
        return table
    }
}

extension ConvertResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["amount", "from", "to", "rate", "date"])
        table.add([Format.units(Int64(amount.rounded())), from, to, "\(rate)", date ?? ""])
        return table
    }
}

extension CatalogResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["level", "id", "name", "parent", "segment", "powertrains"])
        for group in groups {
            table.add(["group", group.id, group.name, "", "", ""])
        }
        for brand in brands {
            table.add(["brand", brand.id, brand.name, brand.group, "", ""])
        }
        for model in models {
            table.add(["model", model.id, model.name, model.brand, model.segment ?? "", (model.powertrains ?? []).joined(separator: " ")])
        }
        return table
    }
}

extension RevisionsResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["reportedAt", "source", "units", "change", "report", "now"])
        for report in reports {
            let change = report.change.map { ($0 > 0 ? "+" : "") + Format.units($0) } ?? "first"
            table.add([report.reportedAt, report.source, Format.units(report.units), change, report.reportId, report.current ? "current" : ""])
        }
        var notes: [String] = []
        if let largest { notes.append("largest revision: \(largest.source) \(largest.change.map { ($0 > 0 ? "+" : "") + Format.units($0) } ?? "") on \(largest.reportedAt)") }
        if truncated { notes.append("earlier reports past the 64 kept were dropped (the log has them)") }
        table.note = notes.isEmpty ? nil : notes.joined(separator: "; ")
        return table
    }
}
