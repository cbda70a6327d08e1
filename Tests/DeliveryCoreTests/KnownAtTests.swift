import DeliveryCore
import DeliveryMessages
import Testing
import TestSupport

/// What was known when (#42): every query kind as of a past moment answers what a book of only the
/// reports known then answers, on the aggregate's book and on a replica; `revisions` lists exactly
/// the reports of a figure.
@Suite struct KnownAtTests {
    static func moment(_ at: Int) -> Int64 {
        Timestamp.millis("2025-03-01T00:00:\(String(format: "%02d", at))Z")!
    }

    @Test func everyKindAsOfEveryReportsTimeEqualsABookOfTheReportsKnownThen() throws {
        var random = SplitMix(state: 4242)
        for round in 0..<6 {
            // Revisions aplenty: two sources, a few entities, 50 reports.
            let entries = MeasureTests.history(&random, count: 50)
            let full = try MeasureTests.book(entries, relabel: true)
            let replica = NewsFactsTests.replica(full, catalog: MeasureTests.catalog)
            for at in Set(entries.map(\.at)).sorted() + [-1] {
                let known = try MeasureTests.book(entries.filter { $0.at <= at }, relabel: true)
                let expected = try MeasureTests.answers(known)
                let cutoff = at < 0 ? Self.moment(0) - 1 : Self.moment(at)
                #expect(try MeasureTests.answers(KnownAtStore(full, .deliveries, nil, cutoff: cutoff)) == expected, "round \(round), as of \(at) on the book")
                #expect(try MeasureTests.answers(KnownAtStore(replica, .deliveries, nil, cutoff: cutoff)) == expected, "round \(round), as of \(at) on the replica")
            }
        }
    }

    @Test func revisionsListExactlyTheReportsOfAFigure() throws {
        var random = SplitMix(state: 4243)
        for _ in 0..<6 {
            let entries = MeasureTests.history(&random, count: 60)
            let book = try MeasureTests.book(entries, relabel: true)
            let replica = NewsFactsTests.replica(book, catalog: MeasureTests.catalog)
            for key in book.keys {
                let expected = try entries.filter { entry in
                    let report = try MeasureTests.report(entry, catalog: book.catalog, relabel: true)
                    return report.entity.level == key.entity.level && report.entity.id == key.entity.id && report.period == key.period.description
                }.map(\.id).sorted()
                for listed in [
                    try QueryEngine(book).revisions(RevisionsQuery(entity: EntitySelector(key.entity), period: key.period.description)),
                    try QueryEngine(replica).revisions(RevisionsQuery(entity: EntitySelector(key.entity), period: key.period.description)),
                ] {
                    #expect(listed.reports.map(\.reportId).sorted() == expected, "\(key.entity) \(key.period)")
                    // Each source's last report is its current one, and each change is from its own previous value.
                    var last: [String: Int64] = [:]
                    for report in listed.reports {
                        #expect(report.change == last[report.source].map { report.units - $0 })
                        last[report.source] = report.units
                    }
                }
            }
        }
    }
}
