import CairnCore
import Testing

enum SignalKindList {
    static let text = SignalKind.all.joined(separator: ", ")
}

/// A file that must be refused, with where and why.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let line: Int?
    let key: String?
    let message: String

    var testDescription: String { name }

    init(_ name: String, line: Int?, key: String?, _ message: String, yaml: String) {
        self.name = name
        self.yaml = yaml
        self.line = line
        self.key = key
        self.message = message
    }

    /// Two segments around the part under test, for cases about one segment's fields.
    static func segment(_ fields: String) -> String {
        """
        segments:
          - name: big
            touch: high
        \(fields)
          - name: rest
            touch: low
            weights: {usage: 1}
        """
    }

    static let components = "usage, adoption, licenses, support, sentiment, billing, engagement, relationship, maturity"
    static let personas = "admin, champion, sponsor, end_user"

    static let all: [InvalidCase] = [
        // Playbooks and the roster.
        InvalidCase(
            "a playbook on an unknown signal kind", line: 7, key: "playbooks[0].trigger.kind",
            "not a signal kind; did you mean nps.detractor? (kinds: \(SignalKindList.text))",
            yaml: """
                playbooks:
                  - id: p
                    title: T
                    steps: [a]
                    priority: P1
                    dueInBusinessDays: 2
                    trigger: {kind: nps.detractr}
                """),
        InvalidCase(
            "an outreach play without outreach content", line: 7, key: "playbooks[0].action",
            "action outreach needs an outreach section",
            yaml: """
                playbooks:
                  - id: p
                    title: T
                    steps: [a]
                    priority: P1
                    dueInBusinessDays: 2
                    action: outreach
                    trigger: {kind: nps.detractor}
                """),
        InvalidCase(
            "a priority that is not P1 to P4", line: 5, key: "playbooks[0].priority", "must be one of P1, P2, P3, P4",
            yaml: """
                playbooks:
                  - id: p
                    title: T
                    steps: [a]
                    priority: urgent
                    dueInBusinessDays: 2
                    trigger: {kind: nps.detractor}
                """),
        InvalidCase(
            "a pool assignment nobody knows", line: 3, key: "roster.pools.smb.assignment",
            "must be one of round-robin, least-loaded",
            yaml: """
                roster:
                  pools:
                    smb: {members: [ana], assignment: random}
                """),
        // Keys nobody expects: typos are caught, with a hint when one is near.
        InvalidCase(
            "unknown top-level section", line: 2, key: "segmnts", "unknown section; did you mean segments?",
            yaml: "bands: {green: 70, yellow: 40, margin: 5}\nsegmnts: []\n"),
        InvalidCase(
            "unknown top-level section without a near one", line: 1, key: "alerts",
            "unknown section; expected one of segments, personas, milestones, bands, thresholds, events, playbooks, roster",
            yaml: "alerts: []\n"),
        InvalidCase(
            "unknown key in a segment", line: 5, key: "segments[0].wieghts", "unknown key; did you mean weights?",
            yaml: segment("    when: {minARR: 1}\n    wieghts: {usage: 1}")),
        InvalidCase(
            "unknown condition", line: 4, key: "segments[0].when.minArr", "unknown key; did you mean minARR?",
            yaml: segment("    when: {minArr: 1}\n    weights: {usage: 1}")),
        InvalidCase(
            "unknown threshold", line: 3, key: "thresholds.renewalWindow", "unknown key; did you mean renewalWindows?",
            yaml: "thresholds:\n  usageWindowDays: 14\n  renewalWindow: [90]\n"),
        InvalidCase(
            "unknown key in a milestone", line: 2, key: "milestones[0].due", "unknown key; expected one of name, event, dueDays, segments",
            yaml: "milestones:\n  - {name: kickoff, event: kickoff.completed, due: 7}\n"),
        InvalidCase(
            "duplicate key", line: 3, key: "bands.green", "duplicate key (first on line 2)",
            yaml: "bands:\n  green: 70\n  green: 75\n  yellow: 40\n  margin: 5\n"),
        InvalidCase(
            "required key missing", line: 2, key: "segments[0].weights", "required key is missing",
            yaml: "segments:\n  - name: all\n    touch: low\n"),

        // Wrong types.
        InvalidCase(
            "document that is not a mapping", line: 1, key: nil,
            "must be a mapping of sections (segments, personas, milestones, bands, thresholds, events, playbooks, roster)",
            yaml: "- segments\n"),
        InvalidCase(
            "section of the wrong type", line: 1, key: "personas",
            "must be a mapping of persona: settings (admin, champion, sponsor, end_user)", yaml: "personas: [admin]\n"),
        InvalidCase(
            "text where a number belongs", line: 2, key: "bands.green", "must be a whole number from 1 to 100",
            yaml: "bands:\n  green: high\n  yellow: 40\n  margin: 5\n"),
        InvalidCase(
            "quoted number", line: 2, key: "thresholds.usageWindowDays", "must be a whole number of days above 0",
            yaml: "thresholds:\n  usageWindowDays: \"14\"\n"),
        InvalidCase(
            "fraction where a whole number belongs", line: 2, key: "milestones[0].dueDays",
            "must be a whole number of days above 0",
            yaml: "milestones:\n  - {name: kickoff, event: kickoff.completed, dueDays: 7.5}\n"),
        InvalidCase(
            "segments not a list", line: 1, key: "segments", "must be a list of segments",
            yaml: "segments: {name: all}\n"),

        // Segments.
        InvalidCase(
            "unknown touch model", line: 3, key: "segments[0].touch", "must be one of high, pooled, low",
            yaml: "segments:\n  - name: all\n    touch: premium\n    weights: {usage: 1}\n"),
        InvalidCase(
            "weight for something that is not a component", line: 5, key: "segments[0].weights.happiness",
            "not a health component; expected one of \(components)",
            yaml: segment("    when: {minARR: 1}\n    weights: {usage: 0.5, happiness: 0.5}")),
        InvalidCase(
            "weight above 1", line: 7, key: "segments[0].weights.support", "must be a number from 0 to 1",
            yaml: segment("    when: {minARR: 1}\n    weights:\n      usage: 0.5\n      support: 2")),
        InvalidCase(
            "negative weight", line: 8, key: "segments[1].weights.usage", "must be a number from 0 to 1",
            yaml: "segments:\n  - name: big\n    touch: high\n    when: {minARR: 1}\n    weights: {usage: 1}\n"
                + "  - name: rest\n    touch: low\n    weights: {usage: -0.1}\n"),
        InvalidCase(
            "all weights zero", line: 5, key: "segments[0].weights", "at least one weight must be above 0",
            yaml: segment("    when: {minARR: 1}\n    weights:\n      usage: 0\n      support: 0.0")),
        InvalidCase(
            "duplicate segment name", line: 3, key: "segments[1].name", "duplicate segment name all (also segments[0].name)",
            yaml: "segments:\n  - {name: all, touch: low, when: {minARR: 5}, weights: {usage: 1}}\n"
                + "  - {name: all, touch: low, weights: {usage: 1}}\n"),
        InvalidCase(
            "segment before the last without conditions", line: 2, key: "segments[0].when",
            "only the last segment may match every account: give this one conditions or move it last",
            yaml: segment("    weights: {usage: 1}")),
        InvalidCase(
            "empty conditions before the last", line: 4, key: "segments[0].when",
            "only the last segment may match every account: give this one conditions or move it last",
            yaml: segment("    when: {}\n    weights: {usage: 1}")),
        InvalidCase(
            "last segment with conditions", line: 4, key: "segments[0].when",
            "the last segment must have no conditions, so that every account has a segment",
            yaml: "segments:\n  - name: all\n    touch: low\n    when: {regions: [EU]}\n    weights: {usage: 1}\n"),
        InvalidCase(
            "maximum not above minimum", line: 4, key: "segments[0].when.maxARR", "must be above minARR (150000)",
            yaml: segment("    when: {minARR: 150000, maxARR: 100000}\n    weights: {usage: 1}")),
        InvalidCase(
            "empty plan list", line: 4, key: "segments[0].when.plans", "must list at least one plan",
            yaml: segment("    when: {plans: []}\n    weights: {usage: 1}")),

        // Personas.
        InvalidCase(
            "missing persona", line: 1, key: "personas.end_user", "missing persona; define each of \(personas)",
            yaml: "personas:\n  admin: {expectedActiveDays: 8, weight: 3}\n  champion: {expectedActiveDays: 8, weight: 3}\n"
                + "  sponsor: {expectedActiveDays: 1, weight: 1}\n"),
        InvalidCase(
            "persona that does not exist", line: 2, key: "personas.manager",
            "not a persona; expected one of \(personas)",
            yaml: "personas:\n  manager: {expectedActiveDays: 8, weight: 3}\n"),
        InvalidCase(
            "expected days beyond the usage window", line: 7, key: "personas.champion.expectedActiveDays",
            "must be a whole number of days from 0 to 10 (thresholds.usageWindowDays)",
            yaml: "thresholds: {usageWindowDays: 10}\npersonas:\n  admin: {expectedActiveDays: 8, weight: 3}\n"
                + "  sponsor: {expectedActiveDays: 1, weight: 1}\n  end_user: {expectedActiveDays: 0, weight: 1}\n"
                + "  champion:\n    expectedActiveDays: 12\n    weight: 3\n"),
        InvalidCase(
            "usage window shorter than the standard personas expect", line: 2, key: "thresholds.usageWindowDays",
            "must be at least 8 days, the most active days a persona expects (see personas)",
            yaml: "thresholds:\n  usageWindowDays: 5\n"),
        InvalidCase(
            "negative persona weight", line: 2, key: "personas.admin.weight", "must be a number of at least 0",
            yaml: "personas:\n  admin: {expectedActiveDays: 8, weight: -1}\n  champion: {expectedActiveDays: 8, weight: 3}\n"
                + "  sponsor: {expectedActiveDays: 1, weight: 1}\n  end_user: {expectedActiveDays: 0, weight: 1}\n"),

        // Milestones.
        InvalidCase(
            "milestone event that is not canonical", line: 3, key: "milestones[1].event",
            "not a canonical event name or product.first_use; did you mean kickoff.completed?",
            yaml: "milestones:\n  - {name: first_value, event: product.first_use, dueDays: 30}\n"
                + "  - {name: kickoff, event: kickoff.complete, dueDays: 7}\n"),
        InvalidCase(
            "milestone for a segment that is not defined", line: 3, key: "milestones[0].segments[1]",
            "no segment named entreprise; did you mean enterprise? (segments: enterprise, mid-market, smb)",
            yaml: "milestones:\n  - name: kickoff\n    segments: [mid-market, entreprise]\n    event: kickoff.completed\n    dueDays: 7\n"),
        InvalidCase(
            "milestone due on day 0", line: 2, key: "milestones[0].dueDays", "must be a whole number of days above 0",
            yaml: "milestones:\n  - {name: kickoff, event: kickoff.completed, dueDays: 0}\n"),
        InvalidCase(
            "duplicate milestone name", line: 3, key: "milestones[1].name",
            "duplicate milestone name kickoff (also milestones[0].name)",
            yaml: "milestones:\n  - {name: kickoff, event: kickoff.completed, dueDays: 7}\n"
                + "  - {name: kickoff, event: welcome.sent, dueDays: 3}\n"),

        // Bands.
        InvalidCase(
            "green above 100", line: 1, key: "bands.green", "must be a whole number from 1 to 100",
            yaml: "bands: {green: 101, yellow: 40, margin: 5}\n"),
        InvalidCase(
            "yellow not below green", line: 1, key: "bands.yellow", "must be a whole number above 0 and below green (70)",
            yaml: "bands: {green: 70, yellow: 70, margin: 5}\n"),
        InvalidCase(
            "yellow of 0", line: 1, key: "bands.yellow", "must be a whole number above 0 and below green (70)",
            yaml: "bands: {green: 70, yellow: 0, margin: 5}\n"),
        InvalidCase(
            "margin as wide as the yellow band", line: 4, key: "bands.margin",
            "must be a whole number from 0 to 29, less than green minus yellow",
            yaml: "bands:\n  green: 70\n  yellow: 40\n  margin: 30\n"),
        InvalidCase(
            "band missing", line: 1, key: "bands.margin", "required key is missing",
            yaml: "bands: {green: 70, yellow: 40}\n"),

        // Thresholds.
        InvalidCase(
            "licenseLow not below licenseHigh", line: 3, key: "thresholds.licenseLow", "must be below licenseHigh (0.6)",
            yaml: "thresholds:\n  licenseHigh: 0.6\n  licenseLow: 0.7\n"),
        InvalidCase(
            "licenseHigh below the standard licenseLow", line: 2, key: "thresholds.licenseHigh",
            "must be above licenseLow (0.5)", yaml: "thresholds:\n  licenseHigh: 0.4\n"),
        InvalidCase(
            "licence share above 1", line: 2, key: "thresholds.licenseHigh", "must be a number from 0 to 1",
            yaml: "thresholds:\n  licenseHigh: 95\n"),
        InvalidCase(
            "window of 0 days", line: 2, key: "thresholds.engagementWindowDays", "must be a whole number of days above 0",
            yaml: "thresholds:\n  engagementWindowDays: 0\n"),
        InvalidCase(
            "renewal windows not descending", line: 5, key: "thresholds.renewalWindows[2]",
            "must be below the window before it (60): list the earliest first",
            yaml: "thresholds:\n  renewalWindows:\n    - 120\n    - 60\n    - 90\n"),
        InvalidCase(
            "negative renewal window", line: 1, key: "thresholds.renewalWindows[1]", "must be a whole number of days above 0",
            yaml: "thresholds: {renewalWindows: [90, -30]}\n"),
        InvalidCase(
            "no renewal window", line: 2, key: "thresholds.renewalWindows", "must list at least one window",
            yaml: "thresholds:\n  renewalWindows: []\n"),

        // Events.
        InvalidCase(
            "event mapped to a name that is not canonical", line: 3, key: "events[\"Deal Won\"]",
            "not a canonical event name; did you mean contract.signed?",
            yaml: "events:\n  Invoice Late: invoice.overdue\n  \"Deal Won\": contract.signd\n"),

        // Not YAML at all.
        InvalidCase(
            "YAML that does not parse", line: 3, key: nil,
            "not valid YAML: did not find expected ',' or ']' (while parsing a flow sequence on line 2)",
            yaml: "thresholds:\n  renewalWindows: [120, 90\n  maturityYears: 3\n"),
    ]
}
