import CairnCore

/// The recurring business of an account: licence snapshots, invoices, NPS surveys, CSM touchpoints and training.
extension SimulatedAccount {
    mutating func routines(_ context: DayContext, into out: inout [Emission]) {
        let day = context.index
        if Self.isCycle(day, phase: licensePhase, every: 30) { out.append(licenseUpdate(on: day)) }
        if Self.isCycle(day, phase: contractStartDay, every: profile.billingInterval) { invoice(on: day) }
        if day >= contractStartDay + 30, Self.isCycle(day, phase: npsPhase, every: 90) { survey(on: day, into: &out) }
        if day >= nextTouchpoint, !context.isWeekend { touchpoint(on: day, into: &out) }
        let trainingRate = (fate == .expands ? 2 : fate == .churns ? 0.3 : 1) / 150.0
        if let onboardingDay, day > onboardingDay, !context.isWeekend, rng.chance(trainingRate),
            let trainee = present(.champion, on: day) ?? present(.admin, on: day)
        {
            out.append(track("training.completed", at: moment(on: day), user: trainee.id, ["kind": "advanced"]))
        }
    }

    static func isCycle(_ day: Int, phase: Int, every interval: Int) -> Bool {
        ((day - phase) % interval + interval) % interval == 0
    }

    /// An invoice for the billing interval, due in 30 days: mostly paid on time; sometimes overdue (more so for a
    /// churner near its date), reminded at 7 and 30 days, and paid late or not at all.
    mutating func invoice(on day: Int) {
        invoiceCount += 1
        let amount = arr(on: day) * profile.billingInterval / 365
        let base: [String: JSONValue] = [
            "invoiceId": .string("\(id)-i\(invoiceCount)"), "amount": .number(Double(amount)), "currency": "USD",
        ]
        let due = day + 30
        let overdueChance =
            switch fate {
            case .renews: 0.06
            case .expands: 0.03
            case .churns: day >= fateDay - 90 ? 0.35 : 0.12
            }
        guard rng.chance(overdueChance) else {
            plan(track("invoice.paid", at: moment(on: due - rng.int(in: 0...25)), base))
            return
        }
        plan(track("invoice.overdue", at: moment(on: due + 7), base.merging(["daysOverdue": 7]) { $1 }))
        if rng.chance(0.6) {
            plan(track("invoice.paid", at: moment(on: due + rng.int(in: 8...29)), base))
            return
        }
        plan(track("invoice.overdue", at: moment(on: due + 30), base.merging(["daysOverdue": 30]) { $1 }))
        if rng.chance(fate == .churns ? 0.4 : 0.75) {
            plan(track("invoice.paid", at: moment(on: due + rng.int(in: 31...60)), base))
        }
    }

    /// A quarterly NPS survey: some people answer within a week; promoters of healthy accounts sometimes refer
    /// others or post a review.
    mutating func survey(on day: Int, into out: inout [Emission]) {
        surveyCount += 1
        let surveyId = JSONValue.string("\(id)-s\(surveyCount)")
        for index in users.indices where users[index].isPresent(on: day) {
            let user = users[index]
            let answers: Double =
                switch user.persona {
                case .admin: 0.45
                case .champion: 0.5
                case .sponsor: 0.3
                case .endUser: 0.2
                case .incidentUser: 0
                }
            guard rng.chance(answers) else { continue }
            let score = npsScore(on: day)
            let answered = day + rng.int(in: 0...6)
            schedule(
                track("nps.submitted", at: moment(on: answered), user: user.id, ["score": .number(Double(score)), "surveyId": surveyId]),
                today: day, into: &out)
            guard score >= 9, fate != .churns else { continue }
            if rng.chance(0.1) {
                plan(track(CanonicalEvent.referralMade, at: moment(on: answered + rng.int(in: 3...30)), user: user.id))
            }
            if rng.chance(0.15) {
                let platform = rng.pick(["G2", "Capterra", "TrustRadius"])
                plan(
                    track(
                        CanonicalEvent.reviewPosted, at: moment(on: answered + rng.int(in: 2...20)), user: user.id,
                        ["platform": .string(platform)]))
            }
        }
    }

    /// Detractors are likelier as a churner nears its date, promoters among expanders.
    mutating func npsScore(on day: Int) -> Int {
        var mean =
            switch fate {
            case .renews: 7.6
            case .expands: 8.7
            case .churns: day >= fateDay - 120 ? 4.3 : 6.3
            }
        if let dip, dip.contains(day) { mean -= 1.5 }
        return min(10, max(0, Int(rng.normal(mean: mean, deviation: 1.9).rounded())))
    }

    /// CSM contact on the segment's rhythm (emails from the pooled team for tech-touch accounts).
    mutating func touchpoint(on day: Int, into out: inout [Emission]) {
        let contact = present(.champion, on: day) ?? present(.admin, on: day) ?? present(.sponsor, on: day)
        var properties: [String: JSONValue] = [:]
        if let csmId {
            properties["csmId"] = .string(csmId)
            properties["channel"] = .string(
                rng.weighted([("call", 0.4), ("meeting", 0.3), ("email", 0.25), ("qbr", segment == .enterprise ? 0.1 : 0.02)]))
        } else {
            properties["channel"] = "email"
        }
        out.append(track("touchpoint.logged", at: moment(on: day), user: contact?.id, properties))
        nextTouchpoint = day + rng.int(in: profile.touchpointInterval)
    }
}
