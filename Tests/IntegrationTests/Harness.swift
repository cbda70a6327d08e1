import DeliveryMessages
import Foundation
import ServiceKit
import TestSupport
import Testing
import ZeroMQ

/// The repository's root, and the executables `swift build` made: DELIVERY_BIN when set, otherwise
/// the folder of the running test bundle (so `swift test -c release` starts the release build's
/// executables), otherwise `.build/debug`.
enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let bin: URL = {
        if let dir = ProcessInfo.processInfo.environment["DELIVERY_BIN"] { return URL(fileURLWithPath: dir) }
        if let runner = ProcessInfo.processInfo.arguments.first {
            let folder = URL(fileURLWithPath: runner).resolvingSymlinksInPath().deletingLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent("delivery-ingest").path) {
                return folder
            }
        }
        return root.appendingPathComponent(".build/debug")
    }()
    static let sample = root.appendingPathComponent("samples/hima-2025-05.json")
}

func freePort() -> Int { freeLoopbackPort() }

/// One real service process.
final class ServiceProcess {
    let name: String
    let process = Process()
    let log: URL

    init(_ executable: String, environment: [String: String], logDirectory: URL, name: String) throws {
        self.name = name
        process.executableURL = Paths.bin.appendingPathComponent(executable)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        log = logDirectory.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    func kill(_ signal: Int32) {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
        process.waitUntilExit()
    }
}

/// The three services on free loopback ports with state in a temporary folder; every process is
/// stopped when the stack is, even after a failed expectation.
final class Stack {
    let directory: URL
    let ports: [String: Int]
    var processes: [String: ServiceProcess] = [:]
    let context: Context
    /// Settings added to every start of a service (such as the ingest's PostgreSQL URL).
    var settings: [String: [String: String]] = [:]

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("delivery-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var ports: [String: Int] = [:]
        for name in ["ingest", "ingestPub", "aggPub", "agg", "query", "queryPub"] { ports[name] = freePort() }
        self.ports = ports
        context = try Context()
    }

    func endpoint(_ name: String) -> String { "tcp://127.0.0.1:\(ports[name]!)" }

    func start(_ service: String, extra: [String: String] = [:]) throws {
        var (executable, environment) = localStackService(
            service, instance: "it", dataDirectory: directory.path, endpoint: endpoint
        )
        environment.merge(settings[service] ?? [:]) { $1 }
        environment.merge(extra) { $1 }
        processes[service] = try ServiceProcess(executable, environment: environment, logDirectory: directory, name: service)
    }

    func startAll() throws {
        for service in ["ingest", "aggregate", "query"] { try start(service) }
        for name in ["ingest", "agg", "query"] { try waitForPong(endpoint(name)) }
    }

    func waitForPong(_ endpoint: String, deadline seconds: Double = 30) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let reply = try? request(endpoint, "ping", Empty(), timeout: 500), reply["type"] == .string("pong") { return }
        }
        throw HarnessError("\(endpoint) did not answer ping within \(seconds) s; logs in \(directory.path)")
    }

    /// One request on a fresh DEALER; the whole reply envelope as JSON.
    func request<Body: Codable & Sendable>(_ endpoint: String, _ type: String, _ body: Body, timeout: Int = 10_000) throws -> JSONValue {
        let id = UUID().uuidString
        let reply = try JSONDecoder().decode(JSONValue.self, from: rawRequest(endpoint, type, body, id: id, timeout: timeout))
        #expect(reply["id"] == .string(id))
        return reply
    }

    /// One request on a fresh DEALER; the reply's bytes.
    func rawRequest<Body: Codable & Sendable>(_ endpoint: String, _ type: String, _ body: Body, id: String, timeout: Int) throws -> Data {
        let socket = try Socket(context, .dealer)
        defer { socket.close() }
        try socket.set([.linger(0), .receiveTimeout(Int32(timeout))])
        try socket.connect(endpoint)
        try socket.send([[], Wire.encode(Envelope(type: type, id: .string(id), body: body))])
        guard let frames = try socket.receive(), let payload = frames.last else {
            throw HarnessError("no reply to \(type) from \(endpoint)")
        }
        return Data(payload)
    }

    /// Stops every service with SIGTERM; returns each one's exit status.
    @discardableResult
    func stop() -> [String: Int32] {
        var statuses: [String: Int32] = [:]
        for (name, process) in processes {
            process.kill(SIGTERM)
            statuses[name] = process.process.terminationStatus
        }
        context.terminate()
        return statuses
    }

    deinit {
        for process in processes.values where process.process.isRunning { process.kill(SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

extension JSONValue {
    var int: Int64? {
        switch self {
        case .int(let v): v
        case .double(let v): Int64(v)
        default: nil
        }
    }

    var double: Double? {
        switch self {
        case .int(let v): Double(v)
        case .double(let v): v
        default: nil
        }
    }
}

/// Lines a child process writes, collected by a reader thread.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 10) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lock.withLock { lines.append(line) }
                }
            }
        }
    }

    var all: [String] { lock.withLock { lines } }
}

/// `deliveries subscribe --json --snapshot` as a user runs it, with its output collected.
final class SubscriberProcess {
    let process = Process()
    let output: LineCollector
    let errors: LineCollector

    init(arguments: [String]) throws {
        process.executableURL = Paths.bin.appendingPathComponent("deliveries")
        process.arguments = ["subscribe", "--json", "--snapshot"] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        output = LineCollector(out.fileHandleForReading)
        errors = LineCollector(err.fileHandleForReading)
        try process.run()
    }

    private var state: [String: Int64] = [:]
    private var consumed = 0

    /// The figures as the subscriber sees them: snapshot lines, then live updates applied in turn
    /// (read from where the last call stopped).
    var figures: [String: Int64] {
        let lines = output.all
        for line in lines[consumed...] {
            // JSONSerialization: tens of thousands of lines, and this is the quick parser.
            guard let value = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            let figure: [String: Any]
            if let type = value["type"] as? String {
                guard type == "figure.changed", let body = value["body"] as? [String: Any] else { continue }
                figure = body
            } else {
                figure = value
            }
            guard let id = (figure["entity"] as? [String: Any])?["id"] as? String, let period = figure["period"] as? String,
                let units = (figure["units"] as? NSNumber)?.int64Value
            else { continue }
            state["\(id)|\(period)"] = units
        }
        consumed = lines.count
        return state
    }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    func stop() {
        signal(SIGCONT)
        signal(SIGTERM)
        process.waitUntilExit()
    }
}

/// Waits for a condition, checking it again and again until a deadline; false when time ran out.
func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}
