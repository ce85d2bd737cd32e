import CairnAMQP
import CairnTesting
import Foundation
import Testing

/// The dashboard in headless Chromium (test-tools/dashboard_browser.py with selenium), against data from the real
/// pipeline; screenshots land in test-artifacts/screenshots/.
@Suite("Dashboard in a browser", .serialized)
struct DashboardTests {
    @Test("The dashboard shows the journey map and at-risk list, updates live on a band change, and shows <script> as text")
    func dashboardInHeadlessChromium() async throws {
        let fixture = try await APIFixture.start("dashboard")
        // An account that is not red (so the decline below changes its band), preferably one the page's band changes
        // (the newest 15) do not list; the browser checks that its row appears, or changes, without a reload.
        let shown = Set((try await fixture.json("/api/v1/health/changes?limit=15")["items"] as? [[String: Any]] ?? [])
            .compactMap { $0["accountId"] as? String })
        let candidates = try #require(
            try await fixture.json("/api/v1/accounts?sort=-score&limit=100")["items"] as? [[String: Any]]
        ).filter { ($0["health"] as? [String: Any])?["band"] as? String != "red" }.compactMap { $0["accountId"] as? String }
        let target = candidates.first { !shown.contains($0) } ?? candidates.first
        let atRisk = try await fixture.json("/api/v1/accounts?atRisk=true&limit=500")["items"] as? [Any] ?? []
        let segments = (try await fixture.json("/api/v1/funnel")["segments"] as? [[String: Any]] ?? []).compactMap { $0["segment"] as? String }

        let ready = TestInfrastructure.artifacts.appendingPathComponent("dashboard-ready-\(fixture.environment.name)")
        try? FileManager.default.removeItem(at: ready)
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        browser.arguments = [
            TestInfrastructure.environment["CAIRN_TEST_PYTHON"] ?? "python3", "test-tools/dashboard_browser.py",
            "--url", "http://127.0.0.1:\(fixture.port)", "--token", APIFixture.token, "--target", try #require(target),
            "--script-account", "acct-7", "--script-name", APIFixture.scriptName, "--at-risk", String(atRisk.count),
            "--segments", segments.joined(separator: ","), "--ready", ready.path,
            "--screenshots", TestInfrastructure.artifacts.appendingPathComponent("screenshots").path,
        ]
        let errors = try TestInfrastructure.outputFile("dashboard-browser-\(fixture.environment.name).txt")
        browser.standardError = errors.handle
        try browser.run()
        // Change the band once the page is live.
        let live = await eventually(timeout: .seconds(90)) { FileManager.default.fileExists(atPath: ready.path) || !browser.isRunning }
        if live, FileManager.default.fileExists(atPath: ready.path), let target {
            try await fixture.environment.withAMQP { try await $0.publishConfirmed(APIFixture.decline(target).map(\.message)) }
        }
        let status = await browser.exited()
        try? errors.handle.close()
        let stderr = (try? String(contentsOf: errors.url, encoding: .utf8)) ?? ""
        #expect(status == 0, "browser checks failed:\n\(stderr)\n\(fixture.api.log.suffix(3_000))")
        await fixture.stop()
    }
}
