import DeliveryCore
import DeliveryMessages
import Logging
import Prometheus
import ServiceCores
import ServiceKit
import ZeroMQ

/// The ingest loop: validates and stores reports, acknowledges them once durable, publishes them
/// and serves replay. It owns its ROUTER and PUB on one thread.
final class IngestService: Sendable {
    struct Settings: Sendable {
        /// The ROUTER, PUB, limits and CURVE every service has.
        var shell: ShellSettings
        var dataDirectory: String
        var instance: String
        var maxBatch: Int
        /// PostgreSQL instead of the SQLite file under `dataDirectory`.
        var databaseURL: String?
    }

    private let settings: Settings
    private let logger: Logger
    private let started = monotonicMillis()
    fileprivate let observability: Observability
    private let stored: Prometheus.Counter
    fileprivate let lastSeq: Prometheus.Gauge

    init(settings: Settings, logger: Logger, observability: Observability) {
        self.settings = settings
        self.logger = logger
        self.observability = observability
        stored = observability.counter("delivery_reports_stored_total", "Reports stored durably (acknowledged), duplicates not counted.")
        lastSeq = observability.gauge("delivery_log_last_seq", "The last seq in the ingest's log.")
    }

    /// The requests ingest answers.
    enum Requests: MessageRequestSet {
        case submit, catalogPut, replay, status, ping

        var messageType: MessageType {
            switch self {
            case .submit: .submit
            case .catalogPut: .catalogPut
            case .replay: .replay
            case .status: .status
            case .ping: .ping
            }
        }
    }

    func run(stop: StopFlag) throws {
        let log: any EventLog
        var lock: DataDirectoryLock?
        if let url = settings.databaseURL {
            // Nothing on this instance's disk: PostgreSQL holds the log (unreachable now is fine:
            // requests get `unavailable` until it answers).
            log = try PostgresLog(url: url, instance: settings.instance, logger: logger)
        } else {
            // Held for the life of the loop: a second ingest on this data dir is refused at start.
            lock = try DataDirectoryLock(directory: settings.dataDirectory, owner: "ingest")
            log = try IngestLog(directory: settings.dataDirectory, instance: settings.instance, logger: logger)
        }
        defer {
            // Every write finished before its reply was sent; the log closes after the sockets.
            try? log.close()
            withExtendedLifetime(lock) {}
        }
        // With CURVE on, only the allow-listed keys get through the handshake.
        let shell = try ServiceShell<Requests>(stream: log.stream, startingAfter: log.lastSeq, settings: settings.shell, logger: logger)
        defer { shell.close() }
        logger.info(
            "ingest ready",
            metadata: [
                "zmq.endpoint": "\(settings.shell.bind)", "zmq.publish": "\(settings.shell.publish)", "stream": "\(log.stream)",
                "seq": "\(log.lastSeq)", "writable": "\(log.writeProblem ?? "yes")", "log": "\(log.kind)",
            ]
        )
        var loop = IngestLoop(service: self, log: log)
        try shell.drive(&loop, stop: stop)
    }

    /// The ingest's turn: requests, the log's health, the stream's name once the log knows it.
    struct IngestLoop: ServiceLoop {
        let service: IngestService
        let log: any EventLog

        var handles: [(Int, Socket)] { [] }
        var waitMillis: Int { 100 }

        mutating func turn(_ wake: ServiceShell<Requests>.Wake<Int>, shell: ServiceShell<Requests>, stop: StopFlag) throws {
            let (service, log) = (service, log)
            if wake.requests {
                shell.serve(stop: stop) { request, head, kind in
                    service.handle(request, head, kind, log: log, shell: shell)
                }
            }
            log.probe(force: false)
            if shell.publisher.stream != log.stream {
                // The stream is known once PostgreSQL answers (or changed with a reconnect).
                shell.publisher.restart(as: log.stream, startingAfter: log.lastSeq)
            }
            shell.endTurn(
                worked: wake.any, observability: service.observability, ready: log.writeProblem == nil,
                problem: log.writeProblem.map { "cannot write: \($0)" }
            )
            if service.observability.sampled {
                service.observability.sample(shell.monitor)
                service.lastSeq.set(to: Double(log.lastSeq))
            }
        }
    }

    fileprivate func handle(_ request: RouterRequest, _ head: EnvelopeHead, _ kind: Requests, log: any EventLog, shell: ServiceShell<Requests>) {
        let router = shell.router
        switch kind {
        case .ping:
            shell.ping(
                request, head, service: "ingest", instance: settings.instance, notReady: log.writeProblem.map { "cannot take reports: \($0)" }
            )
        case .status:
            request.reply(Envelope(MessageType.statusResult, id: head.id, body: status(log: log, monitor: shell.monitor)), on: router)
        case .submit:
            switch submit(request.message, head, log: log, publisher: shell.publisher) {
            case .success(let result):
                request.reply(Envelope(MessageType.submitOK, id: head.id, body: result), on: router)
            case .failure(let error):
                request.reply(error, on: router)
            }
        case .catalogPut:
            switch Wire.decodeBody(CatalogDocument.self, in: request.message, id: head.id, code: .invalidReport)
                .flatMap({ putCatalog($0, id: head.id, log: log, publisher: shell.publisher) })
            {
            case .success(let body): request.reply(Envelope(MessageType.catalogOK, id: head.id, body: body), on: router)
            case .failure(let error): request.reply(error, on: router)
            }
        case .replay:
            switch Wire.decodeBody(ReplayRequest.self, in: request.message, id: head.id, code: .invalidQuery) {
            case .failure(let error): request.reply(error, on: router)
            case .success(let replay): self.replay(replay, request, head, log: log, router: router)
            }
        }
    }

