"""Satisficing constraints: `--satisfice "latency_ms<=100,params<=50000"`.

Seed 003 ("Satisficing and Optimizing metrics"): optimize one metric, and only require the
others to be good enough. A candidate that breaks a constraint is never kept, whatever its
dev error.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

from fullcycle.errors import FullcycleError

QUANTITIES = {
    "latency_ms": "median milliseconds to predict one example",
    "params": "number of trainable parameters",
    "train_seconds": "seconds the experiment trained",
}
_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


@dataclass(frozen=True)
class Constraint:
    quantity: str
    op: str
    limit: float

    def holds(self, values: dict[str, float]) -> bool:
        return bool(_OPS[self.op](values[self.quantity], self.limit))

    def __str__(self) -> str:
        return f"{self.quantity}{self.op}{self.limit:g}"


def parse_constraints(text: str | None) -> list[Constraint]:
    """Parse comma-separated constraints; an unknown quantity or operator is a clear error."""
    if not text:
        return []
    out = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*([a-z_]+)\s*(<=|>=|<|>)\s*([0-9.eE+-]+)\s*", part)
        if not match:
            raise FullcycleError(
                f"--satisfice {part.strip()!r} is not a constraint; write e.g. latency_ms<=100"
            )
        quantity, op, limit = match.groups()
        if quantity not in QUANTITIES:
            raise FullcycleError(
                f"--satisfice: unknown quantity {quantity!r}; use one of: "
                f"{', '.join(QUANTITIES)}"
            )
        try:
            out.append(Constraint(quantity, op, float(limit)))
        except ValueError:
            raise FullcycleError(f"--satisfice: {limit!r} is not a number") from None
    return out


def violations(constraints: list[Constraint], values: dict[str, float]) -> list[str]:
    """The constraints `values` break, as text (empty when all hold)."""
    return [f"{c} (got {values[c.quantity]:.4g})" for c in constraints if not c.holds(values)]
