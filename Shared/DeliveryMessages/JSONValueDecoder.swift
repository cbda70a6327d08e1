/// A `Decoder` over a parsed `JSONValue`: message bodies are read from what `JSONParser` already
/// parsed, instead of a second pass through Foundation's `JSONDecoder`. It throws the same
/// `DecodingError`s (`keyNotFound`, `typeMismatch`, `valueNotFound`, with the coding path), so
/// error replies name the field exactly as before. Numbers are strict: an integer type takes only
/// a whole number; a floating-point type takes any number.
public enum JSONValueDecoder {
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, codingPath: [any CodingKey] = []) throws -> T {
        try T(from: Reader(value: value, codingPath: codingPath))
    }

    struct IndexKey: CodingKey {
        let intValue: Int?
        var stringValue: String { "\(intValue ?? 0)" }
        init(intValue: Int) { self.intValue = intValue }
        init?(stringValue: String) { nil }
    }

    static func mismatch(_ type: Any.Type, _ path: [any CodingKey], _ value: JSONValue) -> DecodingError {
        if value == .null {
            return .valueNotFound(type, .init(codingPath: path, debugDescription: "found null"))
        }
        return .typeMismatch(type, .init(codingPath: path, debugDescription: "found \(value.kind)"))
    }

    struct Reader: Decoder {
        let value: JSONValue
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            guard case .object(let fields) = value else { throw mismatch([String: JSONValue].self, codingPath, value) }
            return KeyedDecodingContainer(Keyed<Key>(fields: fields, codingPath: codingPath))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            guard case .array(let items) = value else { throw mismatch([JSONValue].self, codingPath, value) }
            return Unkeyed(items: items, codingPath: codingPath)
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer {
            Single(value: value, codingPath: codingPath)
        }
    }

    /// Reads one value as a primitive or through its `init(from:)`.
    static func read<T: Decodable>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
        switch type {
        case is String.Type:
            guard case .string(let text) = value else { throw mismatch(type, path, value) }
            return text as! T
        case is Int64.Type, is Int.Type, is UInt64.Type, is Int32.Type, is UInt32.Type, is Int16.Type, is UInt16.Type, is Int8.Type, is UInt8.Type, is UInt.Type:
            guard case .int(let number) = value else { throw mismatch(type, path, value) }
            guard let integer = integer(number, as: type) else {
                throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "\(number) does not fit in \(type)"))
            }
            return integer
        case is Double.Type:
            switch value {
            case .int(let number): return Double(number) as! T
            case .double(let number): return number as! T
            default: throw mismatch(type, path, value)
            }
        case is Float.Type:
            switch value {
            case .int(let number): return Float(number) as! T
            case .double(let number): return Float(number) as! T
            default: throw mismatch(type, path, value)
            }
        case is Bool.Type:
            guard case .bool(let flag) = value else { throw mismatch(type, path, value) }
            return flag as! T
        case is JSONValue.Type:
            return value as! T
        default:
            return try T(from: Reader(value: value, codingPath: path))
        }
    }

    static func integer<T>(_ number: Int64, as type: T.Type) -> T? {
        switch type {
        case is Int64.Type: return number as? T
        case is Int.Type: return Int(exactly: number) as? T
        case is UInt64.Type: return UInt64(exactly: number) as? T
        case is Int32.Type: return Int32(exactly: number) as? T
        case is UInt32.Type: return UInt32(exactly: number) as? T
        case is Int16.Type: return Int16(exactly: number) as? T
        case is UInt16.Type: return UInt16(exactly: number) as? T
        case is Int8.Type: return Int8(exactly: number) as? T
        case is UInt8.Type: return UInt8(exactly: number) as? T
        case is UInt.Type: return UInt(exactly: number) as? T
        default: return nil
        }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [String: JSONValue]
        let codingPath: [any CodingKey]

        var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

        private func value(_ key: Key) throws -> JSONValue {
            guard let value = fields[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
            }
            return value
        }

        func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try JSONValueDecoder.read(type, value(key), codingPath + [key])
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let value = fields[key.stringValue], value != .null else { return nil }
            return try JSONValueDecoder.read(type, value, codingPath + [key])
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try Reader(value: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try Reader(value: value(key), codingPath: codingPath + [key]).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { Reader(value: .object(fields), codingPath: codingPath) }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            Reader(value: fields[key.stringValue] ?? .null, codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [JSONValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0

        init(items: [JSONValue], codingPath: [any CodingKey]) {
            self.items = items
            self.codingPath = codingPath
        }

        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        private mutating func next<T>(_ type: T.Type) throws -> (JSONValue, [any CodingKey]) {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [IndexKey(intValue: currentIndex)], debugDescription: "the array ended"))
            }
            let path = codingPath + [IndexKey(intValue: currentIndex)]
            currentIndex += 1
            return (items[currentIndex - 1], path)
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, items[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let (value, path) = try next(type)
            return try JSONValueDecoder.read(type, value, path)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            let (value, path) = try next([String: JSONValue].self)
            return try Reader(value: value, codingPath: path).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let (value, path) = try next([JSONValue].self)
            return try Reader(value: value, codingPath: path).unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            let (value, path) = try next(JSONValue.self)
            return Reader(value: value, codingPath: path)
        }
    }

    struct Single: SingleValueDecodingContainer {
        let value: JSONValue
        let codingPath: [any CodingKey]

        func decodeNil() -> Bool { value == .null }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONValueDecoder.read(type, value, codingPath)
        }
    }
}
