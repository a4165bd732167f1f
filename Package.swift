// swift-tools-version:6.0
// SwiftClas: image-classification training in Swift. See README.md and docs/design.md.
import PackageDescription

/// Engine targets use the Swift 5 language mode: kernels share raw buffers across the thread pool, which Swift 6's
/// strict checking would force through `@unchecked Sendable` everywhere. Decided once in docs/design.md.
let swift5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "SwiftClas",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tools", targets: ["tools"]),
        .library(name: "SwiftClas", targets: [
            "ClasTensor", "ClasNN", "ClasOptim", "ClasData", "ClasModels", "ClasConfig", "ClasEngine", "ClasExport",
            "ClasCLI", "ClasPlot", "ClasHub",
        ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C libraries from Debian, found through pkg-config. (The BLAS is not linked: ClasKernels loads it at run
        // time after choosing its kernel from the CPU's features, see docs/design.md.)
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Hand-written SIMD kernels, the thread pool and the BLAS loader (C, per-function target attributes,
        // run-time dispatch).
        .target(name: "ClasKernels", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        // Open MPI loaded with dlopen only in processes started by mpirun: no build-time MPI dependency.
        .target(name: "ClasMPI", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),

        // Engine layers, bottom to top.
        .target(name: "ClasTensor", dependencies: ["ClasKernels"], swiftSettings: swift5),
        .target(name: "ClasNN", dependencies: ["ClasTensor"], swiftSettings: swift5),
        .target(name: "ClasOptim", dependencies: ["ClasTensor", "ClasNN"], swiftSettings: swift5),
        .target(
            name: "ClasData", dependencies: ["ClasTensor", "ClasKernels", "CPNG", "CJPEG", "CZlib"],
            swiftSettings: swift5),
        .target(
            name: "ClasModels", dependencies: ["ClasTensor", "ClasNN", "ClasConfig"], exclude: ["README.md"], swiftSettings: swift5),
        .target(name: "ClasConfig", dependencies: [.product(name: "Yams", package: "Yams")], swiftSettings: swift5),
        /// Line charts, heat maps and image grids drawn with a bitmap font and written as PNG (through ClasData).
        .target(name: "ClasPlot", dependencies: ["ClasData"], exclude: ["README.md"], swiftSettings: swift5),
        .target(
            name: "ClasEngine",
            dependencies: ["ClasTensor", "ClasNN", "ClasOptim", "ClasData", "ClasModels", "ClasConfig", "ClasProto", "ClasHub",
                           "ClasPlot", "ClasMPI", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swift5),
        /// Generated protobuf messages (ONNX subset, TensorBoard events), committed so builds need no protoc.
        .target(
            name: "ClasProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swift5),
        .target(
            name: "ClasExport",
            dependencies: [
                "ClasTensor", "ClasNN", "ClasModels", "ClasProto", "ClasConfig", "ClasData", "ClasEngine", "ClasKernels",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["README.md"], swiftSettings: swift5),
        .target(
            name: "ClasCLI",
            dependencies: [
                "ClasTensor", "ClasNN", "ClasOptim", "ClasData", "ClasModels", "ClasConfig", "ClasEngine", "ClasExport",
                "ClasHub", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swift5),
        /// Pretrained weights: Hugging Face hub downloads into a verified cache, and weights-only PyTorch checkpoints
        /// (zip entries read with zlib: ZIPFoundation's own `CZlib` module would clash with ours).
        .target(
            name: "ClasHub",
            dependencies: ["ClasTensor", "CZlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swift5),
        .executableTarget(name: "tools", dependencies: ["ClasCLI"], swiftSettings: swift5),

        // Tests, one target per library target, sharing _ClasTestSupport.
        .target(name: "_ClasTestSupport", dependencies: ["ClasTensor"], path: "Tests/_ClasTestSupport",
                swiftSettings: swift5),
        .testTarget(name: "ClasTensorTests", dependencies: ["ClasTensor", "_ClasTestSupport"], swiftSettings: swift5),
        .testTarget(
            name: "ClasModelsTests", dependencies: ["ClasModels", "ClasNN", "ClasData", "ClasExport", "ClasKernels", "_ClasTestSupport"],
            resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(
            name: "ClasConfigTests", dependencies: ["ClasConfig"], resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(
            name: "ClasEngineTests", dependencies: ["ClasEngine", "ClasData", "ClasConfig", "ClasProto", "_ClasTestSupport"],
            swiftSettings: swift5),
        .testTarget(name: "ClasProtoTests", dependencies: ["ClasProto", "_ClasTestSupport"], swiftSettings: swift5),
        .testTarget(name: "ClasDataTests", dependencies: ["ClasData", "_ClasTestSupport"], swiftSettings: swift5),
        .testTarget(
            name: "ClasExportTests",
            dependencies: ["ClasExport", "ClasEngine", "ClasModels", "ClasConfig", "ClasData", "ClasProto", "_ClasTestSupport"],
            swiftSettings: swift5),
        /// A user's package: its own model registered with a card, summarised, benchmarked, fine-tuned and exported.
        .testTarget(
            name: "UserPackageTests",
            dependencies: ["ClasCLI", "ClasEngine", "ClasExport", "ClasModels", "ClasConfig", "ClasData", "ClasNN",
                           "ClasTensor", "ClasProto", "_ClasTestSupport"],
            swiftSettings: swift5),
        .testTarget(
            name: "ClasHubTests",
            dependencies: ["ClasHub", "ClasTensor", "ClasModels", "ClasNN", "ClasData", "ClasEngine"],
            resources: [.copy("Fixtures")],
            swiftSettings: swift5),
        .testTarget(name: "ClasPlotTests", dependencies: ["ClasPlot", "ClasData"], swiftSettings: swift5),
        /// Bad data, bad configs and arguments, training faults (NaN, signals, kill -9, full disk) and untrusted
        /// files, end to end (several tests run the `tools` binary of the same build as a subprocess).
        .testTarget(
            name: "ReliabilityTests",
            dependencies: ["ClasEngine", "ClasData", "ClasConfig", "ClasTensor", "ClasNN", "_ClasTestSupport"],
            swiftSettings: swift5),
    ]
)
