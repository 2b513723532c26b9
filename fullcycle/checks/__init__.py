"""Sanity checks before spending compute, and the LR finder (flow steps 4 and 5).

Each check works on any ``nn.Module`` and returns a `CheckResult` (status pass / warn /
fail, the number behind it, and a message with the fix); `run_checks` runs them all in the
recipe's order:

==================  =====================================  ===========================
``init_loss``       loss before training vs the prior       `init_loss.init_loss`
``overfit_batch``   memorize 32 examples                    `overfit_batch.overfit_batch`
``gradient_check``  backprop vs two-sided differences       `gradcheck.gradcheck`
``dead_parameters`` tensors that get no gradient            `dead_parameters.dead_parameters`
``signal_propagation`` vanishing / exploding, dead, saturated `signal.signal_propagation`
``batch_independence`` no mixing across the batch           `batch_independence.batch_independence`
``input_independent`` real inputs beat zeroed inputs        `input_independent.input_independent`
``lr_finder``       exponential sweep, suggested rate       `lr_finder.lr_find`
==================  =====================================  ===========================

None of them trains or mutates the model passed in: they work on copies, and the LR finder
restores everything it touched.
"""
