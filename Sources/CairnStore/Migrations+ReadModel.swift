extension Migration {
    /// What the API and the dashboard read at scale (100k accounts, 10M events): the sort and filter keys of the
    /// account list copied onto `accounts` by triggers (stage, band, score, ARR, renewal and contract dates, the
    /// time of the last stage or band change), the wall-clock time of each stage and score change for the live
    /// stream, the previous band for "recent band changes", and the indexes those reads need.
    ///
    /// Triggers keep the copies right whoever writes the source rows (workers, sweeps, replays), in the same
    /// transaction. PL/pgSQL lines end in a comment so that no statement inside a body ends a line with `;`
    /// (the migration runner splits there).
    static let readModel = Migration(
        version: 5, name: "api read model",
        sql: """
            ALTER TABLE accounts ADD COLUMN stage text NOT NULL DEFAULT 'awareness';
            ALTER TABLE accounts ADD COLUMN band text;
            ALTER TABLE accounts ADD COLUMN score integer;
            ALTER TABLE accounts ADD COLUMN arr double precision;
            ALTER TABLE accounts ADD COLUMN renewal_at timestamptz;
            ALTER TABLE accounts ADD COLUMN contract_at timestamptz;
            ALTER TABLE accounts ADD COLUMN changed_at timestamptz;
            ALTER TABLE journey ADD COLUMN stage_changed_at timestamptz NOT NULL DEFAULT now();
            ALTER TABLE health ADD COLUMN previous_band text;
            ALTER TABLE health ADD COLUMN band_changed_at timestamptz;
            ALTER TABLE health ADD COLUMN score_changed_at timestamptz NOT NULL DEFAULT now();

            -- Facts hold times as milliseconds since 1970; anything else, or out of range, is no time (never an error:
            -- a trigger that fails would fail the worker's batch).
            CREATE FUNCTION cairn_epoch_ms(value jsonb) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
                SELECT CASE WHEN jsonb_typeof(value) = 'number'
                    AND (value #>> '{}')::float8 BETWEEN -62135596800000 AND 253402300799000
                    THEN to_timestamp((value #>> '{}')::float8 / 1000) END
            $$;

            CREATE FUNCTION cairn_account_keys() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.arr := CASE WHEN jsonb_typeof(NEW.facts->'arr'->'value') = 'number'
                    THEN (NEW.facts->'arr'->>'value')::float8 END;  -- facts.arr
                NEW.renewal_at := cairn_epoch_ms(NEW.facts->'renewalDate'->'value');  -- facts.renewalDate
                NEW.contract_at := cairn_epoch_ms(NEW.facts->'milestones'->'contract.signed'->'first');  -- first signing
                RETURN NEW;  -- the row with its keys
            END
            $$;
            CREATE TRIGGER accounts_keys BEFORE INSERT OR UPDATE OF facts ON accounts
                FOR EACH ROW EXECUTE FUNCTION cairn_account_keys();

            CREATE FUNCTION cairn_journey_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND NEW.stage IS NOT DISTINCT FROM OLD.stage THEN
                    NEW.stage_changed_at := OLD.stage_changed_at;  -- unchanged stage keeps its time
                    RETURN NEW;  -- nothing to copy
                END IF;  -- a new or changed stage
                NEW.stage_changed_at := clock_timestamp();  -- for the live stream
                UPDATE accounts SET stage = NEW.stage,
                    changed_at = GREATEST(changed_at, NEW.stage_entered_at)
                    WHERE account_id = NEW.account_id;  -- copy to the list keys
                RETURN NEW;  -- the row with its change time
            END
            $$;
            CREATE TRIGGER journey_changed BEFORE INSERT OR UPDATE ON journey
                FOR EACH ROW EXECUTE FUNCTION cairn_journey_changed();

            CREATE FUNCTION cairn_health_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    NEW.band_changed_at := NEW.evaluated_at;  -- first band
                ELSIF NEW.band IS DISTINCT FROM OLD.band THEN
                    NEW.previous_band := OLD.band;  -- for recent band changes
                    NEW.band_changed_at := NEW.evaluated_at;  -- event time of the change
                ELSE
                    NEW.previous_band := OLD.previous_band;  -- unchanged band
                    NEW.band_changed_at := OLD.band_changed_at;  -- keeps its time
                END IF;  -- band
                IF TG_OP = 'UPDATE' AND NEW.score = OLD.score AND NEW.band = OLD.band THEN
                    NEW.score_changed_at := OLD.score_changed_at;  -- nothing new for the stream
                    RETURN NEW;  -- nothing to copy
                END IF;  -- a new or changed score
                NEW.score_changed_at := clock_timestamp();  -- for the live stream
                UPDATE accounts SET score = NEW.score, band = NEW.band,
                    changed_at = CASE WHEN TG_OP = 'INSERT' OR NEW.band IS DISTINCT FROM OLD.band
                        THEN GREATEST(changed_at, NEW.evaluated_at) ELSE changed_at END
                    WHERE account_id = NEW.account_id;  -- copy to the list keys
                RETURN NEW;  -- the row with its change time
            END
            $$;
            CREATE TRIGGER health_changed BEFORE INSERT OR UPDATE ON health
                FOR EACH ROW EXECUTE FUNCTION cairn_health_changed();

            -- Fill the new columns of existing rows.
            UPDATE accounts SET facts = facts;
            UPDATE health SET band_changed_at = evaluated_at, score_changed_at = updated_at;
            UPDATE journey SET stage_changed_at = updated_at;
            UPDATE accounts a SET stage = j.stage, changed_at = j.stage_entered_at FROM journey j
                WHERE j.account_id = a.account_id;
            UPDATE accounts a SET score = h.score, band = h.band,
                changed_at = GREATEST(a.changed_at, h.evaluated_at) FROM health h
                WHERE h.account_id = a.account_id;

            -- The account list: every sort key with the id as tie-breaker (keyset pages), the filters.
            CREATE INDEX accounts_by_score ON accounts ((COALESCE(score, -1)), account_id);
            CREATE INDEX accounts_by_arr ON accounts ((COALESCE(arr, -1)), account_id);
            CREATE INDEX accounts_by_renewal ON accounts ((COALESCE(renewal_at, '9999-12-31T00:00:00Z')), account_id);
            CREATE INDEX accounts_by_change ON accounts ((COALESCE(changed_at, '0001-01-01T00:00:00Z')), account_id);
            CREATE INDEX accounts_segment_stage ON accounts (segment, stage);
            CREATE INDEX accounts_band ON accounts (band);
            CREATE INDEX accounts_contract ON accounts (contract_at) WHERE contract_at IS NOT NULL;
            CREATE INDEX accounts_last_event ON accounts (last_event_at);

            -- The live stream reads what changed since a time; the dashboard lists recent band changes.
            CREATE INDEX journey_stage_changed ON journey (stage_changed_at);
            CREATE INDEX health_score_changed ON health (score_changed_at);
            CREATE INDEX health_band_changes ON health (band_changed_at, account_id) WHERE previous_band IS NOT NULL;
            CREATE INDEX tasks_updated ON tasks (updated_at);
            CREATE INDEX tasks_status_created ON tasks (status, created_at, task_id);

            -- Health trend per day.
            CREATE INDEX health_history_day ON health_history (day)
            """)

    /// The journey and health triggers no longer copy stage, score and band onto `accounts` with an UPDATE of
    /// their own: that wrote every touched account row three times per batch (each time into every index of
    /// the list), the largest cost of a worker's transaction. `Store.save` now writes those columns in its one
    /// UPDATE of the account, and the triggers only keep the change times on their own rows.
    static let readModelWrittenOnce = Migration(
        version: 6, name: "read model written once per account",
        sql: """
            CREATE OR REPLACE FUNCTION cairn_journey_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND NEW.stage IS NOT DISTINCT FROM OLD.stage THEN
                    NEW.stage_changed_at := OLD.stage_changed_at;  -- unchanged stage keeps its time
                ELSE
                    NEW.stage_changed_at := clock_timestamp();  -- for the live stream
                END IF;  -- stage
                RETURN NEW;  -- the row with its change time
            END
            $$;

            CREATE OR REPLACE FUNCTION cairn_health_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    NEW.band_changed_at := NEW.evaluated_at;  -- first band
                ELSIF NEW.band IS DISTINCT FROM OLD.band THEN
                    NEW.previous_band := OLD.band;  -- for recent band changes
                    NEW.band_changed_at := NEW.evaluated_at;  -- event time of the change
                ELSE
                    NEW.previous_band := OLD.previous_band;  -- unchanged band
                    NEW.band_changed_at := OLD.band_changed_at;  -- keeps its time
                END IF;  -- band
                IF TG_OP = 'UPDATE' AND NEW.score = OLD.score AND NEW.band = OLD.band THEN
                    NEW.score_changed_at := OLD.score_changed_at;  -- nothing new for the stream
                ELSE
                    NEW.score_changed_at := clock_timestamp();  -- for the live stream
                END IF;  -- score
                RETURN NEW;  -- the row with its change time
            END
            $$
            """)

    /// The funnel read model: each account's stage history as rows (one per visit, whether it is the account's first
    /// visit of that stage, and its days in the stage once it ended), kept by a trigger whenever the history changes. The funnel read every history as JSON and parsed
    /// its times for each answer, over ten seconds at 100k accounts; narrow typed rows take a fraction of that.
    static let stageVisits = Migration(
        version: 7, name: "stage visits for the funnel",
        sql: """
            CREATE TABLE stage_visits (
                account_id text NOT NULL,
                visit integer NOT NULL,
                stage text NOT NULL,
                first_visit boolean NOT NULL,
                days_in_stage double precision,
                PRIMARY KEY (account_id, visit)
            );

            CREATE FUNCTION cairn_stage_visits() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM stage_visits WHERE account_id = NEW.account_id;  -- the history is rewritten whole
                INSERT INTO stage_visits (account_id, visit, stage, first_visit, days_in_stage)
                    SELECT NEW.account_id, v.n, v.visit->>'stage',
                           row_number() OVER (PARTITION BY v.visit->>'stage' ORDER BY v.n) = 1,
                           extract(epoch FROM (v.visit->>'leftAt')::timestamptz - (v.visit->>'enteredAt')::timestamptz) / 86400
                    FROM jsonb_array_elements(NEW.stage_history) WITH ORDINALITY AS v(visit, n);  -- one row per visit
                RETURN NULL;  -- an AFTER trigger
            END
            $$;
            CREATE TRIGGER journey_stage_visits AFTER INSERT ON journey
                FOR EACH ROW EXECUTE FUNCTION cairn_stage_visits();
            CREATE TRIGGER journey_stage_visits_changed AFTER UPDATE OF stage_history ON journey
                FOR EACH ROW WHEN (NEW.stage_history IS DISTINCT FROM OLD.stage_history)
                EXECUTE FUNCTION cairn_stage_visits();

            INSERT INTO stage_visits (account_id, visit, stage, first_visit, days_in_stage)
                SELECT j.account_id, v.n, v.visit->>'stage',
                       row_number() OVER (PARTITION BY j.account_id, v.visit->>'stage' ORDER BY v.n) = 1,
                       extract(epoch FROM (v.visit->>'leftAt')::timestamptz - (v.visit->>'enteredAt')::timestamptz) / 86400
                FROM journey j, jsonb_array_elements(j.stage_history) WITH ORDINALITY AS v(visit, n);
            ANALYZE stage_visits
            """)
}

