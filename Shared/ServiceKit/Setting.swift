import Foundation

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
    let name = setting(flag, "DELIVERY_INSTANCE", default: host)
    return String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
}

/// The largest request a ROUTER answers: `DELIVERY_MAX_REQUEST_BYTES`, default 4 MiB.
public func maxRequestBytes(_ flag: Int?) -> Int {
    if let flag { return flag }
    if let env = ProcessInfo.processInfo.environment["DELIVERY_MAX_REQUEST_BYTES"], let value = Int(env), value > 0 {
        return value
    }
    return 4 * 1024 * 1024
}

/// A setting with no default: the flag, else the environment variable, else nil (empty is nil).
public func optionalSetting(_ flag: String?, _ variable: String) -> String? {
    let value = setting(flag, variable, default: "")
    return value.isEmpty ? nil : value
}
