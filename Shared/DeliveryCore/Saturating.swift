/// Sums of delivery figures that cannot trap. Reports are bounded (`ReportValidator.maxUnits`), so a
/// real sum never comes near `Int64`'s limit; these keep a follower alive even when a figure from
/// elsewhere (an old log, a damaged event) is not bounded: a sum pins at the limit instead of
/// crashing the process.
extension Int64 {
    /// `self + other`, pinned to `Int64.min...Int64.max`.
    @inlinable
    public func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, pinned to `Int64.min...Int64.max`.
    @inlinable
    public func saturatingSubtracting(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other > 0 ? .min : .max
    }
}
