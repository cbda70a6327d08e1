import Foundation
import ZeroMQ

/// One setting: a flag's value if given, else the environment variable, else the default
/// (PROTOCOL.md, "Executables and their settings": the flag wins).
public func setting(_ flag: String?, _ variable: String, default value: String) -> String {
    if let flag, !flag.isEmpty { return flag }
    if let env = ProcessInfo.processInfo.environment[variable], !env.isEmpty { return env }
    return value
}

/// A comma-separated list setting.
public func listSetting(_ flag: String?, _ variable: String, default value: String) -> [String] {
    setting(flag, variable, default: value)
        .split(separator: ",")
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
}

/// This instance's name: `DELIVERY_INSTANCE`, else the host name.
public func instanceName(_ flag: String?) -> String {
    let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "local"
    let name = setting(flag, SettingsTable.instance.variable, default: host)
    return String(name.prefix(64).map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
}

// MARK: Validated settings

/// A whole-number setting: the flag, else the environment variable (which must then be a whole
/// number), else the default; throws a `SettingError` naming the setting when the value is not a
/// number or outside `range`.
public func intSetting(_ flag: Int?, _ variable: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
    let flagName = "--" + variable.dropFirst("DELIVERY_".count).lowercased().replacingOccurrences(of: "_", with: "-")
    let chosen: Int
    let named: String
    if let flag {
        chosen = flag
        named = flagName
    } else if let env = ProcessInfo.processInfo.environment[variable], !env.trimmingCharacters(in: .whitespaces).isEmpty {
        guard let parsed = Int(env.trimmingCharacters(in: .whitespaces)) else {
            throw SettingError("\(variable)='\(env)' is not a whole number (allowed: \(range.lowerBound) to \(range.upperBound))")
        }
        chosen = parsed
        named = variable
    } else {
        return value
    }
    guard range.contains(chosen) else {
        throw SettingError("\(named)=\(chosen) is out of range (allowed: \(range.lowerBound) to \(range.upperBound))")
    }
    return chosen
}

/// Why an endpoint cannot be used, or nil: `tcp://host:port` (port 1 to 65535, or `*` to bind
/// any), `ipc://path` or `inproc://name`.
public func endpointProblem(_ endpoint: String, binding: Bool) -> String? {
    for scheme in ["ipc://", "inproc://"] where endpoint.hasPrefix(scheme) {
        return endpoint.count > scheme.count ? nil : "names no \(scheme.dropLast(3)) path"
    }
    guard endpoint.hasPrefix("tcp://") else { return "is not tcp://host:port, ipc://path or inproc://name" }
    let rest = endpoint.dropFirst("tcp://".count)
    guard let colon = rest.lastIndex(of: ":") else { return "has no port (tcp://host:port)" }
    let host = rest[..<colon]
    let port = rest[rest.index(after: colon)...]
    guard !host.isEmpty else { return "has no host (tcp://host:port; * binds every interface)" }
    if port == "*" { return binding ? nil : "has port * (only a bind may take any port)" }
    guard let number = Int(port), (1...65535).contains(number) else { return "has port '\(port)', not 1 to 65535" }
    return nil
}

/// An endpoint setting, checked.
public func endpointSetting(_ flag: String?, _ variable: String, default value: String, binding: Bool) throws -> String {
    let endpoint = setting(flag, variable, default: value)
    if let problem = endpointProblem(endpoint, binding: binding) {
        throw SettingError("\(variable)='\(endpoint)' \(problem)")
    }
    return endpoint
}

/// A comma-separated list of endpoints, each checked; at least one.
public func endpointListSetting(_ flag: String?, _ variable: String, default value: String) throws -> [String] {
    let endpoints = listSetting(flag, variable, default: value)
    guard !endpoints.isEmpty else { throw SettingError("\(variable) names no endpoint") }
    for endpoint in endpoints {
        if let problem = endpointProblem(endpoint, binding: false) {
            throw SettingError("\(variable): '\(endpoint)' \(problem)")
        }
    }
    return endpoints
}

/// Two lists that go in pairs (the n-th ROUTER and the n-th PUB of one upstream instance) must
/// have the same length.
public func checkPaired(_ first: [String], _ firstName: String, _ second: [String], _ secondName: String) throws {
    guard first.count == second.count else {
        throw SettingError(
            "\(firstName) has \(first.count) endpoints and \(secondName) \(second.count); they go in pairs (the n-th of each is one instance)"
        )
    }
}

/// A CURVE public key setting (40 characters of Z85), or nil when not set.
public func publicKeySetting(_ flag: String?, _ variable: String) throws -> String? {
    let key = setting(flag, variable, default: "")
    guard !key.isEmpty else { return nil }
    guard CurveKeyPair.isKey(key) else {
        throw SettingError("\(variable) is not a CURVE public key (40 characters of Z85, as deliveries keygen writes)")
    }
    return key
}
