import ServiceKit
import Testing

/// The Clone follower's decisions, as the zguide's Clone pattern has them.
@Suite struct CloneFollowerTests {
    @Test func holdsUntilASnapshotThenAppliesOnlyNewerGaplessEvents() {
        var follower = CloneFollower()
        #expect(follower.take(stream: "q-1", seq: 5, heartbeat: false) == .hold)
        #expect(follower.take(stream: "q-1", seq: 5, heartbeat: true) == .skip)
        follower.snapshot(stream: "q-1", seq: 5)
        #expect(follower.take(stream: "q-1", seq: 4, heartbeat: false) == .skip)
        #expect(follower.take(stream: "q-1", seq: 5, heartbeat: false) == .skip)
        #expect(follower.take(stream: "q-1", seq: 6, heartbeat: false) == .apply)
        #expect(follower.position == 6)
        #expect(follower.take(stream: "q-1", seq: 6, heartbeat: true) == .skip)
    }

    @Test func aGapAHeartbeatAheadOrANewStreamMeanSnapshotAgain() {
        var follower = CloneFollower()
        follower.snapshot(stream: "q-1", seq: 10)
        guard case .resync = follower.take(stream: "q-1", seq: 12, heartbeat: false) else {
            Issue.record("a gap was applied")
            return
        }
        #expect(follower.state == .awaitingSnapshot)
        follower.snapshot(stream: "q-1", seq: 12)
        guard case .resync = follower.take(stream: "q-1", seq: 13, heartbeat: true) else {
            Issue.record("a heartbeat ahead was taken")
            return
        }
        follower.snapshot(stream: "q-1", seq: 13)
        guard case .resync(let reason) = follower.take(stream: "q-2", seq: 1, heartbeat: false) else {
            Issue.record("another stream was applied")
            return
        }
        #expect(reason.contains("q-2"))
        #expect(follower.stream == nil)
    }
}
