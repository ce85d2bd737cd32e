import CairnCore
import Foundation

/// One simulated customer: its profile, its hidden fate, and the state its day-by-day behaviour needs.
///
/// Each account draws from its own random stream (the seed and the account's index), so accounts are
/// independent of each other and of the order they are simulated in. Days are counted from the start of the
/// period; negative days lie before it.
struct SimulatedAccount: Sendable {
    let index: Int
    let id: String
    let name: String
    let domain: String
    let segment: CustomerSegment
    let profile: SegmentProfile
    let plan: String
    let region: Vocabulary.Region
    let industry: String
    let initialSeats: Int
    let initialARR: Int
    let contractStartDay: Int
    let termDays: Int
    /// The first renewal on or after the start of the period (for a new customer, its first renewal).
    let firstRenewalDay: Int
    let fate: Fate
    let fateDay: Int
    let csmId: String?

    let days: Int
    let startSecond: Int64
    let usageScale: Double
    /// The account's own propensity to use the product (lognormal around 1).
    let vitality: Double
    /// A churner whose usage does not decay (it leaves for budget or strategy): noise for the health model.
    let silentChurner: Bool
    /// Churners: the day usage starts to decay towards the churn date.
    let decayStart: Int
    /// A temporary dip in usage for some healthy accounts: noise for the health model.
    let dip: Range<Int>?
    let utilisationBase: Double
    /// Onboarding milestones reached, with their days; the day onboarding completed, if it does.
    let milestones: [(name: String, day: Int)]
    let onboardingDay: Int?
    let addedSeats: Int
    let addedARR: Int
    /// The order in which the account adopts the features of `Vocabulary.features`.
    let featureOrder: [Int]
    let npsPhase: Int
    let licensePhase: Int

    var rng: SimulationRandom
    var users: [SimulatedUser] = []
    var userCount = 0
    /// Events decided on earlier, by the day they fall on (events before the period under day 0).
    var pending: [Int: [Emission]] = [:]
    var nextTouchpoint: Int
    var ticketCount = 0
    var invoiceCount = 0
    var surveyCount = 0

