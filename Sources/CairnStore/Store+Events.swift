public import CairnCore
import Foundation
public import Logging
import PostgresNIO

/// What one applied batch did.
public struct BatchOutcome: Sendable, Hashable {
    /// Events applied for the first time.
    public var applied: Int
    /// Events already applied before (redeliveries, re-sends): skipped.
    public var duplicates: Int
    /// Signals written to the outbox.
    public var signals: Int
    /// Events parked until their user's account is known.
    public var parked = 0
    /// Parked events applied because this batch taught their user's account.
    public var released = 0
}

extension Store {
    /// Applies a batch of events in one transaction: logs each new event (the log's primary key is the dedup
    /// record), counts usage and users, runs the journey engine for each touched account and writes its state and
    /// the signals it raised to the outbox. Either all of it commits or none of it does.
    ///
    /// Rows are written and locked in sorted key order (events, then accounts, then the rest), so concurrent
    /// workers never wait on each other in a cycle.
    /// - Parameter partition: the work-queue partition the batch came from (a worker applies one batch per partition it
    ///   holds, concurrently). Each partition keeps its own row in `stream_clock`, its latest stored event time: its
    ///   batches are the only ones to write it, so concurrent batches never wait on each other for it, and the
    ///   sweep can tell how far every partition has come (`sweepTime`).
    public func apply(_ batch: [AccountEvent], partition: Int = 0, logger: Logger) async throws -> BatchOutcome {
        var unique: [String: AccountEvent] = [:]
        for event in batch where unique[event.messageId] == nil { unique[event.messageId] = event }
        guard !unique.isEmpty else { return BatchOutcome(applied: 0, duplicates: batch.count, signals: 0) }

        return try await client.checkedTransaction(logger: logger) { connection in
            let resolution = try await resolveAccounts(Array(unique.values), on: connection, logger: logger)
            let events = resolution.events.sorted { $0.messageId < $1.messageId }
            let fresh = try await logNew(events, on: connection, logger: logger)
            // Parked events are not applied yet; released ones were counted when they arrived.
            let duplicates = max(0, batch.count - resolution.parked - (fresh.count - resolution.released))
            guard !fresh.isEmpty else {
                return BatchOutcome(
                    applied: 0, duplicates: duplicates, signals: 0, parked: resolution.parked, released: resolution.released)
            }
            let byAccount = Dictionary(grouping: fresh, by: \.resolvedAccount).mapValues {
                $0.sorted { ($0.timestamp, $0.messageId) < ($1.timestamp, $1.messageId) }
            }
            let accountIDs = byAccount.keys.sorted()
            var states = try await lockAccounts(accountIDs, on: connection, logger: logger)

            // The engine evaluates each account after each of its events, at that event's time (never before the
            // account's latest stored event), and last at the account's own latest event time (its stream clock),
            // so the outcome depends only on the facts, not on when they were processed; a quiet account is first
            // evaluated at the midnights of its silence the sweep has not evaluated yet. It starts from the usage and
            // people as they were before the batch, and folds each event in.
            var now: [String: Date] = [:]
            var first: [String: Date] = [:]
            for id in accountIDs {
                let state = states[id] ?? AccountState(accountId: id)
                first[id] = JourneyEngine.firstEvaluation(of: byAccount[id]!, state: state)
                now[id] = JourneyEngine.evaluationTime(of: byAccount[id]!.last!, after: state.lastEventAt)
            }
            let contexts = try await loadContexts(accountIDs, now: now, from: first, batch: byAccount, on: connection, logger: logger)
            try await countUsers(fresh, on: connection, logger: logger)
            try await countActivity(fresh, on: connection, logger: logger)
            var outcomes: [JourneyEngine.Outcome] = []
            for id in accountIDs {
                outcomes.append(
                    JourneyEngine.apply(
                        byAccount[id]!, to: states.removeValue(forKey: id) ?? AccountState(accountId: id),
                        context: contexts[id] ?? .init(), now: now[id]!, configuration: engine))
            }
            try await save(outcomes, partition: partition, on: connection, logger: logger)
            let signals = outcomes.flatMap(\.signals)
            try await enqueue(signals, on: connection, logger: logger)
            return BatchOutcome(
                applied: fresh.count, duplicates: duplicates, signals: signals.count, parked: resolution.parked,
                released: resolution.released)
        }
    }

