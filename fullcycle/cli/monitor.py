"""`fullcycle monitor`: has the live data drifted from what the model was trained on?

Exit status 0: no data set drift; 1: the data set drifted (the share of drifted columns
reached --drift-share), so a cron job can act on it; 2: bad input, as every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fullcycle.cli.app import app
from fullcycle.cli.common import JsonOpt, QuietOpt
from fullcycle.cli.output import emit_json, quiet_console

DRIFTED_EXIT = 1


def _print(console: Any, doc: dict, paths: dict[str, str]) -> None:
    table = Table(title=f"drift of {doc['live']} ({doc['live_rows']} rows) against "
                        f"{doc['reference_rows']} training rows")
    for name, justify in (("column", "left"), ("kind", "left"), ("method", "left"),
                          ("statistic", "right"), ("drift when", "right"),
                          ("drift", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for c in [doc["predictions"], *sorted(doc["columns"], key=lambda c: not c["drift"])]:
        stat = "—" if c["statistic"] is None else f"{c['statistic']:.3g}"
        when = {"p_value": "p < ", "auc": "AUC > "}.get(c["score"], "≥ ") + f"{c['threshold']:.3g}"
        table.add_row(c["column"], c["kind"], c["method"], stat, when,
                      "[bold red]drift[/bold red]" if c["drift"] else "no")
    console.print(table)
    n, total = len(doc["drifted_columns"]), len(doc["columns"])
    verdict = "[bold red]data set drifted[/bold red]" if doc["drifted"] else "no data set drift"
    console.print(f"{verdict}: {n} of {total} columns drifted (share {doc['share']:.2f}, "
                  f"threshold {doc['drift_share']:.2f}); predictions "
                  f"{'drifted' if doc['predictions']['drift'] else 'stable'}")
    for note in doc["notes"]:
        console.print(f"note: {note}")
    console.print(f"written: {', '.join(paths.values())}")


@app.command("monitor")
def monitor_command(
    bundle: Annotated[Path, typer.Argument(help="A model bundle (RUN_DIR/model).")],
    live: Annotated[Path, typer.Argument(
        help="Live data: a CSV/Parquet file, a served-row log (.jsonl) or the log folder of "
             "fullcycle serve.")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Where monitor.json and monitor.html go (default "
        "RUN_DIR/monitor).")] = None,
    drift_share: Annotated[float, typer.Option(
        "--drift-share", help="Share of drifted columns at which the data set drifts.")] = 0.5,
    last: Annotated[int | None, typer.Option(
        "--last", help="Only the most recent N live rows.")] = None,
    html: Annotated[bool, typer.Option("--html/--no-html", help="Write monitor.html.")] = True,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Compare LIVE with the training data in BUNDLE, column by column (Evidently's tests)."""
    from fullcycle.monitor.check import check_drift, write_results

    result = check_drift(bundle, live, drift_share=drift_share, last=last)
    paths = write_results(result, out or bundle.resolve().parent / "monitor", html=html)
    doc = {**result.to_dict(), "written": paths}
    if json_output:
        emit_json(doc)
    else:
        _print(quiet_console(quiet, json_output), doc, paths)
    return DRIFTED_EXIT if result.drifted else 0
