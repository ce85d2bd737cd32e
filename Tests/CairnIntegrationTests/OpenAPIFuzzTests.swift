import CairnTesting
import Foundation
import Testing

/// schemathesis (test-tools/requirements.txt) fuzzes every operation of the served /openapi.yaml with a bearer token.
@Suite("OpenAPI fuzzing", .serialized)
struct OpenAPIFuzzTests {
    @Test("The served OpenAPI document validates and a schemathesis run against it finds no 5xx")
    func schemathesisFindsNoServerErrors() async throws {
        let fixture = try await APIFixture.start("fuzz")
        let python = TestInfrastructure.environment["CAIRN_TEST_PYTHON"] ?? "python3"
        let schemathesis = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("schemathesis").path
        let run = Process()
        run.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        run.arguments = [
            python, "test-tools/fuzz_api.py", "--schemathesis", schemathesis, "--url", "http://127.0.0.1:\(fixture.port)",
            "--token", APIFixture.token, "--max-examples", "25",
        ]
        let output = try TestInfrastructure.outputFile("schemathesis.txt")
        run.standardOutput = output.handle
        run.standardError = output.handle
        try run.run()
        let status = await run.exited()
        try? output.handle.close()
        let text = (try? String(contentsOf: output.url, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(text.suffix(6_000))")
        #expect(!fixture.api.log.contains("request failed"), "unmapped errors: \(fixture.api.log.suffix(3_000))")
        await fixture.stop()
    }
}