    /// Inserts the events not logged yet and returns them.
    private func logNew(_ events: [AccountEvent], on connection: PostgresConnection, logger: Logger) async throws -> [AccountEvent] {
        let payloads = events.map { String(decoding: $0.encoded(), as: UTF8.self) }
        let rows = try await connection.checkedQuery(
            """
            INSERT INTO events (message_id, account_id, user_id, type, name, occurred_at, payload)
            SELECT m, a, NULLIF(u, ''), t, NULLIF(n, ''), o, p::jsonb
            FROM unnest(\(events.map(\.messageId)), \(events.map(\.resolvedAccount)), \(events.map { $0.userId.orEmpty }),
                        \(events.map(\.type.rawValue)), \(events.map { $0.event.orEmpty }), \(events.map(\.timestamp)),
                        \(payloads)) AS x(m, a, u, t, n, o, p)
            ORDER BY m
            ON CONFLICT (message_id) DO NOTHING
            RETURNING message_id
            """, logger: logger)
        var inserted = Set<String>()
        for try await id in rows.decode(String.self) { inserted.insert(id) }
        return events.filter { inserted.contains($0.messageId) }
    }

    /// Creates missing account rows, locks all of them in key order and loads their state.
    func lockAccounts(_ ids: [String], on connection: PostgresConnection, logger: Logger) async throws -> [String: AccountState] {
        try await connection.checkedQuery(
            """
            INSERT INTO accounts (account_id)
            SELECT x.id FROM unnest(\(ids)) AS x(id) ORDER BY 1
            ON CONFLICT DO NOTHING
            """, logger: logger)
        let rows = try await connection.checkedQueryAll(
            """
            SELECT a.account_id, a.facts::text, a.first_event_at, a.last_event_at, a.event_count, h.score, h.band,
                   h.components::text, h.explanation, h.evaluated_at, h.previous_band, h.band_changed_at
            FROM accounts a
            LEFT JOIN health h ON h.account_id = a.account_id
            WHERE a.account_id = ANY(\(ids))
            ORDER BY a.account_id
            FOR UPDATE OF a
            """, logger: logger)
        var states: [String: AccountState] = [:]
        // Collected on the event loop (`checkedQueryAll`): a full batch's facts are about a megabyte, several reads,
        // and an async row stream waiting for demand crashes postgres-nio 1.33.2 if the server ends the session then.
        let decoded = try rows.map {
            try $0.decode((String, String, Date?, Date?, Int, Int?, String?, String?, String?, Date?, String?, Date?).self)
        }
        for row in decoded {
            var state = AccountState(accountId: row.0)
            state.facts = try StateCodec.decodeFacts(row.1)
            (state.firstEventAt, state.lastEventAt, state.eventCount) = (row.2, row.3, row.4)
            if let score = row.5, let band = row.6.flatMap(HealthBand.init(rawValue:)) {
                state.health = HealthScore(
                    score: score, band: band,
                    components: try StateCodec.decodeComponents(row.7),
                    explanation: row.8 ?? "", evaluatedAt: row.9 ?? .distantPast,
                    previousBand: row.10.flatMap(HealthBand.init(rawValue:)), bandChangedAt: row.11)
            }
            states[state.accountId] = state
        }
        return states
    }

