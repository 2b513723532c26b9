"""Search efficiency: random versus grid, and pruned versus unpruned search.

1. **Random versus grid at the same trial count** (seed 000, "Tuning Process", after
   Bergstra & Bengio 2012). Two hyperparameters, of which only the learning rate matters.
   A 3×3 grid tries 3 learning rates in 9 trials; 9 random trials try 9. Measured twice:

   * on a synthetic bowl whose optimum learning rate is drawn anew (log-uniform) for each of
     `--repeats` problems, so the grid cannot be lucky by alignment: mean best error and
     mean distance of the best learning rate to the optimum, in decades;
   * on the real thing: `TabularMLP` trained by `fc.fit` on a synthetic table, learning rate
     1e-4–1 against an L2 λ of 1e-7–1e-5 (too small to matter), for `--data-seeds` tables.

2. **Pruned versus unpruned** on the real model: the same seeded random search (identical
   configurations in identical order) with median pruning and without. Compute is counted
   in epochs trained; reported: epochs each search spent until its best-so-far dev error
   reached the unpruned search's final best, total epochs, best errors, and the ratio.

Prints the figures and ratios; exits 1 when random search is not better than grid on the
synthetic bowl or pruning does not save compute.

    python benchmarks/search_efficiency.py [--repeats 200] [--trials 24] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

import fullcycle as fc
from fullcycle.tuning.objective import train_trial
from fullcycle.tuning.space import suggest_log

LR_LOW, LR_HIGH = 1e-5, 1e-1


def bowl_best(sampler: optuna.samplers.BaseSampler, optimum: float, n: int) -> tuple[float, float]:
    """Best error and its learning rate after `n` trials on a bowl centred on `optimum`."""
    def objective(trial: optuna.Trial) -> float:
        lr = suggest_log(trial, "lr", LR_LOW, LR_HIGH)
        trial.suggest_float("irrelevant", 0.0, 1.0)
        return 0.05 + 0.1 * (math.log10(lr) - math.log10(optimum)) ** 2

    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study.best_value, study.best_params["lr"]


def grid_values(low: float, high: float, k: int, log: bool) -> list[float]:
    """`k` grid points spanning [low, high] evenly (on the log scale when `log`)."""
    points = np.logspace(math.log10(low), math.log10(high), k) if log else \
        np.linspace(low, high, k)
    return [float(v) for v in np.clip(points, low, high)]  # no float drift past the ends


def synthetic(repeats: int, k: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    grid = {"lr": grid_values(LR_LOW, LR_HIGH, k, log=True),
            "irrelevant": grid_values(0.0, 1.0, k, log=False)}
    out: dict[str, list[float]] = {"grid": [], "random": [], "grid_dist": [], "random_dist": []}
    for r in range(repeats):
        optimum = 10 ** rng.uniform(math.log10(LR_LOW), math.log10(LR_HIGH))
        for name, sampler in (("grid", optuna.samplers.GridSampler(grid, seed=r)),
                              ("random", optuna.samplers.RandomSampler(seed=r))):
            best, lr = bowl_best(sampler, optimum, k * k)
            out[name].append(best)
            out[f"{name}_dist"].append(abs(math.log10(lr) - math.log10(optimum)))
    return {"trials": k * k, "repeats": repeats,
            "distinct_lr": {"grid": k, "random": k * k},
            "mean_best_error": {n: float(np.mean(out[n])) for n in ("grid", "random")},
            "mean_decades_from_optimum": {n: float(np.mean(out[f"{n}_dist"]))
                                          for n in ("grid", "random")}}


def make_table(seed: int, rows: int = 1500) -> pd.DataFrame:
    """A nonlinear binary problem with 8 numeric features, 3 of them informative."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 8))
    logit = 1.5 * x[:, 0] - x[:, 1] * x[:, 2] + np.sin(2 * x[:, 0]) + 0.4 * rng.normal(size=rows)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)])
    frame["y"] = (logit > 0).astype(int)
    return frame


def real_grid_vs_random(data_seeds: int, k: int, epochs: int) -> dict[str, Any]:
    """Best dev error of a k×k grid and k² random trials over (lr, tiny L2), real training."""
    base = {"epochs": epochs, "hidden_units": 32, "layers": 1, "batch_size": 64,
            "schedule": None, "patience": 0}
    grid_best, random_best = [], []
    for seed in range(data_seeds):
        prepared = fc.prepare(make_table(seed), target="y")
        grid = [train_trial({**base, "lr": lr, "l2": l2}, prepared).dev_error
                for lr in grid_values(1e-4, 1.0, k, log=True)
                for l2 in grid_values(1e-7, 1e-5, k, log=True)]
        grid_best.append(min(grid))

        def space(trial: optuna.Trial) -> dict[str, float]:
            return {"lr": suggest_log(trial, "lr", 1e-4, 1.0),
                    "l2": suggest_log(trial, "l2", 1e-7, 1e-5)}

        with tempfile.TemporaryDirectory() as tmp:
            found = fc.search(prepared, trials=k * k, base_config=base, space=space,
                              out=Path(tmp) / "random", pruner="none", fine_fraction=0.0,
                              seed=seed, record=False)
        random_best.append(found.best["dev_error"])
    return {"trials": k * k, "data_seeds": data_seeds,
            "mean_best_dev_error": {"grid": float(np.mean(grid_best)),
                                    "random": float(np.mean(random_best))},
            "per_seed": {"grid": grid_best, "random": random_best}}


