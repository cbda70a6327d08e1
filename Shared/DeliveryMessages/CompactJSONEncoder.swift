/// A JSON encoder that writes straight into a byte buffer as `encode(to:)` runs, instead of
/// building a tree first: several times faster than Foundation's `JSONEncoder` for the messages
/// of this protocol, which every service encodes by the thousand.
///
/// It supports what the message types use: keyed containers (several on one encoder merge into
/// one object), unkeyed containers and single values. Nested containers and super encoders are
/// not supported (no message type asks for them; `EnvelopeTests` encode every kind both ways and
/// compare): a value that asks for one, and any other misuse, throws `EncodingError`, and
/// `Wire.encode` answers with an `internal` error instead. Keys
/// come out in the order they are encoded; `nil` optionals are left out, as `JSONEncoder` does.
public enum CompactJSONEncoder {
    public static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let output = Output()
        output.bytes.reserveCapacity(256)
        try output.encodeValue(value, codingPath: [])
        return output.bytes
    }

    static func unsupported(_ what: String, _ codingPath: [any CodingKey]) -> EncodingError {
        EncodingError.invalidValue(what, .init(codingPath: codingPath, debugDescription: "CompactJSONEncoder does not support \(what)"))
    }

    /// The buffer, and what the innermost value under construction has opened.
    final class Output {
        var bytes: [UInt8] = []

        enum Frame {
            case none, object(first: Bool), array(first: Bool)
        }

        /// Encodes one value: a primitive directly, anything else through its `encode(to:)`,
        /// closing the object or array it opened.
        func encodeValue<Value: Encodable>(_ value: Value, codingPath: [any CodingKey]) throws {
            switch value {
            case let string as String: writeString(string)
            case let int as Int: writeInteger(int)
            case let int as Int64: writeInteger(int)
            case let int as UInt64: writeInteger(int)
            case let int as Int32: writeInteger(int)
            case let bool as Bool: bytes += bool ? Self.trueBytes : Self.falseBytes
            case let double as Double: try writeDouble(double, codingPath)
            default:
                let encoder = ValueEncoder(output: self, codingPath: codingPath)
                try value.encode(to: encoder)
                if let refused = encoder.refused { throw refused }
                switch encoder.frame {
                case .none: if !encoder.wroteSingle { bytes += Self.nullBytes }
                case .object: bytes.append(UInt8(ascii: "}"))
                case .array: bytes.append(UInt8(ascii: "]"))
                }
            }
        }

        static let trueBytes = Array("true".utf8)
        static let falseBytes = Array("false".utf8)
        static let nullBytes = Array("null".utf8)

        func writeInteger<T: BinaryInteger>(_ value: T) {
            bytes += value.description.utf8
        }

        func writeDouble(_ value: Double, _ codingPath: [any CodingKey]) throws {
            guard value.isFinite else {
                throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "\(value) is not valid JSON"))
            }
            if value == value.rounded(), abs(value) < 1e15 {
                bytes += Int64(value).description.utf8
            } else {
                bytes += value.description.utf8
            }
        }

        func writeString(_ string: String) {
            bytes.append(UInt8(ascii: "\""))
            // Most strings need no escaping: copied in one go.
            if !string.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                bytes.append(contentsOf: string.utf8)
                bytes.append(UInt8(ascii: "\""))
                return
            }
            for byte in string.utf8 {
                switch byte {
                case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                default: bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }

    /// The encoder handed to one value's `encode(to:)`.
    final class ValueEncoder: Encoder {
        let output: Output
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }
        var frame = Output.Frame.none
        var wroteSingle = false
        /// What was asked of it that it does not support; `encodeValue` throws it once
        /// `encode(to:)` returns (the container protocols cannot throw where it is asked).
        var refused: EncodingError?

        /// A container whose writes go nowhere, handed out when a nested container or super
        /// encoder is asked for: the value then fails to encode as a whole.
        func refuse(_ what: String) -> ValueEncoder {
            if refused == nil { refused = CompactJSONEncoder.unsupported(what, codingPath) }
            let scratch = ValueEncoder(output: Output(), codingPath: codingPath)
            scratch.frame = .object(first: true)
            return scratch
        }

        init(output: Output, codingPath: [any CodingKey]) {
            self.output = output
            self.codingPath = codingPath
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if case .none = frame {
                output.bytes.append(UInt8(ascii: "{"))
                frame = .object(first: true)
            }
            return KeyedEncodingContainer(Keyed<Key>(encoder: self))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            if case .none = frame {
                output.bytes.append(UInt8(ascii: "["))
                frame = .array(first: true)
            }
            return Unkeyed(encoder: self)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            Single(encoder: self)
        }

        /// Writes the separator before the next member of the open object or array.
        func separate() throws {
            switch frame {
            case .object(let first):
                if !first { output.bytes.append(UInt8(ascii: ",")) }
                frame = .object(first: false)
            case .array(let first):
                if !first { output.bytes.append(UInt8(ascii: ",")) }
                frame = .array(first: false)
            case .none:
                throw CompactJSONEncoder.unsupported("a member outside an object or array", codingPath)
            }
        }

        /// Writes `,"key":` for the next member of the open object.
        func key(_ key: some CodingKey) throws {
            guard case .object = frame else { throw CompactJSONEncoder.unsupported("keyed and unkeyed containers mixed", codingPath) }
            try separate()
            output.writeString(key.stringValue)
            output.bytes.append(UInt8(ascii: ":"))
        }

        func member<Value: Encodable>(_ key: some CodingKey, _ value: Value) throws {
            try self.key(key)
            // The coding path is not extended (it would cost an array per field); errors name
            // the value's container.
            try output.encodeValue(value, codingPath: codingPath)
        }

        func element<Value: Encodable>(_ value: Value) throws {
            guard case .array = frame else { throw CompactJSONEncoder.unsupported("keyed and unkeyed containers mixed", codingPath) }
            try separate()
            try output.encodeValue(value, codingPath: codingPath)
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: ValueEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }

        mutating func encodeNil(forKey key: Key) throws {
            guard case .object = encoder.frame else { throw CompactJSONEncoder.unsupported("keyed and unkeyed containers mixed", codingPath) }
            try encoder.separate()
            encoder.output.writeString(key.stringValue)
            encoder.output.bytes += Array(":null".utf8)
        }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try encoder.member(key, value)
        }

        // The concrete types directly, without a dynamic cast.
        mutating func encode(_ value: String, forKey key: Key) throws {
            try encoder.key(key)
            encoder.output.writeString(value)
        }

        mutating func encode(_ value: Int, forKey key: Key) throws {
            try encoder.key(key)
            encoder.output.writeInteger(value)
        }

        mutating func encode(_ value: Int64, forKey key: Key) throws {
            try encoder.key(key)
            encoder.output.writeInteger(value)
        }

        mutating func encode(_ value: UInt64, forKey key: Key) throws {
            try encoder.key(key)
            encoder.output.writeInteger(value)
        }

        mutating func encode(_ value: Bool, forKey key: Key) throws {
            try encoder.key(key)
            encoder.output.bytes += value ? Output.trueBytes : Output.falseBytes
        }

        mutating func encode(_ value: Double, forKey key: Key) throws {
            try encoder.key(key)
            try encoder.output.writeDouble(value, codingPath)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Keyed<NestedKey>(encoder: encoder.refuse("nested containers")))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            Unkeyed(encoder: encoder.refuse("nested containers"))
        }

        mutating func superEncoder() -> any Encoder {
            encoder.refuse("super encoders")
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            encoder.refuse("super encoders")
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let encoder: ValueEncoder
        var count = 0
        var codingPath: [any CodingKey] { encoder.codingPath }

        mutating func encodeNil() throws {
            try encoder.separate()
            encoder.output.bytes += Output.nullBytes
            count += 1
        }

        mutating func encode<T: Encodable>(_ value: T) throws {
            try encoder.element(value)
            count += 1
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Keyed<NestedKey>(encoder: encoder.refuse("nested containers")))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            Unkeyed(encoder: encoder.refuse("nested containers"))
        }

        mutating func superEncoder() -> any Encoder {
            encoder.refuse("super encoders")
        }
    }

    struct Single: SingleValueEncodingContainer {
        let encoder: ValueEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }

        mutating func encodeNil() throws {
            try begin()
            encoder.output.bytes += Output.nullBytes
        }

        mutating func encode<T: Encodable>(_ value: T) throws {
            try begin()
            try encoder.output.encodeValue(value, codingPath: codingPath)
        }

        mutating func encode(_ value: String) throws {
            try begin()
            encoder.output.writeString(value)
        }

        private func begin() throws {
            guard case .none = encoder.frame, !encoder.wroteSingle else {
                throw CompactJSONEncoder.unsupported("two values in one single-value container", codingPath)
            }
            encoder.wroteSingle = true
        }
    }
}
