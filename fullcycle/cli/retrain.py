"""`fullcycle retrain`: retrain a bundle on new data from its own weights; keep the better."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fullcycle.cli.app import app
from fullcycle.cli.common import (
    DevSizeOpt,
    GroupOpt,
    JsonOpt,
    QuietOpt,
    SeedOpt,
    TestSizeOpt,
    TimeOpt,
    split_options,
)
from fullcycle.cli.output import emit_json, quiet_console


@app.command("retrain")
def retrain_command(
    bundle: Annotated[Path, typer.Argument(help="The model bundle in use (RUN_DIR/model).")],
    new_data: Annotated[Path, typer.Argument(help="New labelled data (CSV or Parquet) with "
                                             "the training columns.")],
    budget: Annotated[str, typer.Option(help="Time budget for training, e.g. 2m.")] = "2m",
    epochs: Annotated[int | None, typer.Option(
        help="Most passes over the new training split (default: about 2,000 steps, with "
             "early stopping).")] = None,
    lr: Annotated[float | None, typer.Option(
        help="Learning rate (default: the one the bundle's run used, else 1e-3).")] = None,
    satisfice: Annotated[str | None, typer.Option(
        help='Constraints the new model must meet, e.g. "latency_ms<=5,params<=50000".')
    ] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Where the candidate, journal and summary go (default "
        "RUN_DIR/retrain-<time>).")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace/--no-replace", help="Put the new bundle in place when it is better.")
    ] = True,
    dev_size: DevSizeOpt = None,
    test_size: TestSizeOpt = None,
    group_column: GroupOpt = None,
    time_column: TimeOpt = None,
    seed: SeedOpt = 0,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Warm-start from BUNDLE on NEW_DATA; replace BUNDLE only if the new dev error is lower."""
    from fullcycle.engine.progress import ProgressBar
    from fullcycle.monitor.retrain import retrain_bundle

    console = quiet_console(quiet, json_output)
    options = split_options(dev_size, test_size, group_column, time_column, seed)
    result = retrain_bundle(bundle, new_data, out=out, budget=budget, epochs=epochs, lr=lr,
                            satisfice=satisfice, split=options, replace=replace,
                            progress=False if (quiet or json_output) else ProgressBar(console))
    doc = result.doc
    if json_output:
        emit_json(doc)
        return
    new = doc["new"]["errors"]["dev"]
    console.print(f"{doc['metric']} error on the new dev set ({doc['splits']['dev']} rows): "
                  f"old {doc['old']['dev_error']:.4g}, new "
                  f"{'diverged' if doc['new']['diverged'] else f'{new:.4g}'}")
    action, _, why = result.reason.partition(": ")  # the reason starts with the action
    console.print(f"[bold]{action}[/bold]: {why}")
    if doc["archived_old_bundle"]:
        console.print(f"old bundle kept at {doc['archived_old_bundle']}")
    console.print(f"candidate: {doc['candidate']}; journal: {doc['journal']}")
