import DeliveryMessages

extension QueryEngine {
    /// Every report of a figure: its earlier ones (kept by the aggregate) and each source's
    /// current one, in the order of reports, each with how it moved its source's value.
    public func revisions(_ query: RevisionsQuery) throws(ProtocolError) -> RevisionsResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        let earlier = store.revisions(key, period)
        let current = store.figure(key, period)?.sources ?? []
        var all = (earlier.map { ($0, false) } + current.map { ($0, true) }).sorted {
            ReportOrder(reportedAt: $0.0.reportedAt, stream: $0.0.stream, seq: $0.0.seq)
                < ReportOrder(reportedAt: $1.0.reportedAt, stream: $1.0.stream, seq: $1.0.seq)
        }
        if let source = query.source?.lowercased() { all = all.filter { $0.0.source.lowercased() == source } }
        var last: [String: Int64] = [:]
        let reports = all.map { report, isCurrent in
            defer { last[report.source] = report.units }
            return Revision(report, change: last[report.source].map { report.units - $0 }, current: isCurrent)
        }
        return RevisionsResult(entity: catalog.ref(key), period: period.description, reports: reports, truncated: earlier.count >= FigureRecord.maxRevisions)
    }
}

extension RevisionsQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> RevisionsResult {
        try engine.revisions(self)
    }
}