def epochs_to_reach(trials: list[dict[str, Any]], target: float) -> int | None:
    """Epochs trained, in trial order, until a completed trial's dev error is <= target."""
    spent = 0
    for t in sorted(trials, key=lambda t: t["number"]):
        spent += t["epochs"]
        if t["state"] == "complete" and t["dev_error"] <= target + 1e-12:
            return spent
    return None


def pruned_vs_unpruned(trials: int, epochs: int) -> dict[str, Any]:
    prepared = fc.prepare(make_table(7, rows=2000), target="y")
    base = {"epochs": epochs, "schedule": None, "patience": 0}
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pruner in ("none", "median"):
            runs[pruner] = fc.search(prepared, trials=trials, base_config=base,
                                     out=Path(tmp) / pruner, pruner=pruner,
                                     fine_fraction=0.0, seed=0, record=False)
    target = runs["none"].best["dev_error"]
    out: dict[str, Any] = {"trials": trials, "epochs_per_trial": epochs,
                           "target_dev_error": target}
    for name, res in runs.items():
        out[name] = {"best_dev_error": res.best["dev_error"],
                     "total_epochs": sum(t["epochs"] for t in res.trials),
                     "epochs_to_target": epochs_to_reach(res.trials, target),
                     "pruned_trials": res.counts().get("pruned", 0),
                     "seconds": res.extra["seconds"]}
    none, median = out["none"], out["median"]
    out["epochs_ratio_unpruned_over_pruned"] = none["total_epochs"] / median["total_epochs"]
    if median["epochs_to_target"]:
        out["to_target_ratio"] = none["epochs_to_target"] / median["epochs_to_target"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--grid", type=int, default=3, help="grid points per axis (k)")
    parser.add_argument("--data-seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import torch

    torch.set_num_threads(1)

    report = {"synthetic": synthetic(args.repeats, args.grid),
              "real_grid_vs_random": real_grid_vs_random(args.data_seeds, args.grid, 8),
              "pruning": pruned_vs_unpruned(args.trials, args.epochs)}
    s, r, p = report["synthetic"], report["real_grid_vs_random"], report["pruning"]
    ok = (s["mean_best_error"]["random"] < s["mean_best_error"]["grid"]
          and p["median"]["total_epochs"] < p["none"]["total_epochs"])
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if ok else 1
    g, rd = s["mean_best_error"]["grid"], s["mean_best_error"]["random"]
    print(f"random vs grid, {s['trials']} trials, one of two hyperparameters matters "
          f"({s['repeats']} bowls):")
    print(f"  learning rates tried: grid {s['distinct_lr']['grid']}, random "
          f"{s['distinct_lr']['random']}")
    print(f"  mean best error: grid {g:.4f}, random {rd:.4f} (excess over the optimum 0.05: "
          f"grid/random = {(g - 0.05) / max(rd - 0.05, 1e-12):.1f}x)")
    dg, dr = s["mean_decades_from_optimum"]["grid"], s["mean_decades_from_optimum"]["random"]
    print(f"  mean distance of the best lr to the optimum: grid {dg:.2f} decades, random "
          f"{dr:.2f} ({dg / max(dr, 1e-12):.1f}x closer)")
    rg, rr = r["mean_best_dev_error"]["grid"], r["mean_best_dev_error"]["random"]
    print(f"real TabularMLP, lr 1e-4..1 vs L2 1e-7..1e-5, {r['trials']} trials, "
          f"{r['data_seeds']} tables: mean best dev error grid {rg:.4f}, random {rr:.4f}")
    n, m = p["none"], p["median"]
    print(f"pruned vs unpruned, {p['trials']} trials x {p['epochs_per_trial']} epochs "
          f"(same configurations):")
    print(f"  unpruned: best {n['best_dev_error']:.4f}, {n['total_epochs']} epochs, "
          f"{n['seconds']:.1f}s; reached its best after {n['epochs_to_target']} epochs")
    print(f"  median-pruned: best {m['best_dev_error']:.4f}, {m['total_epochs']} epochs, "
          f"{m['seconds']:.1f}s, {m['pruned_trials']} trials pruned; reached "
          f"{p['target_dev_error']:.4f} after {m['epochs_to_target']} epochs")
    print(f"  compute: unpruned / pruned = {p['epochs_ratio_unpruned_over_pruned']:.2f}x "
          f"epochs in all" + (f", {p['to_target_ratio']:.2f}x to reach the same best"
                              if "to_target_ratio" in p else " (pruned never reached it)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
