import CairnAMQP
import CairnAPI
import CairnHTTP
import CairnEscalator
import CairnIngest
import CairnRelay
public import CairnStore
import CairnWorker
import Foundation
import Hummingbird
import PostgresNIO
public import Prometheus
public import Logging
public import ServiceLifecycle
import UnixSignals

/// The roles one `cairn` process can play.
public enum Role: String, Sendable, CaseIterable {
    case ingest, worker, escalator, api
}

/// Builds the services for `roles` in dependency order (store, broker, relay, consumers, HTTP), so SIGTERM stops
/// them in reverse: HTTP stops taking requests, consumers finish and commit their batch and ack, the relay sends
/// what is left, then the broker connection and the database pool close.
/// - Parameter metrics: the registry the process's swift-metrics backend writes to, served at `/metrics`.
public func buildServiceGroup(
    roles: Set<Role>, settings: CairnSettings, metrics: PrometheusCollectorRegistry, logger: Logger
) -> ServiceGroup {
    let name = "cairn " + roles.map(\.rawValue).sorted().joined(separator: "+")
    // pg_stat_activity names the process each session belongs to.
    var database = settings.database
    database.applicationName = "\(name) pid \(getpid())"
    let store = Store(configuration: database, engine: settings.engine, logger: logger)
    var amqpConfiguration = settings.amqp
    amqpConfiguration.connectionName = name
    // The API only reports whether the broker answers: it declares nothing, so its broker user needs no
    // permission at all (deploy/rabbitmq/definitions.json). Every other role declares the core topology.
    let topology = roles == [.api] ? AMQPTopology() : CairnTopology.core
    let connection = AMQPConnection(configuration: amqpConfiguration, topology: topology, logger: logger)

    var services: [any Service] = [store.client, connection]
    if roles.contains(.worker) || roles.contains(.escalator) {
        var relay = OutboxRelay(store: store, connection: connection, logger: logger)
        relay.roundTimeout = settings.batchTimeout
        services.append(relay)
    }
    if roles.contains(.worker) {
        var worker = EventWorker(store: store, connection: connection, logger: logger)
        worker.batchTimeout = settings.batchTimeout
        worker.maxBatch = settings.workerBatch
        services.append(worker)
    }
    if roles.contains(.escalator) {
        var escalator = Escalator(store: store, connection: connection, clock: settings.clock, logger: logger)
        escalator.batchTimeout = settings.batchTimeout
        services.append(escalator)
        services.append(SweepService(store: store, clock: settings.clock, interval: settings.sweepInterval, logger: logger))
    }
    if roles.contains(.ingest) {
        var configuration = IngestConfiguration(writeKeys: settings.writeKeys)
        configuration.host = settings.httpHost
        configuration.port = settings.ingestPort
        configuration.rateLimit = settings.ingestRateLimit
        configuration.streamClock = settings.clock == .stream
        // The role's own connection is the first publisher; more spread concurrent requests over more threads.
        let extra = (1..<settings.ingestPublishers).map { index in
            var publisher = amqpConfiguration
            publisher.connectionName += " publisher \(index + 1)"
            return AMQPConnection(configuration: publisher, topology: CairnTopology.core, logger: logger)
        }
        services.insert(contentsOf: extra as [any Service], at: 2)
        services.append(
            buildIngestApplication(
                configuration: configuration, publishers: PublisherPool([connection] + extra), metrics: metrics,
                logger: logger))
    }
    if roles.contains(.api) {
        var configuration = APIConfiguration(tokens: settings.apiTokens)
        configuration.host = settings.httpHost
        configuration.port = settings.apiPort
        configuration.clock = settings.clock
        configuration.aggregateMaxAge = settings.aggregateMaxAge
        services.append(
            buildAPIApplication(
                configuration: configuration, store: store, isBrokerConnected: { connection.isConnected }, metrics: metrics,
                logger: logger))
    }
    if !roles.contains(.ingest) && !roles.contains(.api), let port = settings.metricsPort {
        services.append(
            buildMetricsApplication(
                registry: metrics, host: settings.httpHost, port: port, logger: logger,
                isReady: { connection.isConnected ? await store.isReachable(logger: logger) : false }))
    }
    armShutdownDeadline(settings.shutdownTimeout, logger: logger)
    if let parent = settings.parentProcess { watchParent(parent, logger: logger) }
    return ServiceGroup(
        configuration: .init(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
}

/// Stops this process gracefully, by sending it SIGTERM, once `parent` is no longer its parent: the parent exited
/// or was killed, and this process was handed to another (init, a subreaper). A parent killed with SIGKILL cannot
/// stop its children; without this they would run on, consuming and holding connections, with nobody to stop
/// them. Polled through getppid() twice a second; the first look is after the first interval, when the service
/// group's signal handlers are in place.
func watchParent(_ parent: pid_t, logger: Logger) {
    Task.detached {
        repeat {
            try? await Task.sleep(for: .milliseconds(500))
        } while getppid() == parent
        logger.warning("the process that started this one is gone; stopping", metadata: ["cairn.parent": "\(parent)"])
        kill(getpid(), SIGTERM)
    }
}

/// Bounds a graceful shutdown: once SIGTERM or SIGINT arrived, a process still running after `timeout` logs why
/// and exits with status 75. A database call that is never resumed (see `Watchdog`) would otherwise keep the
/// process from ending; nothing unacknowledged is lost by exiting, the broker delivers it again.
func armShutdownDeadline(_ timeout: Duration, logger: Logger) {
    Task.detached {
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            logger.info("shutting down gracefully", metadata: ["cairn.signal": "\(signal)", "cairn.limit": "\(timeout)"])
            try? await Task.sleep(for: timeout)
            logger.critical(
                "graceful shutdown did not finish in time; exiting (nothing unacknowledged is lost)",
                metadata: ["cairn.limit": "\(timeout)"])
            exit(Watchdog.exitStatus)
        }
    }
}

/// Applies pending migrations with a short-lived pool; safe to run from several processes at once.
public func runMigrations(settings: CairnSettings, logger: Logger) async throws -> [Int] {
    try await withStore(settings: settings, logger: logger) { store in try await store.migrate() }
}

/// Runs `body` with a store whose pool lives only for the call (operator commands, migrations).
public func withStore<Result: Sendable>(
    settings: CairnSettings, logger: Logger, _ body: @Sendable (Store) async throws -> Result
) async throws -> Result {
    let store = Store(configuration: settings.database, engine: settings.engine, logger: quietPoolLogger(logger))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await store.client.run() }
        defer { group.cancelAll() }
        return try await body(store)
    }
}

/// The logger for a pool whose first query is sent as soon as its `run()` task is added: PostgresNIO warns when a
/// lease comes before `run()` has started (the lease then waits for it, nothing is wrong), which is noise there.
func quietPoolLogger(_ logger: Logger) -> Logger {
    var poolLogger = logger
    poolLogger.logLevel = max(logger.logLevel, .error)
    return poolLogger
}
