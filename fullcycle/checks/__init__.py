"""Sanity checks before spending compute, and the LR finder (flow steps 4 and 5).

Each check works on any ``nn.Module`` and returns a `CheckResult` (status pass / warn /
fail, the number behind it, and a message with the fix); `suite.run_checks` runs them all
in the recipe's order:

- ``init_loss`` (`init_loss`): the loss before training against the best constant
  prediction (ln C for C balanced classes, the target variance for MSE);
- ``overfit_batch`` (`overfit_batch`): memorize 32 examples within a step budget;
- ``gradient_check`` (`gradcheck`): backprop against two-sided differences, per tensor;
- ``dead_parameters`` (`dead_parameters`): tensors that receive no gradient;
- ``signal_propagation`` (`signal`): vanishing / exploding signals, dead ReLUs, saturation;
- ``batch_independence`` (`batch_independence`): no example depends on another;
- ``input_independent`` (`input_independent`): real inputs beat zeroed inputs;
- ``lr_finder`` (`lr_finder`): the exponential sweep and the suggested rate.

None of them trains or mutates the model passed in: they work on copies, and the LR finder
restores everything it touched.
"""
