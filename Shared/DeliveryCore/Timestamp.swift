/// ISO 8601 times as reports carry them: `2025-06-01T00:00:00Z`, with optional fraction and an
/// offset (`+08:00`), or a bare date `2025-06-01` (midnight UTC). Parsed by hand: fast, and with
/// no formatter state shared between threads.
public enum Timestamp {
    /// Milliseconds since 1970 in UTC, or nil when the text is not such a time.
    public static func millis(_ text: String) -> Int64? {
        var reader = Reader(bytes: Array(text.utf8))
        guard let year = reader.number(4), reader.expect("-"), let month = reader.number(2), reader.expect("-"), let day = reader.number(2),
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        var time = (seconds: 0, millis: 0, offset: 0)
        if !reader.atEnd {
            guard reader.expect("T") || reader.expect("t") || reader.expect(" "), let read = reader.timeOfDay(), reader.atEnd else { return nil }
            time = read
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        return (Int64(days) * 86_400 + Int64(time.seconds - time.offset)) * 1000 + Int64(time.millis)
    }

    /// The bytes of a time, read from the front.
    private struct Reader {
        let bytes: [UInt8]
        var i = 0

        var atEnd: Bool { i >= bytes.count }

        /// `count` decimal digits.
        mutating func number(_ count: Int) -> Int? {
            guard i + count <= bytes.count else { return nil }
            var value = 0
            for _ in 0..<count {
                let byte = bytes[i]
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
                i += 1
            }
            return value
        }

        mutating func expect(_ char: Character) -> Bool {
            guard i < bytes.count, bytes[i] == char.asciiValue! else { return false }
            i += 1
            return true
        }

        /// `hh:mm[:ss[.fraction]]` and its offset (`Z` or `±hh[:]mm`, in seconds east of UTC).
        mutating func timeOfDay() -> (seconds: Int, millis: Int, offset: Int)? {
            guard let hour = number(2), expect(":"), let minute = number(2), hour < 24, minute < 60 else { return nil }
            var second = 0
            var millis = 0
            if expect(":") {
                guard let s = number(2), s < 61 else { return nil }
                second = s
                if expect(".") || expect(",") {
                    guard let fraction = fraction() else { return nil }
                    millis = fraction
                }
            }
            guard let offset = offset() else { return nil }
            return (hour * 3600 + minute * 60 + second, millis, offset)
        }

        /// Any number of digits (nanoseconds and beyond are common); milliseconds are kept.
        mutating func fraction() -> Int? {
            var digits = 0
            var fraction = 0
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                if digits < 3 { fraction = fraction * 10 + Int(bytes[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 3) { fraction *= 10 }
            return fraction
        }

        mutating func offset() -> Int? {
            if expect("Z") || expect("z") { return 0 }
            guard i < bytes.count, bytes[i] == 43 || bytes[i] == 45 else { return nil }
            let sign = bytes[i] == 43 ? 1 : -1
            i += 1
            guard let hours = number(2) else { return nil }
            _ = expect(":")
            guard let minutes = number(2), hours < 24, minutes < 60 else { return nil }
            return sign * (hours * 3600 + minutes * 60)
        }
    }

    /// Formats milliseconds since 1970 as `2025-06-01T00:00:00Z` (with `.mmm` when not whole).
    public static func format(millis: Int64) -> String {
        let totalSeconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let ms = Int(millis - totalSeconds * 1000)
        let days = Int(totalSeconds >= 0 ? totalSeconds / 86_400 : (totalSeconds - 86_399) / 86_400)
        let secondOfDay = Int(totalSeconds - Int64(days) * 86_400)
        let (year, month, day) = civil(fromDays: days)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var text = "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
        if ms != 0 {
            text += "." + String(String(ms + 1000).dropFirst())
        }
        return text + "Z"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days-from-civil algorithm.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
