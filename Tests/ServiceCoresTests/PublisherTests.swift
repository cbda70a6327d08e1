import DeliveryMessages
import Foundation
import ServiceKit
import Testing
import ZeroMQ

/// A publisher that keeps its subscribers' topics (an XPUB): what no one subscribed to is not
/// sent, what someone did is, the seq counts both, and the prefixes kept are bounded.
@Suite struct PublisherTests {
    /// Reads subscriptions until `condition` holds, for at most 5 s.
    static func settle(_ publisher: Publisher, _ condition: () -> Bool) -> Bool {
        let deadline = monotonicMillis() + 5000
        while monotonicMillis() < deadline {
            publisher.takeSubscriptions()
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return false
    }

    struct Body: Codable, Sendable { var n: Int }

    @Test func onlySubscribedTopicsAreSentAndTheSeqCountsEvery() throws {
        let context = try Context()
        defer { context.terminate() }
        let publisher = try Publisher(context: context, endpoint: "inproc://publisher-test", stream: "query-t", tracksSubscriptions: true)
        defer { publisher.close() }
        let sub = try Socket(context, .sub)
        defer { sub.close() }
        try sub.set([.linger(0), .receiveTimeout(5000)])
        try sub.connect("inproc://publisher-test")
        #expect(!publisher.wants("figure.a.x."))
        try sub.set(.subscribe(Array("figure.a.".utf8)))
        #expect(Self.settle(publisher) { publisher.wants("figure.a.x.") })
        #expect(!publisher.wants("figure.b.y.") && !publisher.wants("figure."))

        publisher.publish(topic: "figure.b.y.", type: .figureChanged, body: Body(n: 1))
        publisher.publish(topic: "figure.a.x.", type: .figureChanged, body: Body(n: 2))
        #expect(publisher.seq == 2 && publisher.unsubscribedSkipped == 1)
        let got = try #require(try sub.receive())
        #expect(got.first == Array("figure.a.x.".utf8))
        guard case .success(let head) = Wire.parse(got[1]).map(\.head) else { Issue.record("not an envelope"); return }
        #expect(head.seq == 2)

        // "" is every topic; its unsubscription ends that.
        try sub.set(.subscribe([]))
        #expect(Self.settle(publisher) { publisher.wants("heartbeat") })
        try sub.set(.unsubscribe([]))
        try sub.set(.unsubscribe(Array("figure.a.".utf8)))
        #expect(Self.settle(publisher) { !publisher.wants("figure.a.x.") && !publisher.wants("heartbeat") })

        // Past the limit of prefixes kept, everything goes out (as from a plain PUB).
        for n in 0...Publisher.subscriptionLimit { try sub.set(.subscribe(Array("fact.g\(n).".utf8))) }
        #expect(Self.settle(publisher) { publisher.wants("anything.at.all") })
    }

    @Test func aPlainPublisherSendsEverything() throws {
        let context = try Context()
        defer { context.terminate() }
        let publisher = try Publisher(context: context, endpoint: "inproc://publisher-plain", stream: "ingest-t")
        defer { publisher.close() }
        publisher.takeSubscriptions()
        #expect(publisher.wants("report.x.") && !publisher.tracksSubscriptions)
        publisher.publish(topic: "report.x.", type: .reportAccepted, body: Body(n: 1))
        #expect(publisher.unsubscribedSkipped == 0 && publisher.seq == 1)
    }
}
