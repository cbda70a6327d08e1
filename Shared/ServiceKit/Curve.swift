import Foundation
import Logging
import ZeroMQ

/// CURVE encryption and authentication for a service or a client, from settings: this side's
/// key pair, and (for a server) the client public keys it accepts.
public struct CurveSettings: Sendable {
    /// This side's key pair; nil: CURVE is off for the sockets this side binds.
    public var own: CurveKeyPair?
    /// Client public keys a server accepts (checked by a ZAP handler); nil: any CURVE client.
    public var allowed: Set<String>?

    public init(own: CurveKeyPair? = nil, allowed: Set<String>? = nil) {
        self.own = own
        self.allowed = allowed
    }

    public var isOn: Bool { own != nil }

    /// Reads the settings: a secret key (Z85 text) or a key file written by `deliveries keygen`,
    /// and a file of allowed client public keys (one per line; `#` starts a comment).
    public static func load(secretKey: String?, keyFile: String?, clientsFile: String?) throws -> CurveSettings {
        var settings = CurveSettings()
        if let secretKey, !secretKey.isEmpty {
            guard let pair = CurveKeyPair(secretKey: secretKey) else {
                throw SettingError("the CURVE secret key must be 40 characters of Z85 (see deliveries keygen)")
            }
            settings.own = pair
        } else if let keyFile, !keyFile.isEmpty {
            settings.own = try readKeyFile(keyFile)
        }
        if let clientsFile, !clientsFile.isEmpty {
            guard settings.own != nil else {
                throw SettingError("an allow-list of client keys (\(clientsFile)) needs this service's own CURVE key")
            }
            settings.allowed = try readPublicKeys(clientsFile)
        }
        if settings.own != nil && !CurveKeyPair.isAvailable {
            throw SettingError("this libzmq was built without CURVE (libsodium); CURVE keys cannot be used")
        }
        return settings
    }

    /// The key pair in a key file: the `secret-key = …` line (or a file holding only the key).
    public static func readKeyFile(_ path: String) throws -> CurveKeyPair {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let pair = CurveKeyPair(secretKey: value(of: "secret-key", in: trimmed) ?? trimmed) { return pair }
        }
        throw SettingError("\(path) holds no CURVE secret key (write one with deliveries keygen)")
    }

    /// Public keys, one per line: the key alone or `public-key = …` (so that `.pub` files can be
    /// concatenated); blank lines and `#` comments (at the start of a line, or after white space)
    /// are skipped.
    public static func readPublicKeys(_ path: String) throws -> Set<String> {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var keys = Set<String>()
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // '#' is also a Z85 character: a comment starts the line or follows white space.
            var content = String(line)
            if content.trimmingCharacters(in: .whitespaces).hasPrefix("#") { continue }
            if let range = content.range(of: " #") ?? content.range(of: "\t#") { content = String(content[..<range.lowerBound]) }
            let trimmed = content.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let key = Self.value(of: "public-key", in: trimmed) ?? trimmed
            guard CurveKeyPair.isKey(key) else { throw SettingError("\(path) line \(number + 1) is not a Z85 public key") }
            keys.insert(key)
        }
        return keys
    }

    /// The value of a `name = value` line ('=' is also a Z85 character, so only a line that starts
    /// with the name is read this way).
    static func value(of name: String, in line: String) -> String? {
        guard line.hasPrefix(name) else { return nil }
        let rest = line.dropFirst(name.count).drop { $0 == " " || $0 == "\t" }
        guard rest.first == "=" else { return nil }
        return rest.dropFirst().trimmingCharacters(in: .whitespaces)
    }

    /// Makes a socket this side binds a CURVE server, when CURVE is on.
    public func secureServer(_ socket: Socket) throws {
        guard let own else { return }
        try socket.set([.zapDomain("delivery"), .curveServer(true), .curveSecretKey(own.secretKey)])
    }

    /// Makes a socket that connects to a CURVE server a CURVE client of it, when a server key is
    /// given: with this side's key pair, or a new one for this run when it has none.
    public func secureClient(_ socket: Socket, serverKey: String?) throws {
        guard let serverKey, !serverKey.isEmpty else { return }
        guard CurveKeyPair.isKey(serverKey) else { throw SettingError("the server key must be 40 characters of Z85") }
        let pair = try own ?? CurveKeyPair.generate()
        try socket.set([.curveServerKey(serverKey), .curvePublicKey(pair.publicKey), .curveSecretKey(pair.secretKey)])
    }
}

public struct SettingError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// The ZAP handler of a service's context: every CURVE handshake on the context's sockets is
/// checked against the allow-list; a refused key is logged. Polled by the service loop.
public final class ZapHandler {
    public let socket: Socket
    private let allowed: Set<String>
    private let logger: Logger
    public private(set) var refused = 0

    /// Binds the handler; do it before the service binds its own sockets, so that no handshake
    /// happens without it.
    public init(context: Context, allowed: Set<String>, logger: Logger) throws {
        socket = try Socket(context, .router)
        try socket.set(.linger(0))
        try socket.bind("inproc://zeromq.zap.01")
        self.allowed = allowed
        self.logger = logger
    }

    /// Answers every waiting ZAP request.
    public func handle() {
        while let frames = try? socket.receive(wait: false) {
            // [routing id, "", version, request id, domain, address, identity, mechanism, credentials…]
            guard frames.count >= 8, frames[1].isEmpty else { continue }
            let requestID = frames[3]
            let address = String(decoding: frames[5], as: UTF8.self)
            let mechanism = String(decoding: frames[7], as: UTF8.self)
            let key = frames.count > 8 ? CurveKeyPair.z85(frames[8]) : nil
            let accepted = mechanism == "CURVE" && key.map(allowed.contains) == true
            if !accepted {
                refused += 1
                logger.warning(
                    "refused a client: its key is not on the allow-list",
                    metadata: ["mechanism": "\(mechanism)", "key": "\(key ?? "none")", "address": "\(address)"]
                )
            }
            let status = accepted ? "200" : "400"
            let text = accepted ? "OK" : "key not allowed"
            try? socket.send([frames[0], [], Array("1.0".utf8), requestID, Array(status.utf8), Array(text.utf8), Array((key ?? "").utf8), []])
        }
    }

    public func close() {
        socket.close()
    }
}