    private func status(log: any EventLog, monitor: LinkMonitor) -> StatusResult {
        let catalog = log.catalog.counts
        return StatusResult(
            service: "ingest", version: serviceVersion, instance: settings.instance, streams: [log.stream],
            positions: [log.stream: log.lastSeq],
            counts: [
                "reports": log.reportCount, "catalogPuts": log.catalogCount, "groups": catalog.groups,
                "brands": catalog.brands, "models": catalog.models, "segments": catalog.segments,
                "unreadable": log.unreadable.count, "connections": monitor.connections,
                "refusedConnections": monitor.refused,
            ],
            uptimeSeconds: Double(monotonicMillis() - started) / 1000, ready: log.writeProblem == nil,
            endpoints: ["bind": settings.shell.bind, "publish": settings.shell.publish, "log": log.kind, "logLocation": log.location],
            problem: log.writeProblem.map { "cannot write: \($0)" },
            setAside: log.unreadable.isEmpty
                ? nil
                : log.unreadable.sorted { $0.key > $1.key }.prefix(20).map {
                    SetAsideEvent(stream: log.stream, seq: $0.key, reason: $0.value)
                }
        )
    }

    /// Stores a catalog put (a repeat of the last is acknowledged, not stored again) and
    /// publishes it.
    private func putCatalog(_ document: CatalogDocument, id: JSONValue, log: any EventLog, publisher: Publisher) -> Result<CatalogPutResult, ProtocolError> {
        do {
            let (seq, duplicate, event) = try log.putCatalog(document)
            if let event {
                publisher.publish(
                    topic: event.topic, seq: seq, type: MessageType.catalogAccepted,
                    body: CatalogAcceptedEvent(catalog: document, stream: log.stream, seq: seq)
                )
            }
            let counts = log.catalog.counts
            return .success(
                CatalogPutResult(
                    stream: log.stream, seq: seq, groups: counts.groups, brands: counts.brands, models: counts.models,
                    segments: counts.segments, duplicate: duplicate
                )
            )
        } catch var error as ProtocolError {
            error.id = id
            return .failure(error)
        } catch {
            logger.error("catalog write failed", metadata: ["error": "\(error)"])
            return .failure(ProtocolError(.internal, "the catalog could not be stored", id: id))
        }
    }

    /// A page of the log from `replay.from`: binary (what an aggregate asks) or JSON events.
    private func replay(_ replay: ReplayRequest, _ request: RouterRequest, _ head: EnvelopeHead, log: any EventLog, router: Socket) {
        let limit = min(max(replay.limit ?? 1000, 1), 10_000)
        do {
            if replay.encoding == .binary {
                let entries = try log.binaryEvents(from: max(replay.from, 1), limit: limit)
                let body = BinaryReplayHead(stream: log.stream, last: log.lastSeq, count: entries.count)
                request.reply(Envelope(MessageType.replayResult, id: head.id, body: body), attachment: EventBatch.encode(entries), on: router)
            } else {
                let events = try log.events(from: max(replay.from, 1), limit: limit)
                let body = ReplayResult(stream: log.stream, events: events, last: log.lastSeq)
                request.reply(Envelope(MessageType.replayResult, id: head.id, body: body), on: router)
            }
        } catch {
            logger.error("replay read failed", metadata: ["error": "\(error)"])
            request.reply(ProtocolError(.internal, "the log could not be read", id: head.id), on: router)
        }
    }

    private func submit(_ message: JSONValue, _ head: EnvelopeHead, log: any EventLog, publisher: Publisher) -> Result<SubmitResult, ProtocolError> {
        let core = IngestCore(maxBatch: settings.maxBatch)
        let now = wallMillis()
        var step = core.submit(message, id: head.id, catalog: log.catalog, now: now)
        if case .refreshCatalog(let refusal) = step {
            // Another writer put entities since (a shared PostgreSQL log): check once more.
            step = log.refreshCatalog() ? core.submit(message, id: head.id, catalog: log.catalog, now: now, refreshed: true) : .refuse(refusal)
        }
        switch step {
        case .refuse(let error), .refreshCatalog(let error):
            return .failure(error)
        case .write(let validated):
            return write(validated, core: core, id: head.id, log: log, publisher: publisher)
        }
    }

    /// Writes a valid batch, publishes what was stored as one `report.batch`, and acknowledges it.
    private func write(
        _ validated: [ReportValidator.Validated], core: IngestCore, id: JSONValue, log: any EventLog, publisher: Publisher
    ) -> Result<SubmitResult, ProtocolError> {
        do {
            let (outcomes, stored) = try log.append(validated)
            self.stored.increment(by: Int64(stored.count))
            if let first = stored.first?.event.seq, let last = stored.last?.event.seq {
                // The committed batch as one message, its reports in the bytes the log holds.
                observability.published.increment()
                publisher.publish(
                    topic: Topic.reportBatch, seq: last, type: MessageType.reportBatch,
                    body: BatchHead(reports: stored.count, first: first),
                    attachment: EventBatch.encode(stored.map { .report(seq: $0.event.seq, stored: $0.payload) })
                )
            }
            let told: [IngestCore.Outcome] = outcomes.map { outcome in
                switch outcome {
                case .stored(let seq): .stored(seq: seq)
                case .duplicate(let stream, let seq):
                    .duplicate(stream: stream, seq: seq, supersededBy: (try? log.superseding(stream: stream, seq: seq)) ?? nil)
                }
            }
            return .success(core.acknowledge(validated, outcomes: told, stream: log.stream))
        } catch var error as ProtocolError {
            error.id = id
            return .failure(error)
        } catch {
            logger.error("write failed", metadata: ["error": "\(error)"])
            return .failure(ProtocolError(.internal, "the batch could not be stored; nothing was acknowledged", id: id))
        }
    }
}
