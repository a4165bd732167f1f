import ArgumentParser
import ClasData
import Foundation

struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "Prepare a dataset in the PaddleClas layout.",
        discussion: """
            fashion-mnist: converts Debian's dataset-fashion-mnist IDX files into PNG class folders
            (images/train/<class>/, images/test/<class>/), PaddleClas list files (train_list.txt, test_list.txt),
            label_list.txt, and a few test images in samples/ to try `tools infer` on.
            --classes keeps some classes, relabelled 0, 1, … in the order given (label_list.txt names them);
            --train-per-class keeps the first N training images of each kept class (the test split keeps all of
            the kept classes' images). For transfer experiments:
              tools dataset fashion-mnist --out dataset/fmnist-0-4 --classes 0-4
              tools dataset fashion-mnist --out dataset/fmnist-5-9-500 --classes 5-9 --train-per-class 100
            Example: tools dataset fashion-mnist --out dataset/fashion-mnist

            fashion-mnist-multilabel: 56x56 mosaics of 2x2 random Fashion-MNIST items; the 10 targets say which
            classes appear. fashion-mnist-attributes: single items with 9 attributes (upper_body, covers_legs,
            footwear, long_sleeves, cold_weather, open_footwear, accessory, one_piece, light_colored). Both are
            written in PaddleClas's MultiLabelDataset format (images/<split>/<n>.png<TAB>0,1,0,...) with
            label_list.txt, deterministic for a --seed; --train-count and --test-count set the sizes.
            Example: tools dataset fashion-mnist-multilabel --out dataset/fmnist-multilabel --seed 0
            """)

    @Argument(help: "The dataset: fashion-mnist, fashion-mnist-multilabel or fashion-mnist-attributes.")
    var name: String
    @Option(help: "Folder of the IDX files.")
    var source = FashionMNIST.defaultSource
    @Option(help: "Output folder (default dataset/<name>).")
    var out: String?
    @Option(help: "fashion-mnist: keep only the first N images of each split (for quick trials).")
    var limit: Int?
    @Option(help: "fashion-mnist: keep only these labels (0-9), relabelled in the order given: e.g. 0-4 or 5,7,9.")
    var classes: String?
    @Option(help: "fashion-mnist: keep only the first N training images of each kept class.")
    var trainPerClass: Int?
    @Option(help: "Derived sets: training images.")
    var trainCount = 20000
    @Option(help: "Derived sets: test images.")
    var testCount = 4000
    @Option(help: "Derived sets: the seed that picks the items.")
    var seed: UInt64 = 0

    static let names = ["fashion-mnist"] + FashionMNISTDerived.Kind.allCases.map { "fashion-mnist-\($0.rawValue)" }

    func validate() throws {
        guard Self.names.contains(name) else {
            throw ValidationError("unknown dataset '\(name)'; available: \(Self.names.joined(separator: ", "))")
        }
        if let n = trainPerClass, n < 1 { throw ValidationError("--train-per-class must be at least 1, got \(n)") }
    }

    func run() throws {
        let out = self.out ?? "dataset/\(name)"
        if let kind = FashionMNISTDerived.Kind(rawValue: String(name.dropFirst("fashion-mnist-".count))),
           name != "fashion-mnist" {
            try reportingErrors {
                let r = try FashionMNISTDerived.build(kind, from: source, to: out, trainCount: trainCount,
                                                      testCount: testCount, seed: seed)
                print(r.complete ? "\(out): already complete (\(r.train) train, \(r.test) test images)"
                      : "\(out): wrote \(r.train) train and \(r.test) test images, list files and label_list.txt")
            }
            return
        }
        try reportingErrors {
            let subset = FashionMNIST.Subset(classes: try classes.map(FashionMNIST.Subset.parseClasses),
                                             trainPerClass: trainPerClass)
            let summary = try FashionMNIST.convert(from: source, to: out, limit: limit, subset: subset)
            let samples = (out as NSString).appendingPathComponent("samples")
            if !FileManager.default.fileExists(atPath: samples) {
                try FileManager.default.createDirectory(atPath: samples, withIntermediateDirectories: true)
                let list = try String(contentsOfFile: (out as NSString).appendingPathComponent("test_list.txt"), encoding: .utf8)
                for line in list.split(separator: "\n").prefix(8) {
                    guard let rel = line.split(separator: " ").first else { continue }
                    let src = (out as NSString).appendingPathComponent(String(rel))
                    let name = (String(rel) as NSString).pathComponents.suffix(2).joined(separator: "_")
                    try? FileManager.default.copyItem(atPath: src, toPath: (samples as NSString).appendingPathComponent(name))
                }
            }
            print(summary.alreadyComplete
                  ? "\(out): already complete (\(summary.trainCount) train, \(summary.testCount) test images)"
                  : "\(out): wrote \(summary.trainCount) train and \(summary.testCount) test images, list files and label_list.txt")
        }
    }
}
