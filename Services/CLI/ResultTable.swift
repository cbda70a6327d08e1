import DeliveryMessages

/// Turns a query result into a table a person can read: thousands separators, shares and growth
/// as percents, qualifiers in words.
enum ResultTable {
    static func int(_ value: JSONValue?) -> Int64? {
        switch value {
        case .int(let v)?: v
        case .double(let v)?: Int64(v)
        default: nil
        }
    }

    static func double(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let v)?: Double(v)
        case .double(let v)?: v
        default: nil
        }
    }

    static func text(_ value: JSONValue?) -> String { value?.stringValue ?? "" }

    static func name(_ entity: JSONValue?) -> String { entity?["name"]?.stringValue ?? "" }

    static func units(_ value: JSONValue?, qualifier: JSONValue? = nil) -> String {
        guard let number = int(value) else { return "n/a" }
        let words = Format.qualifier(text(qualifier))
        return words.isEmpty ? Format.units(number) : "\(words) \(Format.units(number))".trimmingCharacters(in: .whitespaces)
    }

    static func make(kind: String, body: JSONValue) -> Table {
        switch kind {
        case "units":
            var table = Table(["entity", "period", "units", "basis", "qualifier", "sources"])
            table.add([
                name(body["entity"]), text(body["period"]), Format.units(int(body["units"]) ?? 0), text(body["basis"]),
                text(body["qualifier"]),
                (body["sources"].flatMap { if case .array(let list) = $0 { list.compactMap(\.stringValue) } else { nil } } ?? [])
                    .joined(separator: " "),
            ])
            return table
        case "share":
            var table = Table(["entity", "of", "period", "share", "units", "of units", "rest"])
            table.add([
                name(body["entity"]), name(body["of"]), text(body["period"]), Format.percent(double(body["share"])),
                Format.units(int(body["units"]) ?? 0), Format.units(int(body["ofUnits"]) ?? 0),
                Format.units(int(body["otherUnits"]) ?? 0),
            ])
            return table
        case "growth":
            var table = Table(["entity", "period", "units", "vs", "previous", "growth"])
            table.add([
                name(body["entity"]), text(body["period"]), Format.units(int(body["units"]) ?? 0),
                text(body["previousPeriod"]), Format.units(int(body["previousUnits"]) ?? 0),
                Format.percent(double(body["growth"]), signed: true),
            ])
            return table
        case "ytd":
            var table = Table(["entity", "from", "to", "units", "qualifier", "complete"])
            table.add([
                name(body["entity"]), text(body["from"]), text(body["period"]), Format.units(int(body["units"]) ?? 0),
                text(body["qualifier"]), body["complete"] == .bool(true) ? "yes" : "no",
            ])
            return table
        case "ranking":
            var table = Table(["rank", "entity", "units", "share", "qualifier"])
            if case .array(let rows)? = body["rows"] {
                for row in rows {
                    table.add([
                        "\(int(row["rank"]) ?? 0)", name(row["entity"]), Format.units(int(row["units"]) ?? 0),
                        Format.percent(double(row["share"])), text(row["qualifier"]),
                    ])
                }
            }
            return table
        case "streak":
            var table = Table(["segment", "period", "leader", "units", "months"] + (body["entity"] != nil && body["entity"] != .null ? ["entity", "leads"] : []))
            var row = [
                text(body["segment"]), text(body["period"]), name(body["leader"]), Format.units(int(body["units"]) ?? 0),
                "\(int(body["months"]) ?? 0)",
            ]
            if let entity = body["entity"], entity != .null {
                row += [name(entity), body["leads"] == .bool(true) ? "yes" : "no"]
            }
            table.add(row)
            return table
        case "series":
            var table = Table(["period", "units", "basis", "qualifier", "complete"])
            if case .array(let points)? = body["points"] {
                for point in points {
                    table.add([
                        text(point["period"]), Format.units(int(point["units"]) ?? 0), text(point["basis"]),
                        text(point["qualifier"]), point["complete"] == .bool(true) ? "yes" : "no",
                    ])
                }
            }
            return table
        case "reconcile":
            var table = Table(["entity", "units", "basis", "qualifier"])
            table.add(["\(name(body["entity"])) (reported)", units(body["reported"]), "reported", text(body["qualifier"])])
            if case .array(let children)? = body["children"] {
                for child in children {
                    table.add(["  " + name(child["entity"]), Format.units(int(child["units"]) ?? 0), text(child["basis"]), text(child["qualifier"])])
                }
            }
            table.add(["children's sum", Format.units(int(body["childrenSum"]) ?? 0), "computed", text(body["childrenQualifier"])])
            table.add(["unattributed", units(body["unattributed"]), "", ""])
            return table
        case "convert":
            var table = Table(["amount", "from", "to", "rate", "date"])
            let amount = double(body["amount"]) ?? 0
            table.add([
                Format.units(Int64(amount.rounded())), text(body["from"]), text(body["to"]),
                "\(double(body["rate"]) ?? 0)", text(body["date"]),
            ])
            return table
        case "catalog":
            var table = Table(["level", "id", "name", "parent", "segment", "powertrains"])
            for (level, key, parent) in [("group", "groups", ""), ("brand", "brands", "group"), ("model", "models", "brand")] {
                if case .array(let entries)? = body[key] {
                    for entry in entries {
                        var powertrains = ""
                        if case .array(let list)? = entry["powertrains"] {
                            powertrains = list.compactMap(\.stringValue).joined(separator: " ")
                        }
                        table.add([
                            level, text(entry["id"]), text(entry["name"]), parent.isEmpty ? "" : text(entry[parent]),
                            text(entry["segment"]), powertrains,
                        ])
                    }
                }
            }
            return table
        default:
            var table = Table(["result"])
            table.add(["\(body)"])
            return table
        }
    }
}
