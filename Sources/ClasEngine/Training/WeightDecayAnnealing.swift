import ClasConfig
import ClasOptim

extension WeightDecaySchedule {
    /// `Optimizer.weight_decay_schedule` over the run's optimizer steps, starting from `optimizer`'s configured decay;
    /// nil when the section has none. Refused when nothing decays (there is nothing to anneal).
    static func build(_ config: OptimizerConfig, optimizer: Optimizer, context: ScheduleContext) throws
        -> WeightDecaySchedule?
    {
        guard let c = config.weightDecaySchedule else { return nil }
        guard optimizer.weightDecay > 0 else {
            throw ConfigError(
                "Optimizer.weight_decay_schedule needs a weight decay to anneal: set Optimizer.regularizer "
                    + "({name: L2, coeff}) or the optimizer's weight_decay", at: config.spec.nameLocation)
        }
        return WeightDecaySchedule(
            shape: c.name == .cosine ? .cosine : .linear, start: Double(optimizer.weightDecay), end: c.end,
            totalSteps: context.epochs * context.stepsPerEpoch)
    }
}
