@testable import CairnAPI
import Foundation
import Testing

/// The aggregate cache without I/O: a computation is a closure that counts its runs and, when asked to, waits
/// for the test to let it finish.
@Suite("Aggregate cache")
struct AggregateCacheTests {
    /// Counts computations and hands out bodies "1", "2", ...; `hold()` makes the next computations wait for `release()`.
    actor Source {
        private(set) var runs = 0
        private var held = false
        private var waiting: [CheckedContinuation<Void, Never>] = []
        var failNext = false

        func hold() { held = true }
        func release() {
            held = false
            waiting.forEach { $0.resume() }
            waiting = []
        }
        func setFailNext() { failNext = true }

        func compute() async throws -> Data {
            runs += 1
            let run = runs
            if held { await withCheckedContinuation { waiting.append($0) } }
            if failNext {
                failNext = false
                throw CancellationError()
            }
            return Data("\(run)".utf8)
        }
    }

    func text(_ answer: AggregateCache.Answer) -> String { String(decoding: answer.body, as: UTF8.self) }

    @Test("A fresh answer is served again without computing it again")
    func fresh() async throws {
        let cache = AggregateCache(maxAge: .seconds(60), staleLimit: .seconds(120))
        let source = Source()
        let first = try await cache.answer("k") { try await source.compute() }
        let second = try await cache.answer("k") { try await source.compute() }
        #expect(text(first) == "1" && text(second) == "1")
        #expect(await source.runs == 1)
        #expect(second.age < .seconds(60))
        let other = try await cache.answer("other") { try await source.compute() }
        #expect(text(other) == "2", "each key has its own answer")
    }

    @Test("Requests that arrive while the first answer is computed share that one computation")
    func sharedFirstComputation() async throws {
        let cache = AggregateCache(maxAge: .seconds(60), staleLimit: .seconds(120))
        let source = Source()
        await source.hold()
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { text(try await cache.answer("k") { try await source.compute() }) } }
            while await source.runs == 0 { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(50))  // the other requests arrive while the computation waits
            await source.release()
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.count == 20 && answers.allSatisfy { $0 == "1" })
        #expect(await source.runs == 1)
    }

    @Test("An answer older than the maximum age is served while one newer answer is computed, then replaced")
    func staleWhileComputing() async throws {
        let cache = AggregateCache(maxAge: .milliseconds(50), staleLimit: .seconds(120))
        let source = Source()
        _ = try await cache.answer("k") { try await source.compute() }
        try await Task.sleep(for: .milliseconds(80))
        await source.hold()
        for _ in 0..<5 {
            let stale = try await cache.answer("k") { try await source.compute() }
            #expect(text(stale) == "1")
            #expect(stale.age >= .milliseconds(50))
        }
        while await source.runs < 2 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await source.runs == 2, "one refresh however many requests saw the old answer")
        await source.release()
        var newer = ""
        for _ in 0..<200 where newer != "2" {
            newer = text(try await cache.answer("k") { try await source.compute() })
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(newer == "2")
    }

    @Test("An answer older than the stale limit is not served: the request waits for a new one")
    func beyondStaleLimit() async throws {
        let cache = AggregateCache(maxAge: .milliseconds(20), staleLimit: .milliseconds(40))
        let source = Source()
        _ = try await cache.answer("k") { try await source.compute() }
        try await Task.sleep(for: .milliseconds(60))
        let answer = try await cache.answer("k") { try await source.compute() }
        #expect(text(answer) == "2")
        #expect(await source.runs == 2)
    }

    @Test("A failed computation reaches the requests waiting for it; the last answer stays; the next request retries")
    func failures() async throws {
        let cache = AggregateCache(maxAge: .milliseconds(20), staleLimit: .seconds(120))
        let source = Source()
        await source.setFailNext()
        await #expect(throws: CancellationError.self) { try await cache.answer("k") { try await source.compute() } }
        #expect(await cache.count == 0, "no answer kept for a key whose only computation failed")
        #expect(text(try await cache.answer("k") { try await source.compute() }) == "2")
        try await Task.sleep(for: .milliseconds(30))
        await source.setFailNext()
        #expect(text(try await cache.answer("k") { try await source.compute() }) == "2", "the stale answer while refreshing")
        while await source.runs < 3 { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(20))
        #expect(text(try await cache.answer("k") { try await source.compute() }) == "2", "the failed refresh kept it")
        var newer = ""
        for _ in 0..<200 where newer != "4" {
            newer = text(try await cache.answer("k") { try await source.compute() })
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(newer == "4", "a later request computed it again")
    }

    @Test("Keys are bounded: the least recently asked-for answers make room")
    func bounded() async throws {
        let cache = AggregateCache(maxAge: .seconds(60), staleLimit: .seconds(120), capacity: 3)
        let source = Source()
        for key in ["a", "b", "c", "d", "e"] { _ = try await cache.answer(key) { try await source.compute() } }
        #expect(await cache.count == 3)
        _ = try await cache.answer("e") { try await source.compute() }
        #expect(await source.runs == 5, "the newest key is still held")
        _ = try await cache.answer("a") { try await source.compute() }
        #expect(await source.runs == 6, "the oldest key was dropped")
    }
}