    init(index: Int, configuration: SimulationConfiguration) {
        var rng = SimulationRandom(seed: configuration.seed, stream: UInt64(index))
        let segment = rng.weighted(CustomerSegment.allCases.map { ($0, configuration.segmentMix[$0] ?? 0) })
        let profile = SegmentProfile.of(segment)
        self.index = index
        self.segment = segment
        self.profile = profile
        days = configuration.days
        startSecond = Int64(CivilDate(configuration.start).epochDay) * 86_400
        usageScale = configuration.usageScale
        let number = String(index + 1)
        id = "s\(configuration.seed)-acct\(String(repeating: "0", count: max(0, 5 - number.count)))\(number)"

        let first = rng.pick(Vocabulary.companyFirst)
        let second = rng.pick(Vocabulary.companySecond)
        name = "\(first)\(second) \(rng.pick(Vocabulary.companySuffix))"
        domain = "\(first.lowercased())\(second).example"
        plan = rng.weighted(profile.plans)
        region = rng.weighted(Vocabulary.regions)
        industry = rng.pick(Vocabulary.industries)

        let seats = min(
            max(Int(rng.logNormal(median: profile.seatsMedian, sigma: profile.seatsSigma).rounded()), profile.seatsRange.lowerBound),
            profile.seatsRange.upperBound)
        let listPrice = Double(seats) * profile.pricePerSeat * rng.logNormal(median: 1, sigma: 0.15)
        initialSeats = seats
        initialARR = min(max(Int((listPrice / 100).rounded()) * 100, profile.arrRange.lowerBound), profile.arrRange.upperBound)

        // Most customers signed before the period (tenure roughly exponential, mean about two years); some sign in it.
        let termDays = 365 * rng.weighted(profile.termsYears)
        self.termDays = termDays
        let contractStartDay: Int
        if rng.chance(configuration.newCustomerShare) {
            contractStartDay = rng.int(in: 0...(days - 1))
        } else {
            contractStartDay = -min(30 + Int(-log(1 - rng.unit()) * 700), 8 * 365)
        }
        self.contractStartDay = contractStartDay
        let firstRenewalDay =
            contractStartDay >= 0
            ? contractStartDay + termDays
            : contractStartDay + max(1, (-contractStartDay + termDays - 1) / termDays) * termDays
        self.firstRenewalDay = firstRenewalDay

        // The fate. Churn and expansion happen inside the period, late enough to leave a trail of behaviour, and
        // as often as the segment's half-year rates make them for a period of this length (up to a year).
        let lastDay = days - 1
        let horizon = Double(min(days, 365)) / 180
        let churnChance = profile.churnChance * horizon
        let expansionChance = profile.expansionChance * horizon
        let earliestChurn = contractStartDay >= 0 ? contractStartDay + 45 : max(days / 4, 1)
        let earliestExpansion = contractStartDay >= 0 ? contractStartDay + 60 : max(days / 5, 1)
        let draw = rng.unit()
        if draw < churnChance, earliestChurn <= lastDay {
            fate = .churns
            fateDay = (earliestChurn...lastDay).contains(firstRenewalDay) ? firstRenewalDay : rng.int(in: earliestChurn...lastDay)
        } else if draw < churnChance + expansionChance, earliestExpansion <= lastDay {
            fate = .expands
            fateDay = rng.int(in: earliestExpansion...lastDay)
        } else {
            fate = .renews
            fateDay = firstRenewalDay
        }
        csmId = profile.highTouch ? configuration.csmRoster[index % configuration.csmRoster.count] : nil

        vitality = rng.logNormal(median: 1, sigma: 0.25)
        silentChurner = fate == .churns && rng.chance(0.12)
        decayStart = fateDay - rng.int(in: 60...150)
        if fate != .churns, rng.chance(fate == .renews ? 0.15 : 0.05) {
            let dipStart = rng.int(in: -20...lastDay)
            dip = dipStart..<(dipStart + rng.int(in: 14...40))
        } else {
            dip = nil
        }
        utilisationBase =
            switch fate {
            case .renews: rng.uniform(0.6, 0.88)
            case .expands: rng.uniform(0.82, 0.95)
            case .churns: rng.uniform(0.5, 0.8)
            }

        // Onboarding at the segment's speed; some are late, and recently signed accounts may stall for good.
        let late = rng.chance(fate == .churns ? 0.4 : 0.2) ? rng.uniform(1.5, 2.5) : 1
        let kickoff = contractStartDay + rng.int(in: profile.kickoffDelay)
        let welcome = kickoff + rng.int(in: 0...2)
        let implementation = kickoff + Int(Double(rng.int(in: profile.implementationDelay)) * late)
        let onboarding = implementation + Int(Double(rng.int(in: profile.onboardingDelay)) * late)
        let stallChance = contractStartDay > -240 ? min(0.6, profile.stallChance * (fate == .churns ? 2.5 : 1)) : 0
        let reached = rng.chance(stallChance) ? rng.weighted([(1, 0.15), (2, 0.45), (3, 0.4)]) : 4
        let all = [
            (CanonicalEvent.kickoffCompleted, kickoff), (CanonicalEvent.welcomeSent, welcome),
            (CanonicalEvent.implementationCompleted, implementation), (CanonicalEvent.onboardingCompleted, onboarding),
        ]
        milestones = Array(all.prefix(reached == 1 ? 0 : reached == 2 ? 2 : reached == 3 ? 3 : 4))
        onboardingDay = reached == 4 ? onboarding : nil

        addedSeats = fate == .expands ? max(2, Int(Double(seats) * rng.uniform(0.1, 0.5))) : 0
        addedARR = Int((Double(addedSeats) * Double(initialARR) / Double(seats) / 100).rounded()) * 100
        var order = Array(Vocabulary.features.indices)
        for position in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(position, rng.int(in: 0...position))
        }
        featureOrder = order
        npsPhase = rng.int(in: 0...89)
        licensePhase = rng.int(in: 0...29)
        nextTouchpoint = contractStartDay + rng.int(in: 0...profile.touchpointInterval.upperBound)
        self.rng = rng

