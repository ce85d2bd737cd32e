public import Foundation

/// A value with the version that set it: the later `(at, by)` wins a merge, so the result is the same whatever
/// order the events arrive in (`by`, the message id, only breaks ties between events of the same instant).
public struct Stamped<Value: Sendable & Hashable & Codable>: Sendable, Hashable, Codable {
    public var value: Value
    public var at: Date
    public var by: String

    public init(_ value: Value, at: Date, by: String) {
        self.value = value
        self.at = at
        self.by = by
    }

    /// Keeps whichever of the two is newer.
    static func merge(_ current: Stamped?, _ candidate: Stamped) -> Stamped {
        guard let current else { return candidate }
        return (candidate.at, candidate.by) > (current.at, current.by) ? candidate : current
    }
}

/// The first and the last time something happened: both merge by min and max.
public struct Occurrences: Sendable, Hashable, Codable {
    public var first: Date
    public var last: Date

    public init(_ at: Date) {
        first = at
        last = at
    }

    mutating func add(_ at: Date) {
        first = min(first, at)
        last = max(last, at)
    }
}

/// A support ticket as the facts tell it; each time merges by min, so order does not matter.
public struct TicketFact: Sendable, Hashable, Codable {
    public var priority: String?
    public var openedAt: Date?
    public var escalatedAt: Date?
    public var closedAt: Date?

    public var isOpen: Bool { closedAt == nil }
}

/// An invoice: overdue until paid.
public struct InvoiceFact: Sendable, Hashable, Codable {
    public var overdueAt: Date?
    public var paidAt: Date?
    public var daysOverdue: Int = 0

    public var isOverdue: Bool { overdueAt != nil && paidAt == nil }
}

/// Everything Cairn has learned about an account from its events, kept so that merging the same events in any
/// order, with any duplicates, gives the same facts: attributes are last-writer-wins by event time, milestones
/// keep their first and last time, tickets and invoices merge field by field, sets are unions. Bounded: old
/// closed tickets, paid invoices and stale features are dropped when they can no longer matter.
public struct AccountFacts: Sendable, Hashable, Codable {
    public var name: Stamped<String>?
    public var csmId: Stamped<String>?
    public var plan: Stamped<String>?
    public var region: Stamped<String>?
    public var arr: Stamped<Double>?
    public var seats: Stamped<Int>?
    public var renewalDate: Stamped<Date>?
    public var licensesPurchased: Stamped<Int>?
    public var licensesAssigned: Stamped<Int>?
    public var nps: Stamped<Int>?
    /// Canonical milestone events (and `product.first_use`) → first and last time.
    public var milestones: [String: Occurrences] = [:]
    /// Times a contact became champion (the latest few).
    public var championChanges: [Date] = []
    public var tickets: [String: TicketFact] = [:]
    public var invoices: [String: InvoiceFact] = [:]
    public var lastTouchpoint: Date?
    public var lastTraining: Date?
    /// Product feature (usage event name) → last used.
    public var features: [String: Date] = [:]
    /// Ids of signals already raised, with their time, so each is raised once.
    public var raised: [String: Date] = [:]
    /// Health score per day (days since 1970), for trends and drops.
    public var scoreByDay: [Int: Int] = [:]

    public init() {}

