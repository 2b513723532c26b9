"""`fullcycle report DIR`: rebuild a run's report.html from its summary and journal.

fullcycle report runs/demo
fullcycle report runs/demo --json
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fullcycle.cli.app import app
from fullcycle.cli.output import emit_json, quiet_console


@app.command("report")
def report_command(
    run_dir: Annotated[Path, typer.Argument(help="Run directory (holds summary.json).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Write DIR/report.html: one self-contained page with every plot, no network needed."""
    from fullcycle.report.build import build_report

    path = build_report(run_dir)
    if as_json:
        emit_json({"report": str(path), "bytes": path.stat().st_size})
        return
    quiet_console(quiet, as_json).print(f"report written: [bold]{path}[/bold]")
