"""`fullcycle demo`: the autopilot on a real data set bundled with scikit-learn (offline),
then a short tour of deployment: ONNX export, a real server on loopback, and the drift
monitor catching a shift planted in the served traffic."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from fullcycle.cli.app import app
from fullcycle.cli.common import JsonOpt, QuietOpt
from fullcycle.cli.output import emit_json, quiet_console
from fullcycle.cli.run import BudgetProgress, print_summary

DATASETS = ("breast_cancer", "diabetes", "wine")
SHIFT = 1.25  # the planted drift: one input column scaled by a quarter
ONE_ROW_REQUESTS = 200


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
    budget: Annotated[str, typer.Option(help="Time budget for the autopilot (the whole demo, "
                                        "with the deployment tour, stays under a minute).")
                      ] = "40s",
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
    human = 0.01 if dataset == "breast_cancer" else None
    with BudgetProgress(console, enabled=not (quiet or json_output)) as bar:
        result = run(path, target, out=out, budget=budget, human_level_error=human, log=bar.log)
    if not json_output:
        print_summary(console, result.summary)
        console.print(f"[bold]report[/bold]: {result.out / 'report.html'}")
    deploy = deploy_tour(console, Path(result.out), path, target)
    if json_output:
        emit_json({**result.summary, "out": str(result.out), "deploy": deploy})


def deploy_tour(console: Any, run_dir: Path, data: Path, target: str) -> dict[str, Any]:
    """Export the run's bundle, serve it, send traffic with a planted shift, monitor it."""
    import numpy as np
    import pandas as pd

    from fullcycle.monitor.check import check_drift, write_results
    from fullcycle.serve.app import ServeConfig
    from fullcycle.serve.background import running_server
    from fullcycle.serve.export import export_onnx

    model = run_dir / "model"
    exported = export_onnx(model, model / "model.onnx")
    console.print(f"[bold]export[/bold]: fullcycle export {model} → {exported.path} "
                  f"(max |ONNX − PyTorch| {exported.max_abs_diff:.1g} on "
                  f"{exported.rows_checked} rows)")
    frame = pd.read_csv(data).drop(columns=[target])
    rows = frame.to_dict("records")
    shifted_column = frame.columns[0]
    live = frame.assign(**{shifted_column: frame[shifted_column] * SHIFT}).to_dict("records")
    config = ServeConfig(bundle=str(model), log_dir=str(run_dir / "served"))
    with running_server(config) as (url, app):
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        one_row = json.dumps({"row": rows[0]})
        times = []
        for _ in range(ONE_ROW_REQUESTS):
            start = time.perf_counter()
            conn.request("POST", "/predict", one_row, {"Content-Type": "application/json"})
            conn.getresponse().read()
            times.append(time.perf_counter() - start)
        conn.request("GET", "/metrics")
        inside = json.loads(conn.getresponse().read())["predict_latency"]
        for start in range(0, len(live), 100):  # live traffic with the planted shift
            conn.request("POST", "/predict", json.dumps({"rows": live[start:start + 100]}),
                         {"Content-Type": "application/json"})
            conn.getresponse().read()
        runtime = app.state.server.predictor.runtime.name  # type: ignore[attr-defined]
    p50, p99 = (float(v) for v in np.percentile(times, [50, 99]) * 1000)
    console.print(f"[bold]serve[/bold]: fullcycle serve {model} ({runtime}) answered "
                  f"{ONE_ROW_REQUESTS} one-row requests in p50 {inside['p50_ms']:.2f} ms inside "
                  f"the server ({p50:.2f} ms round trip with the client in the same process; "
                  f"benchmarks/serve_latency.py measures them apart), then {len(live)} rows "
                  f"with '{shifted_column}' × {SHIFT} (a planted drift)")
    checked = check_drift(model, run_dir / "served", last=len(live))
    paths = write_results(checked, run_dir / "monitor")
    drifted = checked.report.drifted_columns
    console.print(f"[bold]monitor[/bold]: fullcycle monitor {model} {run_dir / 'served'} → "
                  f"drifted: {', '.join(drifted) or 'none'} ({len(drifted)} of "
                  f"{len(checked.report.columns)} columns); {paths['html']}")
    return {"onnx": exported.to_dict(),
            "serve": {"runtime": runtime, "round_trip_p50_ms": p50, "round_trip_p99_ms": p99,
                      "server_p50_ms": inside["p50_ms"], "server_p99_ms": inside["p99_ms"],
                      "rows_logged": len(live) + ONE_ROW_REQUESTS},
            "monitor": {"shifted_column": shifted_column, "drifted_columns": drifted,
                        "written": paths}}
