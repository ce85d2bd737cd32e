import CairnSimulator
import Testing

@Suite("Progress bar")
struct ProgressBarTests {
    @Test("The bar fills in proportion to the days done, with the percentage and the detail")
    func barFills() {
        var bar = ProgressBar(total: 180, enabled: false)
        bar.width = 10
        #expect(bar.line(done: 0, detail: "0 events") == "[----------]   0%  day 0/180  0 events")
        #expect(bar.line(done: 90, detail: "x") == "[#####-----]  50%  day 90/180  x")
        #expect(bar.line(done: 180, detail: "x") == "[##########] 100%  day 180/180  x")
        #expect(bar.line(done: 999, detail: "x") == bar.line(done: 180, detail: "x"))
    }
}
