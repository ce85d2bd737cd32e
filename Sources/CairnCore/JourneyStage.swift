/// Where an account is in its customer journey. The raw value is what the contract and the database use.
public enum JourneyStage: String, Sendable, Hashable, Codable, CaseIterable {
    case awareness, lead, purchase, kickoff, onboarding, adoption, retention, expansion, advocacy
    case atRisk = "at_risk"
    case churned

    /// Position along the main path; at-risk and churned stand beside it.
    public var rank: Int {
        switch self {
        case .awareness: 0
        case .lead: 1
        case .purchase: 2
        case .kickoff: 3
        case .onboarding: 4
        case .adoption: 5
        case .retention: 6
        case .expansion: 7
        case .advocacy: 8
        case .atRisk: 9
        case .churned: 10
        }
    }
}

/// Canonical business events (CONTRACT.md) that the engine understands.
public enum CanonicalEvent {
    public static let contractSigned = "contract.signed"
    public static let kickoffCompleted = "kickoff.completed"
    public static let welcomeSent = "welcome.sent"
    public static let implementationCompleted = "implementation.completed"
    public static let onboardingCompleted = "onboarding.completed"
    public static let renewalSigned = "renewal.signed"
    public static let expansionSigned = "expansion.signed"
    public static let contractChurned = "contract.churned"
    public static let referralMade = "referral.made"
    public static let reviewPosted = "review.posted"
    public static let contactRoleChanged = "contact.role_changed"
    public static let csmAssigned = "csm.assigned"
    public static let trainingCompleted = "training.completed"
    public static let licenseUpdated = "license.updated"
    public static let contactLeft = "contact.left"
    public static let ticketOpened = "ticket.opened"
    public static let ticketEscalated = "ticket.escalated"
    public static let ticketClosed = "ticket.closed"
    public static let npsSubmitted = "nps.submitted"
    public static let invoicePaid = "invoice.paid"
    public static let invoiceOverdue = "invoice.overdue"
    public static let touchpointLogged = "touchpoint.logged"

    /// The milestone events and the stage each one marks as reached.
    public static let milestoneStages: [String: JourneyStage] = [
        contractSigned: .purchase,
        kickoffCompleted: .kickoff,
        welcomeSent: .onboarding,
        implementationCompleted: .onboarding,
        onboardingCompleted: .adoption,
        renewalSigned: .retention,
        expansionSigned: .expansion,
        referralMade: .advocacy,
        reviewPosted: .advocacy,
        contractChurned: .churned,
    ]
}

extension CanonicalEvent {
    public static let all: Set<String> = Set(milestoneStages.keys).union([
        contactRoleChanged, csmAssigned, trainingCompleted, licenseUpdated, contactLeft, ticketOpened, ticketEscalated,
        ticketClosed, npsSubmitted, invoicePaid, invoiceOverdue, touchpointLogged,
    ])
}
