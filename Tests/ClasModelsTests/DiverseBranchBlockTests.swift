import ClasConfig
import ClasModels
import ClasNN
import ClasTensor
import Foundation
import XCTest
import _ClasTestSupport

/// PaddleClas's Diverse Branch Block and `ResNet18_dbb` (`layer_type: DiverseBranchBlock`): the fused convolution
/// gives the branches' evaluation output, the parameter counts are PaddleClas's, and the gradients through the BN(0)
/// padding are right.
final class DiverseBranchBlockTests: XCTestCase {
    /// Random γ, β, running statistics (BN(0) ≠ 0, so the padded borders matter) and identity-conv offsets.
    func randomize(_ model: Module, seed: UInt64 = 11) {
        var rng = RandomState(seed: seed)
        for (_, m) in model.namedModules() {
            if let bn = m as? BatchNorm {
                for c in 0..<bn.channels {
                    bn.weight.data[c] = rng.uniform(0.5, 1.5)
                    bn.bias.data[c] = 0.2 * rng.normal()
                    bn.runningMean.data[c] = 0.3 * rng.normal()
                    bn.runningVar.data[c] = rng.uniform(0.5, 2)
                }
            }
            if let id = m as? IdentityBasedConv1x1 {
                for i in 0..<id.weight.count { id.weight.data[i] = 0.2 * rng.normal() }
            }
        }
    }

    /// Max |Δ| between the branches' and the fused block's evaluation outputs, over the largest |output|.
    func fusionError(_ block: Module & Reparameterizable, _ x: Tensor) -> (relative: Float, scale: Float) {
        block.eval()
        let before = GradMode.withoutGrad { block(x) }.scalars
        block.reparameterize()
        let after = GradMode.withoutGrad { block(x) }.scalars
        let scale = before.map(abs).max() ?? 0
        return (zip(before, after).reduce(0) { max($0, abs($1.0 - $1.1)) } / scale, scale)
    }

    func testFusedBlockEqualsBranchesInEvaluation() {
        // (in, out, kernel, stride, ReLU, input height × width): ResNet's 3×3 cases, a (2, 1) stride_list entry,
        // odd sizes (partial windows at the border), and the bottleneck's 1×1 DBBs.
        let cases: [(Int, Int, Int, (Int, Int), Bool, Int, Int)] = [
            (6, 6, 3, (1, 1), true, 7, 9), (5, 8, 3, (2, 2), false, 9, 8), (4, 6, 3, (2, 1), true, 8, 7),
            (6, 10, 1, (1, 1), false, 5, 6), (6, 6, 1, (2, 2), true, 7, 7),
        ]
        for (k, (cin, cout, kernel, stride, relu, h, w)) in cases.enumerated() {
            Randomness.seed(UInt64(k))
            let block = DiverseBranchBlock(cin, cout, kernel: kernel, stride: stride, relu: relu)
            randomize(block, seed: UInt64(20 + k))
            let count = block.reparameterizedParameterCount
            let r = fusionError(block, randn([2, h, w, cin], seed: UInt64(30 + k)))
            print("DBB \(cin)→\(cout) k\(kernel) stride \(stride): fused vs branches max |Δ| / max |y| = \(r.relative)")
            XCTAssertGreaterThan(r.scale, 0.5)
            XCTAssertLessThanOrEqual(r.relative, 1e-4, "case \(k)")
            XCTAssertEqual(block.parameterCount, count)
            XCTAssertEqual(block.stateDict().map(\.0), ["dbb_reparam.weight", "dbb_reparam.bias"])
        }
    }

    /// The branches, the identity-based 1×1 conv and the padding value BN(0) train: gradients of the output with
    /// respect to the input, the padding BNs' γ and β, `idconv1` and `conv2` match central differences (training-mode
    /// BN, running statistics frozen so BN(0) stays put between evaluations).
    func testGradientsThroughPaddedBranches() throws {
        Randomness.seed(4)
        let block = DiverseBranchBlock(3, 4, kernel: 3, stride: (2, 2))
        randomize(block, seed: 5)
        for (_, m) in block.namedModules() { (m as? BatchNorm)?.momentum = 0 }
        let avg = try XCTUnwrap(block.dbbAvg), kxk = try XCTUnwrap(block.dbb1x1Kxk)
        let x = randn([2, 5, 6, 3], seed: 6)
        let report = checkGradients([x, kxk.bn1.bn.weight, kxk.bn1.bn.bias, kxk.idconv1.weight, kxk.conv2.weight,
                                     avg.bn.bn.weight, avg.bn.bn.bias], eps: 1e-2, rtol: 2e-2, atol: 2e-3) { _ in block(x) }
        XCTAssertGreaterThan(report.checked, 100)
    }

