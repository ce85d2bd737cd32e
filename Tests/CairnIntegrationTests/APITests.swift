import CairnAMQP
import CairnCore
import CairnStore
import CairnTesting
import Foundation
import PostgresNIO
import Testing

/// `cairn api` against PostgreSQL filled by the real pipeline (events through RabbitMQ to `cairn worker` and
/// `cairn escalator`).
@Suite("API", .serialized)
struct APITests {
    @Test("Accounts list, filters, sorts and cursor pages agree with each other and keep the contract's fields")
    func accountsListFiltersSortsAndPages() async throws {
        let fixture = try await APIFixture.start("api-list")

        let all = try await fixture.json("/api/v1/accounts?limit=500")
        let items = try #require(all["items"] as? [[String: Any]])
        #expect(items.count == 30)
        #expect(all.keys.contains("nextCursor") && all["nextCursor"] is NSNull)
        for key in ["accountId", "name", "segment", "stage", "csmId", "health", "milestones", "arr", "renewalDate"] {
            #expect(items[0].keys.contains(key), "summary field \(key)")
        }

        // The list's JSON is spliced from columns: each item must be the account's summary as its Codable form writes it
        // (the shape of the detail and of CONTRACT.md), plus the list's four keys, null when unknown.
        let listed = try JSONValue.parse(try await fixture.get("/api/v1/accounts?limit=500").body)
        guard case .array(let rows)? = listed["items"] else {
            Issue.record("items is not an array")
            return
        }
        #expect(rows.count == 30)
        try await fixture.environment.withStore { store in
            for row in rows {
                let id = try #require(row["accountId"]?.stringValue)
                let summary = try #require(try await store.account(id, logger: store.testLogger))
                guard case .object(var expected) = try JSONValue.parse(try JSONEncoder.cairn.encode(summary)) else {
                    Issue.record("summary of \(id) is not an object")
                    continue
                }
                let keys = try await store.client.query(
                    "SELECT arr, renewal_at, contract_at, changed_at FROM accounts WHERE account_id = \(id)", logger: store.testLogger)
                for try await (arr, renewal, contract, changed) in keys.decode((Double?, Date?, Date?, Date?).self) {
                    expected["arr"] = arr.map(JSONValue.number) ?? .null
                    expected["renewalDate"] = renewal.map { .string(Timestamp.format($0)) } ?? .null
                    expected["contractSignedAt"] = contract.map { .string(Timestamp.format($0)) } ?? .null
                    expected["lastChangeAt"] = changed.map { .string(Timestamp.format($0)) } ?? .null
                }
                #expect(row == .object(expected), "list item of \(id)")
            }
        }

        // Walking pages of 4 in every sort gives every account once, in the order of one big page.
        for sort in ["id", "score", "-score", "arr", "-arr", "renewal", "-renewal", "changed", "-changed"] {
            let whole = try await fixture.json("/api/v1/accounts?limit=500&sort=\(sort)")
            let expected = (whole["items"] as? [[String: Any]] ?? []).compactMap { $0["accountId"] as? String }
            var walked: [String] = []
            var cursor: String?
            repeat {
                let path = "/api/v1/accounts?limit=4&sort=\(sort)" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await fixture.json(path)
                walked += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["accountId"] as? String }
                cursor = page["nextCursor"] as? String
            } while cursor != nil && walked.count <= 40
            #expect(walked == expected, "sort \(sort)")
            #expect(Set(walked).count == 30, "sort \(sort)")
        }
        let byScore = try await fixture.json("/api/v1/accounts?limit=500&sort=-score")
        let scores = (byScore["items"] as? [[String: Any]] ?? []).map { (($0["health"] as? [String: Any])?["score"] as? Int) ?? -1 }
        #expect(scores == scores.sorted(by: >))

