"""Building blocks of issue 11, each against its peer in the same process, on generated tables.

1. Checkerboard (4×4 cells on [0, 1]², 6,000 rows, 2 noise columns): `fc.train` with the
   plain MLP, numeric embeddings (piecewise-linear, periodic) and the residual MLP, at the
   same hidden sizes and epochs (early stopping off); HistGradientBoosting's dev error beside
   them (the `gradient_boosting` baseline).
2. Heavy-tailed regression (feature columns with a few rows 50σ out): dev RMSE of the same
   network with the inputs standardized against the quantile transform `prepare` now picks.
3. Seed averaging on a table with 25% flipped labels: the members' dev errors (mean and
   spread) against their `SeedEnsemble`.

Prints one line per figure and the ratio to the peer. Single-threaded (as the test suite),
so the figures are comparable on a shared machine.

    python benchmarks/architectures.py [--epochs 40] [--seeds 2] [--only checkerboard]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

import fullcycle as fc  # noqa: E402
from fullcycle.data import numeric  # noqa: E402
from fullcycle.diagnosis.baselines import baselines  # noqa: E402
from fullcycle.models.ensemble import SeedEnsemble  # noqa: E402
from fullcycle.recipe.trainer import split_error  # noqa: E402


def checkerboard(n: int = 6000, cells: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1, size=(n, 2))
    label = (np.floor(xy[:, 0] * cells) + np.floor(xy[:, 1] * cells)) % 2
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "noise1": rng.normal(size=n),
                         "noise2": rng.uniform(size=n), "label": label.astype(int)})


def heavy_tailed(n: int = 8000, seed: int = 0) -> pd.DataFrame:
    """Housing-like: ratios whose bulk carries the signal and a few rows sit 50σ out."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(1.0, 0.5, n)
    rooms = rng.lognormal(1.6, 0.25, n)  # rooms per household
    people = rng.lognormal(1.0, 0.3, n)  # people per household
    for column in (rooms, people):  # three resorts / dormitories per column, ×1000
        column[rng.choice(n, 3, replace=False)] *= 1000.0
    age = rng.uniform(1, 50, n)
    target = (2.0 * np.log(income) + 0.8 * np.log(rooms) - 0.6 * np.log(people)
              + 0.01 * age + 0.3 * rng.normal(size=n))
    return pd.DataFrame({"income": income, "rooms": rooms, "people": people, "age": age,
                         "value": target})


