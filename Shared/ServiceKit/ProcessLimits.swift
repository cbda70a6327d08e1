import Foundation

/// Raises the soft limit of open files to the hard limit, so that a service can hold as many
/// connections as the system allows it; returns the limit now in force.
@discardableResult
public func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    return limit.rlim_cur > UInt64(Int.max) ? Int.max : Int(limit.rlim_cur)
}

/// The connection cap that leaves room under an open-file limit for the service's own files,
/// sockets and libzmq's internals.
public func connectionCap(openFileLimit: Int) -> Int {
    max(openFileLimit - 64, 16) * 9 / 10
}

func shutdownSocket(_ descriptor: Int32) -> Int32 {
    shutdown(descriptor, Int32(SHUT_RDWR))
}

/// The local port of a TCP socket, or nil for a descriptor that is not one.
func localPort(of descriptor: Int32) -> UInt16? {
    var address = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard ok == 0 else { return nil }
    switch Int32(address.ss_family) {
    case AF_INET:
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
    case AF_INET6:
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } }
    default:
        return nil
    }
}

public func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// An exclusive lock on a data directory, held for the life of the process: a second service
/// started on the same directory is refused at start instead of sharing the files.
public final class DataDirectoryLock {
    private let descriptor: Int32
    public let path: String

    public init(directory: String, owner: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StartError("cannot create the data dir \(directory): \(error.localizedDescription)")
        }
        path = directory + "/\(owner).lock"
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        let createError = errno
        // A read-only data dir may still hold a lock file from before; it locks just as well.
        if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            // The first error is the one that says why (permission denied, read-only file
            // system); the fallback's "no such file" only says there was no lock file yet.
            var owner = ""
            var info = stat()
            if stat(directory, &info) == 0 {
                owner = " (the folder belongs to uid \(info.st_uid), mode \(String(info.st_mode & 0o7777, radix: 8)); this process runs as uid \(getuid()))"
            }
            throw StartError("cannot create the lock file \(path): \(errnoText(createError))\(createError == EACCES ? owner : "")")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw StartError(
                "the data dir \(directory) is in use by another \(owner)"
                    + (holder.map { $0.isEmpty ? "" : " (pid \($0))" } ?? "")
                    + "; each instance needs its own DELIVERY_DATA_DIR"
            )
        }
        descriptor = fd
        if ftruncate(fd, 0) == 0 {
            let pid = "\(getpid())\n"
            _ = pid.withCString { write(fd, $0, strlen($0)) }
        }
    }

    deinit {
        close(descriptor)
    }
}

/// A service that cannot start: what is wrong, in words an operator can act on.
public struct StartError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// What a service loop opened, closed in reverse order whatever way the loop ends (a start-up
/// failure included), then the context terminated: `zmq_ctx_term` waits for every socket, so a
/// socket left open would hang the process instead of letting it exit.
public final class Teardown {
    private var steps: [() -> Void] = []

    public init() {}

    public func add(_ step: @escaping () -> Void) {
        steps.append(step)
    }

    public func run() {
        let all = steps
        steps = []
        for step in all.reversed() { step() }
    }
}