extension Migration {
    /// The worker's writes without row triggers. Each row trigger ran for every row a batch wrote, and the upserts
    /// ran theirs twice (BEFORE INSERT for the proposed row, then BEFORE UPDATE on the conflict): the account's
    /// list keys from its facts (ARR, renewal and contract dates) on every account row, and the change times of
    /// journey and health. `Store.save`, the one writer of these tables, now writes those columns in its own
    /// statements; the stage-visit triggers stay (they run only when a stage history changes).
    static let writesWithoutRowTriggers = Migration(
        version: 8, name: "worker writes without row triggers",
        sql: """
            DROP TRIGGER accounts_keys ON accounts;
            DROP FUNCTION cairn_account_keys();
            DROP FUNCTION cairn_epoch_ms(jsonb);
            DROP TRIGGER journey_changed ON journey;
            DROP FUNCTION cairn_journey_changed();
            DROP TRIGGER health_changed ON health;
            DROP FUNCTION cairn_health_changed()
            """)
}

extension Migration {
    /// Account row updates that can be HOT. The worker rewrites every touched account's row in each batch (facts,
    /// last event time, event count). With an index on `last_event_at` no such update was HOT, so each one added an
    /// entry to all twelve of the table's indexes. Now an update that leaves the list's keys (stage, score, band,
    /// ARR, dates, CSM, segment) alone touches no index. On a 100k-account copy, 250 rows updated this way took
    /// 4.0 ms against 18.5 ms (BENCHMARKS.md). The stream clock, which read `max(last_event_at)` through that
    /// index, is kept in `stream_clock` by the writers instead: one row per writing process, the latest event
    /// time it stored. `accounts_segment` went too: `accounts_segment_stage` serves every query by segment. The
    /// fill factor leaves room on new pages for the updated row; pages written before it fill up as they were.
    static let hotAccountUpdates = Migration(
        version: 9, name: "account updates that can be HOT",
        sql: """
            CREATE TABLE stream_clock (
                writer text PRIMARY KEY,
                latest timestamptz NOT NULL
            );
            INSERT INTO stream_clock (writer, latest)
                SELECT 'migration 9', max(last_event_at) FROM accounts HAVING max(last_event_at) IS NOT NULL;
            DROP INDEX accounts_last_event;
            DROP INDEX accounts_segment;
            ALTER TABLE accounts SET (fillfactor = 70)
            """)
}

