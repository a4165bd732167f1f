import ClasConfig
import Foundation

/// Run folders that never clobber: `tools train` refuses to start a new run in a folder that already holds a run's
/// checkpoints, unless it resumes that run (`Global.checkpoints`) or is told to (`Global.overwrite: True`,
/// `tools train --overwrite`).
public enum RunFolder {
    /// The checkpoints whose presence marks a folder as holding a run.
    public static let markers = ["best_model", "latest"]

    /// `Global.output_dir/<Arch.name>`, where training writes.
    public static func directory(of config: RunConfig) -> String {
        (config.global.outputDir as NSString).appendingPathComponent(config.arch.name)
    }

    /// Throws a message naming the three ways out when training would write over an existing run's checkpoints.
    public static func checkFresh(_ config: RunConfig) throws {
        guard config.global.checkpoints == nil, !config.global.overwrite else { return }
        let dir = directory(of: config)
        let found = markers.map { Checkpoint.path(for: (dir as NSString).appendingPathComponent($0)) }
            .filter { FileManager.default.fileExists(atPath: $0) }
        guard !found.isEmpty else { return }
        throw EngineError(
            "\(dir) already holds a training run (\(found.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))); "
                + "a new run would overwrite it. Resume it with -o Global.checkpoints=\(dir)/latest, "
                + "overwrite it with --overwrite (or -o Global.overwrite=True), "
                + "or train into another folder with -o Global.output_dir=DIR")
    }
}
