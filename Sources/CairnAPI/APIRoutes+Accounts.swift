import CairnCore
import CairnHTTP
import CairnStore
import Foundation
import Hummingbird

extension RouterGroup {
    /// `GET /accounts` (filters, sorts, cursor pages), `GET /accounts/{id}`, `GET /accounts/{id}/timeline`.
    func addAccountRoutes(store: Store, configuration: APIConfiguration) {
        get("/accounts") { request, context in
            let parameters = APIParameters(request)
            let filter = try AccountQuery.filter(parameters)
            let (sort, descending) = try AccountQuery.sort(parameters)
            let limit = try parameters.limit(maximum: configuration.maxPageSize)
            let kind = "accounts:\(sort.rawValue):\(descending ? "desc" : "asc")"
            let page = try await AccountQuery.page(
                store: store, filter: filter, sort: sort, descending: descending, kind: kind, parameters: parameters,
                limit: limit, context: context)
            return page.response()
        }
        get("/accounts/{id}") { _, context in
            let id = try APIParameters.checked(try context.parameters.require("id"), name: "id")
            guard let account = try await store.account(id, logger: context.logger) else {
                throw HTTPErrorResponse.notFound("no account \(id.prefix(100))")
            }
            async let tasks = store.openTasks(accountId: id, logger: context.logger)
            async let contract = store.contract(accountId: id, logger: context.logger)
            async let users = store.users(accountId: id, logger: context.logger)
            async let history = store.healthHistory(accountId: id, logger: context.logger)
            async let timeline = store.timeline(accountId: id, before: nil, limit: 51, logger: context.logger)
            let events = try await timeline
            let detail = AccountDetail(
                account: account, openTasks: try await tasks, contract: try await contract, users: try await users,
                healthHistory: try await history)
            return try detail.response(timeline: JSONPage(timelineOf: id, rows: events, limit: 50))
        }
        get("/accounts/{id}/timeline") { request, context in
            let id = try APIParameters.checked(try context.parameters.require("id"), name: "id")
            let parameters = APIParameters(request)
            let limit = try parameters.limit(maximum: configuration.maxPageSize)
            let position = try parameters.cursor("timeline:\(id)", as: TimePosition.self).map(PositionCheck.check)
            guard try await store.account(id, logger: context.logger) != nil else {
                throw HTTPErrorResponse.notFound("no account \(id.prefix(100))")
            }
            let rows = try await store.timeline(accountId: id, before: position, limit: limit + 1, logger: context.logger)
            return JSONPage(timelineOf: id, rows: rows, limit: limit).response()
        }
    }
}

/// The account list's parameters and pages, shared by `/accounts` and `/renewals`.
enum AccountQuery {
    static let sorts = AccountSort.allCases.flatMap { [$0.rawValue, "-" + $0.rawValue] }

    static func filter(_ parameters: APIParameters) throws -> AccountFilter {
        var filter = AccountFilter()
        filter.segment = try parameters.text("segment")
        filter.csmId = try parameters.text("csm")
        filter.stage = try parameters.choice(
            "stage", JourneyStage.init(rawValue:), allowed: JourneyStage.allCases.map(\.rawValue))
        filter.band = try parameters.choice("band", HealthBand.init(rawValue:), allowed: HealthBand.allCases.map(\.rawValue))
        filter.atRisk = try parameters.bool("atRisk")
        return filter
    }

    /// `sort=score` ascending, `sort=-score` descending; by id when absent.
    static func sort(_ parameters: APIParameters) throws -> (AccountSort, Bool) {
        let parsed = try parameters.choice(
            "sort",
            { text -> (AccountSort, Bool)? in
                let descending = text.hasPrefix("-")
                return AccountSort(rawValue: descending ? String(text.dropFirst()) : text).map { ($0, descending) }
            }, allowed: sorts)
        return parsed ?? (.accountId, false)
    }