extension Migration {
    /// Health and daily-usage updates that can be HOT, as the account rows' since migration 9. A batch rewrites the
    /// health row of every account it touched (evaluation time, components, explanation) and adds to the day's
    /// usage count; where the score, band and change times stay, no indexed column changes, but a full page has no
    /// room for the new version, so the update still went to another page and into every index. Fill factor 70
    /// leaves that room on pages written from now on.
    static let hotHealthUpdates = Migration(
        version: 10, name: "health and usage updates that can be HOT",
        sql: """
            ALTER TABLE health SET (fillfactor = 70);
            ALTER TABLE account_activity SET (fillfactor = 70);
            ALTER TABLE journey SET (fillfactor = 70)
            """)
}

extension Migration {
    /// The account's facts and the health's components as `json`, not `jsonb`. Each batch reads both as text and
    /// writes them back for every account it touched; `jsonb` parsed the text on every write and printed it on
    /// every read, where `json` keeps the text as given. Nothing looks inside them but the account detail (plan
    /// and seats, which `json`'s operators read as well), and no index or comparison needs `jsonb`. The change
    /// rewrites both tables, which also lays their rows out with the fill factor of migrations 9 and 10.
    static let factsAsText = Migration(
        version: 11, name: "facts and components kept as json text",
        sql: """
            ALTER TABLE accounts ALTER COLUMN facts DROP DEFAULT;
            ALTER TABLE accounts ALTER COLUMN facts TYPE json USING facts::json;
            ALTER TABLE accounts ALTER COLUMN facts SET DEFAULT '{}';
            ALTER TABLE health ALTER COLUMN components TYPE json USING components::json
            """)
}

