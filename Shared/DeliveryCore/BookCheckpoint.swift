import DeliveryMessages

/// An aggregate's state saved to disk, so that a restart replays only the tail of the ingest
/// logs: the `FigureBook` exactly as it was (figures, the reports behind them with their arrival
/// numbers, the catalog), the position reached in every ingest stream, and what the aggregate
/// keeps beside the book.
///
/// File layout (version 7; version 6 had no revisions, version 5 no powertrains, version 4 no measures, version 3 no segment ranks, version 2 no
/// approximate intervals, version 1 ordered reports by arrival; all are refused, and the aggregate
/// replays the logs instead): the bytes `DTCK`, a version byte, the body in the compact encoding
/// of the internal links, then the FNV-1a 64 of the body (8 bytes, little-endian). A file that is
/// short, of another version, or whose hash does not match is refused as a whole: the caller
/// logs it and replays from the start.
public struct BookCheckpoint: Sendable {
    public static let magic: [UInt8] = Array("DTCK".utf8)
    public static let version: UInt8 = 7

    public var book: FigureBook
    /// The groups of the shard that wrote it (empty: every group); a checkpoint of another shard
    /// is not used.
    public var groups: [String]
    public var positions: [String: UInt64]
    /// Reports whose entity the catalog did not know yet, with their stream and seq.
    public var waiting: [(DeliveryReport, String, UInt64)]
    public var skipped: Int
    public var setAside: Int

    public init(
        book: FigureBook, groups: [String], positions: [String: UInt64], waiting: [(DeliveryReport, String, UInt64)], skipped: Int,
        setAside: Int
    ) {
        self.book = book
        self.groups = groups
        self.positions = positions
        self.waiting = waiting
        self.skipped = skipped
        self.setAside = setAside
    }

    // MARK: Writing

    public func encoded() throws -> [UInt8] {
        var writer = BinaryWriter(capacity: 64 + book.figureCount * 48)
        writer.varint(UInt64(groups.count))
        for group in groups.sorted() { writer.text(group) }
        writer.varint(UInt64(positions.count))
        for (stream, seq) in positions.sorted(by: { $0.key < $1.key }) {
            writer.text(stream)
            writer.varint(seq)
        }
        writer.varint(UInt64(skipped))
        writer.varint(UInt64(setAside))
        writer.varint(UInt64(waiting.count))
        for (report, stream, seq) in waiting {
            writer.text(stream)
            writer.varint(seq)
            report.write(to: &writer)
        }
        writer.raw(try CompactJSONEncoder.encode(book.catalog.document))
        writer.varint(UInt64(book.reportCount))
        book.table.write(to: &writer)
        book.entities.write(to: &writer)
        book.nodes.write(to: &writer)
        writer.varint(UInt64(book.parts.count))
        for (key, sums) in book.parts.sorted(by: { $0.key < $1.key }) {
            writer.varint(key)
            sums.write(to: &writer)
        }
        writer.varint(UInt64(book.history.count))
        for (key, earlier) in book.history.sorted(by: { $0.key < $1.key }) {
            writer.varint(key)
            writer.varint(UInt64(earlier.count))
            for slot in earlier { NodeTable.write(slot, to: &writer) }
        }
        let body = writer.bytes
        var bytes = Self.magic + [Self.version]
        bytes.reserveCapacity(body.count + 13)
        bytes += body
        withUnsafeBytes(of: Self.hash(body[...]).littleEndian) { bytes += $0 }
        return bytes
    }

    // MARK: Reading

