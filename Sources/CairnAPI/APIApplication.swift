import CairnCore
import CairnHTTP
public import CairnStore
import Foundation
public import Hummingbird
public import Logging
public import Prometheus

/// Settings of the API role.
public struct APIConfiguration: Sendable {
    /// Bearer tokens allowed to read the API.
    public var tokens: [String]
    public var host = "127.0.0.1"
    public var port = 8080
    /// Largest page a client may ask for.
    public var maxPageSize = 500

    public init(tokens: [String]) {
        self.tokens = tokens
    }
}

/// `cairn api`: accounts with their journey and health, for CSMs, managers and other systems.
public func buildAPIApplication(
    configuration: APIConfiguration, store: Store, isBrokerConnected: @escaping @Sendable () -> Bool,
    metrics: PrometheusCollectorRegistry, logger: Logger
) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: JSONErrorMiddleware())
    router.addMetricsRoute(metrics)
    router.get("/healthz") { _, _ in try jsonResponse(["status": "ok"]) }
    router.get("/readyz") { _, context in
        guard await store.isReachable(logger: context.logger) else { throw HTTPErrorResponse.unavailable("database unreachable") }
        guard isBrokerConnected() else { throw HTTPErrorResponse.unavailable("broker not connected") }
        return try jsonResponse(["status": "ready"])
    }
    let api = router.group("/api/v1").add(middleware: BearerTokenMiddleware(tokens: configuration.tokens))
    api.get("/accounts") { request, context in
        let limit = try pageSize(request, maximum: configuration.maxPageSize)
        let cursor = request.uri.queryParameters["cursor"].map(String.init)
        let accounts = try await store.accounts(after: cursor, limit: limit + 1, logger: context.logger)
        let page = Array(accounts.prefix(limit))
        let next = accounts.count > limit ? page.last?.accountId : nil
        return try jsonResponse(AccountPage(items: page, nextCursor: next), encoder: .cairn)
    }
    api.get("/accounts/{id}") { _, context in
        let id = try context.parameters.require("id")
        guard let account = try await store.account(id, logger: context.logger) else {
            throw HTTPErrorResponse.notFound("no account \(id.prefix(100))")
        }
        let tasks = try await store.openTasks(accountId: id, logger: context.logger)
        return try jsonResponse(AccountDetail(account: account, openTasks: tasks), encoder: .cairn)
    }
    return Application(
        router: router, configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
        logger: logger)
}

private func pageSize(_ request: Request, maximum: Int) throws -> Int {
    guard let text = request.uri.queryParameters["limit"] else { return 50 }
    guard let value = Int(text), value >= 1, value <= maximum else {
        throw HTTPErrorResponse.badRequest("invalid_parameter", "limit must be an integer from 1 to \(maximum)")
    }
    return value
}

struct AccountPage: Encodable {
    let items: [AccountSummary]
    let nextCursor: String?

    enum CodingKeys: CodingKey { case items, nextCursor }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)  // explicit null on the last page
    }
}

/// The account as `GET /api/v1/accounts/{id}` returns it (CONTRACT.md): the summary plus open tasks.
struct AccountDetail: Encodable {
    let account: AccountSummary
    let openTasks: [TaskSummary]

    enum CodingKeys: String, CodingKey {
        case accountId, name, segment, stage, stageEnteredAt, csmId, eventCount, lastEventAt, health, atRisk, milestones
        case stageHistory, tracks, timeToValueDays, openTasks
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(account.accountId, forKey: .accountId)
        try container.encode(account.name, forKey: .name)
        try container.encode(account.segment, forKey: .segment)
        try container.encode(account.stage, forKey: .stage)
        try container.encode(account.stageEnteredAt, forKey: .stageEnteredAt)
        try container.encode(account.csmId, forKey: .csmId)
        try container.encode(account.eventCount, forKey: .eventCount)
        try container.encode(account.lastEventAt, forKey: .lastEventAt)
        try container.encode(account.health, forKey: .health)
        try container.encode(account.atRisk, forKey: .atRisk)
        try container.encode(account.milestones, forKey: .milestones)
        try container.encode(account.stageHistory, forKey: .stageHistory)
        try container.encode(account.tracks, forKey: .tracks)
        try container.encode(account.timeToValueDays, forKey: .timeToValueDays)
        try container.encode(openTasks, forKey: .openTasks)
    }
}

/// Requires `Authorization: Bearer <token>` with one of the configured tokens.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = Credentials.bearerToken(request) else {
            throw HTTPErrorResponse.unauthorized("missing bearer token")
        }
        guard tokens.contains(where: { Credentials.constantTimeEquals($0, token) }) else {
            throw HTTPErrorResponse.unauthorized("invalid bearer token")
        }
        return try await next(request, context)
    }
}
