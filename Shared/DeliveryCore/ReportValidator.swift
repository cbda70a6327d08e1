import DeliveryMessages

/// Checks a submitted report field by field and resolves its names against the catalog, so that
/// each problem is named precisely (`units must be a whole number >= 0, not a string`).
public enum ReportValidator {
    /// The longest string any report field may hold.
    public static let maxFieldLength = 1024
    /// The longest note.
    public static let maxNoteLength = 4096
    /// The most units one report may state. A month of the whole world's car sales is under ten
    /// million and a year under a hundred million; a billion leaves room for any real figure while
    /// keeping every sum of reports far from `Int64`'s limit.
    public static let maxUnits: Int64 = 1_000_000_000
    /// The earliest `reportedAt` taken: 1900-01-01T00:00:00Z.
    public static let earliestReportedAt: Int64 = -2_208_988_800_000
    /// How far ahead of the receiving clock a `reportedAt` may be (a day: time zones and clock skew).
    public static let futureAllowance: Int64 = 86_400_000

    /// A report that passed validation, with what the stored form needs besides the report.
    public struct Validated: Sendable {
        public var report: DeliveryReport
        /// A hash of what the sender gave (not of defaults filled in), to tell a duplicate from
        /// another report under the same id.
        public var contentHash: String
        /// `reportedAt` in milliseconds since 1970, read once here (the log keeps it beside the row).
        public var reportedAtMillis: Int64
    }

    /// Validates one report of a batch. `receivedAt` fills in a missing `reportedAt`, and a given
    /// `reportedAt` may be at most `futureAllowance` ahead of it (or of `latest`, when given).
    public static func validate(
        _ value: JSONValue,
        index: Int,
        catalog: Catalog,
        receivedAt: Int64,
        latest: Int64? = nil
    ) throws(ProtocolError) -> Validated {
        guard case .object(let object) = value else {
            throw error(.invalidReport, index, "report", "a report is a JSON object, not \(value.kind)")
        }
        let fields = Fields(fields: object, index: index)
        let source = try fields.string("source", required: true)!
        let periodText = try fields.string("period", required: true)!
        let period: Period
        do {
            period = try Period(parsing: periodText)
        } catch {
            throw Self.error(.invalidReport, index, "period", error.description)
        }
        let names = Names(
            group: try fields.string("group"), brand: try fields.string("brand"), model: try fields.string("model"),
            segment: try fields.string("segment")
        )
        let measure = try fields.measure()
        let powertrain = try fields.powertrain()
        let note = try fields.string("note", limit: maxNoteLength)
        let givenID = try fields.string("id", limit: 256)
        guard let units = try fields.count("units") else {
            throw error(.invalidReport, index, "units", "units is required (a whole number >= 0)")
        }
        let qualifier = try fields.qualifier()
        let (low, high) = try statedInterval(
            units: units, qualifier: qualifier, tolerance: try fields.count("tolerance"), low: try fields.count("low"), high: try fields.count("high"),
            index: index
        )
        let givenTime = try fields.string("reportedAt", limit: 64)
        let (reportedAt, reportedAtMillis) = try Self.reportedAt(givenTime, receivedAt: receivedAt, latest: latest, index: index)
        let entity = try names.resolve(catalog, index: index)
        let segmentRank = try Self.segmentRank(object["segmentRank"], entity: entity, period: period, catalog: catalog, index: index)
        if let powertrain { try Self.check(powertrain, of: entity, catalog: catalog, index: index) }

        var content = "source=\(source)|period=\(period)|entity=\(entity)|units=\(units)|qualifier=\(qualifier.rawValue)"
        content += "|group=\(names.group ?? "")|brand=\(names.brand ?? "")|model=\(names.model ?? "")"
        // Only a segment's total names a segment, so that every other report keeps its id.
        if let segment = names.segment { content += "|segment=\(segment)" }
        content += "|reportedAt=\(givenTime ?? "")|note=\(note ?? "")"
        // Only a stated interval is hashed, so that every report without one keeps its id.
        if let low, let high { content += "|low=\(low)|high=\(high)" }
        if let segmentRank { content += "|segmentRank=\(segmentRank)" }
        // Only another measure than deliveries is hashed, so that every report of before keeps its id.
        if measure != .default { content += "|measure=\(measure.rawValue)" }
        if let powertrain { content += "|powertrain=\(powertrain.rawValue)" }
        let hash = fnv1a(content)
        let report = DeliveryReport(
            id: givenID ?? "r-" + hash, source: source, period: period.description, group: names.group, brand: names.brand, model: names.model,
            units: units, qualifier: qualifier, reportedAt: reportedAt, note: note, entity: catalog.ref(entity), low: low, high: high,
            segmentRank: segmentRank, measure: measure, powertrain: powertrain
        )
        return Validated(report: report, contentHash: hash, reportedAtMillis: reportedAtMillis)
    }

