import DeliveryCore
import Testing

@Suite struct PeriodTests {
    @Test func parsesMonthsQuartersAndYears() throws {
        #expect(try Period(parsing: "2025-05") == .month(2025, 5))
        #expect(try Period(parsing: "2025-Q2") == .quarter(2025, 2))
        #expect(try Period(parsing: "2025") == .year(2025))
        #expect(try Period(parsing: "2025-05").description == "2025-05")
        #expect(try Period(parsing: "2025-q4").description == "2025-Q4")
    }

    @Test(arguments: ["2025-13", "2025-00", "May", "2025-5", "2025-Q5", "25-05", "", "2025-05-01", "20x5"])
    func rejectsWhatIsNotAPeriod(_ text: String) {
        #expect(throws: PeriodError.self) { try Period(parsing: text) }
    }

    @Test func navigates() throws {
        let may = Period.month(2025, 5)
        #expect(may.previous == .month(2025, 4))
        #expect(Period.month(2025, 1).previous == .month(2024, 12))
        #expect(may.sameLastYear == .month(2024, 5))
        #expect(may.quarter == .quarter(2025, 2))
        #expect(Period.quarter(2025, 1).previous == .quarter(2024, 4))
        #expect(Period.quarter(2025, 2).parts == [.month(2025, 4), .month(2025, 5), .month(2025, 6)])
        #expect(Period.year(2025).parts == (1...4).map { .quarter(2025, $0) })
        #expect(Period.year(2025).months.count == 12)
        #expect(Period.month(2024, 11).through(.month(2025, 2)).map(\.description) == ["2024-11", "2024-12", "2025-01", "2025-02"])
    }
}

@Suite struct TimestampTests {
    @Test func parsesISO8601() {
        #expect(Timestamp.millis("1970-01-01T00:00:00Z") == 0)
        #expect(Timestamp.millis("2025-06-01T00:00:00Z") == 1_748_736_000_000)
        #expect(Timestamp.millis("2025-06-01T08:00:00+08:00") == 1_748_736_000_000)
        #expect(Timestamp.millis("2025-06-01T00:00:00.250Z") == 1_748_736_000_250)
        #expect(Timestamp.millis("2025-06-01T00:00:00.5Z") == 1_748_736_000_500)
        #expect(Timestamp.millis("2025-06-01T00:00:00,123456789-0130") == 1_748_741_400_123)
        #expect(Timestamp.millis("2025-06-01T00:00:00.Z") == nil)
        #expect(Timestamp.millis("2025-06-01T00:00Z") == 1_748_736_000_000)
        #expect(Timestamp.millis("2025-06-01T00:00:00") == nil)
        #expect(Timestamp.millis("2025-06-01") == 1_748_736_000_000)
        #expect(Timestamp.millis("yesterday") == nil)
        #expect(Timestamp.millis("2025-02-30T00:00:00Z") == nil)
        #expect(Timestamp.millis("2025-06-01T00:00:00") == nil)
        #expect(Timestamp.format(millis: 1_748_736_000_000) == "2025-06-01T00:00:00Z")
        #expect(Timestamp.format(millis: 1_748_736_000_250) == "2025-06-01T00:00:00.250Z")
    }
}
