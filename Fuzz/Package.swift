// swift-tools-version:6.0
// libFuzzer targets for SwiftClas's untrusted-input readers (issue 9). Not part of the root build: see README.md.
//
// The four library modules the readers live in (and the C modules under them) are compiled here from the root
// package's sources through the symlinks in Modules/, so the sanitized build compiles only what the fuzzers reach
// (not the engine, models or protobuf code a dependency on the root package's single library product would pull in).
import PackageDescription

let swift5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

/// One executable per fuzzer, exporting `LLVMFuzzerTestOneInput`. Built with `--sanitize fuzzer --sanitize address`
/// (README.md): SwiftPM then compiles executables as libraries (`-parse-as-library`) and links libFuzzer's `main`.
func fuzzer(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: dependencies, swiftSettings: swift5)
}

let package = Package(
    name: "SwiftClasFuzz",
    dependencies: [.package(url: "https://github.com/jpsim/Yams", from: "5.0.1")],
    targets: [
        .systemLibrary(name: "CPNG", path: "Modules/CPNG", pkgConfig: "libpng"),
        .systemLibrary(name: "CJPEG", path: "Modules/CJPEG", pkgConfig: "libturbojpeg"),
        .systemLibrary(name: "CZlib", path: "Modules/CZlib", pkgConfig: "zlib"),
        .target(name: "ClasKernels", path: "Modules/ClasKernels", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "ClasTensor", dependencies: ["ClasKernels"], path: "Modules/ClasTensor",
                swiftSettings: swift5),
        .target(name: "ClasData", dependencies: ["ClasTensor", "ClasKernels", "CPNG", "CJPEG", "CZlib"],
                path: "Modules/ClasData", swiftSettings: swift5),
        .target(name: "ClasConfig", dependencies: [.product(name: "Yams", package: "Yams")], path: "Modules/ClasConfig",
                swiftSettings: swift5),
        /// The PyTorch checkpoint reader of ClasHub (its Torch folder only: no networking or crypto).
        .target(name: "ClasHubTorch", dependencies: ["ClasTensor", "CZlib"], path: "Modules/ClasHubTorch",
                swiftSettings: swift5),

        fuzzer("FuzzConfig", ["ClasConfig"]),
        fuzzer("FuzzSafetensors", ["ClasTensor"]),
        fuzzer("FuzzPNG", ["FuzzSupport", "ClasData"]),
        fuzzer("FuzzJPEG", ["FuzzSupport", "ClasData"]),
        fuzzer("FuzzBMP", ["FuzzSupport", "ClasData"]),
        fuzzer("FuzzTorch", ["ClasHubTorch", "CZlib"]),

        .target(name: "FuzzSupport", dependencies: ["ClasData"], swiftSettings: swift5),
    ]
)
