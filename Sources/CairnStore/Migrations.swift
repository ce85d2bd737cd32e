import Foundation

/// A versioned schema change. Applied once, in order, each in its own transaction.
struct Migration: Sendable {
    let version: Int
    let name: String
    let sql: String

    /// The statements of `sql`, split at semicolons that end a line.
    var statements: [String] {
        sql.components(separatedBy: ";\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty && !$0.split(separator: "\n").allSatisfy { $0.hasPrefix("--") } }
    }
}

extension Migration {
    static let all: [Migration] = [
        walkingSkeleton, learnedAccounts, journeysAndHealth, taskLifecycle, readModel, readModelWrittenOnce, stageVisits,
        writesWithoutRowTriggers, hotAccountUpdates, hotHealthUpdates, factsAsText, hotUserUpdates,
        streamClockByPartition,
    ]

    static let walkingSkeleton = Migration(
        version: 1, name: "walking skeleton",
        sql: """
            CREATE TABLE accounts (
                account_id text PRIMARY KEY,
                name text,
                name_at timestamptz,
                csm_id text,
                csm_assigned_at timestamptz,
                segment text,
                first_event_at timestamptz,
                last_event_at timestamptz,
                event_count bigint NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX accounts_csm ON accounts (csm_id);

            CREATE TABLE users (
                account_id text NOT NULL,
                user_id text NOT NULL,
                role text,
                role_at timestamptz,
                first_seen_at timestamptz NOT NULL,
                last_seen_at timestamptz NOT NULL,
                event_count bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (account_id, user_id)
            );

            -- The raw event log. Its primary key is also the workers' dedup record: an event is applied in the
            -- same transaction that logs it, so a logged message id means its effects are committed.
            CREATE TABLE events (
                message_id text PRIMARY KEY,
                account_id text NOT NULL,
                user_id text,
                type text NOT NULL,
                name text,
                occurred_at timestamptz NOT NULL,
                payload jsonb NOT NULL,
                stored_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX events_account_time ON events (account_id, occurred_at);

            -- Message ids other consumers (the escalator) have applied, for the same effectively-once promise.
            CREATE TABLE processed_messages (
                consumer text NOT NULL,
                message_id text NOT NULL,
                processed_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (consumer, message_id)
            );

            -- Product usage per account and day: mergeable, so order and duplicates do not matter.
            CREATE TABLE account_activity (
                account_id text NOT NULL,
                day date NOT NULL,
                events bigint NOT NULL,
                PRIMARY KEY (account_id, day)
            );

            CREATE TABLE journey (
                account_id text PRIMARY KEY REFERENCES accounts (account_id),
                stage text NOT NULL,
                stage_entered_at timestamptz,
                milestones jsonb NOT NULL DEFAULT '{}',
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX journey_stage ON journey (stage);

            CREATE TABLE health (
                account_id text PRIMARY KEY REFERENCES accounts (account_id),
                score integer NOT NULL,
                band text NOT NULL,
                components jsonb NOT NULL,
                explanation text NOT NULL,
                evaluated_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX health_band_score ON health (band, score);

            -- Messages to publish, written in the same transaction as the change they announce.
            CREATE TABLE outbox (
                id bigserial PRIMARY KEY,
                exchange text NOT NULL,
                routing_key text NOT NULL,
                message_id text NOT NULL,
                payload text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                sent_at timestamptz
            );
            CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

            CREATE TABLE tasks (
                task_id text PRIMARY KEY,
                account_id text NOT NULL,
                playbook text NOT NULL,
                status text NOT NULL DEFAULT 'open',
                title text NOT NULL,
                priority text NOT NULL,
                assignee_kind text NOT NULL,
                assignee_id text NOT NULL,
                trigger jsonb NOT NULL,
                payload jsonb NOT NULL,
                created_at timestamptz NOT NULL,
                due_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            -- At most one open play per account and playbook.
            CREATE UNIQUE INDEX tasks_one_open ON tasks (account_id, playbook) WHERE status IN ('open', 'acknowledged');
            CREATE INDEX tasks_assignee ON tasks (assignee_kind, assignee_id, status)
            """)
}

extension Migration {
    static let learnedAccounts = Migration(
        version: 2, name: "learned user accounts",
        sql: """
            -- Which account a user belongs to, taught by identify and group calls; the latest one wins.
            CREATE TABLE user_accounts (
                user_id text PRIMARY KEY,
                account_id text NOT NULL,
                learned_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );

            -- Events that named only a user whose account is not known yet, kept until a mapping arrives and then
            -- applied in the transaction that learns it.
            CREATE TABLE pending_events (
                message_id text PRIMARY KEY,
                user_id text NOT NULL,
                occurred_at timestamptz NOT NULL,
                payload text NOT NULL,
                parked_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX pending_events_user ON pending_events (user_id)
            """)
}

extension Migration {
    static let journeysAndHealth = Migration(
        version: 3, name: "journeys and health",
        sql: """
            -- The merged facts of each account (AccountFacts as JSON): the engine's input, order-insensitive.
            ALTER TABLE accounts ADD COLUMN facts jsonb NOT NULL DEFAULT '{}';
            ALTER TABLE accounts ADD COLUMN at_risk boolean NOT NULL DEFAULT false;
            CREATE INDEX accounts_segment ON accounts (segment);
            CREATE INDEX accounts_at_risk ON accounts (at_risk) WHERE at_risk;

            -- Milestones are now statuses against SLAs: [{name, dueAt, reachedAt, status}].
            UPDATE journey SET milestones = '[]';
            ALTER TABLE journey ALTER COLUMN milestones SET DEFAULT '[]';
            ALTER TABLE journey ADD COLUMN stage_history jsonb NOT NULL DEFAULT '[]';
            ALTER TABLE journey ADD COLUMN tracks jsonb NOT NULL DEFAULT '[]';
            ALTER TABLE journey ADD COLUMN time_to_value_days double precision;

            -- Persona usage: the days each person was active (the most recent 60), and who left.
            ALTER TABLE users ADD COLUMN left_at timestamptz;
            ALTER TABLE users ADD COLUMN active_days int4[] NOT NULL DEFAULT '{}';
            CREATE INDEX users_key_people ON users (account_id)
                WHERE role IN ('admin', 'champion', 'sponsor') OR left_at IS NOT NULL;
            CREATE INDEX users_recent ON users (account_id, last_seen_at);

            -- One score per account and day, for trends.
            CREATE TABLE health_history (
                account_id text NOT NULL,
                day date NOT NULL,
                score integer NOT NULL,
                band text NOT NULL,
                PRIMARY KEY (account_id, day)
            )
            """)
}

extension Migration {
    static let taskLifecycle = Migration(
        version: 4, name: "task lifecycle",
        sql: """
            -- Tasks for people (kind task) and automated 1:M messages (kind outreach, closed when sent).
            ALTER TABLE tasks ADD COLUMN kind text NOT NULL DEFAULT 'task';
            ALTER TABLE tasks ADD COLUMN assignee_member text;
            ALTER TABLE tasks ADD COLUMN acknowledged_at timestamptz;
            ALTER TABLE tasks ADD COLUMN snoozed_until timestamptz;
            ALTER TABLE tasks ADD COLUMN closed_at timestamptz;
            ALTER TABLE tasks ADD COLUMN close_reason text;
            ALTER TABLE tasks ADD COLUMN escalated_at timestamptz;
            -- A snoozed task is still the open play of its account.
            DROP INDEX tasks_one_open;
            CREATE UNIQUE INDEX tasks_one_open ON tasks (account_id, playbook)
                WHERE status IN ('open', 'acknowledged', 'snoozed') AND kind = 'task';
            CREATE INDEX tasks_closed ON tasks (account_id, playbook, closed_at) WHERE closed_at IS NOT NULL;
            CREATE INDEX tasks_late ON tasks (due_at) WHERE status = 'open' AND escalated_at IS NULL;
            CREATE INDEX tasks_member ON tasks (assignee_kind, assignee_id, assignee_member, status);

            -- Every change of every task, for its history.
            CREATE TABLE task_events (
                id bigserial PRIMARY KEY,
                task_id text NOT NULL REFERENCES tasks (task_id),
                at timestamptz NOT NULL DEFAULT now(),
                action text NOT NULL,
                actor text,
                detail jsonb NOT NULL DEFAULT '{}'
            );
            CREATE INDEX task_events_task ON task_events (task_id, id)
            """)
}
