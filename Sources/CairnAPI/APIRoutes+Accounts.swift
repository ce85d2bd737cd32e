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
            return try jsonResponse(page, encoder: .cairn)
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
                healthHistory: try await history,
                timeline: TimelinePage(accountId: id, rows: events, limit: 50))
            return try jsonResponse(detail, encoder: .cairn)
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
            return try jsonResponse(TimelinePage(accountId: id, rows: rows, limit: limit), encoder: .cairn)
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
    ) async throws -> AccountPage {
        let position = try parameters.cursor(kind, as: AccountListPosition.self)
        if let position {
            try PositionCheck.id(position.accountId)
            try PositionCheck.id(position.key)
        }
        let items = try await store.accounts(
            matching: filter, sort: sort, descending: descending, after: position, limit: limit + 1, logger: context.logger)
        let page = Array(items.prefix(limit))
        let next = items.count > limit ? page.last.map { Cursor.encode($0.position, kind: kind) } : nil
        return AccountPage(items: page.map(AccountListEntry.init), nextCursor: next)
    }
}

struct AccountPage: Encodable {
    let items: [AccountListEntry]
    let nextCursor: String?

    enum CodingKeys: CodingKey { case items, nextCursor }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)  // explicit null on the last page
    }
}

/// An account in a list: the summary's fields (CONTRACT.md) and the list's sort keys.
struct AccountListEntry: Encodable {
    let item: AccountListItem

    init(_ item: AccountListItem) {
        self.item = item
    }

    enum CodingKeys: String, CodingKey { case arr, renewalDate, contractSignedAt, lastChangeAt }

    func encode(to encoder: any Encoder) throws {
        try item.summary.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(item.arr, forKey: .arr)
        try container.encode(item.renewalDate, forKey: .renewalDate)
        try container.encode(item.contractSignedAt, forKey: .contractSignedAt)
        try container.encode(item.lastChangeAt, forKey: .lastChangeAt)
    }
}

/// A page of an account's events, newest first; its cursor is bound to the account.
typealias TimelinePage = Page<TimelineEvent>

extension Page where Item == TimelineEvent {
    init(accountId: String, rows: [(TimelineEvent, TimePosition)], limit: Int) {
        self.init(rows: rows, limit: limit, kind: "timeline:\(accountId)")
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
    let timeline: TimelinePage

    static let personas = ["sponsor", "champion", "admin", "end_user"]

    enum CodingKeys: String, CodingKey {
        case accountId, name, segment, stage, stageEnteredAt, csmId, eventCount, lastEventAt, health, atRisk, milestones
        case stageHistory, tracks, timeToValueDays, openTasks
        case contract, usersByPersona, healthHistory, timeline
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
        try container.encode(timeline, forKey: .timeline)
    }
}
