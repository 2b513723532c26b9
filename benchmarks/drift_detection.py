"""Drift detection on data with a known shift, at both reference sizes.

Eight columns (four numeric, a five-valued rating, three categorical), two of them shifted
(`n2` by half a standard deviation, `c1` with its level shares reversed); see
tests/drift_data.py. For each reference size (600 training rows: KS / chi-square / z tests;
3,000: normed Wasserstein / Jensen-Shannon) and many independent live samples of 1,000 rows:

- how often exactly the two shifted columns are flagged (shifted samples),
- how often nothing is flagged (fresh samples of the training distribution),
- the detection rate on shifted columns and the false-alarm rate on the others.

Beside it, the peer: Evidently's own chi-square form (a goodness-of-fit test that takes the
reference shares as exact) on the same categorical columns without drift, to show why the
monitor uses the two-sample (contingency) form instead.

    python benchmarks/drift_detection.py [--repeats 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import drift_data  # noqa: E402

from fullcycle.monitor.drift import dataset_drift  # noqa: E402

KINDS = {c: "categorical" if c in ("c1", "c2", "yes_no") else "numeric"
         for c in drift_data.COLUMNS}
CATEGORICAL = ("c1", "c2", "yes_no", "rating")


def evidently_chisquare(reference, current) -> float:
    """Evidently's `chi_stat_test`: observed live counts against reference shares × n."""
    keys = sorted(set(reference.dropna()) | set(current.dropna()), key=str)
    ref, cur = reference.value_counts(), current.value_counts()
    f_exp = np.array([ref.get(k, 0) for k in keys], float) * len(current) / len(reference)
    f_obs = np.array([cur.get(k, 0) for k in keys], float)
    return float(stats.chisquare(f_obs, f_exp).pvalue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"{args.repeats} live samples of 1,000 rows per case; shifted columns: "
          f"{', '.join(drift_data.SHIFTED)}")
    print(f"{'reference':<24}{'exactly 2 flagged':>18}{'none on fresh':>15}"
          f"{'detection':>11}{'false alarms':>14}")
    for rows in (600, 3000):
        reference = drift_data.sample(rows, seed=1)
        exact = none = hits = alarms = 0
        for r in range(args.repeats):
            shifted = dataset_drift(reference, drift_data.sample(1000, 10_000 + r, shifted=True),
                                    KINDS, reference_rows=rows)
            fresh = dataset_drift(reference, drift_data.sample(1000, 20_000 + r), KINDS,
                                  reference_rows=rows)
            exact += shifted.drifted_columns == list(drift_data.SHIFTED)
            none += fresh.drifted_columns == []
            hits += sum(c in shifted.drifted_columns for c in drift_data.SHIFTED)
            alarms += len(fresh.drifted_columns)
        method = "tests" if rows <= 1000 else "distances"
        n_clean = len(drift_data.COLUMNS) * args.repeats
        print(f"{rows:>5} rows ({method:<9})    {exact / args.repeats:>17.0%}"
              f"{none / args.repeats:>15.0%}{hits / (2 * args.repeats):>11.0%}"
              f"{alarms / n_clean:>14.1%}")
    reference = drift_data.sample(600, seed=1)
    ours = peer = 0
    for r in range(args.repeats):
        live = drift_data.sample(600, 30_000 + r)
        report = dataset_drift(reference, live, {c: "categorical" for c in CATEGORICAL},
                               reference_rows=600)
        ours += sum(c.drift for c in report.columns)
        peer += sum(evidently_chisquare(reference[c], live[c]) < 0.05 for c in CATEGORICAL)
    n = len(CATEGORICAL) * args.repeats
    print(f"false alarms of chi-square / z on {len(CATEGORICAL)} categorical columns without "
          f"drift, 600-row reference and live samples: monitor (two-sample) {ours / n:.1%}, "
          f"Evidently's goodness-of-fit form {peer / n:.1%} (ratio peer/ours "
          f"{peer / max(ours, 1):.2f}; nominal 5%)")
    print(f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
