/// What an error or a log line may echo of input it did not accept: at most `limit` characters,
/// control characters (NUL among them) shown as `\u{…}`, the rest counted ("… (1048576 bytes)").
/// Whatever a client or a file holds, what gets echoed stays a few dozen characters.
public func excerpt(_ text: some StringProtocol, limit: Int = 60) -> String {
    var shown = ""
    var count = 0
    for character in text {
        guard count < limit else {
            return shown + "… (\(text.utf8.count) bytes)"
        }
        if character.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control }) {
            shown.append(character)
        } else {
            shown += character.unicodeScalars.map { "\\u{\(String($0.value, radix: 16))}" }.joined()
        }
        count += 1
    }
    return shown
}

/// The same for raw bytes (a reply or a file that may not even be UTF-8).
public func excerpt(bytes: some Collection<UInt8>, limit: Int = 60) -> String {
    let head = String(decoding: bytes.prefix(limit * 4), as: UTF8.self)
    let shown = excerpt(head, limit: limit)
    return bytes.count > limit * 4 && !shown.hasSuffix(" bytes)") ? shown + "… (\(bytes.count) bytes)" : shown
}
