import ArgumentParser
import ClasHub
import Foundation

/// `tools weights list|download|verify`: the pretrained-weights cache (see ClasHub).
struct WeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights", abstract: "Manage the pretrained-weights cache.",
        discussion: """
            Weights come from the Hugging Face hub (HF_ENDPOINT, default https://huggingface.co) as \
            {repo}/resolve/{revision}/{file} and are cached, verified by SHA-256, under $XDG_CACHE_HOME/swiftclas \
            (or ~/.cache/swiftclas). HF_HUB_OFFLINE=1 or CLAS_OFFLINE=1 uses the cache only.

            NAME_OR_REPO: timm/mobilenetv3_large_100.ra_in1k, a bare timm name (mobilenetv3_large_100.ra_in1k), \
            owner/name@revision, or an http(s) URL.
            """,
        subcommands: [List.self, Download.self, Verify.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the cached files.")

        func run() throws {
            let env = HubEnvironment.current()
            let entries = HubCache(root: env.cacheDirectory).entries()
            print("cache: \(env.cacheDirectory.path)\(env.isOffline ? " (offline)" : "")")
            if entries.isEmpty { print("no weights cached") }
            for e in entries {
                let state = e.isPartial ? "partial download" : e.recordedSHA256.map { "sha256 \($0.prefix(16))…" } ?? "unverified"
                print(String(format: "%@  %9.1f MB  %@", e.key, Double(e.size) / 1_048_576, state))
            }
        }
    }

    struct Download: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download weights into the cache (verified).")

        @Argument(help: "The repository, timm name or URL.")
        var nameOrRepo: String
        @Option(help: "The file in the repository.")
        var file = "model.safetensors"
        @Option(help: "Branch, tag or commit.")
        var revision: String?
        @Option(help: "Expected SHA-256 (hex) of the file.")
        var sha256: String?
        @Flag(help: "Download again even when a verified copy is cached.")
        var force = false

        func run() throws {
            try reportingErrors {
                let downloader = HubDownloader()
                let hubFile = try HubFile.parse(nameOrRepo, filename: file, revision: revision,
                                                endpoint: downloader.environment.endpoint)
                let path = try downloader.fetch(hubFile, sha256: sha256, force: force)
                let tensors = try PretrainedWeights.load(path)
                print("\(path.path): \(tensors.count) tensors, verified")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-hash cached files against their recorded SHA-256 and check that they load.")

        @Argument(help: "One repository, timm name or URL (default: every cached file).")
        var nameOrRepo: String?
        @Option(help: "The file in the repository.")
        var file = "model.safetensors"
        @Option(help: "Branch, tag or commit.")
        var revision: String?

        func run() throws {
            try reportingErrors {
                let env = HubEnvironment.current()
                var entries = HubCache(root: env.cacheDirectory).entries().filter { !$0.isPartial }
                if let nameOrRepo {
                    let key = try HubFile.parse(nameOrRepo, filename: file, revision: revision, endpoint: env.endpoint).cacheKey
                    entries = entries.filter { $0.key == key }
                    guard !entries.isEmpty else { throw ValidationError("\(key) is not in the cache (\(env.cacheDirectory.path))") }
                }
                var bad = 0
                for e in entries {
                    var problem = HubCache.problem(with: e)
                    if problem == nil {
                        do { _ = try PretrainedWeights.load(e.path) } catch { problem = "\(error)" }
                    }
                    if problem != nil { bad += 1 }
                    print("\(e.key): \(problem.map { "BAD (\($0)); `tools weights download --force` fetches it again" } ?? "ok")")
                }
                if bad > 0 { throw ExitCode.failure }
                if entries.isEmpty { print("no weights cached in \(env.cacheDirectory.path)") }
            }
        }
    }
}
