import DeliveryClient
import ArgumentParser
import Foundation
import ServiceKit
import ZeroMQ

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a new CURVE key pair: FILE (secret, mode 600) and FILE.pub (public, for allow-lists).",
        discussion: """
            Give a service its FILE with DELIVERY_CURVE_KEY_FILE; give clients its public key (the .pub file, or \
            the line printed here) with --server-key. Put a client's FILE.pub lines in a service's \
            DELIVERY_CURVE_CLIENTS file to let that client in.
            """
    )

    @Argument(help: "Where to write the key pair.")
    var file: String

    @Flag(help: "Replace FILE if it exists.")
    var force = false

    func run() throws {
        guard CurveKeyPair.isAvailable else { throw ClientError("this libzmq was built without CURVE (libsodium)") }
        let manager = FileManager.default
        if manager.fileExists(atPath: file) && !force {
            throw ClientError("\(file) exists; use --force to replace it")
        }
        let pair = try CurveKeyPair.generate()
        let stamp = ISO8601DateFormatter().string(from: Date())
        let secret = "# DeliveryTracker CURVE key pair, made \(stamp). Keep this file secret.\npublic-key = \(pair.publicKey)\nsecret-key = \(pair.secretKey)\n"
        guard manager.createFile(atPath: file, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ClientError("cannot write \(file)")
        }
        try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        let pub = "# DeliveryTracker CURVE public key of \((file as NSString).lastPathComponent), made \(stamp).\npublic-key = \(pair.publicKey)\n"
        guard manager.createFile(atPath: file + ".pub", contents: Data(pub.utf8)) else { throw ClientError("cannot write \(file).pub") }
        print("wrote \(file) (secret) and \(file).pub")
        print("public-key = \(pair.publicKey)")
    }
}
