/// How one service of a single-instance stack on loopback is started: its executable and the
/// environment that wires it to the others. Used by the integration tests and the benchmark,
/// which both start real processes; `endpoint` maps the names ingest, ingestPub, agg, aggPub,
/// query and queryPub to endpoints.
public func localStackService(
    _ service: String, instance: String, dataDirectory: String, endpoint: (String) -> String
) -> (executable: String, environment: [String: String]) {
    switch service {
    case "ingest":
        return (
            "delivery-ingest",
            [
                "DELIVERY_INGEST_BIND": endpoint("ingest"), "DELIVERY_INGEST_PUBLISH": endpoint("ingestPub"),
                "DELIVERY_DATA_DIR": dataDirectory + "/ingest", "DELIVERY_INSTANCE": instance,
            ]
        )
    case "aggregate":
        return (
            "delivery-aggregate",
            [
                "DELIVERY_AGGREGATE_PUBLISH": endpoint("aggPub"), "DELIVERY_AGGREGATE_BIND": endpoint("agg"),
                "DELIVERY_INGEST_ENDPOINTS": endpoint("ingest"), "DELIVERY_INGEST_FEEDS": endpoint("ingestPub"),
                "DELIVERY_DATA_DIR": dataDirectory + "/aggregate", "DELIVERY_INSTANCE": instance,
            ]
        )
    default:
        return (
            "delivery-query",
            [
                "DELIVERY_QUERY_BIND": endpoint("query"), "DELIVERY_QUERY_PUBLISH": endpoint("queryPub"),
                "DELIVERY_AGGREGATE_ENDPOINTS": endpoint("agg"), "DELIVERY_AGGREGATE_FEEDS": endpoint("aggPub"),
                "DELIVERY_INSTANCE": instance,
            ]
        )
    }
}
