import Foundation
import ServiceKit

/// A throwaway PostgreSQL for the tests and the bench: `initdb` in a temporary folder and
/// `pg_ctl` on a free loopback port, as the `postgres` user when run as root; removed by `stop`.
/// Nil when Debian's postgresql package is not installed.
public final class ThrowawayPostgres: @unchecked Sendable {
    public let directory: URL
    public let port: Int
    private let binaries: URL
    private let asRoot = geteuid() == 0

    public var url: String { "postgres://delivery@127.0.0.1:\(port)/postgres" }

    public init?() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted() ?? []
        guard let version = versions.last(where: { FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/initdb") }) else {
            return nil
        }
        binaries = URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("delivery-bench-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = freeLoopbackPort()
        if asRoot {
            try run("/bin/chown", ["postgres:postgres", directory.path], asPostgres: false)
        }
        try run(binaries.appendingPathComponent("initdb").path, ["-D", directory.appendingPathComponent("data").path, "-U", "delivery", "--auth=trust", "-E", "UTF8"])
        try run(
            binaries.appendingPathComponent("pg_ctl").path,
            [
                "-D", directory.appendingPathComponent("data").path, "-l", directory.appendingPathComponent("log").path, "-w", "-t", "60", "-o",
                "-c listen_addresses=127.0.0.1 -p \(port) -k \(directory.path) -c fsync=on -c synchronous_commit=on", "start",
            ]
        )
    }

    public func stop() {
        try? run(binaries.appendingPathComponent("pg_ctl").path, ["-D", directory.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs a command and waits for it with `waitpid` (Foundation's `Process` can miss the exit of
    /// a command that leaves a daemon behind, as `pg_ctl start` does).
    private func run(_ executable: String, _ arguments: [String], asPostgres: Bool = true) throws {
        let argv = (asRoot && asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] : [executable]) + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in [1, 2] { posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0) }
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw PostgresSetupError("cannot run \(argv[0]): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw PostgresSetupError("\(URL(fileURLWithPath: executable).lastPathComponent) failed (status \(status))")
        }
    }
}

public struct PostgresSetupError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
