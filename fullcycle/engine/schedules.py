"""Learning-rate decay as pure functions of the epoch or the mini-batch step.

Each function returns the factor that multiplies the initial rate ``α0``; the formulas are
the ones seed 003 lists ("Learning Rate Decay"), plus the cosine shape with restarts that
seed 001 prefers and the one-cycle policy:

=====================  ==========================================================
``inverse_time``       ``α = α0 / (1 + decay_rate · epoch_num)``          (seed 003)
``exponential``        ``α = 0.95^epoch_num · α0``                         (seed 003)
``inverse_sqrt_epoch`` ``α = k / √epoch_num · α0``                         (seed 003)
``inverse_sqrt_step``  ``α = k / √t · α0``, t the mini-batch number        (seed 003)
``staircase``          ``α = drop^⌊(epoch_num − 1) / every⌋ · α0``        (seed 001)
``cosine``             ``α = α0 (1 + cos(π x / X)) / 2``, x in epochs      (seed 001)
``cosine_restarts``    cosine over a period, restarted (SGDR, period × mult) (seed 001)
``one_cycle``          warm up to α0 then anneal far below it (Smith, 2018)
=====================  ==========================================================

``epoch_num`` counts from 1, as in seed 003's worked example (α0 = 0.2, decay_rate = 1 gives
0.1 in epoch 1, 0.067 in epoch 2). The loop drives any of them through `torch.optim.
lr_scheduler.LambdaLR`, stepped once per mini-batch, so epoch schedules hold still within an
epoch and step schedules move every batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from fullcycle.errors import FullcycleError


def constant(epoch: int) -> float:
    """No decay."""
    return 1.0


def inverse_time(epoch: int, decay_rate: float = 1.0) -> float:
    """``1 / (1 + decay_rate · epoch_num)`` (seed 003)."""
    return 1.0 / (1.0 + decay_rate * epoch)


def exponential(epoch: int, base: float = 0.95) -> float:
    """``base^epoch_num``; the seed's exponential decay uses 0.95."""
    return base**epoch


def inverse_sqrt_epoch(epoch: int, k: float = 1.0) -> float:
    """``k / √epoch_num`` (seed 003)."""
    return k / math.sqrt(max(epoch, 1))


def inverse_sqrt_step(step: int, k: float = 1.0) -> float:
    """``k / √t`` with t the mini-batch number, counted from 1 (seed 003)."""
    return k / math.sqrt(max(step, 1))


