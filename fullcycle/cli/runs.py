"""`fullcycle runs`: what a run directory holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fullcycle.cli.app import app
from fullcycle.cli.common import JsonOpt
from fullcycle.cli.output import emit_json, quiet_console
from fullcycle.journal import experiment_error
from fullcycle.rundir import JOURNAL_NAME, RunDir


def _error(value: float | None, task: str | None) -> str:
    """A percentage for classification, 4 significant digits otherwise."""
    if value is None:
        return "—"
    if task in ("binary", "multiclass", "multilabel"):
        return f"{100 * value:.2f}%"
    return f"{value:.4g}"


@app.command("runs")
def runs_command(
    directory: Annotated[Path, typer.Argument(help="A run directory (--out of a command).")],
    json_output: JsonOpt = False,
) -> None:
    """List the runs, experiments and decisions journaled in DIRECTORY."""
    run = RunDir(directory, create=False)
    files = sorted(p.name for p in run.path.iterdir() if not p.name.startswith("."))
    runs, experiments, decisions = [], [], []
    if run.has(JOURNAL_NAME):
        runs = run.journal.runs()
        experiments = run.journal.experiments()
        decisions = run.journal.decisions()
    summary = run.read_json("summary.json") if run.has("summary.json") else {}
    document = {
        "directory": str(run.path), "files": files, "task": summary.get("task"),
        "errors": summary.get("errors"),
        "runs": [{k: r[k] for k in ("id", "command", "status", "started", "ended")} for r in runs],
        "experiments": [{**{k: e[k] for k in ("id", "run_id", "name", "reason", "status",
                                              "kept", "metrics")},
                         "train_error": experiment_error(e["metrics"], "train"),
                         "dev_error": experiment_error(e["metrics"], "dev")}
                        for e in experiments],
        "decisions": len(decisions),
    }
    if json_output:
        emit_json(document)
        return
    console = quiet_console(False, False)
    console.print(f"[bold]{run.path}[/bold]: {', '.join(files) or 'empty'}")
    table = Table(title="runs")
    for column in ("id", "command", "status"):
        table.add_column(column)
    for r in document["runs"]:
        table.add_row(str(r["id"]), r["command"], r["status"])
    console.print(table)
    if experiments:
        table = Table(title="experiments")
        for column in ("id", "name", "reason", "status", "train error", "dev error", "kept"):
            table.add_column(column, justify="right" if "error" in column else "left")
        task = document["task"]
        for e in document["experiments"]:
            table.add_row(str(e["id"]), e["name"], e["reason"] or "", e["status"],
                          _error(e["train_error"], task), _error(e["dev_error"], task),
                          "" if e["kept"] is None else ("yes" if e["kept"] else "no"))
        console.print(table)
    console.print(f"{len(decisions)} decisions journaled")
