import CairnSimulator
import Testing

@Suite("Seeded random numbers")
struct RandomTests {
    @Test("SplitMix64 gives the reference outputs for seed 0")
    func splitMixMatchesReference() {
        var generator = SplitMix64(state: 0)
        #expect([generator.next(), generator.next(), generator.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    }

    @Test("xoshiro256** seeded through SplitMix64 gives the reference outputs for seed 42")
    func xoshiroMatchesReference() {
        var generator = SimulationRandom(seed: 42)
        #expect([generator.next(), generator.next(), generator.next()] == [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1])
    }

    @Test("Streams of one seed differ from each other and repeat themselves")
    func streamsAreIndependentAndRepeatable() {
        var first = SimulationRandom(seed: 7, stream: 1)
        var again = SimulationRandom(seed: 7, stream: 1)
        var second = SimulationRandom(seed: 7, stream: 2)
        let a = (0..<8).map { _ in first.next() }
        #expect(a == (0..<8).map { _ in again.next() })
        #expect(a != (0..<8).map { _ in second.next() })
    }

    @Test("Integers stay in their range and reach both ends")
    func integersCoverTheirRange() {
        var generator = SimulationRandom(seed: 3)
        let draws = (0..<5_000).map { _ in generator.int(in: -2...3) }
        #expect(draws.allSatisfy { (-2...3).contains($0) })
        #expect(Set(draws) == Set(-2...3))
    }

    @Test("Units lie in [0, 1) with a mean near one half; normals have mean 0 and deviation 1")
    func distributionsHaveTheirMoments() {
        var generator = SimulationRandom(seed: 5)
        let units = (0..<20_000).map { _ in generator.unit() }
        #expect(units.allSatisfy { (0..<1).contains($0) })
        #expect(abs(units.reduce(0, +) / 20_000 - 0.5) < 0.01)
        let normals = (0..<20_000).map { _ in generator.normal() }
        let mean = normals.reduce(0, +) / 20_000
        let variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 20_000
        #expect(abs(mean) < 0.03)
        #expect(abs(variance - 1) < 0.05)
    }

    @Test("Weighted choices follow their weights; a zero weight is never chosen")
    func weightedChoicesFollowWeights() {
        var generator = SimulationRandom(seed: 9)
        let draws = (0..<10_000).map { _ in generator.weighted([("a", 3.0), ("b", 1.0), ("never", 0.0)]) }
        let share = Double(draws.count { $0 == "a" }) / 10_000
        #expect(abs(share - 0.75) < 0.02)
        #expect(!draws.contains("never"))
    }
}