extension Migration {
    /// User updates that can be HOT. A batch upserts the row of every user it saw (last seen, count, active days),
    /// and `users_recent` indexed `last_seen_at`, which every such update changes: each one added an entry to the
    /// table's three indexes, and the active-user count, which reads that index for every account of every batch,
    /// walked the dead entries between vacuums. The index now holds the day last seen, which changes once a day
    /// per user; the count narrows by day through it and checks the exact time on the row. The old index goes
    /// first, so the one pass over every user that fills the new column does not also keep it up to date.
    static let hotUserUpdates = Migration(
        version: 12, name: "user updates that can be HOT",
        sql: """
            DROP INDEX users_recent;
            ALTER TABLE users SET (fillfactor = 70);
            ALTER TABLE users ADD COLUMN last_seen_day date;
            UPDATE users SET last_seen_day = (last_seen_at AT TIME ZONE 'UTC')::date;
            ALTER TABLE users ALTER COLUMN last_seen_day SET NOT NULL;
            CREATE INDEX users_recent ON users (account_id, last_seen_day)
            """)
}

extension Migration {
    /// The stream clock kept per work-queue partition instead of per writing process. The sweep evaluates quiet
    /// accounts at the midnights every partition has reached (`Store.sweepTime`), so it needs each partition's
    /// latest event time, whichever worker wrote it; and rows no longer pile up as processes come and go. The
    /// processes' rows fold into partition 0's, so the clock stays where it was until the partitions write theirs.
    static let streamClockByPartition = Migration(
        version: 13, name: "stream clock per partition",
        sql: """
            INSERT INTO stream_clock (writer, latest)
                SELECT 'partition-0', max(latest) FROM stream_clock HAVING max(latest) IS NOT NULL
                ON CONFLICT (writer) DO UPDATE SET latest = GREATEST(stream_clock.latest, EXCLUDED.latest);
            DELETE FROM stream_clock WHERE writer <> 'partition-0'
            """)
}
