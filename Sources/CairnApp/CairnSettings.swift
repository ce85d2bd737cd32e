public import CairnAMQP
import CairnConfig
public import CairnCore
public import CairnHTTP
public import CairnIngest
public import CairnStore
import CairnWorker
public import Foundation
public import Logging

/// Settings every role reads from the environment (CONTRACT.md, "Configuration"), each with a local default.
public struct CairnSettings: Sendable {
    public var amqp: AMQPConfiguration
    public var database: DatabaseConfiguration
    /// Write keys as SHA-256 digests with their sources (`CAIRN_WRITE_KEYS` or `CAIRN_WRITE_KEYS_FILE`).
    public var writeKeys: [IngestConfiguration.WriteKey]
    /// API bearer tokens as SHA-256 digests (`CAIRN_API_TOKENS` or `CAIRN_API_TOKENS_FILE`).
    public var apiTokens: [SecretDigest]
    /// Events per second each write key may send to ingest; 0 means no limit.
    public var ingestRateLimit: Double
    public var ingestPort: Int
    public var apiPort: Int
    /// Port of the `/metrics` listener for roles without HTTP of their own; none when unset.
    public var metricsPort: Int?
    /// The customer-success model: `CAIRN_CONFIG` (a cairn.yaml), or the shipped model when unset.
    public var engine: EngineConfiguration
    /// The clock time-based re-evaluation uses.
    public var clock: EvaluationClock
    /// How often the escalator sweeps for accounts that time alone changes.
    public var sweepInterval: Duration
    /// `CAIRN_WORKER_BATCH`: the most events a worker applies in one transaction. It holds twice as many
    /// unacknowledged deliveries, so the next batch is waiting when one commits.
    public var workerBatch: Int
    /// `CAIRN_BATCH_TIMEOUT`: seconds one batch's transaction may take before a worker or escalator exits with
    /// status 75 for its supervisor to restart it (see `Watchdog`).
    public var batchTimeout: Duration
    /// `CAIRN_IDLE_TRANSACTION_TIMEOUT`: seconds a role's transaction may sit idle between two statements before
    /// PostgreSQL ends it (0: the server's setting). A worker frozen mid-batch then holds no row lock that would
    /// stall the other workers; its batch fails, is retried, and its deliveries are acknowledged only after a commit.
    /// Kept well under `batchTimeout`, so a worker waiting on a frozen one's lock gets it before its own watchdog ends it.
    public var idleTransactionTimeout: Duration
    /// `CAIRN_SHUTDOWN_TIMEOUT`: seconds a graceful shutdown may take before the process exits with status 75.
    public var shutdownTimeout: Duration
    /// Publishing connections `cairn ingest` spreads its requests over.
    public var ingestPublishers: Int
    /// `CAIRN_API_AGGREGATE_MAX_AGE`: how old an aggregate answer (funnel, health distribution and trend, cohorts)
    /// may be before the API computes it again; 0 computes it for every request.
    public var aggregateMaxAge: Duration
    /// Address the HTTP roles listen on.
    public var httpHost: String
    public var logLevel: Logger.Level
    /// `CAIRN_PARENT_PID`: the process that started this one (a benchmark, a test run, a supervisor script). When
    /// it is gone, this process stops gracefully, as on SIGTERM, instead of running on unwatched (see `watchParent`).
    public var parentProcess: pid_t?

