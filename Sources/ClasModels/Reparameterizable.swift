/// A model or block that can fuse its training-time branches into an equivalent inference form
/// (MobileOne, RepVGG). `tools infer`, `tools eval` and export call this automatically.
public protocol Reparameterizable: AnyObject {
    /// Replaces training-time branches by their fused equivalent, in place. Idempotent.
    func reparameterize()

    /// The parameter count ``reparameterize()`` would leave, computed without changing the model.
    var reparameterizedParameterCount: Int { get }
}