        planLifecycle()
    }

    /// The account as the ground truth records it.
    var truth: AccountTruth {
        AccountTruth(
            accountId: id, name: name, segment: segment, arr: initialARR, seats: initialSeats,
            contractStart: date(of: contractStartDay), renewalDate: date(of: firstRenewalDay), fate: fate,
            fateDate: date(of: fateDay), csmId: csmId)
    }

    // MARK: Time

    func date(of day: Int) -> Date {
        Date(timeIntervalSince1970: Double(startSecond + Int64(day) * 86_400))
    }

    func isoDay(_ day: Int) -> String {
        CivilDate(epochDay: Int(startSecond / 86_400) + day).iso
    }

    func dayIndex(of time: Int64) -> Int {
        let offset = time - startSecond
        return Int(offset >= 0 ? offset / 86_400 : (offset - 86_399) / 86_400)
    }

    /// A moment during business hours of the account's region on `day` (kept within that UTC day).
    mutating func moment(on day: Int) -> Int64 {
        let localHour = min(max(rng.normal(mean: 13, deviation: 2.5), 7), 21)
        let second = ((Int(localHour * 3_600) - region.utcOffset * 3_600) % 86_400 + 86_400) % 86_400
        return startSecond + Int64(day) * 86_400 + Int64(second)
    }

    /// The last second of `day`.
    func endOfDay(_ day: Int) -> Int64 {
        startSecond + Int64(day + 1) * 86_400 - 1
    }

    // MARK: Scheduling

    /// Files an event under the day it falls on; events before the period go out with day 0.
    mutating func plan(_ emission: Emission) {
        pending[max(0, dayIndex(of: emission.time)), default: []].append(emission)
    }

    /// During day `today`: emits an event of today now, and files a later one.
    mutating func schedule(_ emission: Emission, today: Int, into out: inout [Emission]) {
        if dayIndex(of: emission.time) <= today {
            out.append(emission)
        } else {
            plan(emission)
        }
    }

    // MARK: Events

    func track(_ name: String, at time: Int64, user: String? = nil, _ properties: [String: JSONValue] = [:]) -> Emission {
        Emission(time: time, type: .track, name: name, accountId: id, userId: user, properties: properties)
    }

    func identify(_ user: SimulatedUser, at time: Int64) -> Emission {
        Emission(
            time: time, type: .identify, accountId: id, userId: user.id,
            traits: [
                "role": .string(user.persona.role), "accountId": .string(id), "name": .string(user.name),
                "email": .string(user.email),
            ])
    }

    func group(at time: Int64, seats: Int, arr: Int) -> Emission {
        Emission(
            time: time, type: .group, accountId: id, userId: users.first?.id,
            traits: [
                "name": .string(name), "plan": .string(plan), "region": .string(region.name), "industry": .string(industry),
                "seats": .number(Double(seats)), "arr": .number(Double(arr)),
            ])
    }

    // MARK: Curves

    func seats(on day: Int) -> Int {
        initialSeats + (fate == .expands && day >= fateDay ? addedSeats : 0)
    }

    func arr(on day: Int) -> Int {
        initialARR + (fate == .expands && day >= fateDay ? addedARR : 0)
    }

    /// How far the account has adopted the product: low at signing, full a little after onboarding; a stalled
    /// account stays low.
    func adoption(on day: Int) -> Double {
        let tenure = Double(day - contractStartDay)
        guard let onboardingDay else { return 0.15 + 0.25 * min(1, tenure / 90) }
        return 0.15 + 0.85 * min(1, tenure / Double(onboardingDay - contractStartDay + 14))
    }

    /// What the fate does to engagement on `day`: churners fade towards their date, expanders grow before theirs.
    func trend(on day: Int) -> Double {
        var factor = 1.0
        switch fate {
        case .churns:
            if silentChurner {
                factor = 0.9
            } else if day >= decayStart {
                factor = 1 - 0.75 * min(1, Double(day - decayStart) / Double(max(1, fateDay - decayStart)))
            }
        case .expands:
            factor = 1 + 0.3 * ramp(day, from: fateDay - 90, over: 90)
        case .renews:
            break
        }
        if let dip, dip.contains(day) { factor *= 0.45 }
        return factor
    }

    /// Share of purchased seats assigned on `day`.
    func utilisation(on day: Int) -> Double {
        var share = utilisationBase * (0.35 + 0.65 * adoption(on: day))
        switch fate {
        case .churns where !silentChurner && day >= decayStart:
            share *= 1 - 0.4 * min(1, Double(day - decayStart) / Double(max(1, fateDay - decayStart)))
        case .expands:
            share =
                day < fateDay
                ? share * (1 + 0.12 * ramp(day, from: fateDay - 90, over: 90)) : 0.8 + 0.15 * ramp(day, from: fateDay, over: 45)
        default:
            break
        }
        return min(share, 1)
    }

    /// 0 before `start`, rising linearly to 1 over `length` days.
    func ramp(_ day: Int, from start: Int, over length: Int) -> Double {
        min(1, max(0, Double(day - start) / Double(length)))
    }

    /// The present holder of a role, if any.
    func present(_ persona: Persona, on day: Int) -> SimulatedUser? {
        users.first { $0.persona == persona && $0.isPresent(on: day) }
    }
}
