public import CairnCore
import Foundation

/// The evaluation as a text table for people and as JSON for comparing runs.
extension Evaluation {
    /// An aligned plain-text table: churn and expansion per band, then the churn and expansion predictions.
    public func table() -> String {
        var rows = [["band", "accounts", "churned", "churn rate", "expanded", "expansion rate"]]
        for row in bands {
            rows.append([
                row.band.rawValue, String(row.accounts), String(row.churned), Self.percent(row.churnRate), String(row.expanded),
                Self.percent(row.expansionRate),
            ])
        }
        let all = BandRow(band: .green, accounts: accounts, churned: churned, expanded: expanded)
        rows.append([
            "all", String(accounts), String(churned), Self.percent(all.churnRate), String(expanded), Self.percent(all.expansionRate),
        ])
        var text = Self.align(rows, leftColumns: 1)

        let lead = medianLeadTimeDays.map { String(format: "%.1f days", $0) } ?? "n/a"
        text += "\n"
        text += Self.align(
            [
                ["churn", "ROC AUC of 100 - score", Self.decimal(churnAUC)],
                ["", "flagged at risk in time", "\(flagged) (\(truePositives) churners; \(lateFlags) more flagged only after churning)"],
                ["", "precision", Self.decimal(precision)],
                ["", "recall", Self.decimal(recall)],
                ["", "median lead time", lead],
                ["expansion", "ROC AUC of score", Self.decimal(expansionAUC)],
                ["coverage", "accounts without a score", String(unobserved)],
            ], leftColumns: 3)
        return text
    }

    /// The figures as JSON, keys sorted; a figure that cannot be computed is `null`.
    public var jsonValue: JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map { .number($0) } ?? .null }
        return [
            "accounts": .number(Double(accounts)),
            "unobserved": .number(Double(unobserved)),
            "unmatchedObservations": .number(Double(unmatchedObservations)),
            "churned": .number(Double(churned)),
            "expanded": .number(Double(expanded)),
            "bands": .array(
                bands.map { row in
                    [
                        "band": .string(row.band.rawValue), "accounts": .number(Double(row.accounts)),
                        "churned": .number(Double(row.churned)), "churnRate": number(row.churnRate),
                        "expanded": .number(Double(row.expanded)), "expansionRate": number(row.expansionRate),
                    ]
                }),
            "churn": [
                "auc": number(churnAUC), "flagged": .number(Double(flagged)), "truePositives": .number(Double(truePositives)),
                "lateFlags": .number(Double(lateFlags)), "precision": number(precision), "recall": number(recall),
                "medianLeadTimeDays": number(medianLeadTimeDays),
            ],
            "expansion": ["auc": number(expansionAUC)],
        ]
    }

    /// `jsonValue` as compact UTF-8 bytes.
    public func json() -> [UInt8] {
        jsonValue.serialized()
    }

    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a"
    }

    static func decimal(_ value: Double?) -> String {
        value.map { String(format: "%.3f", $0) } ?? "n/a"
    }

    /// Columns padded to their widest cell: the first `leftColumns` aligned left, the rest right (numbers).
    static func align(_ rows: [[String]], leftColumns: Int) -> String {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        var text = ""
        for row in rows {
            var cells: [String] = []
            for (column, cell) in row.enumerated() {
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                cells.append(column < leftColumns ? cell + padding : padding + cell)
            }
            var line = cells.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            text += line + "\n"
        }
        return text
    }
}
