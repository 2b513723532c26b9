"""Toy objectives for the search tests: cheap, deterministic, importable by worker processes.

The dev error depends on the learning rate only (a bowl around 1e-3 on the log scale), the
way seed 000's grid-versus-random argument assumes one hyperparameter matters and the
others do not. Each "epoch" reports an error that falls toward the final one, so pruners
have curves to compare.
"""

from __future__ import annotations

import math
import time
from typing import Any


def bowl(config: dict[str, Any]) -> float:
    """Final dev error: 0.05 at lr = 1e-3, rising by 0.1 per decade squared away from it."""
    return 0.05 + 0.1 * (math.log10(config["lr"]) + 3.0) ** 2


def quick(config: dict[str, Any], report: Any, epochs: int = 4, sleep_s: float = 0.0) -> float:
    """Report `epochs` falling dev errors that end at `bowl(config)`."""
    final = bowl(config)
    for epoch in range(1, epochs + 1):
        if sleep_s:
            time.sleep(sleep_s)
        report.epoch(epoch, final + 0.5 / epoch - 0.5 / epochs)
    report.note(train_error=final / 2)
    return final


def slow(config: dict[str, Any], report: Any) -> float:
    """The same curve, 10 epochs of 0.3 s: long enough to kill a worker mid-trial."""
    return quick(config, report, epochs=10, sleep_s=0.3)


def paced(config: dict[str, Any], report: Any) -> float:
    """A short sleep per epoch, so two workers overlap in time."""
    return quick(config, report, epochs=3, sleep_s=0.05)


def rendezvous(config: dict[str, Any], report: Any) -> float:
    """`paced`, but a worker's first trial waits until two worker processes have arrived.

    Arrivals are files named by process id in `$SEARCH_TOYS_RENDEZVOUS`, so a test of two
    workers cannot pass with one worker that started early doing every trial alone.
    """
    import os
    from pathlib import Path

    place = Path(os.environ["SEARCH_TOYS_RENDEZVOUS"])
    (place / str(os.getpid())).touch()
    deadline = time.time() + 60
    while len(list(place.iterdir())) < 2 and time.time() < deadline:
        time.sleep(0.05)
    return paced(config, report)
