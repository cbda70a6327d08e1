import DeliveryMessages

extension QueryEngine {
    public func catalogResult() -> CatalogResult {
        CatalogResult(catalog.document)
    }
}

extension CatalogQuery: AnswerableQuery {
    public func answer<Store: FigureStore>(with engine: QueryEngine<Store>) throws(ProtocolError) -> CatalogResult {
        engine.catalogResult()
    }
}
