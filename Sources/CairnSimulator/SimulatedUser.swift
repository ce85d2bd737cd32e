/// The kinds of people the simulator plays. Incident-driven end users identify as `end_user` like the others but
/// only use the product around their support tickets.
enum Persona: Sendable, Hashable {
    case admin, champion, sponsor, endUser, incidentUser

    /// `traits.role` of the person's `identify` call.
    var role: String {
        switch self {
        case .admin: "admin"
        case .champion: "champion"
        case .sponsor: "sponsor"
        case .endUser, .incidentUser: "end_user"
        }
    }

    /// Chance of using the product on an ordinary weekday at full adoption.
    var dailyUsage: Double {
        switch self {
        case .admin: 0.55
        case .champion: 0.65
        case .sponsor: 0.05
        case .endUser: 0.25
        case .incidentUser: 0.01
        }
    }

    /// Chance per day of leaving the customer, before the account's circumstances multiply it.
    var dailyDeparture: Double {
        switch self {
        case .admin: 1.0 / 1_100
        case .champion: 1.0 / 900
        case .sponsor: 1.0 / 1_400
        case .endUser: 1.0 / 1_200
        case .incidentUser: 0
        }
    }
}

/// One simulated person in one role. A person who takes a new role (an end user promoted to champion) gets a
/// second record with the same id, starting when the first ends.
struct SimulatedUser: Sendable {
    var id: String
    var persona: Persona
    var name: String
    var email: String
    /// First day present (relative to the start of the period; negative before it).
    var joinedDay: Int
    /// First day no longer present in this role.
    var leftDay: Int?
    /// Personal propensity to use the product (lognormal around 1).
    var activity: Double
    /// Incident-driven users are active through this day, around a ticket they opened.
    var incidentUntil = Int.min

    func isPresent(on day: Int) -> Bool {
        joinedDay <= day && (leftDay.map { day < $0 } ?? true)
    }
}