def noisy_labels(n: int = 3000, noise_columns: int = 20, seed: int = 3) -> pd.DataFrame:
    """Few rows, many noise columns, 25% flipped labels: a wide net's fit varies by seed."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2 + noise_columns))
    y = (X[:, 0] + np.sin(2 * X[:, 1]) > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["y"] = np.where(rng.random(n) < 0.25, 1 - y, y)
    return frame


def boosting_dev_error(p: fc.Prepared) -> float:
    rows = baselines(p.task, p.X["train"], p.y["train"], p.X["dev"], p.y["dev"],
                     categorical=p.preprocessor.categorical,
                     metric="rmse" if p.task == "regression" else "accuracy")
    return next(r["dev_error"] for r in rows if r["name"] == "gradient_boosting")


def run_checkerboard(epochs: int, seeds: int) -> None:
    p = fc.prepare(checkerboard(), target="label")
    print(f"checkerboard 4x4 + 2 noise columns, {len(p.X['train'])} train / "
          f"{len(p.X['dev'])} dev rows, hidden 64,64, {epochs} epochs, cosine, no early stop")
    variants = [("plain MLP", {}), ("MLP + piecewise-linear", {"numeric_embedding": "ple"}),
                ("MLP + periodic", {"numeric_embedding": "periodic"}),
                ("residual MLP", {"architecture": "resnet"}),
                ("residual MLP + piecewise-linear", {"architecture": "resnet",
                                                     "numeric_embedding": "ple"})]
    plain = None
    for name, knobs in variants:
        errors, seconds = [], []
        for seed in range(seeds):
            start = time.perf_counter()
            outcome = fc.train(p, hidden=[64, 64], epochs=epochs, patience=0, seed=seed,
                               metric="accuracy", **knobs)
            seconds.append(time.perf_counter() - start)
            errors.append(outcome.errors["dev"])
        mean = statistics.mean(errors)
        plain = mean if plain is None else plain
        print(f"  {name:34s} dev error {mean:.4f} (seeds {', '.join(f'{e:.3f}' for e in errors)})"
              f"  ratio to plain {mean / plain:.3f}  {statistics.mean(seconds):.1f} s/fit")
    print(f"  {'HistGradientBoosting':34s} dev error {boosting_dev_error(p):.4f}")


def run_heavy_tails(epochs: int, seeds: int) -> None:
    frame = heavy_tailed()
    robust = fc.prepare(frame, target="value")
    z_limit, kurtosis_limit = numeric.HEAVY_TAIL_Z, numeric.HEAVY_TAIL_KURTOSIS
    numeric.HEAVY_TAIL_Z = numeric.HEAVY_TAIL_KURTOSIS = math.inf  # the old behaviour
    try:
        standard = fc.prepare(frame, target="value")
    finally:
        numeric.HEAVY_TAIL_Z, numeric.HEAVY_TAIL_KURTOSIS = z_limit, kurtosis_limit
    heavy = [c.name for c in robust.preprocessor.numeric if c.scaling == "quantile"]
    print(f"heavy-tailed regression, {len(robust.X['train'])} train rows, quantile-scaled "
          f"columns: {', '.join(heavy)}; hidden 64,64, lr 3e-3, {epochs} epochs")
    results = {}
    for name, p in (("standardized", standard), ("robust (quantile)", robust)):
        errors, restarts = [], 0
        for seed in range(seeds):
            outcome = fc.train(p, hidden=[64, 64], epochs=epochs, lr=3e-3, seed=seed)
            errors.append(outcome.errors["dev"])
            restarts += sum(d["kind"] == "nan_guard" for d in outcome.decisions)
        results[name] = statistics.mean(errors)
        print(f"  {name:34s} dev RMSE {results[name]:.4f} (seeds "
              f"{', '.join(f'{e:.3f}' for e in errors)}), NaN-guard restarts {restarts}")
    ratio = results["robust (quantile)"] / results["standardized"]
    print(f"  ratio robust / standardized {ratio:.3f}")
    print(f"  {'HistGradientBoosting':34s} dev RMSE "
          f"{boosting_dev_error(robust) * robust.error_scale:.4f}")


def run_seed_averaging(epochs: int, members: int = 5) -> None:
    """Members and their average on the *test* split: each member's dev error is that of its
    best epoch on dev (the fit restores it), a selection the average never had."""
    p = fc.prepare(noisy_labels(), target="y")
    outcomes = [fc.train(p, hidden=[128], epochs=epochs, patience=0, seed=s, metric="accuracy")
                for s in range(members)]
    X, y = p.test("benchmark: seeds against their average, once")
    ensemble = SeedEnsemble([o.model for o in outcomes], p.task).eval()
    errors = [split_error(p, o.model.eval(), "accuracy", X, y)[1] for o in outcomes]
    losses = [split_error(p, o.model, "log_loss", X, y)[1] for o in outcomes]
    _, averaged = split_error(p, ensemble, "accuracy", X, y)
    _, averaged_loss = split_error(p, ensemble, "log_loss", X, y)
    print(f"seed averaging, 25% flipped labels, {len(p.X['train'])} train / {len(X)} test rows,"
          f" hidden 128, {epochs} epochs, best dev epoch kept")
    print(f"  {members} single seeds: test error {statistics.mean(errors):.4f} ± "
          f"{statistics.stdev(errors):.4f} (min {min(errors):.3f}, max {max(errors):.3f}), "
          f"test log loss {statistics.mean(losses):.4f}")
    print(f"  their average:  test error {averaged:.4f} (ratio to the seeds' mean "
          f"{averaged / statistics.mean(errors):.3f}), test log loss {averaged_loss:.4f} "
          f"(ratio {averaged_loss / statistics.mean(losses):.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--only", choices=["checkerboard", "heavy", "ensemble"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.only in (None, "checkerboard"):
        run_checkerboard(args.epochs, args.seeds)
    if args.only in (None, "heavy"):
        run_heavy_tails(args.epochs, args.seeds)
    if args.only in (None, "ensemble"):
        run_seed_averaging(args.epochs)


if __name__ == "__main__":
    main()
