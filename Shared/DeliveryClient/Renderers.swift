import DeliveryMessages

/// A query result as a table a person can read: thousands separators, shares and growth as
/// percents, qualifiers in words. Every result a client shows conforms (`ClientQuery` asks it).
public protocol TableRenderable {
    func table() -> Table
}

extension UnitsResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["entity", "period", "units", "basis", "qualifier", "sources"])
        table.add([entity.name, period, Format.units(units), basis.rawValue, qualifier.rawValue, sources.joined(separator: " ")])
        return table
    }
}

extension ShareResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["entity", "of", "period", "share", "units", "of units", "rest"])
        table.add([
            entity.name, of.name, period, Format.percent(share), Format.units(units), Format.units(ofUnits), Format.units(otherUnits),
        ])
        return table
    }
}

extension GrowthResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["entity", "period", "units", "vs", "previous", "growth"])
        table.add([
            entity.name, period, Format.units(units), previousPeriod, Format.units(previousUnits), Format.percent(growth, signed: true),
        ])
        return table
    }
}

extension YTDResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["entity", "from", "to", "units", "qualifier", "complete"])
        table.add([entity.name, from, period, Format.units(units), qualifier.rawValue, complete ? "yes" : "no"])
        return table
    }
}

extension RankingResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["rank", "entity", "units", "share", "qualifier"])
        for row in rows {
            table.add(["\(row.rank)", row.entity.name, Format.units(row.units), Format.percent(row.share), row.qualifier.rawValue])
        }
        return table
    }
}

extension StreakResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["segment", "period", "leader", "units", "months"] + (entity == nil ? [] : ["entity", "leads"]))
        var row = [segment, period, leader?.name ?? "", Format.units(units), "\(months)"]
        if let entity { row += [entity.name, leads == true ? "yes" : "no"] }
        table.add(row)
        return table
    }
}

extension SeriesResult: TableRenderable {
    public func table() -> Table {
        var table = Table(["period", "units", "basis", "qualifier", "complete"])
        for point in points {
            table.add([point.period, Format.units(point.units), point.basis.rawValue, point.qualifier.rawValue, point.complete ? "yes" : "no"])
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
