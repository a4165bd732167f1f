import ClasData
import ClasTensor
import Foundation
import XCTest

/// Options decode from PaddleClas keys with PaddleClas defaults, and bad values give clear messages.
final class OpOptionsTests: XCTestCase {
    private func options<O: Decodable>(_ type: O.Type, _ json: String) throws -> O {
        try JSONDecoder().decode(O.self, from: Data(json.utf8))
    }

    /// Builds an op through its `BuiltinImageOps` entry, as a config registry would.
    private func build(_ name: String, _ json: String) throws -> any ImageOp {
        guard let entry = BuiltinImageOps.entry(named: name) else { throw OptionsError("no entry \(name)") }
        OpCapture.make = entry.make
        return try JSONDecoder().decode(OpCapture.self, from: Data(json.utf8)).op
    }

    func testEntriesCoverThePaddleClasNamesAndKeys() {
        XCTAssertEqual(BuiltinImageOps.entries.map(\.name), [
            "DecodeImage", "ResizeImage", "RandCropImage", "CropImage", "RandFlipImage", "NormalizeImage", "ToCHWImage",
            "RandomCropImage", "RandCropImageV2", "CenterCrop", "RandomResizedCrop", "CropImageAtRatio", "Pad", "Padv2",
            "AutoAugment", "RandAugment", "TimmAutoAugment", "AugMix", "ColorJitter", "RandomRotation", "RandomAffine",
            "RandomGrayscale", "RandomErasing", "Cutout", "GridMask", "RandAugmentV2", "RandAugmentV3", "RandAugmentV4",
            "HideAndSeek", "PCALighting", "RandomRot90", "BlurImage",
        ])
        XCTAssertEqual(Set(Padv2.optionKeys), ["size", "size_divisor", "pad_mode", "offsets", "fill_value"])
        XCTAssertEqual(Set(BlurImage.optionKeys), ["ratio", "motion_max_ksize", "motion_max_angle", "gaussian_max_ksize"])
        XCTAssertEqual(Set(RandAugmentV3.optionKeys), ["num_layers", "magnitude", "fillcolor", "interpolation"])
        XCTAssertEqual(Set(RandCropImage.optionKeys),
                       ["size", "scale", "ratio", "interpolation", "use_log_aspect", "backend", "progress_size"])
        XCTAssertEqual(Set(NormalizeImage.optionKeys), ["scale", "mean", "std", "order", "output_fp16", "channel_num"])
        XCTAssertEqual(Set(DecodeImage.optionKeys), ["to_np", "to_rgb", "channel_first", "backend", "max_pixels"])
        XCTAssertEqual(Set(ResizeImage.optionKeys), ["size", "resize_short", "interpolation", "backend", "return_numpy"])
        XCTAssertEqual(RandFlipImage.optionKeys, ["flip_code"])
        XCTAssertEqual(ToCHWImage.optionKeys, [])
    }

