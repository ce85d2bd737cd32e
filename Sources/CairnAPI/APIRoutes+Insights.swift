import CairnCore
import CairnHTTP
import CairnStore
import Foundation
import Hummingbird

extension RouterGroup {
    /// Aggregates for managers and the dashboard (funnel, health distribution and trend, band changes, cohorts,
    /// renewals) and the task queues. Task actions (ack, done, snooze, reassign) are not served here.
    func addInsightRoutes(store: Store, configuration: APIConfiguration) {
        let aggregates = AggregateResponder(configuration: configuration)
        get("/funnel") { request, context in
            let segment = try APIParameters(request).text("segment")
            return try await aggregates.respond("funnel:\(segment ?? "")") {
                ["segments": try await store.funnel(segment: segment, logger: context.logger)]
            }
        }
        get("/health/distribution") { _, context in
            try await aggregates.respond("health-distribution") {
                let (total, segments, histogram) = try await store.healthDistribution(logger: context.logger)
                return HealthDistribution(total: total, segments: segments, histogram: histogram)
            }
        }
        get("/health/trend") { request, context in
            let parameters = APIParameters(request)
            let days = try parameters.integer("days", in: 1...365, default: 30)
            let segment = try parameters.text("segment")
            return try await aggregates.respond("health-trend:\(days):\(segment ?? "")") {
                ["days": try await store.healthTrend(days: days, segment: segment, logger: context.logger)]
            }
        }
        get("/health/changes") { request, context in
            let parameters = APIParameters(request)
            let limit = try parameters.limit(maximum: configuration.maxPageSize)
            let position = try parameters.cursor("band-changes", as: TimePosition.self).map(PositionCheck.check)
            let rows = try await store.bandChanges(before: position, limit: limit + 1, logger: context.logger)
            return try jsonResponse(Page(rows: rows, limit: limit, kind: "band-changes"), encoder: .cairn)
        }
        get("/cohorts") { request, context in
            let parameters = APIParameters(request)
            let months = try parameters.integer("months", in: 1...60, default: 12)
            let segment = try parameters.text("segment")
            return try await aggregates.respond("cohorts:\(months):\(segment ?? "")") {
                ["cohorts": try await store.cohorts(months: months, segment: segment, logger: context.logger)]
            }
        }
        get("/renewals") { request, context in
            let parameters = APIParameters(request)
            let days = try parameters.integer("days", in: 1...730, default: 120)
            let limit = try parameters.limit(maximum: configuration.maxPageSize)
            var filter = try AccountQuery.filter(parameters)
            var start = try parameters.date("from")
            if start == nil { start = try await store.now(configuration.clock, logger: context.logger) }
            let from = start ?? Date()
            filter.renewalFrom = from
            filter.renewalTo = from.addingTimeInterval(Double(days) * 86_400)
            let page = try await AccountQuery.page(
                store: store, filter: filter, sort: .renewal, descending: false, kind: "renewals", parameters: parameters,
                limit: limit, context: context)
            return page.response(leading: [
                "from": .string(Timestamp.format(from)), "to": .string(Timestamp.format(filter.renewalTo ?? from)),
            ])
        }
        get("/tasks") { request, context in
            let parameters = APIParameters(request)
            let limit = try parameters.limit(maximum: configuration.maxPageSize)
            let status = try parameters.choice(
                "status", { TaskQuery.statuses.contains($0) ? $0 : nil }, allowed: TaskQuery.statuses)
            let assignee = try parameters.text("assignee").map(TaskQuery.assignee)
            let kind = "tasks"
            let position = try parameters.cursor(kind, as: TimePosition.self).map(PositionCheck.check)
            let rows = try await store.tasks(
                assignee: assignee, status: status, before: position, limit: limit + 1, logger: context.logger)
            return try jsonResponse(Page(rows: rows, limit: limit, kind: kind), encoder: .cairn)
        }
        get("/tasks/load") { _, context in
            let now = try await store.now(configuration.clock, logger: context.logger) ?? Date()
            let load = try await store.queueLoad(now: now, logger: context.logger)
            return try jsonResponse(["assignees": load], encoder: .cairn)
        }
    }
}

/// Answers aggregate endpoints from an `AggregateCache` (or computes every answer when the configured age is zero),
/// with the answer's age in whole seconds in `Age`.
struct AggregateResponder: Sendable {
    let cache: AggregateCache?

    init(configuration: APIConfiguration) {
        cache = configuration.aggregateMaxAge > .zero
            ? AggregateCache(maxAge: configuration.aggregateMaxAge, staleLimit: configuration.aggregateStaleLimit) : nil
    }

    func respond<Value: Encodable & SendableMetatype>(
        _ key: String, _ compute: @escaping @Sendable () async throws -> Value
    ) async throws -> Response {
        let encode: @Sendable () async throws -> Data = { try JSONEncoder.cairn.encode(try await compute()) }
        let answer: AggregateCache.Answer
        if let cache {
            answer = try await cache.answer(key, compute: encode)
        } else {
            answer = AggregateCache.Answer(body: try await encode(), age: .zero)
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json", .age: String(answer.age.components.seconds)],
            body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}

enum TaskQuery {
    static let statuses = ["open", "acknowledged", "snoozed", "done", "dismissed"]

    /// `csm.dana`, `pool.unassigned`, `manager.lee`, or a bare CSM id (`dana`).
    static func assignee(_ text: String) -> (kind: String, id: String) {
        let parts = text.split(separator: ".", maxSplits: 1)
        if parts.count == 2, ["csm", "pool", "manager"].contains(parts[0]) { return (String(parts[0]), String(parts[1])) }
        return ("csm", text)
    }
}

/// A newest-first page of any list with time positions.
struct Page<Item: Encodable>: Encodable {
    let items: [Item]
    let nextCursor: String?

    init(rows: [(Item, TimePosition)], limit: Int, kind: String) {
        let page = rows.prefix(limit)
        items = page.map(\.0)
        nextCursor = rows.count > limit ? page.last.map { Cursor.encode($0.1, kind: kind) } : nil
    }

    enum CodingKeys: CodingKey { case items, nextCursor }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

struct HealthDistribution: Encodable {
    let total: BandCounts
    let segments: [BandCounts]
    /// Accounts per score decile: `[0, 10)`, `[10, 20)`, ... `[90, 100]`.
    let histogram: [Int]
}

