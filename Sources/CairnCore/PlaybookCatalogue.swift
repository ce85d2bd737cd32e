extension Playbook {
    /// The shipped plays for the situations every customer-success team meets. `cairn.yaml` can replace them.
    public static let catalogue: [Playbook] = [
        Playbook(
            id: "new-key-contact", title: "Connect with the new champion",
            steps: ["Introduce yourself", "Schedule training", "Confirm goals and buy-in"],
            priority: "P2", dueInBusinessDays: 5,
            trigger: .init(kind: SignalKind.contactRoleChanged, roles: ["champion"]), action: .taskAndOutreach,
            outreach: .init(contentKey: "welcome-new-champion", channel: "email", personas: ["champion"])),
        Playbook(
            id: "champion-left", title: "The champion left: find and win a new one",
            steps: ["Ask the sponsor who takes over", "Map other power users", "Plan onboarding for the successor"],
            priority: "P1", dueInBusinessDays: 3, trigger: .init(kind: SignalKind.championLeft)),
        Playbook(
            id: "health-yellow", title: "Health fell from green to yellow",
            steps: ["Read the health reasons", "Check in with the champion", "Agree on one action to recover"],
            priority: "P2", dueInBusinessDays: 5, cooldownDays: 14,
            trigger: .init(kind: SignalKind.healthBandChanged, bandFrom: .green, bandTo: .yellow), action: .outreach,
            outreach: .init(contentKey: "tips-get-more-value", channel: "in_app", personas: ["admin", "champion"])),
        Playbook(
            id: "health-red", title: "Account at risk: health is red",
            steps: ["Review usage, tickets and sentiment", "Call the champion and the sponsor", "Write a recovery plan"],
            priority: "P1", dueInBusinessDays: 2, cooldownDays: 7,
            trigger: .init(kind: SignalKind.healthBandChanged, bandTo: .red)),
        Playbook(
            id: "health-drop", title: "Steep health drop",
            steps: ["Find what changed in the last two weeks", "Reach out before it becomes a risk"],
            priority: "P2", dueInBusinessDays: 3, cooldownDays: 14, trigger: .init(kind: SignalKind.healthDropped)),
        Playbook(
            id: "milestone-missed", title: "Onboarding milestone missed",
            steps: ["See which milestone slipped and why", "Unblock the customer", "Reset the plan and dates"],
            priority: "P2", dueInBusinessDays: 3, trigger: .init(kind: SignalKind.milestoneMissed), action: .outreach,
            outreach: .init(contentKey: "onboarding-help", channel: "email", personas: ["admin"])),
        Playbook(
            id: "first-90-days", title: "First-90-days check-in",
            steps: ["Review the success plan", "Confirm first value", "Book the next check-in"],
            priority: "P3", dueInBusinessDays: 10,
            trigger: .init(kind: SignalKind.stageEntered, stages: [.kickoff, .onboarding]), action: .outreach,
            outreach: .init(contentKey: "onboarding-checklist", channel: "email", personas: ["admin", "champion"])),
        Playbook(
            id: "detractor-nps", title: "Detractor NPS: close the loop",
            steps: ["Read the comment", "Call within two days", "Log the follow-up"],
            priority: "P1", dueInBusinessDays: 2, trigger: .init(kind: SignalKind.npsDetractor)),
        Playbook(
            id: "licenses-underused", title: "Licences under-used: adoption play",
            steps: ["Find the teams not using their seats", "Offer a bootcamp", "Track activation for 30 days"],
            priority: "P3", dueInBusinessDays: 10, cooldownDays: 60, trigger: .init(kind: SignalKind.licenseUnderused),
            action: .outreach, outreach: .init(contentKey: "bootcamp-invite", channel: "email", personas: ["admin", "end_user"])),
        Playbook(
            id: "upsell", title: "Licences nearly all used: expansion chance",
            steps: ["Confirm growth plans with the champion", "Introduce the account owner", "Propose more seats"],
            priority: "P3", dueInBusinessDays: 10, cooldownDays: 90, trigger: .init(kind: SignalKind.licenseUtilizationHigh)),
        Playbook(
            id: "renewal", title: "Renewal window open",
            steps: ["Review value delivered", "Confirm the decision makers", "Send the renewal proposal"],
            priority: "P2", dueInBusinessDays: 10, trigger: .init(kind: SignalKind.renewalWindowOpened), action: .taskAndOutreach,
            outreach: .init(contentKey: "renewal-reminder", channel: "email", personas: ["sponsor", "admin"])),
        Playbook(
            id: "invoice-overdue", title: "Invoice overdue",
            steps: ["Check with finance", "Ask the sponsor about the payment"],
            priority: "P2", dueInBusinessDays: 3, cooldownDays: 14, trigger: .init(kind: SignalKind.invoiceOverdue),
            action: .outreach, outreach: .init(contentKey: "payment-reminder", channel: "email", personas: ["admin"])),
        Playbook(
            id: "support-escalation", title: "Support ticket escalated",
            steps: ["Read the ticket", "Align with support on the fix", "Update the customer"],
            priority: "P1", dueInBusinessDays: 1, trigger: .init(kind: SignalKind.ticketEscalated)),
        Playbook(
            id: "maturity-review", title: "Multi-year anniversary: refresher and goals review",
            steps: ["Meet the current team (it has likely changed)", "Run a refresher training", "Reset goals for the next years"],
            priority: "P3", dueInBusinessDays: 15, trigger: .init(kind: SignalKind.maturityAnniversary), action: .taskAndOutreach,
            outreach: .init(contentKey: "refresher-training", channel: "email", personas: ["admin", "champion", "end_user"])),
        Playbook(
            id: "advocacy-ask", title: "Happy promoter: ask for a review or referral",
            steps: ["Thank them", "Ask for a review or a reference call"],
            priority: "P4", dueInBusinessDays: 15, cooldownDays: 180,
            trigger: .init(kind: SignalKind.npsPromoter, bands: [.green]), action: .outreach,
            outreach: .init(contentKey: "review-request", channel: "email", personas: ["champion"])),
    ]
}
