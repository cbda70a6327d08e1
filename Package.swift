// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "DeliveryTracker",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "delivery-ingest", targets: ["Ingest"]),
        .executable(name: "delivery-aggregate", targets: ["Aggregate"]),
        .executable(name: "delivery-query", targets: ["Query"]),
        .executable(name: "deliveries", targets: ["CLI"]),
        .executable(name: "delivery-bench", targets: ["Bench"]),
        .executable(name: "delivery-web", targets: ["Web"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CZeroMQ",
            path: "Shared/CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .target(
            name: "ZeroMQ",
            dependencies: ["CZeroMQ"],
            path: "Shared/ZeroMQ",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DeliveryMessages",
            path: "Shared/DeliveryMessages",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DeliveryCore",
            dependencies: ["DeliveryMessages"],
            path: "Shared/DeliveryCore",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ServiceKit",
            dependencies: [
                "ZeroMQ", "DeliveryMessages", "DeliveryCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Shared/ServiceKit",
            swiftSettings: swiftSettings
        ),
        // Each service's state without its sockets, clocks or logger: events in, actions out
        // (docs/development.md). It depends on neither ZeroMQ nor ServiceKit; swift-log only to
        // write the log lines a core asks for (`LogLine`).
        .target(
            name: "ServiceCores",
            dependencies: ["DeliveryCore", "DeliveryMessages", .product(name: "Logging", package: "swift-log")],
            path: "Shared/ServiceCores",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DeliveryClient",
            dependencies: ["ServiceKit", "DeliveryMessages", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Shared/DeliveryClient",
            swiftSettings: swiftSettings
        ),
        // What tests, the fuzz target and the benchmark share; no service links it.
        .target(
            name: "TestSupport",
            dependencies: ["DeliveryCore", "ServiceKit"],
            path: "Shared/TestSupport",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Ingest",
            dependencies: [
                "ServiceKit", "ServiceCores",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Services/Ingest",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Aggregate",
            dependencies: ["ServiceKit", "ServiceCores", .product(name: "Prometheus", package: "swift-prometheus")],
            path: "Services/Aggregate",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Query",
            dependencies: ["ServiceKit", "ServiceCores", .product(name: "Prometheus", package: "swift-prometheus")],
            path: "Services/Query",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Web",
            dependencies: [
                "ServiceKit",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Web",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CLI",
            dependencies: ["ServiceKit", "DeliveryClient"],
            path: "Services/CLI",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Bench",
            dependencies: [
                "ServiceKit", "ServiceCores", "TestSupport",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Services/Bench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ZeroMQTests",
            dependencies: ["ZeroMQ"],
            path: "Tests/ZeroMQTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeliveryMessagesTests",
            dependencies: ["DeliveryMessages"],
            path: "Tests/DeliveryMessagesTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeliveryCoreTests",
            dependencies: ["DeliveryCore", "TestSupport"],
            path: "Tests/DeliveryCoreTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: ["ServiceKit"],
            path: "Tests/ServiceKitTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServiceCoresTests",
            dependencies: ["ServiceCores", "ServiceKit", "ZeroMQ", "TestSupport"],
            path: "Tests/ServiceCoresTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeliveryClientTests",
            dependencies: ["DeliveryClient"],
            path: "Tests/DeliveryClientTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["ZeroMQ", "DeliveryMessages", "ServiceKit", "TestSupport"],
            path: "Tests/IntegrationTests",
            swiftSettings: swiftSettings
        ),
    ]
)
