import DeliveryCore
import DeliveryMessages

/// A query's typed request read from URL parameters (`/api/<kind>?…`), by the request type itself:
/// a field the type has is a parameter of the same name, read as the type says (a number, a
/// true/false, one of an enum's names), so a field added to a query needs no edit here.
///
/// Nested objects: the fields of `entity` and `condition` are parameters of their own names
/// (`group`, `brand`, `model`, `market`; `atLeast`, `atMost`, `growth`, `direction`); those of any
/// other object are prefixed with its name (`of` → `ofGroup`, `within` → `withinBrand`). An
/// entity's `segment` (a segment's reported total) is `segmentTotal`, since `ranking` and `streak`
/// have a `segment` of their own. A parameter no field reads is refused, as is one that does not
/// read as its field's type.
enum QueryParameters {
    static let flattened: Set<String> = ["entity", "condition"]

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The JSON body of a query of `kind` given by `query`'s parameters.
    static func body(_ kind: QueryKind, from query: [(name: String, value: String)]) throws(Failure) -> JSONValue {
        func typed<Query: AnswerableQuery>(_ type: Query.Type) throws -> JSONValue {
            let reading = Reading(query)
            let body = try QueryBody<Query>(from: ParameterDecoder(reading: reading, name: "", prefix: "", codingPath: []))
            let unread = reading.values.keys.filter { !reading.used.contains($0) }.sorted()
            guard unread.isEmpty else {
                throw Failure(description: "\(kind.rawValue) takes no parameter \(unread.map { "'\($0)'" }.joined(separator: ", "))")
            }
            return try JSONParser.parse(CompactJSONEncoder.encode(body))
        }
        do {
            return try typed(kind.request)
        } catch let failure as Failure {
            throw failure
        } catch let error as DecodingError {
            throw Failure(description: ProtocolError(describing: error).message)
        } catch {
            throw Failure(description: "\(error)")
        }
    }

    /// The parameters (the last of a repeated name wins) and which were read.
    final class Reading {
        let values: [String: String]
        var used: Set<String> = []

        init(_ query: [(name: String, value: String)]) {
            var values: [String: String] = [:]
            for item in query { values[item.name] = item.value }
            self.values = values
        }

        func value(_ name: String) -> String? {
            guard let value = values[name] else { return nil }
            used.insert(name)
            return value
        }
    }

    /// The parameter name of `key` under `prefix`: `of` + `group` → `ofGroup`.
    static func name(_ key: String, under prefix: String) -> String {
        prefix.isEmpty ? key : prefix + key.prefix(1).uppercased() + key.dropFirst()
    }
}

/// One node of a request: `name` is the parameter it is read from as a single value, `prefix` what
/// its fields' names start with when it is an object.
private struct ParameterDecoder: Decoder {
    let reading: QueryParameters.Reading
    let name: String
    let prefix: String
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func child(_ key: some CodingKey) -> ParameterDecoder {
        let inEntity = codingPath.last?.stringValue == "entity"
        let name = inEntity && key.stringValue == "segment" ? "segmentTotal" : QueryParameters.name(key.stringValue, under: prefix)
        return ParameterDecoder(
            reading: reading, name: name, prefix: QueryParameters.flattened.contains(key.stringValue) ? "" : name, codingPath: codingPath + [key]
        )
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if !name.isEmpty, reading.values[name] != nil {
            throw QueryParameters.Failure(description: "'\(name)' cannot be given as one URL parameter; POST the query as JSON")
        }
        return KeyedDecodingContainer(ParameterFields<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw QueryParameters.Failure(description: "'\(name)' is a list; POST the query as JSON")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { ParameterValue(decoder: self) }

    /// The parameter's text, or a failure naming it as missing.
    func text() throws -> String {
        guard let value = reading.value(name) else { throw QueryParameters.Failure(description: "the parameter '\(name)' is missing") }
        return value
    }

    func number<T: LosslessStringConvertible>(_ type: T.Type, _ what: String) throws -> T {
        let text = try text()
        guard let value = T(text) else {
            throw QueryParameters.Failure(description: "the parameter '\(name)' must be \(what), not '\(excerpt(text, limit: 40))'")
        }
        return value
    }
}

private struct ParameterFields<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: ParameterDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { decoder.reading.values[decoder.child(key).name] != nil }
    func decodeNil(forKey key: Key) throws -> Bool { !contains(key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: decoder.child(key))
    }

    /// An optional field: a value when its parameter is given; an optional object when any of its
    /// fields is (one that reads no parameter is absent).
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        let child = decoder.child(key)
        if decoder.reading.values[child.name] != nil { return try T(from: child) }
        let before = decoder.reading.used.count
        do {
            let value = try T(from: child)
            return decoder.reading.used.count > before ? value : nil
        } catch {
            if decoder.reading.used.count > before { throw error }
            return nil
        }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder.child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { decoder.child(key) }
}

private struct ParameterValue: SingleValueDecodingContainer {
    let decoder: ParameterDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.reading.values[decoder.name] == nil }
    func decode(_ type: Bool.Type) throws -> Bool {
        let text = try decoder.text()
        return text != "false" && text != "0"
    }
    func decode(_ type: String.Type) throws -> String { try decoder.text() }
    func decode(_ type: Double.Type) throws -> Double { try decoder.number(Double.self, "a number") }
    func decode(_ type: Float.Type) throws -> Float { try decoder.number(Float.self, "a number") }
    // Every width of integer, each read the same way (the protocol asks for each by name).
    func decode(_ type: Int.Type) throws -> Int { try whole() }
    func decode(_ type: Int8.Type) throws -> Int8 { try whole() }
    func decode(_ type: Int16.Type) throws -> Int16 { try whole() }
    func decode(_ type: Int32.Type) throws -> Int32 { try whole() }
    func decode(_ type: Int64.Type) throws -> Int64 { try whole() }

    func decode(_ type: UInt.Type) throws -> UInt { try whole() }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try whole() }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try whole() }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try whole() }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try whole() }

    private func whole<T: FixedWidthInteger>() throws -> T {
        try decoder.number(T.self, T.isSigned ? "a whole number" : "a whole number, 0 or more")
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: decoder) }
}
