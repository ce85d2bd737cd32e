/// The statistics behind `Evaluation`, exposed so they can be checked against hand-worked examples.
public enum EvaluationMath {
    /// The area under the ROC curve of `scores` (higher = more likely positive) against `positives`: the chance that
    /// a random positive scores above a random negative, ties counting one half (the Mann–Whitney U statistic
    /// divided by the number of positive–negative pairs, with average ranks for tied scores).
    ///
    /// 1 is a perfect ranking, 0.5 no better than chance (or all scores tied), 0 perfectly inverted. Pairs with a
    /// non-finite score are left out; nil when no positive or no negative remains.
    public static func rocAUC(scores: [Double], positives: [Bool]) -> Double? {
        precondition(scores.count == positives.count, "one label per score")
        let kept = scores.indices.filter { scores[$0].isFinite }
        let positiveCount = kept.count { positives[$0] }
        let negativeCount = kept.count - positiveCount
        guard positiveCount > 0, negativeCount > 0 else { return nil }

        let order = kept.sorted { scores[$0] < scores[$1] }
        var positiveRankSum = 0.0
        var first = 0
        while first < order.count {
            var last = first
            while last + 1 < order.count, scores[order[last + 1]] == scores[order[first]] { last += 1 }
            // Ranks are 1-based; a run of ties shares the mean of the ranks it spans.
            let rank = Double(first + last + 2) / 2
            for position in first...last where positives[order[position]] { positiveRankSum += rank }
            first = last + 1
        }
        let u = positiveRankSum - Double(positiveCount) * Double(positiveCount + 1) / 2
        return u / (Double(positiveCount) * Double(negativeCount))
    }

    /// The median (the mean of the middle two for an even count); nil for no values.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
