"""`fullcycle lr-find`: sweep the learning rate on the initial network and suggest one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fullcycle.cli.app import app
from fullcycle.cli.check import ActivationOpt, HiddenOpt, initial_model
from fullcycle.cli.common import (
    DataArg,
    DropMissingOpt,
    IgnoreOpt,
    JsonOpt,
    QuietOpt,
    SeedOpt,
    TargetOpt,
    TaskOpt,
    parse_hidden,
    prepare_data,
)
from fullcycle.cli.output import emit_json, quiet_console


@app.command("lr-find")
def lr_find_command(
    data: DataArg,
    target: TargetOpt,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Directory to write lr_finder.png into (nothing is written "
                            "without it or --plot).")] = None,
    plot: Annotated[Path | None, typer.Option(
        help="Where to save the loss-vs-rate plot (PNG).")] = None,
    start_lr: Annotated[float, typer.Option(help="First rate of the sweep.")] = 1e-7,
    end_lr: Annotated[float, typer.Option(help="Last rate of the sweep.")] = 10.0,
    steps: Annotated[int, typer.Option(help="Mini-batch steps (rates) in the sweep.")] = 100,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size (a power of two).")] = 64,
    optimizer: Annotated[str, typer.Option(
        help="adam, adamw, sgd, momentum or rmsprop.")] = "adam",
    hidden: HiddenOpt = None,
    activation: ActivationOpt = "relu",
    task: TaskOpt = None,
    ignore: IgnoreOpt = None,
    drop_missing_target: DropMissingOpt = False,
    seed: SeedOpt = 0,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Increase the learning rate exponentially over mini-batches, smooth the loss, and
    suggest a rate a little to the right of the steepest descent (seed 001)."""
    from fullcycle.checks.lr_finder import lr_find
    from fullcycle.errors import FullcycleError

    if batch_size < 1:
        raise FullcycleError("--batch-size must be at least 1; 64 is a good start")
    prepared = prepare_data(data, target, task=task, ignore=ignore,
                            drop_missing_target=drop_missing_target, seed=seed)
    model, loss = initial_model(prepared, parse_hidden(hidden), activation, seed)
    result = lr_find(model, (prepared.X["train"], prepared.y["train"]), loss,
                     optimizer=optimizer, start_lr=start_lr, end_lr=end_lr,
                     num_steps=steps, batch_size=batch_size, seed=seed)
    if plot is None and out is not None:
        plot = out / "lr_finder.png"
    saved = result.plot(plot) if plot is not None else None
    if json_output:
        emit_json({**result.to_dict(), "plot": None if saved is None else str(saved)})
        return
    console = quiet_console(quiet, json_output)
    if result.suggested_lr is None:
        console.print(f"no clear descent over {len(result.lrs)} rates ({result.stop_reason}); "
                      "widen --start-lr/--end-lr or start from 1e-3")
    else:
        console.print(f"suggested learning rate: [bold]{result.suggested_lr:.3g}[/bold] "
                      f"(steepest descent at {result.steepest_lr:.3g}, loss lowest at "
                      f"{result.min_loss_lr:.3g}; sweep ended: {result.stop_reason})")
    if saved is not None:
        console.print(f"plot: {saved}")