    public static let defaults: [String: String] = [
        "CAIRN_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2f",
        "CAIRN_DATABASE_URL": "postgres://cairn:cairn@127.0.0.1:5432/cairn",
        "CAIRN_WRITE_KEYS": "dev-write-key",
        "CAIRN_API_TOKENS": "dev-api-token",
        "CAIRN_WRITE_KEYS_FILE": "",
        "CAIRN_API_TOKENS_FILE": "",
        "CAIRN_INGEST_RATE_LIMIT": "5000",
        "CAIRN_INGEST_PORT": "8081",
        "CAIRN_API_PORT": "8080",
        "CAIRN_HTTP_HOST": "127.0.0.1",
        "CAIRN_METRICS_PORT": "",
        "CAIRN_INGEST_PUBLISHERS": "2",
        "CAIRN_CONFIG": "",
        "CAIRN_CLOCK": "wall",
        "CAIRN_SWEEP_INTERVAL": "60",
        "CAIRN_WORKER_BATCH": "\(EventWorker.defaultBatch)",
        "CAIRN_BATCH_TIMEOUT": "120",
        "CAIRN_SHUTDOWN_TIMEOUT": "30",
        "CAIRN_IDLE_TRANSACTION_TIMEOUT": "10",
        "CAIRN_API_AGGREGATE_MAX_AGE": "5",
        "CAIRN_PARENT_PID": "",
        "LOG_LEVEL": "info",
    ]

    /// Reads and validates the settings; the error names the variable at fault (and never echoes a password).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func value(_ name: String) -> String {
            let given = environment[name]?.trimmingCharacters(in: .whitespaces) ?? ""
            return given.isEmpty ? Self.defaults[name]! : given
        }
        /// A duration in seconds within `range`; the message names the range as written ("0.1", "3600").
        func seconds(_ name: String, in range: ClosedRange<Double>, as written: (String, String)) throws -> Duration {
            guard let seconds = Double(value(name)), range.contains(seconds) else {
                throw SettingsError(variable: name, message: "must be a number of seconds from \(written.0) to \(written.1)")
            }
            return .milliseconds(Int(seconds * 1000))
        }
        func port(_ name: String) throws -> Int {
            guard let port = Int(value(name)), (1...65_535).contains(port) else {
                throw SettingsError(variable: name, message: "must be a port number from 1 to 65535")
            }
            return port
        }
        do {
            amqp = try AMQPConfiguration(url: value("CAIRN_AMQP_URL"))
        } catch let error as AMQPError {
            throw SettingsError(variable: "CAIRN_AMQP_URL", message: error.message)
        }
        do {
            database = try DatabaseConfiguration(url: value("CAIRN_DATABASE_URL"))
        } catch {
            throw SettingsError(variable: "CAIRN_DATABASE_URL", message: error.message)
        }
        writeKeys = try Self.secrets(
            "CAIRN_WRITE_KEYS", environment: environment, missing: "no write key given", parse: IngestConfiguration.parseWriteKey)
        apiTokens = try Self.secrets(
            "CAIRN_API_TOKENS", environment: environment, missing: "no token given", parse: SecretDigest.parseEntry)
        guard let rate = Double(value("CAIRN_INGEST_RATE_LIMIT")), rate >= 0, rate <= 10_000_000 else {
            throw SettingsError(
                variable: "CAIRN_INGEST_RATE_LIMIT", message: "must be a number of events per second from 0 (no limit) to 10000000")
        }
        ingestRateLimit = rate
        ingestPort = try port("CAIRN_INGEST_PORT")
        apiPort = try port("CAIRN_API_PORT")
        httpHost = value("CAIRN_HTTP_HOST")
        guard let publishers = Int(value("CAIRN_INGEST_PUBLISHERS")), (1...16).contains(publishers) else {
            throw SettingsError(variable: "CAIRN_INGEST_PUBLISHERS", message: "must be a number of connections from 1 to 16")
        }
        ingestPublishers = publishers
        if let path = environment["CAIRN_CONFIG"]?.trimmingCharacters(in: .whitespaces), !path.isEmpty {
            do {
                engine = try ConfigLoader.load(path: path)
            } catch {
                throw SettingsError(variable: "CAIRN_CONFIG", message: error.description)
            }
        } else {
            engine = .standard
        }
        guard let clock = EvaluationClock(rawValue: value("CAIRN_CLOCK")) else {
            throw SettingsError(variable: "CAIRN_CLOCK", message: "must be wall or stream")
        }
        self.clock = clock
        sweepInterval = try seconds("CAIRN_SWEEP_INTERVAL", in: 0.1...86_400, as: ("0.1", "86400"))
        guard let batch = Int(value("CAIRN_WORKER_BATCH")), (1...EventWorker.largestBatch).contains(batch) else {
            throw SettingsError(variable: "CAIRN_WORKER_BATCH", message: "must be a number of events from 1 to \(EventWorker.largestBatch)")
        }
        workerBatch = batch
        batchTimeout = try seconds("CAIRN_BATCH_TIMEOUT", in: 1...3_600, as: ("1", "3600"))
        shutdownTimeout = try seconds("CAIRN_SHUTDOWN_TIMEOUT", in: 1...3_600, as: ("1", "3600"))
        idleTransactionTimeout = try seconds("CAIRN_IDLE_TRANSACTION_TIMEOUT", in: 0...3_600, as: ("0", "3600"))
        database.idleInTransactionTimeout = idleTransactionTimeout == .zero ? nil : idleTransactionTimeout
        aggregateMaxAge = try seconds("CAIRN_API_AGGREGATE_MAX_AGE", in: 0...3_600, as: ("0", "3600"))
        metricsPort = environment["CAIRN_METRICS_PORT"].flatMap { $0.isEmpty ? nil : $0 } == nil ? nil : try port("CAIRN_METRICS_PORT")
        guard let level = Logger.Level(rawValue: value("LOG_LEVEL").lowercased()) else {
            throw SettingsError(variable: "LOG_LEVEL", message: "must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        logLevel = level
        if let text = environment["CAIRN_PARENT_PID"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            guard let pid = pid_t(text), pid > 1 else {
                throw SettingsError(variable: "CAIRN_PARENT_PID", message: "must be the process id of a running process, above 1")
            }
            parentProcess = pid
        }
    }
}

