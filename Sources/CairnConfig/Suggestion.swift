/// The candidate closest to a misspelt `word`, if one is close enough to be what was meant (`wieghts` → `weights`,
/// `minarr` → `minARR`); nil when nothing is.
func nearest(_ word: String, in candidates: some Sequence<String>) -> String? {
    let typed = Array(word.lowercased())
    let allowance = max(1, min(3, typed.count / 3))
    var best: (name: String, distance: Int)?
    for candidate in candidates {
        let distance = editDistance(typed, Array(candidate.lowercased()))
        if distance <= allowance, distance < best?.distance ?? .max { best = (candidate, distance) }
    }
    return best?.name
}

/// Levenshtein distance, counting a swap of two neighbours as one edit.
private func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var previous2 = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                current[j] = min(current[j], previous2[j - 2] + 1)
            }
        }
        previous2 = previous
        previous = current
    }
    return previous[b.count]
}