    /// PaddleClas's ResNet18 with DBBs (`use_first_short_conv: False`), counted from its layer shapes (γ and β of each
    /// BN, no running statistics): 26,288,296 parameters; fused, every block's conv+BN becomes conv+bias, which is
    /// the plain ResNet18's 11,689,512 less the 16 block BNs' 3,840 β.
    func testResNet18DBBParameterCountsAndNames() throws {
        Randomness.seed(1)
        let registry = ModelRegistry.builtins()
        let node = try ConfigLoader.parse(
            "{name: ResNet18, class_num: 1000, layer_type: DiverseBranchBlock, use_first_short_conv: False}", path: "a.yaml")
        let model = try registry.build(node, context: ArchContext(classCount: 1000, registry: registry), path: "Arch",
                                       decoder: ConfigDecoder())
        let dbb = try XCTUnwrap(model as? DiverseBranchResNet)
        XCTAssertEqual(dbb.diverseBranchBlocks.count, 16)
        XCTAssertEqual(model.parameterCount, 26_288_296)
        let fusable = try XCTUnwrap(model as? Reparameterizable, "fused by export like MobileOne")
        XCTAssertEqual(fusable.reparameterizedParameterCount, 11_685_672)
        XCTAssertEqual(try registry.make("ResNet18").parameterCount, 11_685_672 + 3_840)
        let names = model.stateDict().map(\.0)
        XCTAssertEqual(names.filter { $0.hasPrefix("layer2.0.conv1.") && !$0.contains("running") }, [
            "layer2.0.conv1.dbb_origin.conv.weight", "layer2.0.conv1.dbb_origin.bn.weight", "layer2.0.conv1.dbb_origin.bn.bias",
            "layer2.0.conv1.dbb_avg.conv.weight", "layer2.0.conv1.dbb_avg.bn.bn.weight", "layer2.0.conv1.dbb_avg.bn.bn.bias",
            "layer2.0.conv1.dbb_avg.avgbn.weight", "layer2.0.conv1.dbb_avg.avgbn.bias",
            "layer2.0.conv1.dbb_1x1.conv.weight", "layer2.0.conv1.dbb_1x1.bn.weight", "layer2.0.conv1.dbb_1x1.bn.bias",
            "layer2.0.conv1.dbb_1x1_kxk.idconv1.weight", "layer2.0.conv1.dbb_1x1_kxk.bn1.bn.weight",
            "layer2.0.conv1.dbb_1x1_kxk.bn1.bn.bias", "layer2.0.conv1.dbb_1x1_kxk.conv2.weight",
            "layer2.0.conv1.dbb_1x1_kxk.bn2.weight", "layer2.0.conv1.dbb_1x1_kxk.bn2.bias",
        ])
        // The stem and the shortcuts stay conv+BN; layer1's first block has no shortcut (use_first_short_conv False).
        XCTAssertTrue(names.contains("conv1.weight") && names.contains("layer2.0.downsample.0.weight"))
        XCTAssertFalse(names.contains { $0.hasPrefix("layer1.0.downsample") })
        // PaddleClas's initialisation: every BN γ = 1, identity conv offsets 0, convs Normal(0, √(2 / fan_in)); with
        // zero_init_last (ResNet's default) the last DBB of each residual branch starts its four branches at γ = 0.
        let block = try XCTUnwrap(dbb.diverseBranchBlocks.dropLast().last)
        XCTAssertTrue(block.namedModules().compactMap { $0.1 as? BatchNorm }.allSatisfy { $0.weight.scalars.allSatisfy { $0 == 1 } })
        let zeroed = try XCTUnwrap(dbb.diverseBranchBlocks.last)
        let gammas = zeroed.namedModules().compactMap { n, m in (m as? BatchNorm).map { (n, $0.weight.scalars.max() ?? -1) } }
        XCTAssertEqual(gammas.map(\.0), ["dbb_origin.bn", "dbb_avg.bn.bn", "dbb_avg.avgbn", "dbb_1x1.bn", "dbb_1x1_kxk.bn1.bn",
                                         "dbb_1x1_kxk.bn2"])
        XCTAssertEqual(gammas.map(\.1), [0, 1, 0, 0, 1, 0])
        XCTAssertEqual(block.dbb1x1Kxk?.idconv1.weight.scalars.allSatisfy { $0 == 0 }, true)
        let w = try XCTUnwrap(block.dbbOrigin?.conv.weight.scalars)
        let std = (w.map { $0 * $0 }.reduce(0, +) / Float(w.count)).squareRoot()
        XCTAssertEqual(std, (2 / Float(512 * 9)).squareRoot(), accuracy: 0.002)

        fusable.reparameterize()
        XCTAssertEqual(model.parameterCount, 11_685_672)
        XCTAssertTrue(model.stateDict().map(\.0).contains("layer4.1.conv2.dbb_reparam.bias"))
    }