    public init(decoding bytes: [UInt8]) throws(LinkError) {
        guard bytes.count >= 13, Array(bytes[0..<4]) == Self.magic else { throw LinkError("not a checkpoint (no DTCK header)") }
        guard bytes[4] == Self.version else {
            throw LinkError("a checkpoint of version \(bytes[4]); this build reads version \(Self.version)")
        }
        let body = bytes[5..<(bytes.count - 8)]
        var stored: UInt64 = 0
        for (shift, byte) in bytes.suffix(8).enumerated() { stored |= UInt64(byte) << (8 * UInt64(shift)) }
        guard Self.hash(body) == stored else { throw LinkError("the checkpoint does not match its hash (damaged or cut short)") }
        var reader = BinaryReader(Array(body))
        groups = []
        for _ in 0..<(try reader.count()) { groups.append(try reader.text()) }
        positions = [:]
        for _ in 0..<(try reader.count(minimumBytes: 2)) { positions[try reader.text()] = try reader.varint() }
        skipped = try reader.size()
        setAside = try reader.size()
        waiting = []
        for _ in 0..<(try reader.count(minimumBytes: 12)) {
            let stream = try reader.text()
            let seq = try reader.varint()
            waiting.append((try DeliveryReport(from: &reader, version: InternalLink.version), stream, seq))
        }
        let catalogJSON = Array(try reader.raw())
        var catalog = Catalog()
        do {
            try catalog.merge(try JSONValueDecoder.decode(CatalogDocument.self, from: try JSONParser.parse(catalogJSON)))
        } catch {
            throw LinkError("the checkpoint's catalog does not read: \(error)")
        }
        var book = FigureBook(catalog: catalog)
        book.reportCount = try reader.size()
        book.table = try ReportTable(from: &reader)
        book.entities = try EntityIndex(from: &reader)
        book.nodes = try NodeTable(from: &reader, entities: book.entities.keys.count, table: book.table)
        for _ in 0..<(try reader.count(minimumBytes: 10)) {
            let key = try reader.varint()
            guard book.nodes.position(of: key) != nil, book.parts[key] == nil else { throw LinkError("powertrain parts of a figure the checkpoint does not have, or twice") }
            book.parts[key] = try FigureBook.Sums(from: &reader)
        }
        for _ in 0..<(try reader.count(minimumBytes: 2)) {
            let key = try reader.varint()
            guard book.nodes.position(of: key) != nil, book.history[key] == nil else { throw LinkError("earlier reports of a figure the checkpoint does not have, or twice") }
            let count = try reader.count(minimumBytes: 5)
            guard (1...FigureRecord.maxRevisions).contains(count) else { throw LinkError("\(count) earlier reports of one figure") }
            var earlier: [FigureBook.Slot] = []
            for _ in 0..<count { earlier.append(try NodeTable.readSlot(&reader, table: book.table)) }
            book.history[key] = earlier
        }
        guard reader.atEnd else { throw LinkError("bytes left after the checkpoint") }
        for key in book.nodes.keys {
            let period = FigureBook.unpack(key).period
            let month = period.firstMonth
            if book.earliestMonth.map({ month < $0 }) ?? true { book.earliestMonth = month }
        }
        self.book = book
    }

    /// A body with the header and trailer a checkpoint file has: what a tool or a test that
    /// builds a checkpoint by hand (a fuzzer, a forged file) needs to get past the hash.
    public static func sealing(_ body: [UInt8]) -> [UInt8] {
        var bytes = magic + [version] + body
        withUnsafeBytes(of: hash(body[...]).littleEndian) { bytes += $0 }
        return bytes
    }

