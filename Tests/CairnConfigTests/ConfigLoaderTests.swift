import CairnConfig
import CairnCore
import Foundation
import Testing

@Suite("Configuration loading")
struct ConfigLoaderTests {
    /// The repository's `config/cairn.yaml`, found from this file so the test runs from any directory.
    static let shippedPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/cairn.yaml").path

    func load(_ yaml: String) throws(ConfigError) -> EngineConfiguration {
        try ConfigLoader.load(yaml: yaml, file: "cairn.yaml")
    }

    @Test("The shipped cairn.yaml loads to exactly the standard model")
    func shippedFileIsStandard() throws {
        let configuration = try ConfigLoader.load(path: Self.shippedPath)
        #expect(configuration == .standard)
    }

    @Test("An empty file, or one with only comments, is the standard model")
    func emptyFileIsStandard() throws {
        #expect(try load("") == .standard)
        #expect(try load("# nothing changed yet\n\n# still nothing\n") == .standard)
        #expect(try load("---\n") == .standard)
    }

    @Test("Giving one section replaces that part and keeps every other part standard")
    func oneSectionKeepsTheOthers() throws {
        let configuration = try load("bands: {green: 80, yellow: 50, margin: 3}\n")
        #expect(configuration.bands.green == 80)
        #expect(configuration.bands.yellow == 50)
        #expect(configuration.bands.margin == 3)
        var expected = EngineConfiguration.standard
        expected.bands = configuration.bands
        #expect(configuration == expected)
    }

    @Test("A threshold given overrides that field alone")
    func thresholdsOverrideSingleFields() throws {
        let configuration = try load("thresholds:\n  npsDetractorMax: 5\n  renewalWindows: [90, 30]\n")
        var expected = Thresholds()
        expected.npsDetractorMax = 5
        expected.renewalWindows = [90, 30]
        #expect(configuration.thresholds == expected)
        #expect(configuration.segments == EngineConfiguration.standard.segments)
    }

    @Test("A segment's pool defaults to its name, and a component left out of its weights weighs 0")
    func segmentDefaults() throws {
        let configuration = try load(
            """
            segments:
              - name: strategic
                touch: high
                when: {minSeats: 500, plans: [enterprise, ultimate], regions: [NO, DE]}
                weights: {usage: 0.5, relationship: 0.5}
              - name: everyone
                touch: low
                pool: digital
                weights: {usage: 1}
            """)
        let strategic = configuration.segments[0]
        #expect(strategic.pool == "strategic")
        #expect(strategic.rule == SegmentRule(minSeats: 500, plans: ["enterprise", "ultimate"], regions: ["NO", "DE"]))
        #expect(strategic.weights["usage"] == 0.5)
        #expect(strategic.weights["support"] == 0)
        #expect(Set(strategic.weights.keys) == Set(EngineConfiguration.components))
        #expect(configuration.segments[1].pool == "digital")
        #expect(configuration.segments[1].rule == SegmentRule())
    }

    @Test("Milestones may be limited to segments, and source event names map to canonical ones")
    func milestonesAndEvents() throws {
        let configuration = try load(
            """
            milestones:
              - {name: kickoff, event: kickoff.completed, dueDays: 7, segments: [enterprise]}
              - {name: first_value, event: product.first_use, dueDays: 21}
            events:
              "Deal Won": contract.signed
              Kickoff Held: kickoff.completed
            """)
        #expect(
            configuration.milestones == [
                Milestone(name: "kickoff", event: "kickoff.completed", dueDays: 7, segments: ["enterprise"]),
                Milestone(name: "first_value", event: Milestone.firstUse, dueDays: 21),
            ])
        #expect(configuration.eventNames == ["Deal Won": "contract.signed", "Kickoff Held": "kickoff.completed"])
    }

    @Test("Playbooks and the roster load from the file")
    func playbooksAndRoster() throws {
        let configuration = try ConfigLoader.load(
            yaml: """
                playbooks:
                  - id: qbr
                    title: Quarterly review
                    steps: [Prepare, Meet]
                    priority: P3
                    dueInBusinessDays: 10
                    cooldownDays: 80
                    trigger: {kind: health.band_changed, bandTo: yellow, stages: [adoption, retention]}
                    segments: [enterprise]
                roster:
                  csms:
                    dana: {manager: lee, capacity: 40}
                    sam:
                  pools:
                    mid-market: {members: [ana, ben], assignment: round-robin}
                  defaultManager: max
                """, file: "cairn.yaml")
        let play = try #require(configuration.playbooks.first)
        #expect(configuration.playbooks.count == 1)
        #expect(play.trigger == Playbook.Trigger(kind: SignalKind.healthBandChanged, bandTo: .yellow, stages: [.adoption, .retention]))
        #expect(play.cooldownDays == 80)
        #expect(play.segments == ["enterprise"])
        #expect(configuration.roster.csms["dana"] == Roster.CSM(manager: "lee", capacity: 40))
        #expect(configuration.roster.csms["sam"] == Roster.CSM())
        #expect(configuration.roster.pools["mid-market"] == Roster.Pool(members: ["ana", "ben"], assignment: .roundRobin))
        #expect(configuration.roster.manager(of: .init(kind: "csm", id: "sam")) == "max")
    }

    @Test("An error reads file:line: key: message")
    func errorDescription() {
        let yaml = """
            segments:
              - name: enterprise
                touch: high
                when: {minARR: 150000}
                weights: {usage: 1}
              - name: smb
                touch: low
                weights:
                  support: 0.5
                  adoption: 0.25
                  sentiment: 0.25
                  usage: 1.5
            """
        #expect(throws: ConfigError.self) { try load(yaml) }
        do {
            _ = try load(yaml)
        } catch {
            #expect(error.description == "cairn.yaml:12: segments[1].weights.usage: must be a number from 0 to 1")
        }
    }

    @Test("Line numbers are the file's own: blank lines and comments count")
    func linesAreReal() {
        let yaml = """
            # Our configuration

            bands:
              green: 70
              # be kinder to new accounts

              yellow: 90
              margin: 5
            """
        do {
            _ = try load(yaml)
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 7)
            #expect(error.key == "bands.yellow")
            #expect(error.description == "cairn.yaml:7: bands.yellow: must be a whole number above 0 and below green (70)")
        }
    }

    @Test("A missing file is an error naming the path")
    func missingFile() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-cairn-\(UUID()).yaml").path
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("expected an error")
        } catch {
            #expect(error == ConfigError(file: path, line: nil, key: nil, message: "file not found"))
            #expect(error.description == "\(path): file not found")
        }
    }

    @Test("A file on disk reports its path as given")
    func fileOnDisk() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-\(UUID()).yaml").path
        try "bands: {green: 70, yellow: 40, margin: 5}\nevents: {\"Deal Won\": deal.won}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.file == path)
            #expect(error.line == 2)
            #expect(error.key == "events[\"Deal Won\"]")
        }
    }

    @Test("Each invalid file names the right line, key and problem", arguments: InvalidCase.all)
    func invalid(_ example: InvalidCase) {
        do {
            let configuration = try load(example.yaml)
            Issue.record("loaded without error: \(configuration)")
        } catch {
            #expect(error.file == "cairn.yaml")
            #expect(error.line == example.line)
            #expect(error.key == example.key)
            #expect(error.message == example.message)
        }
    }
}
