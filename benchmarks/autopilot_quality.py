"""Autopilot quality: `fullcycle run` against scikit-learn's MLP and gradient boosting.

The issue's bar: with `--budget 5m` on this machine, the autopilot's test metric must beat
`MLPClassifier` / `MLPRegressor` (defaults, early stopping) and come close to
`HistGradientBoosting*`, all fitted in the same process on the same split. The data are
generated here: tabular, tens of thousands of rows, categorical columns with many levels,
missing values and nonlinear interactions (a census-like classification problem and a
housing-like regression problem).

    python benchmarks/autopilot_quality.py [--budget 5m] [--rows 30000] [--task both]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import fullcycle as fc


def make_table(rows: int, task: str, seed: int = 0) -> pd.DataFrame:
    """A census-like table: numeric and categorical columns, missing cells, interactions."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows).astype(float)
    hours = np.clip(rng.normal(40, 12, rows), 1, 99)
    education = rng.choice([f"edu{i}" for i in range(12)], rows,
                           p=np.linspace(2, 0.5, 12) / np.linspace(2, 0.5, 12).sum())
    region = rng.choice([f"r{i}" for i in range(40)], rows)
    job = rng.choice(["clerk", "tech", "sales", "craft", "exec", "service", "farm"], rows)
    capital = np.where(rng.random(rows) < 0.1, rng.lognormal(8, 1, rows), 0.0)
    score = rng.normal(size=rows)
    edu_effect = {f"edu{i}": (i - 6) / 3 for i in range(12)}
    region_effect = {f"r{i}": e for i, e in enumerate(rng.normal(0, 0.6, 40))}
    job_effect = {"clerk": 0.0, "tech": 0.8, "sales": 0.3, "craft": -0.2, "exec": 1.2,
                  "service": -0.7, "farm": -0.9}
    signal = (0.04 * (age - 45) - 0.0012 * (age - 45) ** 2 + 0.03 * (hours - 40)
              + pd.Series(education).map(edu_effect).to_numpy()
              + pd.Series(region).map(region_effect).to_numpy()
              + pd.Series(job).map(job_effect).to_numpy()
              + 0.4 * np.log1p(capital) / 8 + 0.6 * np.sin(2 * score)
              + 0.5 * (job == "tech") * (hours > 45))
    frame = pd.DataFrame({"age": age, "hours": hours, "education": education, "region": region,
                          "job": job, "capital": capital, "score": score})
    for column in ("hours", "capital", "job"):
        frame.loc[rng.random(rows) < 0.07, column] = np.nan
    if task == "binary":
        frame["target"] = (signal + rng.logistic(0, 0.6, rows) > 0.3).astype(int)
    else:
        frame["target"] = 50 + 12 * signal + rng.normal(0, 6, rows)
    return frame


def sklearn_models(task: str, numeric: list[str], categorical: list[str]) -> dict:
    one_hot = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), categorical)])
    ordinal_hgb = {"categorical_features": "from_dtype"}
    if task == "binary":
        return {"MLPClassifier": make_pipeline(one_hot, MLPClassifier(early_stopping=True,
                                                                      random_state=0)),
                "HistGradientBoosting": HistGradientBoostingClassifier(random_state=0,
                                                                       **ordinal_hgb)}
    return {"MLPRegressor": make_pipeline(one_hot, MLPRegressor(early_stopping=True,
                                                                random_state=0)),
            "HistGradientBoosting": HistGradientBoostingRegressor(random_state=0, **ordinal_hgb)}


def compare(task: str, rows: int, budget: str, workdir: Path) -> dict:
    frame = make_table(rows, task)
    path = workdir / f"{task}.csv"
    frame.to_csv(path, index=False)
    start = time.monotonic()
    result = fc.run(path, "target", out=workdir / f"run_{task}", budget=budget)
    ours_seconds = time.monotonic() - start
    summary = result.summary
    # the same rows as the autopilot: its train split for fitting, its test split for scoring
    split = fc.prepare(path, "target").split  # same seed, same rule → same rows
    train = frame.iloc[split.indices["train"]]
    test = frame.iloc[split.indices["test"]]
    features = [c for c in frame.columns if c != "target"]
    categorical = ["education", "region", "job"]
    numeric = [c for c in features if c not in categorical]
    scores = {"fullcycle": (summary["errors"]["test"], ours_seconds)}
    for name, model in sklearn_models(task, numeric, categorical).items():
        X_train, X_test = train[features].copy(), test[features].copy()
        if name == "HistGradientBoosting":
            for c in categorical:
                X_train[c] = X_train[c].astype("category")
                X_test[c] = pd.Categorical(X_test[c], categories=X_train[c].cat.categories)
        t0 = time.monotonic()
        model.fit(X_train, train["target"])
        pred = model.predict(X_test)
        if task == "binary":
            error = 1 - accuracy_score(test["target"], pred)
        else:
            error = float(np.sqrt(mean_squared_error(test["target"], pred)))
        scores[name] = (error, time.monotonic() - t0)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", default="5m")
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--task", choices=("binary", "regression", "both"), default="both")
    parser.add_argument("--keep", type=Path, help="Keep the run directories here.")
    args = parser.parse_args()
    tasks = ("binary", "regression") if args.task == "both" else (args.task,)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for task in tasks:
            scores = compare(task, args.rows, args.budget, workdir)
            unit = "1 - accuracy" if task == "binary" else "RMSE"
            print(f"\n{task}: {args.rows} rows, budget {args.budget}; test error ({unit})")
            ours = scores["fullcycle"][0]
            for name, (error, seconds) in scores.items():
                ratio = error / ours if ours else float("nan")
                print(f"  {name:22s} {error:.4f}   {seconds:7.1f}s   error ratio vs fullcycle "
                      f"{ratio:.3f}")
            mlp = next(v[0] for k, v in scores.items() if k.startswith("MLP"))
            hgb = scores["HistGradientBoosting"][0]
            print(f"  beats the sklearn MLP: {ours < mlp}; within 5% of gradient boosting: "
                  f"{ours <= 1.05 * hgb}")


if __name__ == "__main__":
    main()
