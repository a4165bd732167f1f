import ClasExport
import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

/// ResNet18 with Diverse Branch Blocks (`layer_type: DiverseBranchBlock`): the inference mode runs its unfused
/// branches (evaluation during training), and export fuses it through ``Reparameterizable`` into ResNet18's
/// structure, whose ONNX form onnxruntime (Python, skipped when absent) runs to the branches' logits.
final class DiverseBranchExportTests: XCTestCase {
    func testUnfusedPlanAndFusedOnnxMatchTheBranches() throws {
        Randomness.seed(6)
        let model = DiverseBranchResNet(variant: try ResNet.variant("ResNet18"), classCount: 10)
        randomizeBatchNorms(model, inputSize: 32)
        model.eval()
        normalizeLogitScale(model, classifierPrefixes: ["fc."], input: randn([4, 32, 32, 3], seed: 8))
        let x = randn([3, 32, 32, 3], seed: 10)
        let branches = GradMode.withoutGrad { model(x) }.scalars
        let scale = branches.map(abs).max() ?? 1

        let plan = try InferencePlan(model: model, height: 32, width: 32)
        let planned = GradMode.withoutGrad { plan.run(x) }.scalars
        XCTAssertLessThanOrEqual(maxAbsDifference(planned, branches), 1e-4 * scale, "unfused inference mode")
        XCTAssertEqual(model.diverseBranchBlocks.filter(\.isFused).count, 0, "the plan leaves the branches in place")

        let graph = try ExportGraph.trace(model, height: 32, width: 32)
        XCTAssertEqual(model.diverseBranchBlocks.filter(\.isFused).count, 16, "export fused every DBB")
        let fused = GradMode.withoutGrad { GraphExecutor(graph).run(x) }.scalars
        print("ResNet18 DBB: inference mode (unfused) max |Δ| \(maxAbsDifference(planned, branches)), exported fused "
              + "graph max |Δ| \(maxAbsDifference(fused, branches)) (max |logit| \(scale))")
        XCTAssertLessThanOrEqual(maxAbsDifference(fused, branches), 1e-4 * scale)
        let convs = graph.nodes.filter { if case .tensor(.conv2d) = $0.op { return true } else { return false } }
        XCTAssertEqual(convs.count, 20, "ResNet18's 20 convolutions, one per fused DBB")

        guard let runtime = try? OnnxRuntimeRunner.find() else { throw XCTSkip("onnxruntime not found: only the trace was checked") }
        let path = "\(temporaryDirectory())/resnet18_dbb.onnx"
        try OnnxExporter.write(try OnnxExporter.export(graph), to: path)
        let diff = maxAbsDifference(try runtime.run(model: path, input: x), branches)
        print("onnxruntime ResNet18 DBB (fused): max |Δlogit| \(diff) against the branches, max |logit| \(scale)")
        XCTAssertLessThanOrEqual(diff, 1e-4 * scale)
    }
}