    /// A report's fields, read one by one with the problem named by field and index.
    struct Fields {
        let fields: [String: JSONValue]
        let index: Int

        /// A string, trimmed, non-empty and at most `limit` bytes; nil when absent.
        func string(_ name: String, required: Bool = false, limit: Int = maxFieldLength) throws(ProtocolError) -> String? {
            guard let field = fields[name], field != .null else {
                if required { throw error(.invalidReport, index, name, "\(name) is required") }
                return nil
            }
            guard case .string(let text) = field else {
                throw error(.invalidReport, index, name, "\(name) must be a string, not \(field.kind)")
            }
            let trimmed = text.trimmingWhitespace
            guard !trimmed.isEmpty else { throw error(.invalidReport, index, name, "\(name) must not be empty") }
            guard trimmed.utf8.count <= limit else {
                throw error(.invalidReport, index, name, "\(name) is longer than \(limit) bytes")
            }
            return trimmed
        }

        /// A whole number of units, 0 to `maxUnits`; nil when absent.
        func count(_ name: String) throws(ProtocolError) -> Int64? {
            switch fields[name] {
            case nil, .null?:
                return nil
            case .int(let value)?:
                guard value >= 0 else { throw error(.invalidReport, index, name, "\(name) must be a whole number >= 0, not \(value)") }
                guard value <= maxUnits else { throw error(.invalidReport, index, name, tooMany(name, "\(value)")) }
                return value
            case .double(let value)?:
                guard value >= 0, value.rounded() == value, value.isFinite else {
                    throw error(.invalidReport, index, name, "\(name) must be a whole number >= 0, not \(value)")
                }
                guard value <= Double(maxUnits) else { throw error(.invalidReport, index, name, tooMany(name, "\(value)")) }
                return Int64(value)
            case let other?:
                throw error(.invalidReport, index, name, "\(name) must be a whole number >= 0, not \(other.kind)")
            }
        }

        /// What the report counts: one of `Measure`'s values exactly (absent: deliveries).
        func measure() throws(ProtocolError) -> Measure {
            guard let field = fields["measure"], field != .null else { return .default }
            guard case .string(let text) = field else {
                throw error(.invalidReport, index, "measure", "measure must be a string, not \(field.kind)")
            }
            guard let measure = Measure(rawValue: text) else {
                let names = Measure.allCases.map(\.rawValue).joined(separator: ", ")
                throw error(.invalidReport, index, "measure", "measure must be one of \(names), not '\(text)'")
            }
            return measure
        }

        /// Which powertrain's part of the entity's figure the report gives: one of `Powertrain`'s
        /// spellings exactly (absent: the whole figure).
        func powertrain() throws(ProtocolError) -> Powertrain? {
            guard let field = fields["powertrain"], field != .null else { return nil }
            guard case .string(let text) = field else {
                throw error(.invalidReport, index, "powertrain", "powertrain must be a string, not \(field.kind)")
            }
            guard let powertrain = Powertrain(rawValue: text) else {
                throw error(.invalidReport, index, "powertrain", "powertrain must be one of \(Powertrain.spellings), not '\(String(text.prefix(32)))'")
            }
            return powertrain
        }

        /// The qualifier, `exact` when absent.
        func qualifier() throws(ProtocolError) -> Qualifier {
            guard let text = try string("qualifier") else { return .exact }
            guard let parsed = Qualifier(rawValue: text) else {
                throw error(.invalidReport, index, "qualifier", "qualifier must be one of exact, approximate, atLeast, atMost, not '\(text)'")
            }
            return parsed
        }
    }

    /// What a report names: a model, brand or group by its names, or a segment's market-wide total.
    struct Names {
        var group, brand, model, segment: String?

        func resolve(_ catalog: Catalog, index: Int) throws(ProtocolError) -> EntityKey {
            do throws(ProtocolError) {
                guard let segment else { return try ReportValidator.resolve(group: group, brand: brand, model: model, catalog: catalog) }
                // A segment's market-wide total: it names no group, brand or model.
                guard group == nil, brand == nil, model == nil else {
                    throw error(.invalidReport, index, "segment", "a segment's total names no group, brand or model; a model's segment comes from the catalog")
                }
                return try catalog.resolve(EntitySelector(segment: segment))
            } catch var failure {
                var details = failure.details ?? [:]
                details["index"] = .int(Int64(index))
                failure.details = details
                throw failure
            }
        }
    }