def staircase(epoch: int, drop: float = 0.5, every: int = 10) -> float:
    """Discrete decay: multiply by ``drop`` every ``every`` epochs (seed 001's "staircase")."""
    return drop ** ((max(epoch, 1) - 1) // every)


def cosine(x: float, total: float, min_factor: float = 0.0) -> float:
    """Half a cosine from 1 at ``x = 0`` down to ``min_factor`` at ``x = total``.

    Matches `torch.optim.lr_scheduler.CosineAnnealingLR` with ``T_max = total`` and
    ``eta_min = min_factor · α0``.
    """
    x = min(max(x, 0.0), total)
    return min_factor + (1.0 - min_factor) * (1.0 + math.cos(math.pi * x / total)) / 2.0


def cosine_restarts(x: float, period: float = 1.0, mult: float = 1.0,
                    min_factor: float = 0.0) -> float:
    """Cosine decay restarted to the full rate at the start of each cycle (SGDR).

    Seed 001 restarts "at the beginning of each epoch (or some integer multiple of epochs)":
    ``period`` is the first cycle's length in epochs, each next cycle is ``mult`` times
    longer (`CosineAnnealingWarmRestarts`' ``T_0`` and ``T_mult``).
    """
    if mult == 1.0:
        cycle_start, length = math.floor(x / period) * period, period
    else:
        n = math.floor(math.log(1.0 + x / period * (mult - 1.0), mult))
        cycle_start = period * (mult**n - 1.0) / (mult - 1.0)
        length = period * mult**n
    return cosine(x - cycle_start, length, min_factor)


def one_cycle(x: float, total: float, pct_start: float = 0.3, div: float = 25.0,
              final_div: float = 1e4) -> float:
    """One-cycle policy: cosine warm-up from ``1/div`` to 1, then cosine down to
    ``1/(div · final_div)``; the defaults are `torch.optim.lr_scheduler.OneCycleLR`'s."""
    peak = pct_start * total
    start, end = 1.0 / div, 1.0 / (div * final_div)
    if x <= peak:
        return end_point(start, 1.0, x / peak if peak > 0 else 1.0)
    return end_point(1.0, end, (x - peak) / (total - peak))


def end_point(a: float, b: float, fraction: float) -> float:
    """Cosine interpolation from ``a`` (fraction 0) to ``b`` (fraction 1)."""
    fraction = min(max(fraction, 0.0), 1.0)
    return b + (a - b) * (1.0 + math.cos(math.pi * fraction)) / 2.0


# name -> (function, what its first argument counts)
_KINDS: dict[str, tuple[Any, str]] = {
    "constant": (constant, "epoch"),
    "inverse_time": (inverse_time, "epoch"),
    "exponential": (exponential, "epoch"),
    "inverse_sqrt_epoch": (inverse_sqrt_epoch, "epoch"),
    "inverse_sqrt_step": (inverse_sqrt_step, "step"),
    "staircase": (staircase, "epoch"),
    "cosine": (cosine, "fraction"),
    "cosine_restarts": (cosine_restarts, "fraction"),
    "one_cycle": (one_cycle, "fraction"),
}
SCHEDULES = tuple(_KINDS)


@dataclass(frozen=True)
class Schedule:
    """A named decay with its parameters, e.g. ``Schedule("staircase", {"every": 5})``."""

    name: str
    params: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in _KINDS:
            raise FullcycleError(
                f"unknown schedule {self.name!r}; use one of: {', '.join(SCHEDULES)}"
            )

    def factor(self, step: int, steps_per_epoch: int, epochs: int) -> float:
        """The multiplier of α0 during mini-batch ``step`` (0-based over the whole fit)."""
        fn, unit = _KINDS[self.name]
        if unit == "epoch":
            return float(fn(step // steps_per_epoch + 1, **self.params))
        if unit == "step":
            return float(fn(step + 1, **self.params))
        x = step / steps_per_epoch
        if self.name == "cosine_restarts":
            return float(fn(x, **self.params))
        return float(fn(x, float(epochs), **self.params))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}


def parse_schedule(spec: str | Schedule | dict[str, Any] | None) -> Schedule:
    """A schedule from ``None``, a name, ``"name:key=value,key=value"``, a dict or itself.

    >>> parse_schedule("staircase:drop=0.1,every=5")
    Schedule(name='staircase', params={'drop': 0.1, 'every': 5.0})
    """
    if spec is None:
        return Schedule("constant")
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, dict):
        return Schedule(spec["name"], dict(spec.get("params", {})))
    name, _, rest = str(spec).partition(":")
    params: dict[str, float] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            eq = ""
        if not eq:
            raise FullcycleError(
                f"cannot read schedule parameter {item!r}; write it as name:key=value,..."
            )
    schedule = Schedule(name.strip(), params)
    fn = _KINDS[schedule.name][0]
    allowed = set(fn.__code__.co_varnames[1 : fn.__code__.co_argcount]) - {"total"}
    unknown = set(params) - allowed
    if unknown:
        raise FullcycleError(
            f"schedule {schedule.name!r} has no parameter {sorted(unknown)[0]!r}; "
            f"it takes: {', '.join(sorted(allowed)) or 'none'}"
        )
    if schedule.name == "staircase" and "every" in params:
        params["every"] = int(params["every"])
    return schedule


def lr_scheduler(optimizer: torch.optim.Optimizer, schedule: Schedule, steps_per_epoch: int,
                 epochs: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A `LambdaLR` that follows ``schedule``; call its ``step()`` after every mini-batch."""
    spe = max(int(steps_per_epoch), 1)

    def factor(step: int) -> float:
        return schedule.factor(step, spe, epochs)

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    scheduler.constant = schedule.name == "constant"  # type: ignore[attr-defined]
    return scheduler
