// swift-tools-version: 6.2
import PackageDescription

// Linux only (inotify, flock, systemd, /proc): no Apple platform is declared.
let package = Package(
    name: "updater",
    products: [
        .executable(name: "updater", targets: ["updater"]),
        .executable(name: "updater-fuzz", targets: ["FuzzMain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // Support: files written all-or-nothing, the state directory's layout and lock, logging.
        .target(
            name: "Support",
            dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")]),
        // Tabular data: RFC 4180 CSV into contiguous columns.
        .target(name: "Tabular", dependencies: ["CSystemShim"]),
        // Drift: reference statistics and drift measures.
        .target(name: "Drift", dependencies: ["Tabular"]),
        // Training: preprocessing, models, optimisers and the model artifact format.
        .target(name: "Training", dependencies: ["Tabular", .product(name: "Crypto", package: "swift-crypto")]),
        // ModelExport: built-in models as ONNX graphs with their preprocessing inside (the ONNX schema's
        // code generated once by scripts/onnx/generate.sh and committed).
        .target(
            name: "ModelExport", dependencies: ["Training", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // Evaluation: metrics and the rules of the release gate.
        .target(name: "Evaluation", dependencies: ["Tabular"]),
        // Registry: the SQLite record of jobs, batches, runs, versions, production history and the webhook outbox.
        .target(name: "Registry", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // A C shim over libcurl's easy interface (curl_easy_setopt is variadic). libcurl is loaded with
        // dlopen at the first webhook, not linked (its header is still needed to build).
        .target(name: "CCurlShim"),
        // pipe2, which Swift's Glibc module does not expose.
        .target(name: "CSystemShim"),
        // Webhooks: endpoint settings, signed deliveries through libcurl, the outbox dispatcher and its retries.
        .target(
            name: "Webhooks",
            dependencies: [
                "CCurlShim", "Registry", "Support", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Job files: strict TOML decoding into validated job configurations.
        .target(
            name: "JobFiles",
            dependencies: [
                "Support", "Webhooks", "Drift", "Tabular", "Training", "Evaluation",
                .product(name: "TOMLKit", package: "TOMLKit"), .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // Trainers: the one training engine (slots, time limits, cancellation, costs) and external trainers.
        .target(name: "Trainers", dependencies: ["Support", "Training", "Tabular", .product(name: "Logging", package: "swift-log")]),
        // Cycle: one job's update cycle (policy, training window, candidate, gate, release, recording),
        // rollback and promotion.
        .target(
            name: "Cycle",
            dependencies: [
                "Support", "JobFiles", "Tabular", "Drift", "Training", "Evaluation", "Registry", "Trainers", "Webhooks", "ModelExport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Report: the HTML report of a run, the backtest's report and the dashboard's pages, charts as inline SVG.
        .target(name: "Report", dependencies: ["Cycle", "Drift", "Evaluation", "Registry", .product(name: "Crypto", package: "swift-crypto")]),
        // Service: the daemon, a ServiceGroup: the scheduler, the incoming watcher, systemd notifications, reloads.
        .target(
            name: "Service",
            dependencies: [
                "Cycle", "Report", "Support", "JobFiles", "Registry", "Webhooks", "Drift", "CSystemShim", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]),
        // The readers of outside input as fuzzing targets (make fuzz), and their libFuzzer driver.
        .target(name: "FuzzTargets", dependencies: ["Tabular", "JobFiles", "Training", "Webhooks"]),
        .executableTarget(name: "FuzzMain", dependencies: ["FuzzTargets"]),
        .executableTarget(
            name: "updater",
            dependencies: [
                "Service", "Cycle", "Report", "ModelExport", "Support", "JobFiles", "Registry", "Drift", "Evaluation", "Tabular", "Training", "Trainers",
                "Webhooks", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "JobFilesTests", dependencies: ["JobFiles", "Drift", "Training", "Webhooks"]),
        .testTarget(name: "TabularTests", dependencies: ["Tabular"]),
        .testTarget(name: "DriftTests", dependencies: ["Drift"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "TrainingTests", dependencies: ["Training", "Tabular", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Tabular"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SupportTests", dependencies: ["Support", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "WebhooksTests", dependencies: ["Webhooks"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets"]),
        .testTarget(name: "TrainersTests", dependencies: ["Trainers", "Registry", "Support"]),
        .testTarget(name: "ServiceTests", dependencies: ["Service"]),
        .testTarget(
            name: "ReportTests", dependencies: ["Report", "Registry", "Drift", "Cycle", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "CycleTests", dependencies: ["Cycle", "JobFiles", "Registry", "Drift", "Evaluation", "Support", "Trainers"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["Service", "Cycle", "Support", "JobFiles", "Registry", "Trainers", "Webhooks", "updater"]),
    ],
    swiftLanguageModes: [.v6]
)
