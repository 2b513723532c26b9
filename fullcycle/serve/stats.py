"""What `GET /metrics` reports: request counts, latency percentiles, and live drift.

Latencies are kept for the most recent `LATENCY_WINDOW` requests (a ring buffer, so a
long-running server's memory stays flat); percentiles are taken over that window. The drift
status compares the most recent served rows with the bundle's training reference, with the
monitor's statistics, recomputed at most every `DRIFT_INTERVAL_S` seconds so that polling
/metrics costs nothing.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any

import numpy as np
import pandas as pd

LATENCY_WINDOW = 10_000
DRIFT_WINDOW = 1000  # recent rows compared with the reference
DRIFT_MIN_ROWS = 100  # fewer rows than this: too few to test
DRIFT_INTERVAL_S = 30.0


class LatencyWindow:
    """The last `LATENCY_WINDOW` request durations, in seconds."""

    def __init__(self, size: int = LATENCY_WINDOW) -> None:
        self._values = np.zeros(size, dtype=np.float64)
        self._count = 0

    def add(self, seconds: float) -> None:
        self._values[self._count % len(self._values)] = seconds
        self._count += 1

    def summary(self) -> dict[str, Any]:
        values = self._values[:min(self._count, len(self._values))]
        if not len(values):
            return {"count": 0}
        p50, p90, p99 = np.percentile(values, [50, 90, 99]) * 1000
        return {"count": int(self._count), "window": int(len(values)),
                "p50_ms": float(p50), "p90_ms": float(p90), "p99_ms": float(p99),
                "mean_ms": float(values.mean() * 1000), "max_ms": float(values.max() * 1000)}


class ServerStats:
    """Counters the server updates on every request (one event loop: no locks needed)."""

    def __init__(self) -> None:
        self.started = time.time()
        self.requests: Counter[str] = Counter()  # "POST /predict 200" -> count
        self.rows_predicted = 0
        self.predict_latency = LatencyWindow()
        self.recent_rows: deque[dict] = deque(maxlen=DRIFT_WINDOW)
        self._drift: dict[str, Any] | None = None
        self._drift_at = 0.0
        self._rows_at_drift = -1

    def record(self, method: str, path: str, status: int) -> None:
        self.requests[f"{method} {path} {status}"] += 1

    def to_dict(self, drift: dict[str, Any]) -> dict[str, Any]:
        by_status: Counter[str] = Counter()
        for key, count in self.requests.items():
            by_status[key.rsplit(" ", 1)[1]] += count
        return {"uptime_s": time.time() - self.started,
                "requests": {"total": sum(self.requests.values()), "by_status": by_status,
                             "by_route": dict(self.requests)},
                "rows_predicted": self.rows_predicted,
                "predict_latency": self.predict_latency.summary(),
                "drift": drift}

    def drift_status(self, reference: pd.DataFrame | None, reference_rows: int | None,
                     kinds: dict[str, str]) -> dict[str, Any]:
        """Drift of the recent served rows against the reference (cached)."""
        from fullcycle.monitor.drift import dataset_drift

        if reference is None or reference_rows is None:
            return {"status": "unavailable",
                    "reason": "the bundle carries no training reference; retrain it"}
        if not kinds:  # a picture bundle: the uploads' pixels are not kept here
            return {"status": "unavailable",
                    "reason": "no table columns to compare; for pictures run fullcycle "
                              "monitor BUNDLE on a folder of the live pictures"}
        n = len(self.recent_rows)
        if n < DRIFT_MIN_ROWS:
            return {"status": "insufficient data", "rows": n, "needs": DRIFT_MIN_ROWS}
        fresh = time.monotonic() - self._drift_at < DRIFT_INTERVAL_S
        if self._drift is not None and (fresh or self._rows_at_drift == self.rows_predicted):
            return self._drift
        live = pd.DataFrame(list(self.recent_rows), columns=list(kinds))
        report = dataset_drift(reference, live, kinds, reference_rows=reference_rows)
        self._drift = {"status": "drifted" if report.drifted else "ok", "rows": n,
                       "share": report.share,
                       "drifted_columns": [c.column for c in report.columns if c.drift],
                       "checked_at": time.time()}
        self._drift_at, self._rows_at_drift = time.monotonic(), self.rows_predicted
        return self._drift