        // Filters: each returned account matches, and the counts add up.
        for segment in ["smb", "mid-market", "enterprise"] {
            let page = try await fixture.json("/api/v1/accounts?limit=500&segment=\(segment)")
            let matched = page["items"] as? [[String: Any]] ?? []
            #expect(!matched.isEmpty && matched.allSatisfy { $0["segment"] as? String == segment }, "\(segment)")
        }
        var bandTotal = 0
        for band in HealthBand.allCases {
            let page = try await fixture.json("/api/v1/accounts?limit=500&band=\(band.rawValue)")
            let matched = page["items"] as? [[String: Any]] ?? []
            bandTotal += matched.count
            #expect(matched.allSatisfy { ($0["health"] as? [String: Any])?["band"] as? String == band.rawValue })
        }
        #expect(bandTotal == 30)
        let dana = try await fixture.json("/api/v1/accounts?limit=500&csm=dana")
        #expect((dana["items"] as? [[String: Any]])?.count == 15)
        let risky = try await fixture.json("/api/v1/accounts?limit=500&atRisk=true")
        #expect((risky["items"] as? [[String: Any]] ?? []).allSatisfy { $0["atRisk"] as? Bool == true })
        let stage = try #require(items.first?["stage"] as? String)
        let inStage = try await fixture.json("/api/v1/accounts?limit=500&stage=\(stage)&csm=dana&sort=-arr")
        #expect((inStage["items"] as? [[String: Any]] ?? []).allSatisfy { $0["stage"] as? String == stage && $0["csmId"] as? String == "dana" })
        await fixture.stop()
    }

    @Test("Account detail has the contract's fields, journey, health history, people by persona, tasks and a paged timeline")
    func accountDetailAndTimeline() async throws {
        let fixture = try await APIFixture.start("api-detail")

        let account = try await fixture.json("/api/v1/accounts/acct-0")
        for key in ["accountId", "name", "segment", "stage", "csmId", "health", "milestones", "openTasks", "stageHistory",
                    "timeToValueDays", "contract", "usersByPersona", "healthHistory", "timeline"] {
            #expect(account.keys.contains(key), "detail field \(key)")
        }
        #expect(account["csmId"] as? String == "dana")
        let health = try #require(account["health"] as? [String: Any])
        for key in ["score", "band", "components", "updatedAt", "explanation"] { #expect(health.keys.contains(key)) }
        let component = try #require((health["components"] as? [[String: Any]])?.first)
        #expect(Set(component.keys).isSuperset(of: ["name", "score", "weight", "reason"]))
        let milestone = try #require((account["milestones"] as? [[String: Any]])?.first)
        #expect(Set(milestone.keys).isSuperset(of: ["name", "dueAt", "status"]))
        #expect(!(account["stageHistory"] as? [Any] ?? []).isEmpty)
        #expect(!(account["healthHistory"] as? [Any] ?? []).isEmpty)
        #expect((account["openTasks"] as? [[String: Any]] ?? []).contains { $0["playbook"] as? String == "new-key-contact" })
        let people = try #require(account["usersByPersona"] as? [String: [[String: Any]]])
        #expect(people["admin"]?.first?["userId"] as? String == "acct-0-admin")
        #expect(people["admin"]?.first?["activeDaysLast30"] as? Int == 0, "acct-0's admin was last active on day 9 of 62")
        let busy = try await fixture.json("/api/v1/accounts/acct-1")
        let busyAdmin = (busy["usersByPersona"] as? [String: [[String: Any]]])?["admin"]?.first
        #expect((busyAdmin?["activeDaysLast30"] as? Int ?? 0) > 0)
        #expect((account["contract"] as? [String: Any])?["arr"] as? Double == 8_000)
        // Seats are read out of the stored facts (json) by the detail's query.
        #expect((account["contract"] as? [String: Any])?["seats"] as? Int == 40, "\(account["contract"] ?? "none")")

        // The timeline pages through every event of the account exactly once, newest first.
        let total = fixture.events.filter { $0.accountId == "acct-0" }.count
        var seen: [String] = []
        var times: [String] = []
        var cursor: String?
        repeat {
            let page = try await fixture.json("/api/v1/accounts/acct-0/timeline?limit=7" + (cursor.map { "&cursor=\($0)" } ?? ""))
            let events = page["items"] as? [[String: Any]] ?? []
            seen += events.compactMap { $0["messageId"] as? String }
            times += events.compactMap { $0["occurredAt"] as? String }
            cursor = page["nextCursor"] as? String
        } while cursor != nil && seen.count <= total + 10
        #expect(seen.count == total && Set(seen).count == total)
        #expect(times == times.sorted(by: >))

        // The timeline's JSON is spliced from columns: each item must be the event as it was sent.
        let sent = Dictionary(fixture.events.map { ($0.messageId, $0) }, uniquingKeysWith: { first, _ in first })
        let logged = try JSONValue.parse(try await fixture.get("/api/v1/accounts/acct-0/timeline?limit=\(total)").body)
        guard case .array(let items)? = logged["items"] else {
            Issue.record("timeline items is not an array")
            return
        }
        #expect(items.count == total)
        for item in items {
            let event = try #require(sent[item["messageId"]?.stringValue ?? ""], "a sent event")
            var expected: [String: JSONValue] = [
                "messageId": .string(event.messageId), "type": .string(event.type.rawValue),
                "occurredAt": .string(Timestamp.format(event.timestamp)),
                "properties": .object(event.properties), "traits": .object(event.traits),
            ]
            expected["name"] = event.event.map(JSONValue.string)
            expected["userId"] = event.userId.map(JSONValue.string)
            #expect(item == .object(expected), "timeline item \(event.messageId)")
        }
        let detailTimeline = try #require(account["timeline"] as? [String: Any])
        #expect((detailTimeline["items"] as? [[String: Any]])?.count == min(50, total))
        #expect(detailTimeline.keys.contains("nextCursor"))

        let missing = try await fixture.get("/api/v1/accounts/nobody")
        #expect(missing.status == 404)
        await fixture.stop()
    }

    @Test("Funnel, health distribution and trend, band changes, cohorts, renewals, tasks and queue load answer from the data")
    func aggregatesAndTasks() async throws {
        let fixture = try await APIFixture.start("api-aggregates")

        let funnel = try await fixture.json("/api/v1/funnel")
        let segments = try #require(funnel["segments"] as? [[String: Any]])
        #expect(Set(segments.compactMap { $0["segment"] as? String }) == ["smb", "mid-market", "enterprise"])
        #expect(segments.reduce(0) { $0 + ($1["accounts"] as? Int ?? 0) } == 30)
        let stages = segments.flatMap { $0["stages"] as? [[String: Any]] ?? [] }
        #expect(stages.contains { $0["conversionToNext"] is Double })
        #expect(stages.allSatisfy { ($0["conversionToNext"] as? Double ?? 0) <= 1 }, "a funnel never grows")
        #expect(stages.contains { $0["medianDaysInStage"] is Double })
        let smb = try await fixture.json("/api/v1/funnel?segment=smb")
        #expect((smb["segments"] as? [[String: Any]])?.count == 1)
        // The funnel reads stage_visits, kept by a trigger: the rows must be exactly the stage histories' visits.
        try await fixture.environment.withStore { store in
            let visits = "SELECT account_id, visit, stage, first_visit, days_in_stage FROM stage_visits"
            let histories = """
                SELECT j.account_id, v.n::int4, v.visit->>'stage',
                       row_number() OVER (PARTITION BY j.account_id, v.visit->>'stage' ORDER BY v.n) = 1,
                       extract(epoch FROM (v.visit->>'leftAt')::timestamptz - (v.visit->>'enteredAt')::timestamptz) / 86400
                FROM journey j, jsonb_array_elements(j.stage_history) WITH ORDINALITY AS v(visit, n)
                """
            let rows = try await store.integer("SELECT count(*)::int8 FROM stage_visits")
            #expect(rows > 30, "every account has visited a stage")
            let all = PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM (\(histories)) x")
            #expect(try await store.integer(all) == rows)
            let different = PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM (\(histories) EXCEPT \(visits)) x")
            #expect(try await store.integer(different) == 0)
        }

        let distribution = try await fixture.json("/api/v1/health/distribution")
        let total = try #require(distribution["total"] as? [String: Any])
        #expect(total["accounts"] as? Int == 30)
        #expect((total["green"] as? Int ?? 0) + (total["yellow"] as? Int ?? 0) + (total["red"] as? Int ?? 0) == 30)
        #expect((distribution["histogram"] as? [Int])?.reduce(0, +) == 30)
        let trend = try await fixture.json("/api/v1/health/trend?days=90")
        #expect(!(trend["days"] as? [Any] ?? []).isEmpty)
        let changes = try await fixture.json("/api/v1/health/changes?limit=5")
        #expect(changes.keys.contains("items") && changes.keys.contains("nextCursor"))

        let cohorts = try await fixture.json("/api/v1/cohorts")
        let cohort = try #require((cohorts["cohorts"] as? [[String: Any]])?.first)
        #expect(cohort["month"] as? String == "2026-05")
        #expect(cohort["accounts"] as? Int == 30)
        #expect(!(cohort["milestones"] as? [Any] ?? []).isEmpty)

        let renewals = try await fixture.json("/api/v1/renewals?days=120&limit=500")
        #expect((renewals["items"] as? [Any])?.count == 30, "renewal on day 100, stream clock on day 62")
        let windowFrom = try #require(Timestamp.parse(renewals["from"] as? String ?? ""), "renewals has its window's from")
        let windowTo = try #require(Timestamp.parse(renewals["to"] as? String ?? ""), "renewals has its window's to")
        #expect(abs(windowTo.timeIntervalSince(windowFrom) - 120 * 86_400) < 0.01)
        #expect(renewals.keys.contains("nextCursor") && renewals["nextCursor"] is NSNull)
        let none = try await fixture.json("/api/v1/renewals?days=10")
        #expect((none["items"] as? [Any])?.isEmpty == true)

        let tasks = try await fixture.json("/api/v1/tasks?status=open&limit=2")
        #expect((tasks["items"] as? [Any])?.count == 2)
        let next = try #require(tasks["nextCursor"] as? String)
        let rest = try await fixture.json("/api/v1/tasks?status=open&limit=2&cursor=\(next)")
        let ids = ((tasks["items"] as? [[String: Any]] ?? []) + (rest["items"] as? [[String: Any]] ?? [])).compactMap { $0["taskId"] as? String }
        #expect(Set(ids).count == 4)
        let danas = try await fixture.json("/api/v1/tasks?assignee=csm.dana")
        #expect((danas["items"] as? [[String: Any]] ?? []).allSatisfy { $0["assignee"] as? String == "csm.dana" })
        #expect((danas["items"] as? [Any])?.count ?? 0 >= 2)
        let load = try await fixture.json("/api/v1/tasks/load")
        let queues = try #require(load["assignees"] as? [[String: Any]])
        #expect(Set(queues.compactMap { $0["assignee"] as? String }).isSuperset(of: ["csm.dana", "pool.smb"]))

        let document = try await fixture.get("/openapi.yaml", token: nil)
        #expect(document.status == 200 && String(decoding: document.body, as: UTF8.self).hasPrefix("openapi: 3.0"))
        let page = try await fixture.get("/", token: nil)
        #expect(page.status == 200 && page.headers["Content-Security-Policy"]?.contains("script-src 'self'") == true)
        await fixture.stop()
    }

    @Test("Task actions over HTTP: acknowledge, reassign, done, each answered with the task; bad ones get 400, 404 or 409")
    func taskActions() async throws {
        let fixture = try await APIFixture.start("api-tasks")
        let open = try await fixture.json("/api/v1/tasks?assignee=csm.dana&status=open")
        let id = try #require((open["items"] as? [[String: Any]])?.first?["taskId"] as? String)
        func post(_ path: String, _ body: String) async throws -> (Int, [String: Any]) {
            let response = try await http(
                port: fixture.port, path: path, body: Data(body.utf8), headers: ["Authorization": "Bearer \(APIFixture.token)"])
            return (response.status, (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]) ?? [:])
        }
        let (ackStatus, acked) = try await post("/api/v1/tasks/\(id)/ack", #"{"actor":"dana"}"#)
        #expect(ackStatus == 200)
        #expect(acked["status"] as? String == "acknowledged")
        #expect(try await post("/api/v1/tasks/\(id)/ack", "").0 == 409)
        #expect(try await post("/api/v1/tasks/\(id)/snooze", #"{"until":"yesterday"}"#).0 == 400)
        #expect(try await post("/api/v1/tasks/\(id)/dismiss", "{}").0 == 400)
        #expect(try await post("/api/v1/tasks/\(id)/reassign", #"{"to":"nobody"}"#).0 == 400)
        #expect(try await post("/api/v1/tasks/\(id)/done", "not json").0 == 400)
        #expect(try await post("/api/v1/tasks/no-such-task/done", "{}").0 == 404)
        let (moved, reassigned) = try await post("/api/v1/tasks/\(id)/reassign", #"{"to":"csm.lee","actor":"dana"}"#)
        #expect(moved == 200)
        #expect(reassigned["assignee"] as? String == "csm.lee")
        let (doneStatus, done) = try await post("/api/v1/tasks/\(id)/done", #"{"note":"met the new champion"}"#)
        #expect(doneStatus == 200)
        #expect((done["history"] as? [[String: Any]])?.compactMap { $0["action"] as? String }.suffix(3) == ["acknowledged", "reassigned", "done"])
        let (errorStatus, error) = try await post("/api/v1/tasks/\(id)/done", "{}")
        #expect(errorStatus == 409)
        #expect((error["error"] as? [String: Any])?["code"] as? String == "conflict")
        let shown = try await fixture.json("/api/v1/tasks/\(id)")
        #expect(shown["status"] as? String == "done")
        await fixture.stop()
    }

    @Test("Bad tokens, ids, filters, page sizes and cursors get a 4xx with the JSON error shape, never a 5xx")
    func badInputGetsJSONClientErrors() async throws {
        let fixture = try await APIFixture.start("api-bad", load: false)
        let first = try await fixture.json("/api/v1/accounts?limit=1")
        #expect(first["nextCursor"] is NSNull)
        let foreign = Self.cursor(#"{"v":1,"k":"tasks","p":{"time":"2026-01-01 00:00:00+00","id":"x"}}"#)
        let impossible = Self.cursor(#"{"v":1,"k":"accounts:renewal:asc","p":{"key":"not a time","accountId":"a"}}"#)
        let badTime = Self.cursor(#"{"v":1,"k":"tasks","p":{"time":"2026-02-31 00:00:00+00","id":"x"}}"#)
        let cases: [(String, String?, Int)] = [
            ("/api/v1/accounts", nil, 401),
            ("/api/v1/accounts", "wrong", 401),
            ("/api/v1/stream", "wrong", 401),
            ("/api/v1/funnel", "", 401),
            ("/api/v1/accounts?limit=0", APIFixture.token, 400),
            ("/api/v1/accounts?limit=100000000000000000000", APIFixture.token, 400),
            ("/api/v1/accounts?limit=501", APIFixture.token, 400),
            ("/api/v1/accounts?limit=abc", APIFixture.token, 400),
            ("/api/v1/accounts?sort=name", APIFixture.token, 400),
            ("/api/v1/accounts?stage=heaven", APIFixture.token, 400),
            ("/api/v1/accounts?band=blue", APIFixture.token, 400),
            ("/api/v1/accounts?atRisk=maybe", APIFixture.token, 400),
            ("/api/v1/accounts?segment=%00", APIFixture.token, 400),
            ("/api/v1/accounts?segment=" + String(repeating: "x", count: 300), APIFixture.token, 400),
            ("/api/v1/accounts?cursor=garbage", APIFixture.token, 400),
            ("/api/v1/accounts?cursor=\(foreign)", APIFixture.token, 400),
            ("/api/v1/accounts?sort=renewal&cursor=\(impossible)", APIFixture.token, 400),
            ("/api/v1/tasks?cursor=\(badTime)", APIFixture.token, 400),
            ("/api/v1/accounts/%00", APIFixture.token, 404),
            ("/api/v1/accounts/" + String(repeating: "y", count: 300), APIFixture.token, 400),
            ("/api/v1/accounts/nobody", APIFixture.token, 404),
            ("/api/v1/accounts/nobody/timeline", APIFixture.token, 404),
            ("/api/v1/accounts/nobody/timeline?cursor=%2F%2F", APIFixture.token, 400),
            ("/api/v1/health/trend?days=-1", APIFixture.token, 400),
            ("/api/v1/health/changes?limit=99999", APIFixture.token, 400),
            ("/api/v1/cohorts?months=0", APIFixture.token, 400),
            ("/api/v1/renewals?from=yesterday", APIFixture.token, 400),
            ("/api/v1/renewals?days=100000", APIFixture.token, 400),
            ("/api/v1/tasks?status=lost", APIFixture.token, 400),
            ("/api/v1/tasks?assignee=", APIFixture.token, 400),
            ("/api/v1/stream?lastEventId=yesterday", APIFixture.token, 400),
            ("/api/v1/nothing-here", APIFixture.token, 404),
        ]
        for (path, token, status) in cases {
            let response = try await fixture.get(path, token: token)
            #expect(response.status == status, "\(path): \(String(decoding: response.body, as: UTF8.self))")
            let body = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            let error = body?["error"] as? [String: Any]
            #expect(error?["code"] is String && error?["message"] is String, "\(path): JSON error shape")
        }
        #expect(!fixture.api.log.contains("request failed"), "no unmapped error: \(fixture.api.log)")
        await fixture.stop()
    }

    static func cursor(_ json: String) -> String {
        Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @Test("The stream sends a health event with an id when an event changes an account's band, and resumes from Last-Event-ID")
    func streamAnnouncesBandChanges() async throws {
        let fixture = try await APIFixture.start("api-stream")
        let account = try #require(
            try await fixture.json("/api/v1/accounts?band=green&sort=-score&limit=1")["items"] as? [[String: Any]]
        ).first?["accountId"] as? String
        let target = try #require(account)
        let output = TestInfrastructure.artifacts.appendingPathComponent("stream-\(fixture.environment.name).txt")
        let curl = try Self.curl(port: fixture.port, output: output, seconds: 40)
        defer { if curl.isRunning { curl.terminate() } }
        #expect(await eventually { ((try? String(contentsOf: output, encoding: .utf8)) ?? "").contains(": connected") })

        try await fixture.environment.withAMQP { try await $0.publishConfirmed(APIFixture.decline(target).map(\.message)) }
        #expect(await eventually(timeout: .seconds(30)) { (try? await fixture.band(target)) != "green" }, "band did not change")
        let seen = await eventually(timeout: .seconds(15)) {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            return text.contains("event: health") && text.contains("\"accountId\":\"\(target)\"")
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        #expect(seen, "stream: \(text)")
        let block = try #require(text.components(separatedBy: "\n\n").first { $0.contains("event: health") && $0.contains(target) })
        let id = try #require(block.split(separator: "\n").first { $0.hasPrefix("id: ") }.flatMap { Int64($0.dropFirst(4)) })

        // Resuming just before that event's id sends the account's health again (its latest change: the row may have
        // changed since, and the stream carries the current state).
        let resumed = TestInfrastructure.artifacts.appendingPathComponent("stream-resumed-\(fixture.environment.name).txt")
        let again = try Self.curl(port: fixture.port, output: resumed, seconds: 4, lastEventID: id - 1)
        _ = await again.exited()
        let replay = (try? String(contentsOf: resumed, encoding: .utf8)) ?? ""
        let replayed = replay.components(separatedBy: "\n\n").filter { $0.contains("event: health") && $0.contains("\"\(target)\"") }
        #expect(!replayed.isEmpty, "resumed: \(replay)")
        let replayedIDs = replayed.compactMap { $0.split(separator: "\n").first { $0.hasPrefix("id: ") }.flatMap { Int64($0.dropFirst(4)) } }
        #expect(replayedIDs.allSatisfy { $0 >= id }, "\(replayedIDs) from \(id)")
        curl.terminate()
        await fixture.stop()
    }

    /// `curl -N` reading the stream into `output` for `seconds`.
    static func curl(port: Int, output: URL, seconds: Int, lastEventID: Int64? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-sN", "--max-time", String(seconds), "-o", output.path, "-H", "Authorization: Bearer \(APIFixture.token)"]
            + (lastEventID.map { ["-H", "Last-Event-ID: \($0)"] } ?? []) + ["http://127.0.0.1:\(port)/api/v1/stream"]
        try process.run()
        return process
    }
}
