import Foundation

/// A client that takes a snapshot from a replica and then follows that replica's PUB (the Clone
/// pattern) must reach one replica with both connections; a name that resolves to several (a
/// scaled compose service, a swarm service in dnsrr mode, a headless Kubernetes service) may send
/// them to two. `deliveries subscribe` and `delivery-web` pin both to one address.
///
/// The two endpoints with their host, when it is the same name in both, replaced by one of the
/// addresses it resolves to; unchanged when it is an address already or does not resolve.
public func sameReplica(_ feed: String, _ query: String) -> (String, String) {
    func split(_ endpoint: String) -> (host: String, port: String)? {
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":") else { return nil }
        let host = String(endpoint[endpoint.index(endpoint.startIndex, offsetBy: 6)..<colon])
        return (host, String(endpoint[endpoint.index(after: colon)...]))
    }
    guard let f = split(feed), let q = split(query), f.host == q.host, !f.host.isEmpty, f.host.first?.isLetter == true else {
        return (feed, query)
    }
    var hints = addrinfo()
    hints.ai_family = AF_INET
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var found: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(f.host, nil, &hints, &found) == 0, let first = found else { return (feed, query) }
    defer { freeaddrinfo(found) }
    var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
    let address = first.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
    var copy = address
    guard inet_ntop(AF_INET, &copy, &text, socklen_t(text.count)) != nil else { return (feed, query) }
    let ip = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return ("tcp://\(ip):\(f.port)", "tcp://\(ip):\(q.port)")
}