    /// Every field is optional in the stored form, so facts written by an older version (or the empty `{}` of a
    /// new account) decode, with the missing parts empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(Stamped<String>.self, forKey: .name)
        csmId = try container.decodeIfPresent(Stamped<String>.self, forKey: .csmId)
        plan = try container.decodeIfPresent(Stamped<String>.self, forKey: .plan)
        region = try container.decodeIfPresent(Stamped<String>.self, forKey: .region)
        arr = try container.decodeIfPresent(Stamped<Double>.self, forKey: .arr)
        seats = try container.decodeIfPresent(Stamped<Int>.self, forKey: .seats)
        renewalDate = try container.decodeIfPresent(Stamped<Date>.self, forKey: .renewalDate)
        licensesPurchased = try container.decodeIfPresent(Stamped<Int>.self, forKey: .licensesPurchased)
        licensesAssigned = try container.decodeIfPresent(Stamped<Int>.self, forKey: .licensesAssigned)
        nps = try container.decodeIfPresent(Stamped<Int>.self, forKey: .nps)
        milestones = try container.decodeIfPresent([String: Occurrences].self, forKey: .milestones) ?? [:]
        championChanges = try container.decodeIfPresent([Date].self, forKey: .championChanges) ?? []
        tickets = try container.decodeIfPresent([String: TicketFact].self, forKey: .tickets) ?? [:]
        invoices = try container.decodeIfPresent([String: InvoiceFact].self, forKey: .invoices) ?? [:]
        lastTouchpoint = try container.decodeIfPresent(Date.self, forKey: .lastTouchpoint)
        lastTraining = try container.decodeIfPresent(Date.self, forKey: .lastTraining)
        features = try container.decodeIfPresent([String: Date].self, forKey: .features) ?? [:]
        raised = try container.decodeIfPresent([String: Date].self, forKey: .raised) ?? [:]
        scoreByDay = try container.decodeIfPresent([Int: Int].self, forKey: .scoreByDay) ?? [:]
    }

    /// Most features, champion changes and days of scores kept.
    static let maxFeatures = 100
    static let maxChampionChanges = 10
    static let scoreDaysKept = 90
    static let derivableSignalKinds = [
        SignalKind.stageEntered, SignalKind.milestoneReached, SignalKind.milestoneMissed, SignalKind.renewalWindowOpened,
        SignalKind.maturityAnniversary, SignalKind.licenseUtilizationHigh, SignalKind.licenseUnderused, SignalKind.championLeft,
    ]
    /// Closed tickets, paid invoices and raised signals older than this are forgotten.
    static let retention: TimeInterval = 400 * 86_400

    /// Folds one event in. `canonical` is its event name after the configured mapping.
    mutating func merge(_ event: AccountEvent, canonical name: String?) {
        let at = event.timestamp
        let by = event.messageId
        if event.type == .group {
            let traits = event.traits
            if let value = text(traits, "name") { self.name = .merge(self.name, Stamped(value, at: at, by: by)) }
            mergeAttributes(traits, at: at, by: by)
            return
        }
        guard event.type == .track, let name else { return }
        let properties = event.properties
        if CanonicalEvent.milestoneStages[name] != nil || name == CanonicalEvent.trainingCompleted {
            milestones[name, default: Occurrences(at)].add(at)
        }
        switch name {
        case CanonicalEvent.contractSigned:
            mergeAttributes(properties, at: at, by: by)
        case CanonicalEvent.expansionSigned:
            if let seats = number(properties, "seats") {
                licensesPurchased = .merge(licensesPurchased, Stamped(Int(seats), at: at, by: by))
            }
        case CanonicalEvent.csmAssigned:
            if let csm = text(properties, "csmId") { csmId = .merge(csmId, Stamped(csm, at: at, by: by)) }
        case CanonicalEvent.licenseUpdated:
            if let purchased = number(properties, "purchased") {
                licensesPurchased = .merge(licensesPurchased, Stamped(Int(purchased), at: at, by: by))
            }
            if let assigned = number(properties, "assigned") {
                licensesAssigned = .merge(licensesAssigned, Stamped(Int(assigned), at: at, by: by))
            }
        case CanonicalEvent.contactRoleChanged:
            if text(properties, "role") == "champion" {
                championChanges = Array(Set(championChanges + [at]).sorted().suffix(Self.maxChampionChanges))
            }
        case CanonicalEvent.ticketOpened, CanonicalEvent.ticketEscalated, CanonicalEvent.ticketClosed:
            let id = text(properties, "ticketId") ?? by
            var ticket = tickets[id] ?? TicketFact()
            if let priority = text(properties, "priority") { ticket.priority = ticket.priority ?? priority }
            switch name {
            case CanonicalEvent.ticketOpened: ticket.openedAt = min(ticket.openedAt ?? at, at)
            case CanonicalEvent.ticketEscalated: ticket.escalatedAt = min(ticket.escalatedAt ?? at, at)
            default: ticket.closedAt = min(ticket.closedAt ?? at, at)
            }
            tickets[id] = ticket
        case CanonicalEvent.npsSubmitted:
            if let score = number(properties, "score") { nps = .merge(nps, Stamped(Int(score), at: at, by: by)) }
        case CanonicalEvent.invoiceOverdue, CanonicalEvent.invoicePaid:
            let id = text(properties, "invoiceId") ?? "default"
            var invoice = invoices[id] ?? InvoiceFact()
            if name == CanonicalEvent.invoicePaid {
                invoice.paidAt = max(invoice.paidAt ?? at, at)
            } else {
                invoice.overdueAt = min(invoice.overdueAt ?? at, at)
                invoice.daysOverdue = max(invoice.daysOverdue, Int(number(properties, "daysOverdue") ?? 1))
            }
            invoices[id] = invoice
        case CanonicalEvent.touchpointLogged:
            lastTouchpoint = max(lastTouchpoint ?? at, at)
        case CanonicalEvent.trainingCompleted:
            lastTraining = max(lastTraining ?? at, at)
        default:
            guard !CanonicalEvent.all.contains(name) else { break }
            // Product usage: the feature is the event name (or its `feature` property).
            let feature = text(properties, "feature") ?? name
            features[feature] = max(features[feature] ?? at, at)
            milestones[Milestone.firstUse, default: Occurrences(at)].add(at)
        }
    }

    private mutating func mergeAttributes(_ object: [String: JSONValue], at: Date, by: String) {
        if let value = text(object, "plan") { plan = .merge(plan, Stamped(value, at: at, by: by)) }
        if let value = text(object, "region") { region = .merge(region, Stamped(value, at: at, by: by)) }
        if let value = number(object, "arr") { arr = .merge(arr, Stamped(value, at: at, by: by)) }
        if let value = number(object, "seats") {
            seats = .merge(seats, Stamped(Int(value), at: at, by: by))
            licensesPurchased = .merge(licensesPurchased, Stamped(Int(value), at: at, by: by))
        }
        if let value = text(object, "renewalDate").flatMap(Timestamp.parse) {
            renewalDate = .merge(renewalDate, Stamped(value, at: at, by: by))
        }
    }

    /// A non-empty text property.
    private func text(_ object: [String: JSONValue], _ key: String) -> String? {
        object[key]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A number property, also when a sender wrote it as text.
    private func number(_ object: [String: JSONValue], _ key: String) -> Double? {
        switch object[key] {
        case .number(let value)?: value
        case .string(let text)?: Double(text)
        default: nil
        }
    }

    /// Drops what can no longer change an evaluation at `now`: closed tickets and paid invoices older than the
    /// retention, the least recently used features beyond the limit, old scores and raised signals.
    mutating func prune(now: Date) {
        let horizon = now.addingTimeInterval(-Self.retention)
        tickets = tickets.filter { ($0.value.closedAt ?? .distantFuture) > horizon }
        invoices = invoices.filter { ($0.value.paidAt ?? .distantFuture) > horizon }
        // Ids that a later evaluation can derive again from the facts (a stage entry, a milestone, a window) are
        // kept for good, so nothing is raised twice; those of single events and moments expire.
        raised = raised.filter { id, at in
            at > horizon || Self.derivableSignalKinds.contains(where: { id.hasPrefix($0 + "/") })
        }
        if features.count > Self.maxFeatures {
            let kept = features.sorted { ($0.value, $0.key) > ($1.value, $1.key) }.prefix(Self.maxFeatures)
            features = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
        }
        let today = Timestamp.epochDay(now)
        scoreByDay = scoreByDay.filter { $0.key > today - Self.scoreDaysKept }
    }

    public var segmentAttributes: SegmentAttributes {
        SegmentAttributes(arr: arr?.value, seats: seats?.value, plan: plan?.value, region: region?.value)
    }

    public var contractSignedAt: Date? { milestones[CanonicalEvent.contractSigned]?.first }
}

extension Timestamp {
    /// Days since 1970-01-01 UTC.
    public static func epochDay(_ date: Date) -> Int {
        Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }
}
