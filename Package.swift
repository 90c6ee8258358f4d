// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "updater",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "updater", targets: ["updater"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // Job files: strict TOML decoding into validated job configurations.
        .target(name: "JobFiles", dependencies: ["Drift", "Tabular", "Training", "Evaluation", .product(name: "TOMLKit", package: "TOMLKit"), .product(name: "Crypto", package: "swift-crypto")]),
        // Tabular data: RFC 4180 CSV into contiguous columns.
        .target(name: "Tabular"),
        // Drift: reference statistics and drift measures.
        .target(name: "Drift", dependencies: ["Tabular"]),
        // Training: preprocessing, models, optimisers and the model artifact format.
        .target(name: "Training", dependencies: ["Tabular"]),
        // Evaluation: metrics and the release gate.
        .target(name: "Evaluation", dependencies: ["Tabular"]),
        // Registry: the SQLite record of jobs, batches, runs, versions and production history.
        .target(name: "Registry", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // Daemon: the update cycle, publishing, rollback and the run loop.
        .target(
            name: "Daemon",
            dependencies: [
                "JobFiles", "Tabular", "Drift", "Training", "Evaluation", "Registry", "Webhooks",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // A C shim over libcurl's easy interface (curl_easy_setopt is variadic).
        .target(name: "CCurlShim", linkerSettings: [.linkedLibrary("curl")]),
        // Webhooks: signed deliveries through libcurl.
        .target(name: "Webhooks", dependencies: ["CCurlShim", "JobFiles", "Registry", .product(name: "Crypto", package: "swift-crypto")]),
        .executableTarget(
            name: "updater",
            dependencies: ["Daemon", "JobFiles", "Registry", "Drift", "Evaluation", "Tabular", "Webhooks", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "JobFilesTests", dependencies: ["JobFiles", "Drift", "Training"]),
        .testTarget(name: "TabularTests", dependencies: ["Tabular"]),
        .testTarget(name: "DriftTests", dependencies: ["Drift"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Tabular"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Tabular"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "EndToEndTests", dependencies: ["Daemon", "JobFiles", "Registry", "Webhooks", "updater"]),
    ],
    swiftLanguageModes: [.v6]
)