    static func page(
        store: Store, filter: AccountFilter, sort: AccountSort, descending: Bool, kind: String, parameters: APIParameters,
        limit: Int, context: some RequestContext
    ) async throws -> JSONPage {
        let position = try parameters.cursor(kind, as: AccountListPosition.self)
        if let position {
            try PositionCheck.id(position.accountId)
            try PositionCheck.id(position.key)
        }
        let rows = try await store.accounts(
            matching: filter, sort: sort, descending: descending, after: position, limit: limit + 1, logger: context.logger)
        return JSONPage(rows: rows, limit: limit, kind: kind)
    }
}

/// A page of rows whose JSON PostgreSQL wrote (`JSONRow`): the page is written around the rows' text, which is
/// not decoded and encoded again (for a page of 50 accounts that took 13 ms of Swift against PostgreSQL's 2 ms).
struct JSONPage {
    let items: [String]
    let nextCursor: String?

    /// The first `limit` of `rows` (one more than a page was asked for, to know whether another page follows).
    init<Position>(rows: [JSONRow<Position>], limit: Int, kind: String) {
        let page = rows.prefix(limit)
        items = page.map(\.json)
        nextCursor = rows.count > limit ? page.last.map { Cursor.encode($0.position, kind: kind) } : nil
    }

    /// A page of an account's events, newest first; its cursor is bound to the account.
    init(timelineOf accountId: String, rows: [TimelineRow], limit: Int) {
        self.init(rows: rows, limit: limit, kind: "timeline:\(accountId)")
    }

    /// `{…leading,"items":[…],"nextCursor":…}`; the cursor is an explicit null on the last page.
    func bytes(leading: KeyValuePairs<String, JSONValue> = [:]) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(items.reduce(64) { $0 + $1.utf8.count + 1 })
        body.append(UInt8(ascii: "{"))
        for (key, value) in leading {
            body += JSONValue.string(key).serialized()
            body.append(UInt8(ascii: ":"))
            body += value.serialized()
            body.append(UInt8(ascii: ","))
        }
        body += #""items":["#.utf8
        for (index, item) in items.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += item.utf8
        }
        body += #"],"nextCursor":"#.utf8
        body += (nextCursor.map(JSONValue.string) ?? .null).serialized()
        body.append(UInt8(ascii: "}"))
        return body
    }

    func response(leading: KeyValuePairs<String, JSONValue> = [:]) -> Response {
        JSONPage.response(bytes(leading: leading))
    }

    static func response(_ body: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The account as `GET /api/v1/accounts/{id}` returns it: the contract's stable fields (CONTRACT.md) first, then
/// the contract facts, people by persona, health history and the first page of the timeline.
struct AccountDetail: Encodable {
    let account: AccountSummary
    let openTasks: [TaskSummary]
    let contract: AccountContract?
    let users: [AccountUser]
    let healthHistory: [HealthHistoryPoint]

    static let personas = ["sponsor", "champion", "admin", "end_user"]

    enum CodingKeys: String, CodingKey {
        case accountId, name, segment, stage, stageEnteredAt, csmId, eventCount, lastEventAt, health, atRisk, milestones
        case stageHistory, tracks, timeToValueDays, openTasks
        case contract, usersByPersona, healthHistory
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
        try container.encode(contract, forKey: .contract)
        var byPersona = Dictionary(uniqueKeysWithValues: Self.personas.map { ($0, [AccountUser]()) })
        for user in users {
            let persona = user.role.flatMap { Self.personas.contains($0) ? $0 : nil } ?? "end_user"
            byPersona[persona, default: []].append(user)
        }
        try container.encode(byPersona, forKey: .usersByPersona)
        try container.encode(healthHistory, forKey: .healthHistory)
    }

    /// The detail with `timeline`, the page of events PostgreSQL wrote, as its last key.
    func response(timeline: JSONPage) throws -> Response {
        var body = Array(try JSONEncoder.cairn.encode(self))
        guard body.last == UInt8(ascii: "}") else { throw EncodingError.invalidValue(self, .init(codingPath: [], debugDescription: "not an object")) }
        body.removeLast()
        body += #","timeline":"#.utf8
        body += timeline.bytes()
        body.append(UInt8(ascii: "}"))
        return JSONPage.response(body)
    }
}