    /// What the engine needs beside the facts, as the store holds it before the `batch` (each account's new events)
    /// is written: usage per day over the usage window, the account's key people and anyone who left, and who was
    /// active in the last 30 days.
    ///
    /// The engine evaluates each account from `from` (its first evaluation in the batch) to `now` (its last) and
    /// folds the batch's events in as it goes. So users active at every one of those times are counted, except the
    /// batch's own users, who come with their last-seen time (the engine counts them), as do the few whose 30 days
    /// end in between; and a batch user who gets a persona in the batch comes with what the store knows of them.
    func loadContexts(
        _ ids: [String], now: [String: Date], from: [String: Date] = [:], batch: [String: [AccountEvent]] = [:],
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [String: JourneyEngine.Context] {
        let window = engine.thresholds.usageWindowDays
        let month: TimeInterval = 30 * 86_400
        let from = now.merging(from) { _, first in first }
        let earliest = from.values.min()!
        var contexts: [String: JourneyEngine.Context] = [:]
        let activity = try await loadActivity(ids, since: earliest.addingTimeInterval(-Double(window) * 86_400), on: connection, logger: logger)
        for (id, days) in activity { contexts[id, default: .init()].activity = days }
        // The key people through the partial index `users_key_people` (its predicate, `Person.keyRoles`, written out
        // so the planner can use it); batch users who get a persona in the batch through the primary key.
        let named = batch.keys.sorted().flatMap { id in
            Set(batch[id]!.filter { Person.role(in: $0, configuration: engine) != nil }.compactMap(\.userId)).sorted().map { (id, $0) }
        }
        let people = try await connection.checkedQuery(
            """
            SELECT u.account_id, u.user_id, u.role, u.role_at, u.left_at, u.active_days
            FROM unnest(\(ids)) AS x(id)
            CROSS JOIN LATERAL (
                SELECT * FROM users u
                WHERE u.account_id = x.id AND (u.role IN ('admin', 'champion', 'sponsor') OR u.left_at IS NOT NULL)
            ) u
            UNION ALL
            SELECT u.account_id, u.user_id, u.role, u.role_at, u.left_at, u.active_days
            FROM unnest(\(named.map(\.0)), \(named.map(\.1))) AS b(account_id, user_id)
            JOIN users u ON u.account_id = b.account_id AND u.user_id = b.user_id
            WHERE u.left_at IS NULL AND (u.role IS NULL OR u.role NOT IN ('admin', 'champion', 'sponsor'))
            """, logger: logger)
        for try await row in people.decode((String, String, String?, Date?, Date?, [Int32]).self) {
            let person = Person(userId: row.1, role: row.2, roleAt: row.3, leftAt: row.4, activeDays: Set(row.5.map(Int.init)))
            if person.isKey {
                contexts[row.0, default: .init()].people.append(person)
            } else {
                contexts[row.0, default: .init()].others.append(person)
            }
        }
        // The batch's users as a JSON array per account, which `?` looks up without a join. One scan of each
        // account's users seen since 30 days before its first evaluation: those seen in the 30 days before its last
        // are counted (the batch's own come with their last-seen time instead, the engine counts them), and those
        // whose 30 days end between its first and last evaluation come with their time (active at some of them only).
        let users = ids.map { id in
            String(decoding: JSONValue.array(Set(batch[id]?.compactMap(\.userId) ?? []).sorted().map(JSONValue.string)).serialized(), as: UTF8.self)
        }
        let active = try await connection.checkedQuery(
            """
            SELECT x.id, c.n, c.users, c.seen
            FROM unnest(\(ids), \(ids.map { now[$0]!.addingTimeInterval(-month) }), \(ids.map { from[$0]!.addingTimeInterval(-month) }),
                        \(users)::jsonb[]) AS x(id, since, earliest, batch)
            CROSS JOIN LATERAL (
                SELECT count(*) FILTER (WHERE u.last_seen_at >= x.since AND NOT x.batch ? u.user_id) AS n,
                       array_agg(u.user_id) FILTER (WHERE u.last_seen_at < x.since OR x.batch ? u.user_id) AS users,
                       array_agg(u.last_seen_at) FILTER (WHERE u.last_seen_at < x.since OR x.batch ? u.user_id) AS seen
                FROM users u
                WHERE u.account_id = x.id AND u.last_seen_day >= (x.earliest AT TIME ZONE 'UTC')::date
                  AND u.last_seen_at >= x.earliest
            ) c
            WHERE c.n > 0 OR c.users IS NOT NULL
            """, logger: logger)
        for try await (id, count, users, seen) in active.decode((String, Int, [String]?, [Date]?).self) {
            contexts[id, default: .init()].activeUsers = count
            for (user, lastSeen) in zip(users ?? [], seen ?? []) { contexts[id, default: .init()].lastSeen[user] = lastSeen }
        }
        return contexts
    }

    /// Counts each user's events and keeps the persona with the latest event time.
    private func countUsers(_ events: [AccountEvent], on connection: PostgresConnection, logger: Logger) async throws {
        struct UserKey: Hashable, Comparable {
            let account: String
            let user: String
            static func < (lhs: Self, rhs: Self) -> Bool { (lhs.account, lhs.user) < (rhs.account, rhs.user) }
        }
        struct Seen {
            var first: Date
            var last: Date
            var count: Int
            var person: Person
        }
        var users: [UserKey: Seen] = [:]
        for event in events {
            guard let userId = event.userId else { continue }
            let key = UserKey(account: event.resolvedAccount, user: userId)
            var seen = users[key] ?? Seen(first: event.timestamp, last: event.timestamp, count: 0, person: Person(userId: userId, role: nil))
            seen.first = min(seen.first, event.timestamp)
            seen.last = max(seen.last, event.timestamp)
            seen.count += 1
            seen.person.merge(event, configuration: engine)
            users[key] = seen
        }
        guard !users.isEmpty else { return }
        let keys = users.keys.sorted()
        let values = keys.map { users[$0]! }
        try await connection.checkedQuery(
            """
            INSERT INTO users (account_id, user_id, role, role_at, left_at, active_days, first_seen_at, last_seen_at, last_seen_day,
                               event_count)
            SELECT a, u, NULLIF(r, ''), NULLIF(ra, '')::timestamptz, NULLIF(la, '')::timestamptz, d::int4[], f, l,
                   (l AT TIME ZONE 'UTC')::date, c
            FROM unnest(\(keys.map(\.account)), \(keys.map(\.user)), \(values.map { $0.person.role.orEmpty }),
                        \(values.map { $0.person.roleAt.map(Timestamp.format).orEmpty }),
                        \(values.map { $0.person.leftAt.map(Timestamp.format).orEmpty }),
                        \(values.map { "{" + $0.person.activeDays.sorted().map(String.init).joined(separator: ",") + "}" }),
                        \(values.map(\.first)), \(values.map(\.last)), \(values.map(\.count))) AS x(a, u, r, ra, la, d, f, l, c)
            ORDER BY a, u
            ON CONFLICT (account_id, user_id) DO UPDATE SET
                role = CASE WHEN EXCLUDED.role_at IS NOT NULL AND EXCLUDED.role_at >= COALESCE(users.role_at, '-infinity')
                            THEN EXCLUDED.role ELSE users.role END,
                role_at = GREATEST(users.role_at, EXCLUDED.role_at),
                left_at = GREATEST(users.left_at, EXCLUDED.left_at),
                -- Days already known (most batches: the same day again) leave the array as it is instead of rebuilding it.
                active_days = CASE WHEN users.active_days @> EXCLUDED.active_days THEN users.active_days ELSE ARRAY(
                    SELECT DISTINCT d FROM unnest(users.active_days || EXCLUDED.active_days) AS d ORDER BY d DESC LIMIT 60)
                    END,
                first_seen_at = LEAST(users.first_seen_at, EXCLUDED.first_seen_at),
                last_seen_at = GREATEST(users.last_seen_at, EXCLUDED.last_seen_at),
                last_seen_day = GREATEST(users.last_seen_day, EXCLUDED.last_seen_day),
                event_count = users.event_count + EXCLUDED.event_count
            """, logger: logger)
    }

    /// Adds product-usage events to the per-day rollup.
    private func countActivity(_ events: [AccountEvent], on connection: PostgresConnection, logger: Logger) async throws {
        var counts: [String: Int] = [:]  // "account\u{0}day" → events, day as days since 1970
        for event in events where engine.isProductUsage(event) {
            counts["\(event.resolvedAccount)\u{0}\(Timestamp.epochDay(event.timestamp))", default: 0] += 1
        }
        guard !counts.isEmpty else { return }
        let keys = counts.keys.sorted()
        let parts = keys.map { $0.split(separator: "\u{0}", maxSplits: 1).map(String.init) }
        try await connection.checkedQuery(
            """
            INSERT INTO account_activity (account_id, day, events)
            SELECT a, DATE '1970-01-01' + d::int4, c
            FROM unnest(\(parts.map { $0[0] }), \(parts.map { Int($0[1])! }), \(keys.map { counts[$0]! })) AS x(a, d, c)
            ORDER BY a, d
            ON CONFLICT (account_id, day) DO UPDATE SET events = account_activity.events + EXCLUDED.events
            """, logger: logger)
    }

    private func loadActivity(_ ids: [String], since: Date, on connection: PostgresConnection, logger: Logger) async throws -> [String: [ActivityDay]] {
        let rows = try await connection.checkedQuery(
            """
            SELECT account_id, (day - DATE '1970-01-01')::int8, events FROM account_activity
            WHERE account_id = ANY(\(ids)) AND day >= DATE '1970-01-01' + \(Timestamp.epochDay(since))::int4
            """, logger: logger)
        var activity: [String: [ActivityDay]] = [:]
        for try await (account, day, events) in rows.decode((String, Int, Int).self) {
            activity[account, default: []].append(ActivityDay(day: Date(timeIntervalSince1970: Double(day) * 86_400), events: events))
        }
        return activity
    }

    /// Writes the engine's conclusions: the account row once (facts, and the list's keys: stage, score, band, ARR,
    /// renewal and contract dates, the time of the last stage or band change), the journey where it changed, the
    /// health and its day in the history. No row trigger runs: the change times that the API's live stream and
    /// "recent band changes" read are set here, from the row as it was (`SET` sees the old values).
    ///
    /// - Parameter partition: the work-queue partition whose events were applied, whose stream clock row moves to
    ///   their latest time; nil for the sweep, which applies no event.
    func save(_ outcomes: [JourneyEngine.Outcome], partition: Int?, on connection: PostgresConnection, logger: Logger) async throws {
        let states = outcomes.map(\.state)
        let ids = states.map(\.accountId)
        let latest = partition == nil ? "" : Self.text(states.compactMap(\.lastEventAt).max())
        // The stream clock (`Store.now(.stream)`, `Store.sweepTime(.stream)`): the partition's latest stored event
        // time, in its own row.
        try await connection.checkedQuery(
            """
            WITH clock AS (
                INSERT INTO stream_clock (writer, latest)
                SELECT \(Self.clockRow(partition: partition ?? 0)), NULLIF(\(latest), '')::timestamptz WHERE \(latest) <> ''
                ON CONFLICT (writer) DO UPDATE SET latest = GREATEST(stream_clock.latest, EXCLUDED.latest)
            )
            UPDATE accounts a SET facts = x.facts::json, name = NULLIF(x.n, ''), csm_id = NULLIF(x.c, ''),
                segment = NULLIF(x.s, ''), at_risk = x.r, first_event_at = NULLIF(x.f, '')::timestamptz,
                last_event_at = NULLIF(x.l, '')::timestamptz, event_count = x.e, updated_at = now(),
                stage = x.st, score = CASE WHEN x.b = '' THEN a.score ELSE x.sc END,
                band = CASE WHEN x.b = '' THEN a.band ELSE x.b END,
                changed_at = GREATEST(a.changed_at,
                    CASE WHEN x.st IS DISTINCT FROM a.stage THEN NULLIF(x.se, '')::timestamptz END,
                    NULLIF(x.bc, '')::timestamptz),
                arr = NULLIF(x.arr, 'NaN'::float8), renewal_at = NULLIF(x.ra, '')::timestamptz,
                contract_at = NULLIF(x.ca, '')::timestamptz
            FROM unnest(\(ids), \(states.map { StateCodec.encode(facts: $0.facts) }), \(states.map { $0.name.orEmpty }),
                        \(states.map { $0.csmId.orEmpty }), \(states.map { $0.segment.orEmpty }), \(states.map(\.atRisk)),
                        \(states.map { Self.text($0.firstEventAt) }), \(states.map { Self.text($0.lastEventAt) }),
                        \(states.map(\.eventCount)), \(states.map(\.stage.rawValue)), \(states.map { Self.text($0.stageEnteredAt) }),
                        \(states.map { $0.health?.score ?? 0 }), \(states.map { $0.health?.band.rawValue ?? "" }),
                        \(states.map { Self.text($0.health?.bandChangedAt) }), \(states.map { $0.facts.arr?.value ?? .nan }),
                        \(states.map { Self.listKey($0.facts.renewalDate?.value) }), \(states.map { Self.listKey($0.facts.contractSignedAt) }))
                AS x(id, facts, n, c, s, r, f, l, e, st, se, sc, b, bc, arr, ra, ca)
            WHERE a.account_id = x.id
            """, logger: logger)
        // A journey row is rewritten only when something in it changed; a new stage gets its wall-clock change time
        // for the live stream (`journey.*` in the update is the row as it was).
        try await connection.checkedQuery(
            """
            INSERT INTO journey (account_id, stage, stage_entered_at, milestones, stage_history, tracks, time_to_value_days,
                                 stage_changed_at)
            SELECT id, s, NULLIF(se, '')::timestamptz, m::jsonb, h::jsonb, t::jsonb, NULLIF(v, 'NaN'::float8), clock_timestamp()
            FROM unnest(\(ids), \(states.map(\.stage.rawValue)), \(states.map { Self.text($0.stageEnteredAt) }),
                        \(states.map { StateCodec.encode($0.milestones) }), \(states.map { StateCodec.encode($0.stageHistory) }),
                        \(states.map { StateCodec.encode($0.tracks) }), \(states.map { $0.timeToValueDays ?? .nan }))
                AS x(id, s, se, m, h, t, v)
            ON CONFLICT (account_id) DO UPDATE SET stage = EXCLUDED.stage, stage_entered_at = EXCLUDED.stage_entered_at,
                milestones = EXCLUDED.milestones, stage_history = EXCLUDED.stage_history, tracks = EXCLUDED.tracks,
                time_to_value_days = EXCLUDED.time_to_value_days, updated_at = now(),
                stage_changed_at = CASE WHEN EXCLUDED.stage IS DISTINCT FROM journey.stage THEN EXCLUDED.stage_changed_at
                                        ELSE journey.stage_changed_at END
            WHERE (journey.stage, journey.stage_entered_at, journey.milestones, journey.stage_history, journey.tracks,
                   journey.time_to_value_days)
                  IS DISTINCT FROM (EXCLUDED.stage, EXCLUDED.stage_entered_at, EXCLUDED.milestones, EXCLUDED.stage_history,
                                    EXCLUDED.tracks, EXCLUDED.time_to_value_days)
            """, logger: logger)
        let scored = states.compactMap { state in state.health.map { (state.accountId, $0) } }
        guard !scored.isEmpty else { return }
        // Every day the engine evaluated, with that day's last score, so the history does not depend on where
        // batches ended.
        let days = outcomes.flatMap { outcome in outcome.healthDays.map { (outcome.state.accountId, $0) } }
        // Health, with what the API reads beside it: the band before the latest change and its evaluation time (for
        // "recent band changes"), both from the engine; the wall-clock time of a new score or band (for the live
        // stream); and each day's score in the history, rewritten only when it changed.
        try await connection.checkedQuery(
            """
            WITH history AS (
                INSERT INTO health_history (account_id, day, score, band)
                SELECT id, DATE '1970-01-01' + d::int4, s, b
                FROM unnest(\(days.map(\.0)), \(days.map(\.1.day)), \(days.map(\.1.score)), \(days.map(\.1.band.rawValue)))
                    AS y(id, d, s, b)
                ORDER BY id, d
                ON CONFLICT (account_id, day) DO UPDATE SET score = EXCLUDED.score, band = EXCLUDED.band
                WHERE (health_history.score, health_history.band) IS DISTINCT FROM (EXCLUDED.score, EXCLUDED.band)
            )
            INSERT INTO health (account_id, score, band, components, explanation, evaluated_at, previous_band, band_changed_at,
                                score_changed_at)
            SELECT id, s, b, c::json, e, t, NULLIF(pb, ''), NULLIF(bc, '')::timestamptz, clock_timestamp()
            FROM unnest(\(scored.map(\.0)), \(scored.map(\.1.score)), \(scored.map(\.1.band.rawValue)),
                        \(scored.map { StateCodec.encode(components: $0.1.components) }), \(scored.map(\.1.explanation)),
                        \(scored.map(\.1.evaluatedAt)), \(scored.map { $0.1.previousBand?.rawValue ?? "" }),
                        \(scored.map { Self.text($0.1.bandChangedAt) })) AS x(id, s, b, c, e, t, pb, bc)
            ORDER BY id
            ON CONFLICT (account_id) DO UPDATE SET score = EXCLUDED.score, band = EXCLUDED.band,
                components = EXCLUDED.components, explanation = EXCLUDED.explanation,
                evaluated_at = EXCLUDED.evaluated_at, updated_at = now(),
                previous_band = EXCLUDED.previous_band, band_changed_at = EXCLUDED.band_changed_at,
                score_changed_at = CASE WHEN EXCLUDED.score = health.score AND EXCLUDED.band = health.band
                                        THEN health.score_changed_at ELSE EXCLUDED.score_changed_at END
            """, logger: logger)
    }

    /// A time for a list key (renewal, contract): nil outside the years 1 to 9999, as the list's keys have always
    /// been (the facts may hold any time an event carried).
    static func listKey(_ date: Date?) -> String {
        guard let date, date.timeIntervalSince1970 >= -62_135_596_800, date.timeIntervalSince1970 <= 253_402_300_799 else { return "" }
        return Timestamp.format(date)
    }

    /// Writes signals to the outbox, to be relayed to `cairn.signals` with the kind as routing key.
    func enqueue(_ signals: [Signal], on connection: PostgresConnection, logger: Logger) async throws {
        guard !signals.isEmpty else { return }
        try await enqueue(
            exchange: "cairn.signals", routingKeys: signals.map(\.kind), messageIDs: signals.map(\.signalId),
            payloads: signals.map { String(decoding: $0.encoded(), as: UTF8.self) }, on: connection, logger: logger)
    }

    func enqueue(
        exchange: String, routingKeys: [String], messageIDs: [String], payloads: [String], on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.checkedQuery(
            """
            INSERT INTO outbox (exchange, routing_key, message_id, payload)
            SELECT \(exchange), k, m, p FROM unnest(\(routingKeys), \(messageIDs), \(payloads)) AS x(k, m, p)
            """, logger: logger)
    }

    static func text(_ date: Date?) -> String {
        date.map(Timestamp.format) ?? ""
    }
}
