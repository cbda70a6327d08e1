import DeliveryMessages
import ServiceKit
import ZeroMQ

/// Follows one ingest instance: learns its stream id with `status`, then replays what the
/// aggregate has not applied, and replays again whenever a gap shows.
final class IngestFollower {
    enum Pending {
        case status(id: String, sentAt: Int64)
        case replay(id: String, sentAt: Int64)

        var id: String {
            switch self {
            case .status(let id, _), .replay(let id, _): id
            }
        }

        var sentAt: Int64 {
            switch self {
            case .status(_, let at), .replay(_, let at): at
            }
        }
    }

    let endpoint: String
    let client: RequestClient
    var stream: String?
    var pending: Pending?
    /// Set once the follower has applied everything the ingest had when it was first asked.
    var caughtUp = false
    /// A gap was seen while a request was under way: replay again when it ends.
    var replayWanted = false
    /// Replays that failed in a row, and when to ask again (a pause that grows to 5 s).
    var failures = 0
    var backoffUntil: Int64 = 0

    init(context: Context, endpoint: String, configure: @escaping (Socket) throws -> Void) throws {
        self.endpoint = endpoint
        client = try RequestClient(context: context, endpoints: [endpoint], configure: configure)
    }

    func askStatus() throws {
        // Not connected yet: asked again on the loop's next turn.
        guard let id = try client.send(type: MessageType.status, body: Empty()) else { return }
        pending = .status(id: id, sentAt: monotonicMillis())
    }

    func askReplay(from seq: UInt64) throws {
        guard let id = try client.send(type: MessageType.replay, body: ReplayRequest(from: seq, limit: 10_000, encoding: "binary")) else { return }
        pending = .replay(id: id, sentAt: monotonicMillis())
        replayWanted = false
    }
}
