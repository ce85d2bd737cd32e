import CairnCore
public import CairnHTTP
public import CairnStore
import Foundation
public import Hummingbird
public import Logging
public import Prometheus

/// Settings of the API role.
public struct APIConfiguration: Sendable {
    /// Bearer tokens allowed to read the API, as SHA-256 digests (a presented token is hashed and compared).
    public var tokens: [SecretDigest]
    public var host = "127.0.0.1"
    public var port = 8080
    /// Largest page a client may ask for.
    public var maxPageSize = 500
    /// The clock that decides "now" for windows such as upcoming renewals (the stream clock in simulations).
    public var clock = EvaluationClock.wall
    /// How old an aggregate answer (funnel, health distribution and trend, cohorts) may be before it is computed
    /// again (see `AggregateCache`); zero computes it for every request.
    public var aggregateMaxAge = Duration.seconds(5)
    /// How old an aggregate answer may be and still be served while a newer one is computed.
    var aggregateStaleLimit: Duration { aggregateMaxAge + .seconds(60) }
    /// How often `/api/v1/stream` looks for changes.
    public var streamPollInterval = Duration.seconds(1)
    /// How long one stream stays open before the server ends it (clients reconnect with `Last-Event-ID`).
    public var streamLifetime = Duration.seconds(300)

    public init(tokens: [SecretDigest]) {
        self.tokens = tokens
    }
}

/// `cairn api`: accounts with their journey and health, aggregates, tasks and a live stream for CSMs, managers and
/// other systems, the OpenAPI document, and the dashboard at `/`.
public func buildAPIApplication(
    configuration: APIConfiguration, store: Store, isBrokerConnected: @escaping @Sendable () -> Bool,
    metrics: PrometheusCollectorRegistry, logger: Logger
) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: JSONErrorMiddleware())
    router.add(middleware: InvalidInputMiddleware())
    router.addMetricsRoute(metrics)
    router.get("/healthz") { _, _ in try jsonResponse(["status": "ok"]) }
    router.get("/readyz") { _, context in
        guard await store.isReachable(logger: context.logger) else { throw HTTPErrorResponse.unavailable("database unreachable") }
        guard isBrokerConnected() else { throw HTTPErrorResponse.unavailable("broker not connected") }
        return try jsonResponse(["status": "ready"])
    }
    router.addDocumentRoutes()
    let api = router.group("/api/v1").add(middleware: BearerTokenMiddleware(tokens: configuration.tokens))
    api.addAccountRoutes(store: store, configuration: configuration)
    api.addInsightRoutes(store: store, configuration: configuration)
    api.addTaskActionRoutes(store: store)
    api.addStreamRoute(store: store, configuration: configuration)
    return Application(
        router: router, configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
        logger: logger)
}

/// Requires `Authorization: Bearer <token>` with one of the configured tokens.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: [SecretDigest]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = Credentials.bearerToken(request) else {
            throw HTTPErrorResponse.unauthorized("missing bearer token")
        }
        // Every digest is compared, a match or not, so timing tells nothing about which token or byte.
        let presented = SecretDigest(hashing: token)
        var matched = false
        for digest in tokens where digest.matches(presented) { matched = true }
        guard matched, !token.isEmpty else {
            throw HTTPErrorResponse.unauthorized("invalid bearer token")
        }
        return try await next(request, context)
    }
}

/// Values PostgreSQL refused (a forged cursor with an impossible time) are the client's fault: 400, not 500.
struct InvalidInputMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch where Store.isInvalidInput(error) {
            throw HTTPErrorResponse.badRequest("invalid_parameter", "a parameter or cursor holds a value out of range")
        }
    }
}
