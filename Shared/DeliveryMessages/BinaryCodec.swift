/// The compact encoding of the internal links (docs/PROTOCOL.md, "Internal links"): unsigned
/// integers as LEB128 varints, signed ones zigzag-encoded first, strings as a varint length and
/// UTF-8. A string repeated within one message (a source, a stream id, a `reportedAt` stamp) is
/// written once and then referred to by its index in the message.
public struct BinaryWriter {
    public private(set) var bytes: [UInt8] = []
    private var strings: [String: UInt64] = [:]

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func byte(_ value: UInt8) {
        bytes.append(value)
    }

    public mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    public mutating func int(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// An optional integer: a presence byte, then the value.
    public mutating func optionalInt(_ value: Int64?) {
        guard let value else { return byte(0) }
        byte(1)
        int(value)
    }

    public mutating func bool(_ value: Bool) {
        byte(value ? 1 : 0)
    }

    /// A string: 0 and then its length and bytes the first time in this message, else its index + 1.
    public mutating func string(_ value: String) {
        if let index = strings[value] {
            varint(index + 1)
            return
        }
        strings[value] = UInt64(strings.count)
        varint(0)
        raw(Array(value.utf8))
    }

    /// A string written out in full, never referred back to (ids that do not repeat: keeping a
    /// table of them would cost more than it saves).
    public mutating func text(_ value: String) {
        raw(Array(value.utf8))
    }

    public mutating func optionalText(_ value: String?) {
        guard let value else { return byte(0) }
        byte(1)
        text(value)
    }

    /// A string or none: a presence byte, then the string.
    public mutating func optionalString(_ value: String?) {
        guard let value else { return byte(0) }
        byte(1)
        string(value)
    }

    /// Bytes with their length before them.
    public mutating func raw(_ value: [UInt8]) {
        varint(UInt64(value.count))
        bytes += value
    }
}

/// Reads what a `BinaryWriter` wrote. Every read is bounds-checked: bytes that end early, a
/// length beyond the message, an unknown string index or a value out of range throw, never trap.
public struct BinaryReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int
    private var strings: [String] = []

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var atEnd: Bool { offset >= bytes.count }

    public mutating func byte() throws(LinkError) -> UInt8 {
        guard offset < bytes.count else { throw LinkError("the message ends early (at byte \(offset))") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func varint() throws(LinkError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            guard shift < 64, shift < 63 || next <= 1 else { throw LinkError("an integer longer than 64 bits at byte \(offset)") }
            result |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// A varint that must fit in `Int` (a stored count or total): a larger one, which only a forged
    /// or damaged message holds, throws instead of trapping in the conversion.
    public mutating func size() throws(LinkError) -> Int {
        let value = try varint()
        guard let size = Int(exactly: value) else { throw LinkError("a count of \(value), past the largest this build holds") }
        return size
    }

    public mutating func int() throws(LinkError) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    public mutating func optionalInt() throws(LinkError) -> Int64? {
        try presence() ? try int() : nil
    }

    public mutating func bool() throws(LinkError) -> Bool {
        try presence()
    }

    /// A count of items that follow, each at least `minimumBytes` long: never more than the
    /// bytes left could hold, so that a forged count cannot make a reader reserve memory.
    public mutating func count(minimumBytes: Int = 1) throws(LinkError) -> Int {
        let value = try varint()
        guard value <= UInt64(max(bytes.count - offset, 0) / max(minimumBytes, 1)) else {
            throw LinkError("a count of \(value) items in a message of \(bytes.count) bytes")
        }
        return Int(value)
    }

    public mutating func string() throws(LinkError) -> String {
        let tag = try varint()
        if tag > 0 {
            guard tag <= UInt64(strings.count) else { throw LinkError("string \(tag - 1) is not in the message") }
            return strings[Int(tag - 1)]
        }
        let value = String(decoding: try raw(), as: UTF8.self)
        strings.append(value)
        return value
    }

    public mutating func text() throws(LinkError) -> String {
        String(decoding: try raw(), as: UTF8.self)
    }

    public mutating func optionalText() throws(LinkError) -> String? {
        try presence() ? try text() : nil
    }

    public mutating func optionalString() throws(LinkError) -> String? {
        try presence() ? try string() : nil
    }

    public mutating func raw() throws(LinkError) -> ArraySlice<UInt8> {
        let length = try varint()
        guard length <= UInt64(bytes.count - offset) else {
            throw LinkError("\(length) bytes announced, \(bytes.count - offset) left")
        }
        defer { offset += Int(length) }
        return bytes[offset..<offset + Int(length)]
    }

    /// A value of a string-backed enum, written as its index in `allCases`.
    public mutating func choice<T: CaseIterable>(_ type: T.Type) throws(LinkError) -> T {
        let index = Int(try byte())
        let cases = Array(T.allCases)
        guard index < cases.count else { throw LinkError("value \(index) is not a \(T.self)") }
        return cases[index]
    }

    private mutating func presence() throws(LinkError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let other: throw LinkError("a presence byte of \(other)")
        }
    }
}

extension BinaryWriter {
    /// A value of a string-backed enum, as its index in `allCases`.
    public mutating func choice<T: CaseIterable & Equatable>(_ value: T) {
        byte(UInt8(Array(T.allCases).firstIndex(of: value) ?? 0))
    }
}

/// An internal message that does not read: the follower sets it aside (or resyncs) and goes on.
public struct LinkError: Error, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
