"""All sanity checks before spending compute, in the recipe's order (flow steps 4 and 5).

``run_checks`` returns one `CheckResult` per check, always in this order::

    init_loss, overfit_batch, gradient_check, dead_parameters, signal_propagation,
    batch_independence, input_independent, lr_finder

It is fast by default — a few seconds at most for a small MLP on a CPU — because the
autopilot runs it on every run within a time budget: every check works on a subsample
(the gradient check on 16 rows, per-element up to 4096 parameters and along random
directions above), trains for at most a few hundred tiny steps, and works on copies, so the
model passed in is left exactly as it was. A check that crashes on an unusual model does
not hide the others: it is reported as a failure naming the exception.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from torch import nn

from fullcycle.checks._common import CheckResult, as_batch, subsample
from fullcycle.checks.batch_independence import batch_independence
from fullcycle.checks.dead_parameters import dead_parameters
from fullcycle.checks.gradcheck import gradcheck
from fullcycle.checks.init_loss import init_loss
from fullcycle.checks.input_independent import input_independent
from fullcycle.checks.lr_finder import lr_find
from fullcycle.checks.overfit_batch import overfit_batch
from fullcycle.checks.signal import signal_propagation
from fullcycle.engine.losses import LossFn
from fullcycle.errors import FullcycleError

CHECK_NAMES = ("init_loss", "overfit_batch", "gradient_check", "dead_parameters",
               "signal_propagation", "batch_independence", "input_independent", "lr_finder")

# Rows the suite works with at most; each check subsamples further.
MAX_ROWS = 2048


def run_checks(model: nn.Module, data: Any, loss: str | LossFn, task: str | None = None, *,
               seed: int = 0, l2: float = 0.0, l1: float = 0.0,
               lr_finder: bool = True, skip: tuple[str, ...] = (),
               gradcheck_examples: int = 16, batch_size: int = 64,
               input_independent_steps: int = 150) -> list[CheckResult]:
    """Run every sanity check on ``model`` and return their results in the fixed order.

    ``data`` is the training split as ``(x, y)``, ``(*inputs, y)`` or a DataLoader; ``loss``
    a built-in name or ``loss(outputs, targets)``; ``task`` (regression, binary, multiclass,
    multilabel) sets the expected initial loss and is guessed from the shapes when None.
    ``l2``/``l1`` enter the gradient check's cost ("remember regularization", seed 002).
    ``input_independent_steps`` is how long each of that check's two short trainings runs.
    ``skip`` names checks not to run (reported as skipped warnings, never silently absent),
    and ``lr_finder=False`` is the same as skipping the LR finder; the LR finder's curve is
    in that result's ``details``.
    """
    unknown = set(skip) - set(CHECK_NAMES)
    if unknown:
        raise FullcycleError(f"unknown check(s) {', '.join(sorted(unknown))}; the checks are: "
                             f"{', '.join(CHECK_NAMES)}")
    if not lr_finder:
        skip = (*skip, "lr_finder")
    inputs, y = as_batch(data, max_rows=None)
    m = len(y)  # the penalty's m is the training-set size, as in fc.fit
    inputs, y = subsample(inputs, y, MAX_ROWS, seed)
    batch = (*inputs, y)
    runners: dict[str, Callable[[], CheckResult]] = {
        "init_loss": lambda: init_loss(model, batch, loss, task, seed=seed),
        "overfit_batch": lambda: overfit_batch(model, batch, loss, task, seed=seed),
        "gradient_check": lambda: gradcheck(model, batch, loss, l2=l2, l1=l1, m=m,
                                            max_examples=gradcheck_examples,
                                            seed=seed).to_check(),
        "dead_parameters": lambda: dead_parameters(model, batch, loss, seed=seed),
        "signal_propagation": lambda: signal_propagation(model, batch, loss, seed=seed),
        "batch_independence": lambda: batch_independence(model, batch, seed=seed),
        "input_independent": lambda: input_independent(model, batch, loss, seed=seed,
                                                       batch_size=batch_size,
                                                       steps=input_independent_steps),
        "lr_finder": lambda: lr_find(model, batch, loss, batch_size=batch_size,
                                     seed=seed).to_check(),
    }
    results = []
    for name in CHECK_NAMES:
        if name in skip:
            results.append(CheckResult(name, "warn", None, "skipped on request"))
            continue
        started = time.perf_counter()
        try:
            result = runners[name]()
        except FullcycleError:
            raise
        except Exception as exc:  # one broken check must not hide the others
            result = CheckResult(name, "fail", None, f"the check itself failed on this model "
                                 f"({type(exc).__name__}: {exc}); run it alone to see "
                                 "the traceback")
        if result.status == "pass" and result.value is not None and math.isnan(result.value):
            # a NaN compares false with every threshold, so "no problem found" is unproven
            result.status = "warn"
            result.message += " (but its value is NaN, so it cannot pass)"
        result.details["seconds"] = round(time.perf_counter() - started, 4)
        results.append(result)
    return results