    func testDefaults() throws {
        let crop = try build("RandCropImage", #"{"size": 224}"#)
        guard let rc = crop as? RandCropImage else { return XCTFail("wrong type") }
        XCTAssertEqual(rc.width, 224)
        XCTAssertEqual(rc.scale.0, 0.08)
        XCTAssertEqual(rc.ratio.1, 4.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(rc.interpolation, .bilinear)
        XCTAssertFalse(rc.useLogAspect)
        guard let norm = try build("NormalizeImage", "{}") as? NormalizeImage else { return XCTFail("wrong type") }
        XCTAssertEqual(norm.scale, Float(1.0 / 255.0))
        XCTAssertEqual(norm.mean, [0.485, 0.456, 0.406])
        XCTAssertEqual(norm.std, [0.229, 0.224, 0.225])
        guard let flip = try build("RandFlipImage", "{}") as? RandFlipImage else { return XCTFail("wrong type") }
        XCTAssertEqual(flip.flipCode, 1)
        guard let dec = try build("DecodeImage", "{}") as? DecodeImage else { return XCTFail("wrong type") }
        XCTAssertTrue(dec.toRGB)
        XCTAssertEqual(dec.maxPixels, 89_478_485)
        XCTAssertTrue(try build("ToCHWImage", "{}") is ToCHWImage)
    }

    func testTypicalPaddleClasEntries() throws {
        guard let n = try build("NormalizeImage", #"{"scale": "1.0/255.0", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "order": ""}"#)
            as? NormalizeImage else { return XCTFail("wrong type") }
        XCTAssertEqual(n.scale, Float(1.0 / 255.0))
        guard let r = try build("ResizeImage", #"{"resize_short": 256, "interpolation": "BICUBIC", "backend": "pil"}"#)
            as? ResizeImage else { return XCTFail("wrong type") }
        XCTAssertEqual(r.target, .shortSide(256))
        XCTAssertEqual(r.interpolation, .bicubic)
        guard let c = try build("RandCropImage", #"{"size": [192, 160], "scale": [0.35, 1], "use_log_aspect": true, "interpolation": "random"}"#)
            as? RandCropImage else { return XCTFail("wrong type") }
        XCTAssertEqual(c.width, 192)
        XCTAssertEqual(c.height, 160)
        XCTAssertEqual(c.interpolation, .random)
        guard let cc = try build("CropImage", #"{"size": [30, 20]}"#) as? CropImage else { return XCTFail("wrong type") }
        XCTAssertTrue(cc.width == 30 && cc.height == 20)
    }

    func testValidationMessages() {
        TestData.assertThrows(["RandCropImage", "size must be positive", "0"]) { try build("RandCropImage", #"{"size": 0}"#) }
        TestData.assertThrows(["RandCropImage", "scale must be [min, max]", "0.9"]) {
            try build("RandCropImage", #"{"size": 8, "scale": [0.9, 0.1]}"#)
        }
        TestData.assertThrows(["RandCropImage", "ratio"]) { try build("RandCropImage", #"{"size": 8, "ratio": [1]}"#) }
        TestData.assertThrows(["RandCropImage", "interpolation must be one of", "'cubic'"]) {
            try build("RandCropImage", #"{"size": 8, "interpolation": "cubic"}"#)
        }
        TestData.assertThrows(["RandFlipImage", "flip_code", "2"]) { try build("RandFlipImage", #"{"flip_code": 2}"#) }
        TestData.assertThrows(["ResizeImage", "'size' or a positive 'resize_short'"]) { try build("ResizeImage", "{}") }
        TestData.assertThrows(["ResizeImage", "backend"]) { try build("ResizeImage", #"{"size": 4, "backend": "skimage"}"#) }
        TestData.assertThrows(["NormalizeImage", "channel_num must be 3 or 4"]) { try build("NormalizeImage", #"{"channel_num": 1}"#) }
        TestData.assertThrows(["NormalizeImage", "std needs 3 non-zero values"]) {
            try build("NormalizeImage", #"{"std": [1, 0, 1]}"#)
        }
        TestData.assertThrows(["NormalizeImage", "mean needs 3 values"]) { try build("NormalizeImage", #"{"mean": [1, 2]}"#) }
        TestData.assertThrows(["size"]) { try build("CropImage", "{}") }  // required key missing (DecodingError)
        TestData.assertThrows(["[w, h]"]) { try build("CropImage", #"{"size": [1, 2, 3]}"#) }
        TestData.assertThrows(["1.0/255.0"]) { try build("NormalizeImage", #"{"scale": "one over 255"}"#) }
    }

    func testNumberExpressions() {
        XCTAssertEqual(NumberOption.evaluate("1.0/255.0"), 1.0 / 255.0)
        XCTAssertEqual(NumberOption.evaluate(" 2 * 0.5 "), 1.0)
        XCTAssertEqual(NumberOption.evaluate("0.00392"), 0.00392)
        XCTAssertNil(NumberOption.evaluate("1/2/3"))
        XCTAssertNil(NumberOption.evaluate("abc"))
    }
}

/// Captures the `Decoder` JSONDecoder hands out, so an entry's `make` can run on it.
private struct OpCapture: Decodable {
    nonisolated(unsafe) static var make: ((Decoder) throws -> any ImageOp)?
    let op: any ImageOp

    init(from decoder: Decoder) throws {
        guard let make = OpCapture.make else { throw OptionsError("no factory") }
        op = try make(decoder)
    }
}
