import CairnCore

/// One simulated day of an account: what was planned for it, then people coming and going, product usage,
/// support tickets and the routines (licences, invoices, surveys, touchpoints, training).
extension SimulatedAccount {
    mutating func simulate(_ context: DayContext, into out: inout [Emission]) {
        let day = context.index
        if fate == .churns, day > fateDay {
            pending[day] = nil  // a churned customer goes quiet
            return
        }
        if let planned = pending.removeValue(forKey: day) { out.append(contentsOf: planned) }
        guard day >= contractStartDay else { return }
        contactChanges(context, into: &out)
        productUsage(context, into: &out)
        supportTickets(context, into: &out)
        routines(context, into: &out)
    }

    // MARK: People

    /// Key contacts leave now and then, more often around the three-year mark (team changes) and in an account
    /// heading for churn; a successor arrives later (or, for a fading account's champion, sometimes nobody).
    mutating func contactChanges(_ context: DayContext, into out: inout [Emission]) {
        let day = context.index
        let teamChange = abs(day - contractStartDay - 3 * 365) <= 45
        let churnNear = fate == .churns && day >= fateDay - 150
        for index in 0..<users.count where users[index].isPresent(on: day) {
            let persona = users[index].persona
            var hazard = persona.dailyDeparture
            if persona == .admin || persona == .champion || persona == .sponsor {
                if teamChange { hazard *= 8 }
                if churnNear { hazard *= persona == .champion ? 5 : 3 }
                if fate == .expands { hazard *= 0.6 }
            }
            if rng.chance(hazard) { depart(index, on: day, into: &out) }
        }
    }

    mutating func depart(_ index: Int, on day: Int, into out: inout [Emission]) {
        users[index].leftDay = day
        let leaving = users[index]
        out.append(track("contact.left", at: moment(on: day), user: leaving.id, ["role": .string(leaving.persona.role)]))
        let churnNear = fate == .churns && day >= fateDay - 150
        switch leaving.persona {
        case .endUser:
            if rng.chance(0.8) { addUser(.endUser, on: day + rng.int(in: 3...30), announceRole: false) }
        case .incidentUser:
            break
        case .admin:
            addUser(.admin, on: day + rng.int(in: 2...20), announceRole: true)
        case .sponsor:
            addUser(.sponsor, on: day + rng.int(in: 14...60), announceRole: true)
        case .champion:
            if churnNear, rng.chance(0.3) { return }
            let successionDay = day + (churnNear ? rng.int(in: 20...90) : rng.int(in: 7...45))
            let candidates = users.indices.filter { users[$0].persona == .endUser && users[$0].isPresent(on: day) }
            if !candidates.isEmpty, rng.chance(0.4) {
                // An end user steps up: same person, new role.
                let promoted = rng.pick(candidates)
                users[promoted].leftDay = min(users[promoted].leftDay ?? successionDay, successionDay)
                var champion = users[promoted]
                champion.persona = .champion
                champion.joinedDay = successionDay
                champion.leftDay = nil
                users.append(champion)
                let time = moment(on: successionDay)
                plan(identify(champion, at: time))
                plan(track(CanonicalEvent.contactRoleChanged, at: time + 60, user: champion.id, ["role": "champion"]))
            } else {
                addUser(.champion, on: successionDay, announceRole: true)
            }
        }
    }

    // MARK: Usage

    /// Each present person may use the product today; admins and champions often, end users less, sponsors
    /// rarely, incident-driven users only while their ticket is open. Adoption, the fate's trend, the account's
    /// vitality and the day of the week scale it.
    mutating func productUsage(_ context: DayContext, into out: inout [Emission]) {
        let day = context.index
        let adoption = adoption(on: day)
        let trend = trend(on: day)
        let engagement = adoption * trend * vitality * usageScale * context.seasonality
        let catalogue = Vocabulary.features.count
        let breadth = max(2, min(catalogue, Int((Double(catalogue) * min(1, adoption * trend)).rounded())))
        let lastSecond = endOfDay(day)
        for index in users.indices where users[index].isPresent(on: day) {
            let user = users[index]
            var chance = user.persona.dailyUsage * user.activity * engagement
            if user.persona == .incidentUser, user.incidentUntil >= day {
                chance = 0.7 * context.seasonality * usageScale
            }
            guard rng.chance(min(chance, 0.97)) else { continue }
            var time = moment(on: day)
            let count = 1 + (rng.chance(0.3) ? 1 : 0) + (rng.chance(0.08) ? 1 : 0)
            for _ in 0..<count {
                let (event, feature) =
                    user.persona == .admin && rng.chance(0.35)
                    ? rng.pick(Vocabulary.adminFeatures) : Vocabulary.features[featureOrder[rng.int(in: 0...(breadth - 1))]]
                out.append(track(event, at: min(time, lastSecond), user: user.id, ["feature": .string(feature)]))
                time += Int64(rng.int(in: 30...900))
            }
        }
    }

    // MARK: Support

    /// Tickets at the segment's rate, more while onboarding and many more (and more severe) as a churner nears
    /// its date. Opened mostly by incident-driven users, who then use the product until the ticket closes.
    mutating func supportTickets(_ context: DayContext, into out: inout [Emission]) {
        let day = context.index
        let atRisk = fate == .churns && day >= fateDay - 90
        var rate = profile.ticketsPerWeek / 7 * (context.isWeekend ? 0.3 : 1)
        switch fate {
        case .churns: rate *= 1.2 + 1.5 * ramp(day, from: fateDay - 90, over: 90)
        case .expands: rate *= 0.8
        case .renews: break
        }
        if adoption(on: day) < 0.6 { rate *= 1.4 }
        guard rng.chance(rate) else { return }

        let present = users.indices.filter { users[$0].isPresent(on: day) }
        let incident = present.filter { users[$0].persona == .incidentUser }
        let others = present.filter { [.endUser, .admin, .champion].contains(users[$0].persona) }
        let opener: Int
        if !incident.isEmpty, others.isEmpty || rng.chance(0.55) {
            opener = rng.pick(incident)
        } else if !others.isEmpty {
            opener = rng.pick(others)
        } else {
            return
        }
        let priority = rng.weighted([("low", 0.3), ("normal", 0.45), ("high", atRisk ? 0.36 : 0.2), ("urgent", atRisk ? 0.1 : 0.05)])
        ticketCount += 1
        let properties: [String: JSONValue] = ["priority": .string(priority), "ticketId": .string("\(id)-t\(ticketCount)")]
        let user = users[opener].id
        let opened = moment(on: day)
        out.append(track("ticket.opened", at: opened, user: user, properties))

        let hours: ClosedRange<Int> =
            switch priority {
            case "urgent": 2...48
            case "high": 8...96
            case "normal": 24...192
            default: 48...336
            }
        var closed = opened + Int64(rng.int(in: hours) * 3_600 + rng.int(in: 0...3_599))
        let escalation = (priority == "urgent" ? 0.4 : priority == "high" ? 0.15 : 0.04) * (atRisk ? 2 : 1)
        if rng.chance(escalation) {
            let escalated = opened + Int64(rng.int(in: 1...36) * 3_600)
            schedule(track("ticket.escalated", at: escalated, user: user, properties), today: day, into: &out)
            closed = max(closed, escalated + Int64(rng.int(in: 12...120) * 3_600))
        }
        schedule(track("ticket.closed", at: closed, user: user, properties), today: day, into: &out)
        if users[opener].persona == .incidentUser {
            users[opener].incidentUntil = max(users[opener].incidentUntil, dayIndex(of: closed))
        }
    }
}
