"""The exponentially weighted average, with bias correction (seeds 000 and 003).

Seed 003 writes the average the way momentum uses it, started at zero::

    v_t = β v_{t-1} + (1 − β) θ_t,        v_0 = 0

and its bias correction ``v_t / (1 − β^t)``, which removes the pull towards the zero start
that seed 000 shows in its "bias-corrected (purple) vs uncorrected (red)" figure. The average
covers roughly the last ``1 / (1 − β)`` values (seed 000's time constant), so β = 0.98 keeps
about 50 steps of memory, the value the LR finder uses to smooth its loss curve.

Pure: numbers in, numbers out; the streaming form (`EWMA`) and the whole-series form
(`ewma`) give identical values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["EWMA", "ewma", "time_constant"]


def _check_beta(beta: float) -> float:
    beta = float(beta)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must lie in [0, 1), got {beta}")
    return beta


def time_constant(beta: float) -> float:
    """How many recent values the average roughly covers: ``1 / (1 − β)`` (seed 000)."""
    return 1.0 / (1.0 - _check_beta(beta))


class EWMA:
    """A running exponentially weighted average, updated one value at a time.

    ``update(x)`` returns the bias-corrected average ``v_t / (1 − β^t)`` by default (the raw
    ``v_t`` with ``bias_correction=False``). Non-finite values are accepted and propagate,
    so a caller can see a divergence instead of having it averaged away.

    >>> avg = EWMA(beta=0.5)
    >>> avg.update(10.0)   # the corrected average equals the first value, not 5.0
    10.0
    """

    def __init__(self, beta: float = 0.98, bias_correction: bool = True) -> None:
        self.beta = _check_beta(beta)
        self.bias_correction = bias_correction
        self.raw = 0.0  # v_t, started at 0 as in seed 003
        self.steps = 0  # t

    def update(self, value: float) -> float:
        """Fold in one value and return the (corrected) average."""
        self.steps += 1
        self.raw = self.beta * self.raw + (1.0 - self.beta) * float(value)
        return self.value

    @property
    def value(self) -> float:
        """The current average; NaN before the first update."""
        if self.steps == 0:
            return math.nan
        if not self.bias_correction:
            return self.raw
        return self.raw / (1.0 - self.beta**self.steps)

    def reset(self) -> None:
        """Forget every value seen so far."""
        self.raw, self.steps = 0.0, 0


def ewma(values: Iterable[float], beta: float = 0.98, bias_correction: bool = True) -> list[float]:
    """The average after each value of a series, e.g. a smoothed loss curve.

    Seed 000's temperature-style example: with β = 0.9 the first corrected value equals
    the first observation, where the uncorrected one is a tenth of it.
    """
    avg = EWMA(beta, bias_correction)
    return [avg.update(v) for v in values]
