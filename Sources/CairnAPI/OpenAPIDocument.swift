/// The OpenAPI 3.0 description of `/api/v1`, served at `/openapi.yaml`. Hand-written: keep it in step with the routes
/// (the tests validate it and fuzz the API from it).
enum OpenAPIDocument {
    static let yaml = #"""
        openapi: 3.0.3
        info:
          title: Cairn API
          version: 1.0.0
          description: >-
            Accounts with their journey and health, aggregates for customer-success managers, task queues and a live
            stream of changes. Every error is JSON `{"error": {"code", "message"}}`. Lists are paginated with opaque
            cursors: pass `nextCursor` back as `cursor`; it is null on the last page.
        servers:
          - url: /
        security:
          - bearer: []
        paths:
          /api/v1/accounts:
            get:
              summary: Accounts, filtered and sorted, one page at a time
              operationId: listAccounts
              parameters:
                - $ref: '#/components/parameters/segment'
                - $ref: '#/components/parameters/stage'
                - $ref: '#/components/parameters/band'
                - $ref: '#/components/parameters/csm'
                - $ref: '#/components/parameters/atRisk'
                - name: sort
                  in: query
                  description: Sort key, `-` in front for descending; ties are broken by account id.
                  schema:
                    type: string
                    enum: [id, -id, score, -score, arr, -arr, renewal, -renewal, changed, -changed]
                - $ref: '#/components/parameters/limit'
                - $ref: '#/components/parameters/cursor'
              responses:
                '200':
                  description: A page of accounts
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/AccountPage'
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
          /api/v1/accounts/{id}:
            get:
              summary: One account with journey, health, people, open tasks and the first page of its timeline
              operationId: getAccount
              parameters:
                - $ref: '#/components/parameters/accountId'
              responses:
                '200':
                  description: The account
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/AccountDetail'
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
                '404': {$ref: '#/components/responses/Error'}
          /api/v1/accounts/{id}/timeline:
            get:
              summary: The account's events, newest first
              operationId: getTimeline
              parameters:
                - $ref: '#/components/parameters/accountId'
                - $ref: '#/components/parameters/limit'
                - $ref: '#/components/parameters/cursor'
              responses:
                '200':
                  description: A page of events
                  content:
                    application/json:
                      schema:
                        $ref: '#/components/schemas/TimelinePage'
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
                '404': {$ref: '#/components/responses/Error'}
          /api/v1/funnel:
            get:
              summary: Accounts per stage, conversion to the next stage and median days in stage, per segment
              description: Aggregates (this one, health distribution and trend, cohorts) are cached for CAIRN_API_AGGREGATE_MAX_AGE seconds per process; the Age header says how old the answer is.
              operationId: getFunnel
              parameters:
                - $ref: '#/components/parameters/segment'
              responses:
                '200':
                  description: The funnel
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [segments]
                        properties:
                          segments:
                            type: array
                            items:
                              $ref: '#/components/schemas/FunnelSegment'
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
          /api/v1/health/distribution:
            get:
              summary: Accounts per band, in total and per segment, and per score decile
              operationId: getHealthDistribution
              responses:
                '200':
                  description: The distribution
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [total, segments, histogram]
                        properties:
                          total: {$ref: '#/components/schemas/BandCounts'}
                          segments:
                            type: array
                            items: {$ref: '#/components/schemas/BandCounts'}
                          histogram:
                            type: array
                            items: {type: integer}
                '401': {$ref: '#/components/responses/Error'}
          /api/v1/health/trend:
            get:
              summary: Scores recorded per day (health history)
              operationId: getHealthTrend
              parameters:
                - name: days
                  in: query
                  schema: {type: integer, minimum: 1, maximum: 365, default: 30}
                - $ref: '#/components/parameters/segment'
              responses:
                '200':
                  description: One entry per day with scores
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [days]
                        properties:
                          days:
                            type: array
                            items: {$ref: '#/components/schemas/HealthTrendDay'}
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
          /api/v1/health/changes:
            get:
              summary: Recent band changes, newest first
              operationId: listBandChanges
              parameters:
                - $ref: '#/components/parameters/limit'
                - $ref: '#/components/parameters/cursor'
              responses:
                '200':
                  description: A page of band changes
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [items, nextCursor]
                        properties:
                          items:
                            type: array
                            items: {$ref: '#/components/schemas/BandChange'}
                          nextCursor: {type: string, nullable: true}
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
          /api/v1/cohorts:
            get:
              summary: Accounts by contract month with their first-90-day milestones by status
              operationId: getCohorts
              parameters:
                - name: months
                  in: query
                  schema: {type: integer, minimum: 1, maximum: 60, default: 12}
                - $ref: '#/components/parameters/segment'
              responses:
                '200':
                  description: Cohorts, newest first
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [cohorts]
                        properties:
                          cohorts:
                            type: array
                            items: {$ref: '#/components/schemas/Cohort'}
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
          /api/v1/renewals:
            get:
              summary: Accounts renewing in the next days (from now, or `from`), soonest first
              operationId: listRenewals
              parameters:
                - name: days
                  in: query
                  schema: {type: integer, minimum: 1, maximum: 730, default: 120}
                - name: from
                  in: query
                  schema: {type: string, format: date}
                - $ref: '#/components/parameters/segment'
                - $ref: '#/components/parameters/stage'
                - $ref: '#/components/parameters/band'
                - $ref: '#/components/parameters/csm'
                - $ref: '#/components/parameters/atRisk'
                - $ref: '#/components/parameters/limit'
                - $ref: '#/components/parameters/cursor'
              responses:
                '200':
                  description: A page of renewing accounts
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [from, to, items, nextCursor]
                        properties:
                          from: {type: string, format: date-time}
                          to: {type: string, format: date-time}
                          items:
                            type: array
                            items: {$ref: '#/components/schemas/AccountSummary'}
                          nextCursor: {type: string, nullable: true}
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
          /api/v1/tasks:
            get:
              summary: Tasks, newest first, by assignee and status
              operationId: listTasks
              parameters:
                - name: assignee
                  in: query
                  description: A queue's routing key (`csm.dana`, `pool.unassigned`, `manager.lee`) or a CSM id.
                  schema: {type: string, minLength: 1, maxLength: 200}
                - name: status
                  in: query
                  schema:
                    type: string
                    enum: [open, acknowledged, snoozed, done, dismissed]
                - $ref: '#/components/parameters/limit'
                - $ref: '#/components/parameters/cursor'
              responses:
                '200':
                  description: A page of tasks
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [items, nextCursor]
                        properties:
                          items:
                            type: array
                            items: {$ref: '#/components/schemas/Task'}
                          nextCursor: {type: string, nullable: true}
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
          /api/v1/tasks/load:
            get:
              summary: Open and acknowledged tasks per assignee (CSM queue load)
              operationId: getQueueLoad
              responses:
                '200':
                  description: Load per assignee, busiest first
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [assignees]
                        properties:
                          assignees:
                            type: array
                            items:
                              type: object
                              required: [assignee, open, acknowledged, overdue]
                              properties:
                                assignee: {type: string}
                                open: {type: integer}
                                acknowledged: {type: integer}
                                overdue: {type: integer}
                '401': {$ref: '#/components/responses/Error'}
          /api/v1/tasks/{id}:
            get:
              summary: One task with its history
              operationId: getTask
              parameters:
                - {name: id, in: path, required: true, schema: {type: string, minLength: 1, maxLength: 256}}
              responses:
                '200': {description: The task, content: {application/json: {schema: {$ref: '#/components/schemas/TaskRecord'}}}}
                '401': {$ref: '#/components/responses/Error'}
                '404': {$ref: '#/components/responses/Error'}
          /api/v1/tasks/{id}/{action}:
            post:
              summary: Act on a task
              description: >-
                `ack` (open → acknowledged), `done` (with an optional `note`; logs a touchpoint on the account),
                `snooze` (`until`, an ISO-8601 time in the future; the sweep reopens it), `dismiss` (`reason`
                required), `reassign` (`to`: `csm.<id>`, `pool.<name>` or `manager.<id>`). `actor` names who acts.
              operationId: actOnTask
              parameters:
                - {name: id, in: path, required: true, schema: {type: string, minLength: 1, maxLength: 256}}
                - {name: action, in: path, required: true, schema: {type: string, enum: [ack, done, snooze, dismiss, reassign]}}
              requestBody:
                required: false
                content:
                  application/json:
                    schema:
                      type: object
                      properties:
                        actor: {type: string}
                        note: {type: string}
                        until: {type: string, format: date-time}
                        reason: {type: string}
                        to: {type: string}
              responses:
                '200': {description: The task after the action, content: {application/json: {schema: {$ref: '#/components/schemas/TaskRecord'}}}}
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
                '404': {$ref: '#/components/responses/Error'}
                '409': {$ref: '#/components/responses/Error'}
                '413': {$ref: '#/components/responses/Error'}
          /api/v1/stream:
            get:
              summary: Server-sent events of stage, health and task changes
              description: >-
                `event:` is `stage`, `health` or `task`; `id:` is the change time in microseconds, for
                `Last-Event-ID`; comment lines are heartbeats. The server ends a stream after a few minutes; clients
                reconnect.
              operationId: stream
              parameters:
                - name: Last-Event-ID
                  in: header
                  schema: {type: string}
                - name: lastEventId
                  in: query
                  schema: {type: string}
              responses:
                '200':
                  description: An event stream
                  content:
                    text/event-stream:
                      schema: {type: string}
                '400': {$ref: '#/components/responses/Error'}
                '401': {$ref: '#/components/responses/Error'}
        components:
          securitySchemes:
            bearer:
              type: http
              scheme: bearer
          parameters:
            accountId:
              name: id
              in: path
              required: true
              schema: {type: string, minLength: 1, maxLength: 200}
            segment:
              name: segment
              in: query
              schema: {type: string, minLength: 1, maxLength: 200}
            csm:
              name: csm
              in: query
              schema: {type: string, minLength: 1, maxLength: 200}
            stage:
              name: stage
              in: query
              schema:
                type: string
                enum: [awareness, lead, purchase, kickoff, onboarding, adoption, retention, expansion, advocacy, at_risk, churned]
            band:
              name: band
              in: query
              schema:
                type: string
                enum: [green, yellow, red]
            atRisk:
              name: atRisk
              in: query
              schema: {type: boolean}
            limit:
              name: limit
              in: query
              schema: {type: integer, minimum: 1, maximum: 500, default: 50}
            cursor:
              name: cursor
              in: query
              description: The `nextCursor` of the previous page, unchanged.
              schema: {type: string}
          responses:
            Error:
              description: An error
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Error'
          schemas:
            TaskRecord:
              type: object
              required: [taskId, accountId, playbook, title, status, priority, assignee, createdAt, dueAt, history]
              properties:
                taskId: {type: string}
                accountId: {type: string}
                playbook: {type: string}
                title: {type: string}
                status: {type: string, enum: [open, acknowledged, snoozed, done, dismissed]}
                priority: {type: string}
                assignee: {type: string}
                member: {type: string, nullable: true}
                createdAt: {type: string, format: date-time}
                dueAt: {type: string, format: date-time}
                snoozedUntil: {type: string, format: date-time, nullable: true}
                closedAt: {type: string, format: date-time, nullable: true}
                history:
                  type: array
                  items:
                    type: object
                    required: [at, action]
                    properties:
                      at: {type: string, format: date-time}
                      action: {type: string}
                      actor: {type: string, nullable: true}
                      detail: {}
            Error:
              type: object
              required: [error]
              properties:
                error:
                  type: object
                  required: [code, message]
                  properties:
                    code: {type: string}
                    message: {type: string}
            Health:
              type: object
              required: [score, band, components, explanation, updatedAt]
              properties:
                score: {type: integer}
                band: {type: string, enum: [green, yellow, red]}
                explanation: {type: string}
                updatedAt: {type: string, format: date-time}
                components:
                  type: array
                  items:
                    type: object
                    required: [name, score, weight, reason]
                    properties:
                      name: {type: string}
                      score: {type: integer}
                      weight: {type: number}
                      reason: {type: string}
            Milestone:
              type: object
              required: [name, dueAt, status]
              properties:
                name: {type: string}
                dueAt: {type: string, format: date-time}
                reachedAt: {type: string, format: date-time}
                status: {type: string, enum: [pending, reached, reached_late, missed]}
            AccountSummary:
              type: object
              required: [accountId, stage, atRisk, milestones]
              properties:
                accountId: {type: string}
                name: {type: string, nullable: true}
                segment: {type: string, nullable: true}
                stage: {type: string}
                stageEnteredAt: {type: string, format: date-time, nullable: true}
                csmId: {type: string, nullable: true}
                eventCount: {type: integer}
                lastEventAt: {type: string, format: date-time, nullable: true}
                health: {$ref: '#/components/schemas/Health'}
                atRisk: {type: boolean}
                milestones:
                  type: array
                  items: {$ref: '#/components/schemas/Milestone'}
                timeToValueDays: {type: number, nullable: true}
                arr: {type: number, nullable: true}
                renewalDate: {type: string, format: date-time, nullable: true}
                contractSignedAt: {type: string, format: date-time, nullable: true}
                lastChangeAt: {type: string, format: date-time, nullable: true}
            AccountPage:
              type: object
              required: [items, nextCursor]
              properties:
                items:
                  type: array
                  items: {$ref: '#/components/schemas/AccountSummary'}
                nextCursor: {type: string, nullable: true}
            TimelineEvent:
              type: object
              required: [messageId, type, occurredAt]
              properties:
                messageId: {type: string}
                type: {type: string}
                name: {type: string, nullable: true}
                userId: {type: string, nullable: true}
                occurredAt: {type: string, format: date-time}
                properties: {type: object, nullable: true}
                traits: {type: object, nullable: true}
            TimelinePage:
              type: object
              required: [items, nextCursor]
              properties:
                items:
                  type: array
                  items: {$ref: '#/components/schemas/TimelineEvent'}
                nextCursor: {type: string, nullable: true}
            User:
              type: object
              required: [userId, firstSeenAt, lastSeenAt, eventCount, activeDaysLast30]
              properties:
                userId: {type: string}
                role: {type: string, nullable: true}
                leftAt: {type: string, format: date-time, nullable: true}
                firstSeenAt: {type: string, format: date-time}
                lastSeenAt: {type: string, format: date-time}
                eventCount: {type: integer}
                activeDaysLast30: {type: integer}
            Task:
              type: object
              required: [taskId, playbook, title, status, priority, assignee, dueAt]
              properties:
                taskId: {type: string}
                accountId: {type: string}
                playbook: {type: string}
                title: {type: string}
                status: {type: string}
                priority: {type: string}
                assignee: {type: string}
                createdAt: {type: string, format: date-time}
                dueAt: {type: string, format: date-time}
            AccountDetail:
              allOf:
                - $ref: '#/components/schemas/AccountSummary'
                - type: object
                  required: [openTasks, stageHistory, usersByPersona, healthHistory, timeline]
                  properties:
                    openTasks:
                      type: array
                      items: {$ref: '#/components/schemas/Task'}
                    stageHistory:
                      type: array
                      items:
                        type: object
                        required: [stage, enteredAt, reason]
                        properties:
                          stage: {type: string}
                          enteredAt: {type: string, format: date-time}
                          leftAt: {type: string, format: date-time}
                          reason: {type: string}
                    tracks:
                      type: array
                      items: {type: object}
                    contract:
                      type: object
                      nullable: true
                      properties:
                        plan: {type: string, nullable: true}
                        seats: {type: integer, nullable: true}
                        arr: {type: number, nullable: true}
                        renewalDate: {type: string, format: date-time, nullable: true}
                        contractSignedAt: {type: string, format: date-time, nullable: true}
                    usersByPersona:
                      type: object
                      additionalProperties:
                        type: array
                        items: {$ref: '#/components/schemas/User'}
                    healthHistory:
                      type: array
                      items:
                        type: object
                        required: [day, score, band]
                        properties:
                          day: {type: string, format: date}
                          score: {type: integer}
                          band: {type: string}
                    timeline: {$ref: '#/components/schemas/TimelinePage'}
            FunnelSegment:
              type: object
              required: [segment, accounts, stages]
              properties:
                segment: {type: string}
                accounts: {type: integer}
                stages:
                  type: array
                  items:
                    type: object
                    required: [stage, accounts, reached]
                    properties:
                      stage: {type: string}
                      accounts: {type: integer}
                      reached: {type: integer}
                      conversionToNext: {type: number, nullable: true}
                      medianDaysInStage: {type: number, nullable: true}
            BandCounts:
              type: object
              required: [accounts, green, yellow, red]
              properties:
                segment: {type: string, nullable: true}
                accounts: {type: integer}
                green: {type: integer}
                yellow: {type: integer}
                red: {type: integer}
                averageScore: {type: number, nullable: true}
            HealthTrendDay:
              type: object
              required: [day, accounts, averageScore, green, yellow, red]
              properties:
                day: {type: string, format: date}
                accounts: {type: integer}
                averageScore: {type: number}
                green: {type: integer}
                yellow: {type: integer}
                red: {type: integer}
            BandChange:
              type: object
              required: [accountId, from, to, score, at]
              properties:
                accountId: {type: string}
                name: {type: string, nullable: true}
                segment: {type: string, nullable: true}
                from: {type: string}
                to: {type: string}
                score: {type: integer}
                at: {type: string, format: date-time}
            Cohort:
              type: object
              required: [month, accounts, milestones]
              properties:
                month: {type: string}
                accounts: {type: integer}
                medianTimeToValueDays: {type: number, nullable: true}
                milestones:
                  type: array
                  items:
                    type: object
                    required: [name, pending, reached, reachedLate, missed]
                    properties:
                      name: {type: string}
                      pending: {type: integer}
                      reached: {type: integer}
                      reachedLate: {type: integer}
                      missed: {type: integer}
        """#
}
