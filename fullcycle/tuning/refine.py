"""Coarse to fine: narrow each range around the best coarse trials, on the same scale.

Seed 000 ("Tuning Process"): sample the whole space at random first, then "focus search
resources on promising regions". The rule, stated once and applied to every parameter:

1. Take the best quarter of the completed coarse trials (at least `MIN_TOP` = 3 of them,
   or all when there are fewer); pruned and failed trials do not vote.
2. On the parameter's own scale (log10 for log-scaled ones, so `lr`, `l2` and `1 − β`
   narrow by decades), take the span from the smallest to the largest value among them.
3. Widen that span by `MARGIN` = 10% of the coarse range's width on each side, so the
   fine round can still step a little past the best values, and clip it to the coarse
   range. Integers round outward; stepped floats snap outward to their grid.
4. A categorical parameter keeps only the choices the best trials used.

The fine range therefore always lies inside the coarse range and contains the best trial.
A `NarrowedTrial` applies the ranges to any define-by-run space, the user's included, by
intersecting what the space asks for with the narrowed range.
"""

from __future__ import annotations

import math
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

TOP_FRACTION = 0.25
MIN_TOP = 3
MARGIN = 0.10

Ranges = dict[str, dict[str, Any]]


def best_trials(trials: list[FrozenTrial], fraction: float = TOP_FRACTION) -> list[FrozenTrial]:
    """The best `fraction` of completed trials by dev error (at least `MIN_TOP`), best first."""
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    done.sort(key=lambda t: (t.value, t.number))
    keep = max(MIN_TOP, math.ceil(fraction * len(done)))
    return done[:keep]


def narrow(trials: list[FrozenTrial], fraction: float = TOP_FRACTION) -> Ranges:
    """Fine-round ranges from coarse trials, by the rule in this module's docstring.

    Returns `{param: {"type": "float"|"int", "low", "high", "log", "step"}}` or
    `{param: {"type": "categorical", "choices": [...]}}`, JSON-ready so every worker of a
    study reads the same ranges from the storage. Empty when no trial completed.
    """
    top = best_trials(trials, fraction)
    ranges: Ranges = {}
    names = sorted({name for t in top for name in t.distributions})
    for name in names:
        voters = [t for t in top if name in t.distributions]
        dist = voters[0].distributions[name]
        values = [t.params[name] for t in voters]
        ranges[name] = _narrow_one(dist, values)
    return ranges


def _narrow_one(dist: BaseDistribution, values: list[Any]) -> dict[str, Any]:
    if isinstance(dist, CategoricalDistribution):
        used = set(values)
        return {"type": "categorical", "choices": [c for c in dist.choices if c in used]}
    assert isinstance(dist, FloatDistribution | IntDistribution)
    log = bool(dist.log)
    fwd = math.log10 if log else float
    inv = (lambda v: 10.0**v) if log else float
    lo_c, hi_c = fwd(dist.low), fwd(dist.high)
    pad = MARGIN * (hi_c - lo_c)
    lo = inv(max(lo_c, fwd(min(values)) - pad))
    hi = inv(min(hi_c, fwd(max(values)) + pad))
    # Clip again in the original units: 10**log10(x) can land a hair outside [low, high].
    lo, hi = max(lo, dist.low), min(hi, dist.high)
    lo, hi = min(lo, min(values)), max(hi, max(values))
    step = dist.step
    if isinstance(dist, IntDistribution):
        step = step or 1
        lo = dist.low + math.floor((lo - dist.low) / step + 1e-9) * step
        hi = dist.low + math.ceil((hi - dist.low) / step - 1e-9) * step
        return {"type": "int", "low": int(lo), "high": int(min(hi, dist.high)), "log": log,
                "step": step}
    if step is not None:
        lo = dist.low + math.floor((lo - dist.low) / step + 1e-9) * step
        hi = min(dist.high, dist.low + math.ceil((hi - dist.low) / step - 1e-9) * step)
    return {"type": "float", "low": float(lo), "high": float(hi), "log": log, "step": step}


def coarse_ranges(trials: list[FrozenTrial]) -> Ranges:
    """The ranges the coarse round drew from, in the same form as `narrow` returns."""
    ranges: Ranges = {}
    for t in trials:
        for name, dist in t.distributions.items():
            if name in ranges:
                continue
            if isinstance(dist, CategoricalDistribution):
                ranges[name] = {"type": "categorical", "choices": list(dist.choices)}
            elif isinstance(dist, FloatDistribution | IntDistribution):
                kind = "int" if isinstance(dist, IntDistribution) else "float"
                ranges[name] = {"type": kind, "low": dist.low, "high": dist.high,
                                "log": bool(dist.log), "step": dist.step}
    return dict(sorted(ranges.items()))


class NarrowedTrial:
    """An Optuna trial whose `suggest_*` calls draw from the fine round's ranges.

    Wraps the real trial, so `report`, `should_prune`, `number`, `set_user_attr` and the
    rest pass through. A parameter without a narrowed range (new in the space, or only in
    pruned coarse trials) keeps the range the space asks for.
    """

    def __init__(self, trial: Any, ranges: Ranges) -> None:
        self._trial = trial
        self._ranges = ranges

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trial, name)

    def _bounds(self, name: str, low: float, high: float) -> tuple[Any, Any]:
        r = self._ranges.get(name)
        if r is None or r.get("type") == "categorical":
            return low, high
        lo, hi = max(low, r["low"]), min(high, r["high"])
        return (lo, hi) if lo <= hi else (low, high)

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        lo, hi = self._bounds(name, low, high)
        return self._trial.suggest_float(name, lo, hi, step=step, log=log)

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        lo, hi = self._bounds(name, low, high)
        return self._trial.suggest_int(name, int(lo), int(hi), step=step, log=log)

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        r = self._ranges.get(name)
        if r is not None and r.get("type") == "categorical":
            kept = [c for c in choices if c in r["choices"]]
            if kept:
                choices = kept
        return self._trial.suggest_categorical(name, choices)