    /// The whole network fused through ``Reparameterizable`` (what export, `tools infer` and `tools eval` call) gives
    /// the branches' logits; `zero_init_last: False` keeps PaddleClas's γ = 1 in every DBB.
    func testResNetFusionAndOptions() throws {
        Randomness.seed(2)
        let model = DiverseBranchResNet(variant: try ResNet.variant("ResNet18"), classCount: 10)
        randomize(model, seed: 3)
        // Running statistics from a batch (momentum 1), so activations keep a trained network's scale.
        let norms = model.namedModules().compactMap { $0.1 as? BatchNorm }
        for bn in norms { bn.momentum = 1 }
        _ = GradMode.withoutGrad { model(randn([4, 32, 32, 3], seed: 5)) }
        let r = fusionError(model, randn([2, 32, 32, 3], seed: 4))
        print("ResNet18 DBB fused vs branches: max |Δlogit| / max |logit| = \(r.relative) (max |logit| \(r.scale))")
        XCTAssertLessThanOrEqual(r.relative, 1e-4)

        let paddle = DiverseBranchResNet(variant: try ResNet.variant("ResNet18"), classCount: 10, zeroInitLast: false)
        let last = try XCTUnwrap(paddle.layer1.layers.first as? BasicBlock).conv2 as? DiverseBranchBlock
        XCTAssertEqual(last?.dbbAvg?.avgbn.weight.scalars.allSatisfy { $0 == 1 }, true, "PaddleClas's γ = 1")
        // A bottleneck's three convolutions become 1×1, 3×3 (stride) and 1×1 DBBs, as PaddleClas's.
        let bottleneck = Bottleneck(16, 8, stride: (2, 2), downsample: nil, dropPath: 0, diverseBranches: true)
        XCTAssertEqual([bottleneck.conv1, bottleneck.conv2, bottleneck.conv3].compactMap { ($0 as? DiverseBranchBlock)?.kernel },
                       [1, 3, 1])
        XCTAssertEqual(bottleneck.conv2.namedParameters().first?.1.shape, [8, 3, 3, 8])
        let options = try JSONDecoder().decode(ResNet.Options.self, from: Data(
            #"{"layer_type": "DiverseBranchBlock", "use_first_short_conv": true}"#.utf8))
        XCTAssertEqual(options, ResNet.Options(layerType: .diverseBranchBlock, useFirstShortConv: true))
        let plain = ResNet.make(try ResNet.variant("ResNet18"), options: ResNet.Options(useFirstShortConv: true))
        XCTAssertFalse(plain is Reparameterizable)
        XCTAssertEqual(plain.parameterCount, 11_689_512 + 64 * 64 + 128, "PaddleClas's first 1×1 shortcut")
        XCTAssertThrowsError(try JSONDecoder().decode(ResNet.Options.self, from: Data(#"{"layer_type": "RepVGGBlock"}"#.utf8))) {
            XCTAssertTrue("\($0)".contains("ConvBNLayer, the default, or DiverseBranchBlock"), "\($0)")
        }
    }
}