    static func hash(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

extension ReportTable {
    func write(to writer: inout BinaryWriter) {
        writer.varint(UInt64(names.values.count))
        for name in names.values { writer.text(name) }
        writer.varint(UInt64(stamps.values.count))
        for stamp in stamps.values { writer.text(stamp) }
        for value in millis { writer.int(value) }
        writer.varint(UInt64(records.count - 1))
        for record in records.dropFirst() {
            writer.varint(record.seq)
            writer.optionalText(record.reportId)
            writer.varint(UInt64(record.stamp))
            writer.varint(UInt64(record.stream))
        }
        writer.varint(UInt64(ranks.count))
        for (arrival, rank) in ranks.sorted(by: { $0.key < $1.key }) {
            writer.varint(UInt64(arrival))
            writer.varint(UInt64(rank))
        }
    }

    init(from reader: inout BinaryReader) throws(LinkError) {
        self.init()
        for _ in 0..<(try reader.count()) { _ = name(try reader.text()) }
        let stampCount = try reader.count()
        for _ in 0..<stampCount { _ = stamps.index(try reader.text()) }
        for _ in 0..<stampCount { millis.append(try reader.int()) }
        let count = try reader.count(minimumBytes: 4)
        records.reserveCapacity(count + 1)
        for _ in 0..<count {
            let seq = try reader.varint()
            let reportId = try reader.optionalText()
            let stamp = try reader.varint()
            let stream = try reader.varint()
            guard stamp < UInt64(stampCount), stream < UInt64(names.values.count) else {
                throw LinkError("a report refers to a stamp or stream that is not in the checkpoint")
            }
            records.append(Record(seq: seq, reportId: reportId, stamp: UInt32(stamp), stream: UInt32(stream)))
        }
        for _ in 0..<(try reader.count(minimumBytes: 2)) {
            let arrival = try reader.varint()
            let rank = try reader.varint()
            guard arrival >= 1, arrival < UInt64(records.count), (1...UInt64(DeliveryReport.maxSegmentRank)).contains(rank) else {
                throw LinkError("a segment rank \(rank) of report \(arrival), which the checkpoint does not hold")
            }
            ranks[UInt32(arrival)] = UInt16(rank)
        }
    }
}

extension EntityIndex {
    func write(to writer: inout BinaryWriter) {
        writer.varint(UInt64(keys.count))
        for (key, parent) in zip(keys, parents) {
            writer.choice(key.level)
            writer.text(key.id)
            writer.varint(parent == Self.none ? 0 : UInt64(parent) + 1)
        }
    }

    init(from reader: inout BinaryReader) throws(LinkError) {
        self.init()
        let count = try reader.count(minimumBytes: 3)
        for index in 0..<count {
            let key = EntityKey(try reader.choice(Level.self), try reader.text())
            let parent = try reader.varint()
            guard parent <= UInt64(index) else { throw LinkError("an entity's parent comes after it") }
            keys.append(key)
            parents.append(parent == 0 ? Self.none : UInt32(parent - 1))
            indices[key] = UInt32(index)
        }
    }
}

extension NodeTable {
    func write(to writer: inout BinaryWriter) {
        writer.varint(UInt64(nodes.count))
        for (key, node) in zip(keys, nodes) {
            writer.varint(key)
            writer.varint(UInt64(node.others.count + (node.first.arrival == 0 ? 0 : 1)))
            for slot in node.slots { Self.write(slot, to: &writer) }
            node.children.write(to: &writer)
            writer.varint(UInt64(node.cause))
        }
    }

    init(from reader: inout BinaryReader, entities: Int, table: ReportTable) throws(LinkError) {
        let records = table.records.count
        self.init()
        let count = try reader.count(minimumBytes: 9)
        for _ in 0..<count {
            let key = try reader.varint()
            guard key != 0, (key >> 17) & 0xFFFF_FFFF < UInt64(entities), (key >> 49) & 7 < UInt64(Measure.allCases.count),
                key >> 52 <= UInt64(Powertrain.allCases.count), (1...17).contains(key & 31), position(of: key) == nil
            else {
                throw LinkError("a figure of an unknown entity or period, or twice")
            }
            var node = FigureBook.Node()
            var slots: [FigureBook.Slot] = []
            for _ in 0..<(try reader.count(minimumBytes: 5)) { slots.append(try Self.readSlot(&reader, table: table)) }
            node.replaceSlots(slots)
            node.children = try FigureBook.Sums(from: &reader)
            node.cause = try Self.arrival(&reader, records)
            nodes[insert(key)] = node
        }
    }

    static func write(_ slot: FigureBook.Slot, to writer: inout BinaryWriter) {
        writer.int(slot.units)
        writer.varint(UInt64(slot.arrival))
        writer.varint(UInt64(slot.source))
        writer.choice(slot.qualifier)
        writer.varint(UInt64(slot.below))
        writer.varint(UInt64(slot.above))
    }

    static func readSlot(_ reader: inout BinaryReader, table: ReportTable) throws(LinkError) -> FigureBook.Slot {
        let units = try reader.int()
        let arrival = try Self.arrival(&reader, table.records.count)
        let source = try reader.varint()
        guard arrival != 0, source < UInt64(table.names.values.count) else { throw LinkError("a report slot without its report or source") }
        let qualifier = try reader.choice(Qualifier.self)
        var slot = FigureBook.Slot(
            units: units, order: table.order(arrival), arrival: arrival, source: UInt32(source), qualifier: qualifier, interval: Interval.of(units, .exact)
        )
        guard let below = UInt32(exactly: try reader.varint()), let above = UInt32(exactly: try reader.varint()) else {
            throw LinkError("a report slot's interval out of range")
        }
        (slot.below, slot.above) = (below, above)
        return slot
    }

    private static func arrival(_ reader: inout BinaryReader, _ records: Int) throws(LinkError) -> UInt32 {
        let value = try reader.varint()
        guard value < UInt64(records) else { throw LinkError("a figure refers to a report that is not in the checkpoint") }
        return UInt32(value)
    }

}

extension FigureBook.Sums {
    func write(to writer: inout BinaryWriter) {
        writer.int(units)
        writer.int(Int64(present))
        writer.int(Int64(complete))
        writer.int(Int64(approximate))
        writer.int(Int64(atLeast))
        writer.int(Int64(atMost))
        writer.int(low)
        writer.int(high)
        writer.int(Int64(open))
    }

    init(from reader: inout BinaryReader) throws(LinkError) {
        self.init()
        units = try reader.int()
        present = try Self.count(&reader)
        complete = try Self.count(&reader)
        approximate = try Self.count(&reader)
        atLeast = try Self.count(&reader)
        atMost = try Self.count(&reader)
        low = try reader.int()
        high = try reader.int()
        open = try Self.count(&reader)
    }

    private static func count(_ reader: inout BinaryReader) throws(LinkError) -> Int32 {
        let value = try reader.int()
        guard let count = Int32(exactly: value) else { throw LinkError("a count out of range") }
        return count
    }
}
