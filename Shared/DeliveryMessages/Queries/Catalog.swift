/// `catalog` takes no fields.
public struct CatalogQuery: QueryRequest {
    public static let kind = QueryKind.catalog
    public typealias Result = CatalogResult

    public init() {}
}

public struct CatalogResult: QueryResult {
    public var groups: [GroupEntry]
    public var brands: [BrandEntry]
    public var models: [ModelEntry]
    public var segments: [SegmentEntry]
    public var fx: [FXRate]
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(_ document: CatalogDocument) {
        groups = document.groups
        brands = document.brands
        models = document.models
        segments = document.segments
        fx = document.fx
    }
}