extension CairnSettings {
    /// Reads a list of secrets from `variable` (comma-separated) or from the file `<variable>_FILE` names (one
    /// entry a line, `#` comments), never both. Each entry is hashed (or read as `sha256:<hex>`) at once; an error
    /// names the variable, the entry's position or the file and line, never the secret.
    static func secrets<Entry>(
        _ variable: String, environment: [String: String], missing: String,
        parse: (Substring) throws(SecretEntryError) -> Entry
    ) throws -> [Entry] {
        let fileVariable = variable + "_FILE"
        let inline = environment[variable]?.trimmingCharacters(in: .whitespaces) ?? ""
        let path = environment[fileVariable]?.trimmingCharacters(in: .whitespaces) ?? ""
        var entries: [Entry] = []
        if !path.isEmpty {
            guard inline.isEmpty else {
                throw SettingsError(variable: fileVariable, message: "set \(variable) or \(fileVariable), not both")
            }
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw SettingsError(variable: fileVariable, message: "\(path): cannot be read")
            }
            for (line, entry) in SecretDigest.fileEntries(text) {
                do {
                    entries.append(try parse(Substring(entry)))
                } catch {
                    throw SettingsError(variable: fileVariable, message: "\(path):\(line): \(error.message)")
                }
            }
            guard !entries.isEmpty else { throw SettingsError(variable: fileVariable, message: "\(path): \(missing)") }
            return entries
        }
        let text = inline.isEmpty ? defaults[variable] ?? "" : inline
        for (index, entry) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated()
        where !entry.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                entries.append(try parse(entry))
            } catch {
                throw SettingsError(variable: variable, message: "entry \(index + 1): \(error.message)")
            }
        }
        guard !entries.isEmpty else { throw SettingsError(variable: variable, message: missing) }
        return entries
    }
}

/// A setting that cannot be used, and which environment variable holds it.
public struct SettingsError: Error, CustomStringConvertible {
    public let variable: String
    public let message: String

    public var description: String { "\(variable): \(message)" }
}