    /// A powertrain part is of a model, brand, group or the market, never of a segment's total (a
    /// price band's figure comes whole from its source); a model the catalog lists with its
    /// powertrains has parts only of those (a group of them: NEV, plug-in, when it has one of it).
    static func check(_ powertrain: Powertrain, of entity: EntityKey, catalog: Catalog, index: Int) throws(ProtocolError) {
        guard entity.level != .segment else {
            throw error(.invalidReport, index, "powertrain", "a segment's total is reported whole; powertrain applies to a model, brand, group or the market")
        }
        guard entity.level == .model, let offered = catalog.model(entity.id)?.powertrains, !offered.isEmpty else { return }
        let kinds = Set(Powertrain.kinds(of: powertrain))
        guard !offered.contains(where: { Powertrain.tagged($0).map(kinds.contains) ?? false }) else { return }
        throw error(
            .invalidReport, index, "powertrain",
            "the catalog lists model '\(entity.id)' with \(offered.joined(separator: ", ")), not \(powertrain.rawValue); correct the catalog's powertrains first if it has changed"
        )
    }

    /// The report's time as given (checked: ISO 8601, from 1900, at most a day ahead), or the time
    /// it was received; with its milliseconds since 1970.
    static func reportedAt(_ given: String?, receivedAt: Int64, latest: Int64?, index: Int) throws(ProtocolError) -> (String, Int64) {
        guard let given else { return (Timestamp.format(millis: receivedAt), receivedAt) }
        guard let millis = Timestamp.millis(given) else {
            throw error(.invalidReport, index, "reportedAt", "reportedAt must be an ISO 8601 time such as 2025-06-01T00:00:00Z, not '\(given)'")
        }
        guard millis >= earliestReportedAt else {
            throw error(.invalidReport, index, "reportedAt", "reportedAt '\(given)' is before 1900")
        }
        guard millis <= latest ?? receivedAt.saturatingAdding(futureAllowance) else {
            throw error(
                .invalidReport, index, "reportedAt",
                "reportedAt '\(given)' is more than a day ahead of this ingest's clock (\(Timestamp.format(millis: receivedAt)))"
            )
        }
        return (given, millis)
    }

    /// A report's `segmentRank`: absent, or a whole number from 1 to `DeliveryReport.maxSegmentRank`
    /// on a month's report of a model that the catalog puts in a segment.
    static func segmentRank(_ field: JSONValue?, entity: EntityKey, period: Period, catalog: Catalog, index: Int) throws(ProtocolError) -> Int? {
        let rank: Int64
        switch field {
        case nil, .null?: return nil
        case .int(let value)?: rank = value
        case .double(let value)? where value.isFinite && value.rounded() == value && abs(value) < 1e15: rank = Int64(value)
        case let other?:
            throw error(.invalidReport, index, "segmentRank", "segmentRank must be a whole number from 1 to \(DeliveryReport.maxSegmentRank), not \(other.kind)")
        }
        guard (1...Int64(DeliveryReport.maxSegmentRank)).contains(rank) else {
            throw error(.invalidReport, index, "segmentRank", "segmentRank must be a whole number from 1 to \(DeliveryReport.maxSegmentRank), not \(rank)")
        }
        guard entity.level == .model else {
            throw error(.invalidReport, index, "segmentRank", "segmentRank is a model's rank within its price segment; this report names a \(entity.level.rawValue)")
        }
        guard catalog.model(entity.id)?.segment != nil else {
            throw error(.invalidReport, index, "segmentRank", "segmentRank needs a model with a segment; the catalog gives '\(entity.id)' none")
        }
        guard period.kind == .month else {
            throw error(.invalidReport, index, "segmentRank", "segmentRank is a rank within a month; period \(period) is not a month")
        }
        return Int(rank)
    }

    /// Resolves a report's names: the deepest level named is the entity, and every level named
    /// above it must be its actual parent.
    public static func resolve(group: String?, brand: String?, model: String?, catalog: Catalog) throws(ProtocolError) -> EntityKey {
        func lookup(_ name: String, _ level: Level) throws(ProtocolError) -> EntityKey {
            // Resolving the deepest name on its own first tells "unknown" from "under another parent".
            try catalog.resolve(
                EntitySelector(group: level == .group ? name : nil, brand: level == .brand ? name : nil, model: level == .model ? name : nil)
            )
        }
        if group == nil && brand == nil && model == nil { return .market }
        let entity: EntityKey
        if let model {
            entity = try resolveDeepest(model, .model, brand: brand, group: group, catalog: catalog)
        } else if let brand {
            entity = try resolveDeepest(brand, .brand, brand: nil, group: group, catalog: catalog)
        } else {
            entity = try lookup(group!, .group)
        }
        if let brand, entity.level == .model {
            let named = try lookup(brand, .brand)
            guard catalog.parent(of: entity) == named else {
                throw ProtocolError(
                    .invalidReport,
                    "model '\(model!)' belongs to brand '\(catalog.parent(of: entity)?.id ?? "?")', not '\(named.id)'",
                    details: ["field": .string("brand")]
                )
            }
        }
        if let group, entity.level != .group {
            let named = try lookup(group, .group)
            var ancestor = catalog.parent(of: entity)
            while let current = ancestor, current.level != .group { ancestor = catalog.parent(of: current) }
            guard ancestor == named else {
                throw ProtocolError(
                    .invalidReport,
                    "\(entity.level.rawValue) '\(entity.id)' belongs to group '\(ancestor?.id ?? "?")', not '\(named.id)'",
                    details: ["field": .string("group")]
                )
            }
        }
        return entity
    }

