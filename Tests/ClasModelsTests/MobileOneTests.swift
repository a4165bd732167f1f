import ClasModels
import ClasNN
import ClasTensor
import XCTest
import _ClasTestSupport

final class MobileOneTests: XCTestCase {
    /// Non-trivial batch-norm statistics and affine terms (γ scaled down so 40+ summed-branch blocks stay O(1)).
    func randomizeBatchNorms(_ model: Module, gamma: Float) {
        var rng = RandomState(seed: 11)
        for (_, m) in model.namedModules() {
            guard let bn = m as? BatchNorm else { continue }
            for c in 0..<bn.channels {
                bn.weight.data[c] = gamma * (1 + 0.2 * rng.normal())
                bn.bias.data[c] = 0.1 * rng.normal()
                bn.runningMean.data[c] = 0.1 * rng.normal()
                bn.runningVar.data[c] = rng.uniform(0.5, 1.5)
            }
        }
    }

    /// Max |Δ| of the logits and of the pre-pool features before and after fusion, and their magnitudes.
    func fusionDifference(_ variant: String, size: Int, gamma: Float) throws
        -> (diff: Float, scale: Float, featureDiff: Float, featureScale: Float)
    {
        Randomness.seed(5)
        let model = MobileOne(variant: try MobileOne.variant(variant), classCount: 100)
        randomizeBatchNorms(model, gamma: gamma)
        model.eval()
        let x = randn([2, size, size, 3], seed: 9)
        let before = GradMode.withoutGrad { model(x) }.scalars
        let featuresBefore = GradMode.withoutGrad { model.forwardFeatures(x) }.scalars
        model.reparameterize()
        let after = GradMode.withoutGrad { model(x) }.scalars
        let featuresAfter = GradMode.withoutGrad { model.forwardFeatures(x) }.scalars
        return (maxAbsDifference(before, after), before.map(abs).max() ?? 0,
                maxAbsDifference(featuresBefore, featuresAfter), featuresBefore.map(abs).max() ?? 0)
    }

    func testFusionPreservesEvalOutputS0At224() throws {
        let r = try fusionDifference("s0", size: 224, gamma: 0.3)
        print("MobileOne S0 fusion at 224: logits max |Δ| = \(r.diff) (max |logit| \(r.scale)), features max |Δ| = "
              + "\(r.featureDiff) (max |feature| \(r.featureScale))")
        XCTAssertGreaterThan(r.featureScale, 0.5, "features should not vanish")
        // README: fused and unfused outputs agree within 1e-6 of their magnitude (measured 2–3e-7).
        XCTAssertLessThanOrEqual(r.diff, 1e-6 * r.scale)
        XCTAssertLessThanOrEqual(r.featureDiff, 1e-6 * r.featureScale)
    }

    func testFusionPreservesEvalOutputS4WithSE() throws {
        let r = try fusionDifference("s4", size: 64, gamma: 0.4)
        print("MobileOne S4 fusion at 64: logits max |Δ| = \(r.diff) (max |logit| \(r.scale)), features max |Δ| = "
              + "\(r.featureDiff) (max |feature| \(r.featureScale))")
        XCTAssertGreaterThan(r.featureScale, 0.1)
        XCTAssertLessThanOrEqual(r.diff, 1e-6 * r.scale)
        XCTAssertLessThanOrEqual(r.featureDiff, 1e-6 * r.featureScale)
    }

    func testFusedBlockStructureAndIdempotence() throws {
        let model = MobileOne(variant: try MobileOne.variant("s0"), classCount: 10)
        XCTAssertTrue(model.stateDict().map(\.0).contains("stages.0.1.conv_kxk.3.bn.running_var"))
        XCTAssertTrue(model.stateDict().map(\.0).contains("stages.1.2.identity.weight"))
        model.reparameterize()
        let names = model.stateDict().map(\.0)
        XCTAssertEqual(names.filter { $0.hasPrefix("stem.") }, ["stem.reparam_conv.weight", "stem.reparam_conv.bias"])
        XCTAssertFalse(names.contains { $0.contains("conv_kxk") || $0.contains("identity") || $0.contains("conv_scale") })
        let count = model.parameterCount
        model.reparameterize()
        XCTAssertEqual(model.parameterCount, count)
        // Depthwise blocks stay depthwise, pointwise ones 1×1.
        let dw = try XCTUnwrap(model.stages.layers[0].namedModules().first { $0.1 is MobileOneBlock }?.1 as? MobileOneBlock)
        XCTAssertEqual(dw.reparamConv?.weight.shape, [48, 3, 3, 1])
    }

    func testFusedModelTrains() throws {
        let model = MobileOne(variant: try MobileOne.variant("s1"), classCount: 10)
        model.reparameterize()
        model.train()
        let loss = Tensor.crossEntropy(model(randn([2, 64, 64, 3])), labels: [1, 2])
        loss.backward()
        XCTAssertTrue(loss.item.isFinite)
        XCTAssertNotNil(model.stem.reparamConv?.weight.grad)
    }
}
