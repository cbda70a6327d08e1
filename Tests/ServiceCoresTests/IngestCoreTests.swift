import DeliveryCore
import DeliveryMessages
import ServiceCores
import Testing

/// The ingest's decisions with no log or socket: a `submit` refused whole with every bad report
/// named, a catalog refreshed once for an unknown entity, the acknowledgements in order.
@Suite struct IngestCoreTests {
    static func submit(_ reports: [JSONValue]) -> JSONValue {
        .object(["v": .int(1), "type": .string("submit"), "id": .string("s1"), "body": .object(["reports": .array(reports)])])
    }

    static func report(_ id: String, brand: String, units: Int64) -> JSONValue {
        .object([
            "id": .string(id), "source": .string("CPCA"), "period": .string("2025-05"), "group": .string("g1"), "brand": .string(brand),
            "units": .int(units), "reportedAt": .string("2025-06-01T00:00:00Z"),
        ])
    }

    let catalog: Catalog
    /// The time comes in with the request: a day after the reports were made.
    static let now: Int64 = 1_748_822_400_000

    init() throws {
        catalog = try Catalog(AggregateCoreTests.put(["g1"], brands: [("b1", "g1")]))
    }

    @Test func aValidBatchIsWrittenAndAcknowledgedInOrder() {
        let core = IngestCore(maxBatch: 10)
        let step = core.submit(Self.submit([Self.report("r1", brand: "b1", units: 5), Self.report("r2", brand: "b1", units: 6)]), id: .string("s1"), catalog: catalog, now: Self.now)
        guard case .write(let validated) = step else {
            Issue.record("not written: \(step)")
            return
        }
        #expect(validated.map(\.report.id) == ["r1", "r2"])
        let superseding = Superseding(id: "r9", stream: "ingest-a", seq: 7)
        let result = core.acknowledge(validated, outcomes: [.stored(seq: 3), .duplicate(stream: "ingest-b", seq: 1, supersededBy: superseding)], stream: "ingest-a")
        #expect(result.accepted.map(\.seq) == [3, 1] && result.accepted.map(\.stream) == ["ingest-a", "ingest-b"])
        #expect(result.accepted[1].duplicate && result.accepted[1].supersededBy == superseding && !result.accepted[0].duplicate)
    }

    @Test func aBadBatchIsRefusedWholeWithEveryBadReportNamed() {
        let core = IngestCore(maxBatch: 10)
        let bad = Self.submit([Self.report("r1", brand: "b1", units: 5), Self.report("r2", brand: "b1", units: -1), Self.report("r3", brand: "b1", units: -2)])
        guard case .refuse(let error) = core.submit(bad, id: .string("s1"), catalog: catalog, now: Self.now) else {
            Issue.record("not refused")
            return
        }
        #expect(error.code == .invalidReport && error.id == .string("s1"))
        #expect(error.message.hasPrefix("2 reports are bad; the first: report 1:"))
        #expect(error.details?["count"] == .int(2))
        // Empty, or past the limit.
        guard case .refuse(let empty) = core.submit(Self.submit([]), id: .null, catalog: catalog, now: Self.now) else { return }
        #expect(empty.message.contains("empty"))
        let many = Self.submit((0..<11).map { Self.report("r\($0)", brand: "b1", units: 1) })
        guard case .refuse(let large) = core.submit(many, id: .null, catalog: catalog, now: Self.now) else { return }
        #expect(large.code == .tooLarge && large.details?["limit"] == .int(10))
    }

    @Test func anUnknownEntityAsksForTheCatalogOnceMore() {
        let core = IngestCore(maxBatch: 10)
        let unknown = Self.submit([Self.report("r1", brand: "b2", units: 5)])
        guard case .refreshCatalog(let otherwise) = core.submit(unknown, id: .string("s1"), catalog: catalog, now: Self.now) else {
            Issue.record("no refresh asked")
            return
        }
        #expect(otherwise.code == .unknownEntity)
        guard case .refuse(let error) = core.submit(unknown, id: .string("s1"), catalog: catalog, now: Self.now, refreshed: true) else {
            Issue.record("refreshed twice")
            return
        }
        #expect(error.code == .unknownEntity)
    }

    @Test func aBatchIsPlannedAgainstWhatTheLogHolds() throws {
        let core = IngestCore(maxBatch: 10)
        let reports = [Self.report("r1", brand: "b1", units: 5), Self.report("r2", brand: "b1", units: 6), Self.report("r1", brand: "b1", units: 5)]
        guard case .write(let validated) = core.submit(Self.submit(reports), id: .null, catalog: catalog, now: Self.now) else {
            Issue.record("not valid")
            return
        }
        // r2 was stored before (by another writer); r1 is new, and its repeat in the batch is a
        // duplicate of the seq it is about to get.
        let plan = try IngestCore.plan(validated, stream: "ingest-a", lastSeq: 41) { id in
            id == "r2" ? ("ingest-b", 7, validated[1].contentHash) : nil
        }
        #expect(plan.outcomes == [.stored(seq: 42), .duplicate(stream: "ingest-b", seq: 7), .duplicate(stream: "ingest-a", seq: 42)])
        #expect(plan.fresh.map(\.report.id) == ["r1"])
        // The same id with other content refuses the batch, naming the report.
        #expect(throws: ProtocolError.self) {
            try IngestCore.plan(validated, stream: "ingest-a", lastSeq: 41) { _ in ("ingest-a", 1, "other") }
        }
        // No room left for the seqs.
        #expect(throws: ProtocolError.self) {
            try IngestCore.plan(validated, stream: "ingest-a", lastSeq: UInt64(Int64.max)) { _ in nil }
        }
    }
}
