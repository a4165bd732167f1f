import ClasConfig

/// YAML config text and `-o` overrides → `ConfigLoader` (YAML parse, `-o` application) → `ConfigDecoder` (strict
/// `RunConfig` decoding). Input: UTF-8 YAML, then optionally NUL-separated `-o KEY=VALUE` texts. Every input must
/// give a config or a `ConfigError`; any other error is a finding (the loader must translate Yams errors).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let buffer = UnsafeBufferPointer(start: data, count: size)
    let parts = buffer.split(separator: 0, omittingEmptySubsequences: false)
    guard let first = parts.first, let yaml = String(bytes: first, encoding: .utf8) else { return 0 }
    var overrides: [String] = []
    for part in parts.dropFirst() {
        guard let text = String(bytes: part, encoding: .utf8) else { return 0 }
        overrides.append(text)
    }
    do {
        let tree = try ConfigLoader.parse(yaml, path: "fuzz.yaml")
        let config = try Overrides.apply(overrides, to: tree)
        _ = try ConfigDecoder().decode(RunConfig.self, from: config)
    } catch is ConfigError {
    } catch {
        fatalError("not a ConfigError: \(type(of: error)): \(error)")
    }
    return 0
}
