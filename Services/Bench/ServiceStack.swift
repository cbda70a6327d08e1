import DeliveryMessages
import Foundation
import ServiceKit
import TestSupport
import ZeroMQ

/// The real services as processes on free loopback ports, with state in a temporary folder.
final class ServiceStack {
    let directory: URL
    let bin: URL
    private(set) var processes: [Process] = []
    private var byName: [String: Process] = [:]
    private(set) var endpoints: [String: String] = [:]

    init(bin: URL) throws {
        self.bin = bin
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("delivery-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in ["ingest", "ingestPub", "aggPub", "agg", "query", "queryPub"] {
            endpoints[name] = "tcp://127.0.0.1:\(freeLoopbackPort())"
        }
    }

    func endpoint(_ name: String) -> String { endpoints[name]! }

    func start(_ services: [String], environment extra: [String: String] = [:]) throws {
        for service in services {
            var (executable, environment) = localStackService(
                service, instance: "bench", dataDirectory: directory.path, endpoint: endpoint
            )
            environment["DELIVERY_LOG_LEVEL"] = "warning"
            let process = Process()
            process.executableURL = bin.appendingPathComponent(executable)
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }.merging(extra) { $1 }
            let log = directory.appendingPathComponent("\(service).log")
            if !FileManager.default.fileExists(atPath: log.path) {
                FileManager.default.createFile(atPath: log.path, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: log)
            handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            processes.append(process)
            byName[service] = process
        }
    }

    /// Stops a service with SIGKILL (no chance to save anything) and waits for it to be gone.
    func kill(_ service: String) {
        guard let process = byName.removeValue(forKey: service) else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        processes.removeAll { $0 === process }
    }

    /// Waits until the service at `endpoint` answers `ping` with `pong`.
    func waitReady(_ name: String, context: Context, seconds: Double = 60, answering: Bool = false) throws {
        let client = try RequestClient(context: context, endpoints: [endpoint(name)])
        defer { client.close() }
        let deadline = monotonicMillis() + Int64(seconds * 1000)
        while monotonicMillis() < deadline {
            // `answering`: any reply counts (an `unavailable` while catching up is an answer too).
            if let reply = try client.request(type: MessageType.ping, body: Empty(), timeoutMillis: 500),
                answering || reply.kind == .pong
            {
                return
            }
        }
        throw BenchError("\(name) at \(endpoint(name)) did not answer ping; logs in \(directory.path)")
    }

    /// The resident memory of the service processes, in bytes.
    func residentBytes() -> [Int] {
        processes.map { residentMemoryBytes(pid: $0.processIdentifier) }
    }

    /// The resident memory of one service, by name.
    func residentBytes(_ service: String) -> Int {
        byName[service].map { residentMemoryBytes(pid: $0.processIdentifier) } ?? 0
    }

    func stop() {
        for process in processes where process.isRunning { process.terminate() }
        for process in processes { process.waitUntilExit() }
        processes = []
        byName = [:]
        try? FileManager.default.removeItem(at: directory)
    }
}
