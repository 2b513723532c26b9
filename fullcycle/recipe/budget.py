"""The time budget of a run: parsed from "5m", kept with a monotonic clock."""

from __future__ import annotations

import re
import time

from fullcycle.errors import FullcycleError

_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}


def parse_duration(text: str | float | int) -> float:
    """Seconds in "90", "90s", "5m", "1.5h"; a clear error otherwise."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", str(text).lower())
        if not match or (match.group(2) and match.group(2) not in _UNITS):
            raise FullcycleError(
                f"--budget {text!r} is not a duration; write e.g. 300s, 5m or 1h"
            )
        seconds = float(match.group(1)) * _UNITS.get(match.group(2) or "s", 1)
    if seconds <= 0:
        raise FullcycleError("--budget must be positive, e.g. 5m")
    return seconds


class Budget:
    """Wall-clock budget; `remaining()` never goes below zero.

    `spent`: seconds already spent before this process started (a resumed run: the
    journal's count at the kill), so a resumed run gets only what is left.
    """

    def __init__(self, seconds: float, spent: float = 0.0) -> None:
        self.seconds = float(seconds)
        self.spent_before = max(0.0, float(spent))
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return self.spent_before + time.monotonic() - self.start

    def remaining(self) -> float:
        return max(0.0, self.seconds - self.elapsed())
