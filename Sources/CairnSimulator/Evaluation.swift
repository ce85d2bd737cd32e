public import CairnCore
public import Foundation

/// Cairn's view of one account at evaluation time, to be judged against the ground truth.
public struct AccountObservation: Sendable, Hashable {
    public var accountId: String
    /// Health score, 0–100, higher is healthier.
    public var score: Double
    public var band: HealthBand
    /// When Cairn first flagged the account at risk (band red or stage at-risk), if it ever did.
    public var firstFlaggedAt: Date?

    public init(accountId: String, score: Double, band: HealthBand, firstFlaggedAt: Date? = nil) {
        self.accountId = accountId
        self.score = score
        self.band = band
        self.firstFlaggedAt = firstFlaggedAt
    }
}

/// How well health and at-risk flags predicted the simulated accounts' fates.
///
/// Accounts are those of the ground truth that have an observation. Churn is `fate == .churns`, expansion
/// `fate == .expands`. A flag counts as a prediction of churn only if it came before the churn date: a churner
/// flagged on or after it is a late flag, neither a true nor a false positive; any flag on an account that does
/// not churn is a false positive. Scores should be taken before the outcomes they are judged against (a score
/// read after a churn mostly measures that Cairn saw the churn).
public struct Evaluation: Sendable, Hashable {
    public struct BandRow: Sendable, Hashable {
        public var band: HealthBand
        public var accounts: Int
        public var churned: Int
        public var expanded: Int

        /// Share of the band's accounts that churned; nil for an empty band.
        public var churnRate: Double? { accounts > 0 ? Double(churned) / Double(accounts) : nil }
        public var expansionRate: Double? { accounts > 0 ? Double(expanded) / Double(accounts) : nil }

        public init(band: HealthBand, accounts: Int, churned: Int, expanded: Int) {
            self.band = band
            self.accounts = accounts
            self.churned = churned
            self.expanded = expanded
        }
    }

    /// Accounts evaluated (in the ground truth and observed).
    public var accounts: Int
    /// Ground-truth accounts with no observation, and observations of accounts not in the ground truth.
    public var unobserved: Int
    public var unmatchedObservations: Int
    public var churned: Int
    public var expanded: Int
    /// Green, yellow, red, in that order.
    public var bands: [BandRow]
    /// ROC AUC of `100 - score` predicting churn, and of `score` predicting expansion; nil without both classes.
    public var churnAUC: Double?
    public var expansionAUC: Double?
    /// Accounts flagged at risk, less churners flagged only late.
    public var flagged: Int
    /// Churners flagged before their churn date.
    public var truePositives: Int
    /// Churners first flagged on or after their churn date.
    public var lateFlags: Int
    /// Days from the first flag to the churn date, over the true positives.
    public var medianLeadTimeDays: Double?

    /// Share of flags that were churners flagged in time; nil without flags.
    public var precision: Double? { flagged > 0 ? Double(truePositives) / Double(flagged) : nil }
    /// Share of churners flagged in time; nil without churners.
    public var recall: Double? { churned > 0 ? Double(truePositives) / Double(churned) : nil }

    /// Scores `observations` against `truth`. If an account is observed twice, the last observation counts.
    public init(truth: GroundTruth, observations: [AccountObservation]) {
        let observed = Dictionary(observations.map { ($0.accountId, $0) }, uniquingKeysWith: { _, last in last })
        let known = Set(truth.accounts.map(\.accountId))
        unmatchedObservations = observed.keys.count { !known.contains($0) }

        var rows = HealthBand.allCases.map { BandRow(band: $0, accounts: 0, churned: 0, expanded: 0) }
        var scores: [Double] = []
        var churns: [Bool] = []
        var expands: [Bool] = []
        var leadTimes: [Double] = []
        var flagged = 0
        var truePositives = 0
        var lateFlags = 0
        var unobserved = 0
        for account in truth.accounts {
            guard let observation = observed[account.accountId] else {
                unobserved += 1
                continue
            }
            let churn = account.fate == .churns
            let expansion = account.fate == .expands
            let row = HealthBand.allCases.firstIndex(of: observation.band)!
            rows[row].accounts += 1
            if churn { rows[row].churned += 1 }
            if expansion { rows[row].expanded += 1 }
            scores.append(observation.score)
            churns.append(churn)
            expands.append(expansion)

            guard let flaggedAt = observation.firstFlaggedAt else { continue }
            if !churn {
                flagged += 1
            } else if flaggedAt < account.fateDate {
                flagged += 1
                truePositives += 1
                leadTimes.append(account.fateDate.timeIntervalSince(flaggedAt) / 86_400)
            } else {
                lateFlags += 1
            }
        }
        accounts = scores.count
        self.unobserved = unobserved
        churned = churns.count { $0 }
        expanded = expands.count { $0 }
        bands = rows
        churnAUC = EvaluationMath.rocAUC(scores: scores.map { 100 - $0 }, positives: churns)
        expansionAUC = EvaluationMath.rocAUC(scores: scores, positives: expands)
        self.flagged = flagged
        self.truePositives = truePositives
        self.lateFlags = lateFlags
        medianLeadTimeDays = EvaluationMath.median(leadTimes)
    }
}
