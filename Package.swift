// swift-tools-version:6.1
import PackageDescription

/// One list of settings for every target, as the libraries Cairn builds on do.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "cairn",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cairn", targets: ["cairn"]),
        .library(name: "CairnCore", targets: ["CairnCore"]),
        .library(name: "CairnAMQP", targets: ["CairnAMQP"]),
        .library(name: "CairnClient", targets: ["CairnClient"]),
        .library(name: "CairnSimulator", targets: ["CairnSimulator"]),
        .library(name: "CairnTesting", targets: ["CairnTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // The domain: events, journeys, health, playbooks, routing. Pure Swift, no I/O.
        .target(name: "CairnCore", swiftSettings: swiftSettings),

        // A synthetic customer base (deterministic event stream and ground truth) and the evaluation maths.
        .target(name: "CairnSimulator", dependencies: ["CairnCore"], swiftSettings: swiftSettings),
        // cairn.yaml into the engine's configuration, validated up front, errors naming file, line and key.
        .target(
            name: "CairnConfig",
            dependencies: ["CairnCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),

        // rabbitmq-c, as the system provides it (librabbitmq-dev).
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        // The only module that talks to rabbitmq-c: a small, safe, async API over it.
        .target(
            name: "CairnAMQP",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
                "CRabbitMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The producer library for Swift services: build events, publish them with confirms, buffer while the
        // broker is away.
        .target(
            name: "CairnClient",
            dependencies: [
                "CairnCore", "CairnAMQP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // PostgreSQL: migrations and every query Cairn runs.
        .target(
            name: "CairnStore",
            dependencies: [
                "CairnCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Outbox relay: PostgreSQL outbox rows to RabbitMQ, with confirms.
        .target(
            name: "CairnRelay",
            dependencies: [
                "CairnCore", "CairnAMQP", "CairnStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CairnWorker",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
                "CairnCore", "CairnAMQP", "CairnStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CairnEscalator",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
                "CairnCore", "CairnAMQP", "CairnStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the HTTP roles share: the JSON error shape, JSON responses, credentials.
        .target(
            name: "CairnHTTP",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CairnIngest",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                "CairnCore", "CairnAMQP", "CairnHTTP",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CairnAPI",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                "CairnCore", "CairnStore", "CairnHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Wires configuration and roles into service groups; the executable stays thin.
        .target(
            name: "CairnApp",
            dependencies: [
                "CairnHTTP",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                "CairnCore", "CairnAMQP", "CairnStore", "CairnRelay", "CairnWorker", "CairnEscalator",
                "CairnIngest", "CairnAPI", "CairnConfig", "CairnSimulator",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cairn",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "CairnApp", "CairnSimulator", "CairnStore", "CairnCore", "CairnAMQP", "CairnHTTP", "CairnConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test helpers: local RabbitMQ and PostgreSQL, isolated vhosts and databases, waiting.
        .target(
            name: "CairnTesting",
            dependencies: [
                "CairnCore", "CairnAMQP", "CairnStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "CairnCoreTests", dependencies: ["CairnCore"], swiftSettings: swiftSettings),
        .testTarget(name: "CairnSimulatorTests", dependencies: ["CairnSimulator", "CairnCore"], swiftSettings: swiftSettings),
        .testTarget(name: "CairnConfigTests", dependencies: ["CairnConfig", "CairnCore"], swiftSettings: swiftSettings),
        .testTarget(name: "CairnAMQPTests", dependencies: ["CairnAMQP"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CairnIntegrationTests",
            dependencies: [
                "CairnCore", "CairnAMQP", "CairnStore", "CairnTesting", "CairnApp", "CairnAPI", "CairnClient", "CairnHTTP",
                "CairnIngest", "CairnSimulator", "CairnWorker",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
