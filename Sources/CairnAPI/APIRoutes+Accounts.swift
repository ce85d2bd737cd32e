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
            async let timeline = store.timeline(accountId: id, before: nil, limit: 51, logger: context.logger)
            guard let detail = try await store.accountDetail(id, logger: context.logger) else {
                throw HTTPErrorResponse.notFound("no account \(id.prefix(100))")
            }
            // The detail object with the first timeline page as its last key.
            var body = Array(detail.utf8)
            guard body.last == UInt8(ascii: "}") else {
                throw HTTPErrorResponse(.internalServerError, code: "internal", "the detail of \(id.prefix(100)) is not an object")
            }
            body.removeLast()
            body += #","timeline":"#.utf8
            body += JSONPage(timelineOf: id, rows: try await timeline, limit: 50).bytes()
            body.append(UInt8(ascii: "}"))
            return JSONPage.response(body)
        }
        get("/accounts/{id}/timeline") { request, context in
            let id = try APIParameters.checked(try context.parameters.require("id"), name: "id")
            let parameters = APIParameters(request)
            let limit = try parameters.limit(maximum: configuration.maxPageSize)
            let position = try parameters.cursor("timeline:\(id)", as: TimePosition.self).map(PositionCheck.check)
            async let rows = store.timeline(accountId: id, before: position, limit: limit + 1, logger: context.logger)
            guard try await store.accountExists(id, logger: context.logger) else {
                throw HTTPErrorResponse.notFound("no account \(id.prefix(100))")
            }
            return JSONPage(timelineOf: id, rows: try await rows, limit: limit).response()
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
