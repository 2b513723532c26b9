"""`fullcycle demo`: the autopilot on a real data set bundled with scikit-learn (offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fullcycle.cli.app import app
from fullcycle.cli.common import JsonOpt, QuietOpt
from fullcycle.cli.output import emit_json, quiet_console
from fullcycle.cli.run import BudgetProgress, print_summary

DATASETS = ("breast_cancer", "diabetes", "wine")


def write_dataset(name: str, directory: Path) -> tuple[Path, str]:
    """Write one of scikit-learn's bundled tables as CSV; returns (path, target column)."""
    from sklearn import datasets

    loader = {"breast_cancer": datasets.load_breast_cancer,
              "diabetes": datasets.load_diabetes, "wine": datasets.load_wine}[name]
    frame = loader(as_frame=True).frame
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path, "target"


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory.")] = Path("runs/demo"),
    dataset: Annotated[str, typer.Option(
        help="breast_cancer (binary), diabetes (regression) or wine (multiclass).")
    ] = "breast_cancer",
    budget: Annotated[str, typer.Option(help="Time budget for the autopilot.")] = "90s",
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run the whole recipe on a data set scikit-learn bundles, and write the report."""
    from fullcycle.errors import FullcycleError
    from fullcycle.recipe.autopilot import run

    if dataset not in DATASETS:
        raise FullcycleError(f"unknown demo data set {dataset!r}; use one of: "
                             f"{', '.join(DATASETS)}")
    console = quiet_console(quiet, json_output)
    path, target = write_dataset(dataset, out.parent / "data")
    console.print(f"demo: fullcycle run {path} --target {target} --budget {budget} --out {out}")
    # Human-level error for the breast-cancer table: expert cytologists err on roughly 1-2%
    # of these cases; 1% is a conservative Bayes proxy (seed 003: human-level as proxy).
    human = 0.01 if dataset == "breast_cancer" else 0.0
    with BudgetProgress(console, enabled=not (quiet or json_output)) as bar:
        result = run(path, target, out=out, budget=budget, human_level_error=human, log=bar.log)
    if json_output:
        emit_json({**result.summary, "out": str(result.out)})
        return
    print_summary(console, result.summary)
    console.print(f"[bold]report[/bold]: {result.out / 'report.html'}")
