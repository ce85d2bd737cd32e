import CairnCore

/// What is known about an account from the start: its people, its contract history, its onboarding milestones and
/// the events its fate brings. Decided once, filed under their days.
extension SimulatedAccount {
    mutating func planLifecycle() {
        let start = contractStartDay
        let signed = moment(on: start)
        drawPeople()

        // The account and its people: a new customer at signing, an existing one as a snapshot at the start.
        plan(group(at: start >= 0 ? signed + 60 : startSecond + 30, seats: initialSeats, arr: initialARR))
        for (position, user) in users.enumerated() {
            let time: Int64
            if user.joinedDay == start, start >= 0 {
                time = signed + 120 + Int64(position)
            } else if user.joinedDay <= 0 {
                time = startSecond + 60 + Int64(position)
            } else {
                time = moment(on: user.joinedDay)
            }
            plan(identify(user, at: time))
        }

        // The contract, and the renewals before the period (history, sent with day 0).
        plan(
            track(
                CanonicalEvent.contractSigned, at: signed,
                [
                    "plan": .string(plan), "seats": .number(Double(initialSeats)), "arr": .number(Double(initialARR)),
                    "renewalDate": .string(isoDay(start + termDays)),
                ]))
        var renewal = start + termDays
        while renewal < firstRenewalDay {
            plan(renewalSigned(renewal))
            renewal += termDays
        }
        if let csmId {
            plan(track(CanonicalEvent.csmAssigned, at: moment(on: start + 1), ["csmId": .string(csmId)]))
        }

        // Invoices issued in the two months before the period, so their payments and reminders fall in it.
        let interval = profile.billingInterval
        let firstIssue = max(start, -60)
        var issue = start + (firstIssue - start + interval - 1) / interval * interval
        while issue < 0 {
            invoice(on: issue)
            issue += interval
        }

        // Onboarding milestones and the trainings that go with them.
        for (name, day) in milestones {
            plan(track(name, at: moment(on: day)))
            if name == CanonicalEvent.implementationCompleted, let admin = users.first(where: { $0.persona == .admin }) {
                plan(track("training.completed", at: moment(on: day - rng.int(in: 0...5)), user: admin.id, ["kind": "admin"]))
            }
            if name == CanonicalEvent.onboardingCompleted, let champion = users.first(where: { $0.persona == .champion }) {
                plan(
                    track("training.completed", at: moment(on: day + rng.int(in: -3...7)), user: champion.id, ["kind": "end_user"]))
            }
        }

        // Renewals in the period (a churner's contract ends at its churn date).
        while renewal < days, !(fate == .churns && renewal >= fateDay) {
            plan(renewalSigned(renewal))
            renewal += termDays
        }

        switch fate {
        case .churns:
            let reason = rng.weighted(Vocabulary.churnReasons)
            plan(track(CanonicalEvent.contractChurned, at: moment(on: fateDay), ["reason": .string(reason)]))
        case .expands:
            if let csmId, fateDay - 10 >= max(0, start) {
                let day = max(max(0, start), fateDay - rng.int(in: 10...30))
                plan(track("touchpoint.logged", at: moment(on: day), ["channel": "meeting", "csmId": .string(csmId)]))
            }
            let signedAt = moment(on: fateDay)
            plan(
                track(
                    CanonicalEvent.expansionSigned, at: signedAt,
                    ["seats": .number(Double(addedSeats)), "arr": .number(Double(addedARR))]))
            plan(group(at: signedAt + 60, seats: seats(on: fateDay), arr: arr(on: fateDay)))
            plan(licenseUpdate(on: fateDay + 1))
            for _ in 0..<rng.int(in: 1...3) {
                addUser(.endUser, on: fateDay + rng.int(in: 3...30), announceRole: false)
            }
        case .renews:
            break
        }
    }

    /// `renewal.signed` for the renewal due on `day`, signed up to two weeks early.
    mutating func renewalSigned(_ day: Int) -> Emission {
        let signedDay = max(contractStartDay + 1, day - rng.int(in: 0...14))
        return track(
            CanonicalEvent.renewalSigned, at: moment(on: signedDay),
            ["renewalDate": .string(isoDay(day + termDays)), "arr": .number(Double(arr(on: day)))])
    }

    mutating func licenseUpdate(on day: Int) -> Emission {
        let purchased = seats(on: day)
        let assigned = Int((Double(purchased) * utilisation(on: day)).rounded())
        return track(
            "license.updated", at: moment(on: day), ["purchased": .number(Double(purchased)), "assigned": .number(Double(assigned))])
    }

    /// The people simulated for the account: a sample of its seats in every persona. Existing customers' people are
    /// there from the start; a new customer's admins, champion and sponsor arrive at signing, its end users during
    /// onboarding (fewer when onboarding stalls).
    mutating func drawPeople() {
        let start = contractStartDay
        let onboarded = onboardingDay ?? (start + 120)
        let kickoff = milestones.first?.day ?? (start + 30)
        for _ in 0..<rng.int(in: profile.admins) {
            appendUser(.admin, joinedDay: start)
        }
        appendUser(.champion, joinedDay: start)
        appendUser(.sponsor, joinedDay: start)
        let endUsers = min(rng.int(in: profile.endUsers), max(1, initialSeats - users.count))
        for _ in 0..<endUsers where onboardingDay != nil || rng.chance(0.4) {
            appendUser(.endUser, joinedDay: start < -365 ? start : rng.int(in: kickoff...max(kickoff, onboarded + 30)))
        }
        for _ in 0..<rng.int(in: profile.incidentUsers) {
            appendUser(.incidentUser, joinedDay: start < -365 ? start : rng.int(in: kickoff...max(kickoff, onboarded + 60)))
        }
    }

    @discardableResult
    mutating func appendUser(_ persona: Persona, joinedDay: Int) -> SimulatedUser {
        userCount += 1
        let first = rng.pick(Vocabulary.firstNames)
        let last = rng.pick(Vocabulary.lastNames)
        let user = SimulatedUser(
            id: "\(id)-u\(userCount)", persona: persona, name: "\(first) \(last)",
            email: "\(first.lowercased()).\(last.lowercased())\(userCount)@\(domain)", joinedDay: joinedDay,
            activity: rng.logNormal(median: 1, sigma: 0.3))
        users.append(user)
        return user
    }

    /// A person joining later: their `identify` call, and for a key role `contact.role_changed` (which starts the
    /// new-key-contact playbook).
    mutating func addUser(_ persona: Persona, on day: Int, announceRole: Bool) {
        let user = appendUser(persona, joinedDay: day)
        let time = moment(on: day)
        plan(identify(user, at: time))
        if announceRole {
            plan(track(CanonicalEvent.contactRoleChanged, at: time + 60, user: user.id, ["role": .string(persona.role)]))
        }
    }
}
