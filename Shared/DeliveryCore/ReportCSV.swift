import DeliveryMessages

/// A CSV problem, with the line it is on (1 is the header).
public struct CSVError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var message: String

    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}

/// RFC 4180 records read from bytes as they come (a file read in chunks never sits whole in
/// memory): quoted fields may hold commas, doubled quotes and line breaks; CRLF and LF both end a
/// record; a UTF-8 byte-order mark at the very start is skipped. Every field must be UTF-8, and a
/// quote left open at the end is an error naming the line where it opened. A record past
/// `maxRecordBytes` is an error too: no line of a file can make the reader hold more than that.
public struct CSVRecordReader: Sendable {
    /// The most bytes one record (every field of one row) may hold; a report is a few hundred.
    public static let maxRecordBytes = 1 << 16

    public struct Record: Sendable, Hashable {
        /// The line the record starts on.
        public var line: Int
        public var fields: [String]
    }

    private var field: [UInt8] = []
    private var fields: [String] = []
    private var quoted = false
    /// A quote seen inside a quoted field: the next byte tells an escaped quote from the end.
    private var quoteInQuoted = false
    private var line = 1
    private var recordLine = 1
    private var quoteLine = 1
    private var atStart = true
    private var bomSeen = 0
    private var fieldHasContent = false
    private var recordBytes = 0

    public init() {}

    /// Reads more bytes; returns the records they complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(CSVError) -> [Record] {
        var records: [Record] = []
        for byte in bytes {
            if atStart {
                // EF BB BF: the byte-order mark spreadsheet tools write.
                let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
                if byte == bom[bomSeen] {
                    bomSeen += 1
                    if bomSeen == 3 { atStart = false }
                    continue
                }
                atStart = false
                for earlier in bom.prefix(bomSeen) { try take(earlier, into: &records) }
            }
            try take(byte, into: &records)
        }
        return records
    }

    /// Ends the input; returns the last record if the input did not end with a line break.
    public mutating func finish() throws(CSVError) -> [Record] {
        var records: [Record] = []
        if atStart && bomSeen > 0 {
            atStart = false
            for earlier in [UInt8](arrayLiteral: 0xEF, 0xBB, 0xBF).prefix(bomSeen) { try take(earlier, into: &records) }
        }
        if quoteInQuoted {
            quoteInQuoted = false
            quoted = false
        }
        if quoted {
            throw CSVError(line: quoteLine, "a quoted field opened on this line is never closed")
        }
        if fieldHasContent || !fields.isEmpty {
            try endField()
            records.append(Record(line: recordLine, fields: fields))
            fields = []
        }
        return records
    }

    private mutating func take(_ byte: UInt8, into records: inout [Record]) throws(CSVError) {
        recordBytes += 1
        guard recordBytes <= Self.maxRecordBytes else {
            throw CSVError(line: recordLine, "a row of more than \(Self.maxRecordBytes) bytes starts on this line; is this a CSV file of reports?")
        }
        let quote = UInt8(ascii: "\"")
        if quoteInQuoted {
            quoteInQuoted = false
            if byte == quote {
                field.append(quote)
                return
            }
            quoted = false
            // The closing quote: this byte is read as outside the quotes.
        }
        if quoted {
            if byte == quote {
                quoteInQuoted = true
            } else {
                if byte == UInt8(ascii: "\n") { line += 1 }
                field.append(byte)
            }
            return
        }
        switch byte {
        case quote:
            quoted = true
            quoteLine = line
            fieldHasContent = true
        case UInt8(ascii: ","):
            try endField()
        case UInt8(ascii: "\r"):
            break
        case UInt8(ascii: "\n"):
            try endField()
            records.append(Record(line: recordLine, fields: fields))
            fields = []
            line += 1
            recordLine = line
            recordBytes = 0
        default:
            field.append(byte)
            fieldHasContent = true
        }
    }

    private mutating func endField() throws(CSVError) {
        guard let text = String(validating: field, as: UTF8.self) else {
            let bad = field.first { $0 >= 0x80 } ?? 0
            throw CSVError(line: line, "the text is not UTF-8 (byte 0x\(String(bad, radix: 16))); save the file as UTF-8")
        }
        fields.append(text)
        field.removeAll(keepingCapacity: true)
        fieldHasContent = false
    }
}

/// Reports from CSV with a header row naming the columns (`source,period,group,brand,model,units,…`),
/// read as the bytes come. Each report keeps its line, so that an error can name it.
public struct ReportCSVReader: Sendable {
    public static let columns: Set<String> = [
        "id", "source", "period", "group", "brand", "model", "units", "qualifier", "reportedAt", "note", "segmentRank", "measure",
        "powertrain",
    ]

    private var records = CSVRecordReader()
    private var header: [String]?

    public init() {}

    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(CSVError) -> [(line: Int, report: JSONValue)] {
        try reports(from: records.feed(bytes))
    }

    public mutating func finish() throws(CSVError) -> [(line: Int, report: JSONValue)] {
        let last = try reports(from: records.finish())
        guard header != nil else { throw CSVError(line: 1, "the file is empty; the first line names the columns") }
        return last
    }

    private mutating func reports(from records: [CSVRecordReader.Record]) throws(CSVError) -> [(line: Int, report: JSONValue)] {
        var reports: [(line: Int, report: JSONValue)] = []
        for record in records {
            guard let header else {
                let names = record.fields.map(\.trimmingWhitespace)
                for name in names where !Self.columns.contains(name) {
                    throw CSVError(
                        line: record.line, "unknown column '\(excerpt(name, limit: 32))'; columns are \(Self.columns.sorted().joined(separator: ", "))"
                    )
                }
                self.header = names
                continue
            }
            if record.fields.count == 1 && record.fields[0].isEmpty { continue }
            guard record.fields.count == header.count else {
                throw CSVError(line: record.line, "\(record.fields.count) fields; the header has \(header.count)")
            }
            var object: [String: JSONValue] = [:]
            for (column, field) in zip(header, record.fields) where !field.isEmpty {
                object[column] = column == "units" || column == "segmentRank" ? Self.units(field) : .string(field)
            }
            reports.append((record.line, .object(object)))
        }
        return reports
    }

    /// A units field as JSON would carry it: a whole number (`15481`, or `15481.0` as JSON
    /// allows), else the text, which validation refuses with its reason.
    static func units(_ field: String) -> JSONValue {
        let text = field.trimmingWhitespace
        if let whole = Int64(text) { return .int(whole) }
        if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let number = Double(text), number.isFinite {
            return .double(number)
        }
        return .string(field)
    }
}
