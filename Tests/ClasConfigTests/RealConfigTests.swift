import ClasConfig
import XCTest

/// Every current-schema PaddleClas config loads into the typed sections; the 2.0-schema one is rejected.
final class RealConfigTests: XCTestCase {
    func testBundledFixturesLoad() throws {
        for name in Fixtures.all {
            let decoder = ConfigDecoder()
            let config = try RunConfig.load(try Fixtures.path(name), decoder: decoder)
            XCTAssertGreaterThan(config.global.epochs, 0, name)
            XCTAssertNotNil(config.dataLoader?.train, name)
            XCTAssertNotNil(config.optimizer, name)
        }
    }

    func testSharedConfigsLoad() throws {
        let paths = try Fixtures.sharedConfigs()
        XCTAssertGreaterThanOrEqual(paths.count, 20)
        for path in paths where !path.contains("/kunlun/") {
            // EfficientNetV2's progressive learning (Global.train_mode: progressive) included.
            XCTAssertNoThrow(try RunConfig.load(path, decoder: ConfigDecoder()), path)
        }
    }

    func testKunlunOldSchemaIsRejected() throws {
        let path = try Fixtures.path("ResNet50_vd_finetune_kunlun.yaml")
        assertConfigError(
            "\(path):3:1: error: unknown top-level sections 'mode', 'ARCHITECTURE', 'pretrained_model', "
                + "'load_static_weights', 'model_save_dir', 'classes_num', 'total_images', 'save_interval', "
                + "'validate', "
                + "'valid_interval', 'epochs', 'topk', 'image_shape', 'LEARNING_RATE', 'OPTIMIZER', 'TRAIN', 'VALID': "
                + "this is the obsolete PaddleClas 2.0 config schema, which is not supported; current configs have the "
                + "sections Global, Arch, Loss, Optimizer, DataLoader, Metric, Infer"
        ) {
            try RunConfig.load(path, decoder: ConfigDecoder())
        }
    }
}