    private static func resolveDeepest(
        _ name: String, _ level: Level, brand: String?, group: String?, catalog: Catalog
    ) throws(ProtocolError) -> EntityKey {
        let alone = EntitySelector(brand: level == .brand ? name : nil, model: level == .model ? name : nil)
        do {
            return try catalog.resolve(alone)
        } catch let failure where failure.details?["candidates"] != nil {
            // Same name in several places: the parents named in the report pick one.
            return try catalog.resolve(
                EntitySelector(group: group, brand: level == .model ? brand : name, model: level == .model ? name : nil)
            )
        }
    }

    private static func tooMany(_ name: String, _ value: String) -> String {
        "\(name) must be at most \(maxUnits) (no delivery figure is larger), not \(value)"
    }

    /// An approximate report's own interval (docs/PROTOCOL.md, "Approximate figures"):
    /// `tolerance` (units either side) or `low` and/or `high` (a side not given is its digits'
    /// one); nil, nil when none is stated.
    static func statedInterval(
        units: Int64, qualifier: Qualifier, tolerance: Int64?, low: Int64?, high: Int64?, index: Int
    ) throws(ProtocolError) -> (Int64?, Int64?) {
        guard tolerance != nil || low != nil || high != nil else { return (nil, nil) }
        let field = tolerance != nil ? "tolerance" : low != nil ? "low" : "high"
        guard qualifier == .approximate else {
            throw error(
                .invalidReport, index, field,
                "\(field) states how far an approximate figure may be off: it needs qualifier approximate, not \(qualifier.rawValue)"
            )
        }
        if let tolerance {
            guard low == nil, high == nil else {
                throw error(.invalidReport, index, "tolerance", "give tolerance or low/high, not both")
            }
            return (max(0, units - tolerance), units + tolerance)
        }
        if let low, low > units { throw error(.invalidReport, index, "low", "low must be at most units (\(units)), not \(low)") }
        if let high, high < units { throw error(.invalidReport, index, "high", "high must be at least units (\(units)), not \(high)") }
        let digits = Interval.approximate(units)
        return (low ?? digits.low, high ?? digits.high ?? units)
    }

    /// Why a stored report cannot be applied to figures, or nil when it can. A follower asks this
    /// of every event it reads from a log: an event written before a limit existed, or damaged,
    /// is set aside rather than trusted.
    public static func unusable(_ report: DeliveryReport) -> String? {
        guard (0...maxUnits).contains(report.units) else { return "units \(report.units) is outside 0...\(maxUnits)" }
        guard (try? Period(parsing: report.period)) != nil else { return "period '\(report.period)' does not parse" }
        guard Timestamp.millis(report.reportedAt) != nil else { return "reportedAt '\(report.reportedAt)' does not parse" }
        return nil
    }

    static func error(_ code: ErrorCode, _ index: Int, _ field: String, _ message: String) -> ProtocolError {
        ProtocolError(code, message, details: ["index": .int(Int64(index)), "field": .string(field)])
    }

    /// FNV-1a, 64 bits, as 16 hex digits: a stable content hash with no dependency.
    public static func fnv1a(_ text: String) -> String {
        var text = text
        return text.withUTF8 { hex(fnv1aHash(UnsafeRawBufferPointer($0))) }
    }

    /// FNV-1a of raw bytes (a stored payload), as 16 hex digits.
    public static func fnv1a(bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { hex(fnv1aHash($0)) }
    }

    /// FNV-1a of any bytes (a row's payload as the database hands it).
    public static func fnv1a(bytes: some Sequence<UInt8>) -> String {
        fnv1a(bytes: Array(bytes))
    }

    static func fnv1aHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    static func hex(_ hash: UInt64) -> String {
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension String {
    var trimmingWhitespace: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}
