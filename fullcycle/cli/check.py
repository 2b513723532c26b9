"""`fullcycle check`: the sanity checks on the initial architecture, before any training."""

from __future__ import annotations

from typing import Annotated, Any

import torch
import typer
from rich.table import Table

from fullcycle.cli.app import app
from fullcycle.cli.common import (
    DataArg,
    DropMissingOpt,
    IgnoreOpt,
    JsonOpt,
    QuietOpt,
    SeedOpt,
    TargetOpt,
    TaskOpt,
    TextColumnOpt,
    TextLowercaseOpt,
    TextTokenizerOpt,
    TextUnicodeOpt,
    parse_hidden,
    prepare_data,
    text_options,
)
from fullcycle.cli.output import emit_json, quiet_console
from fullcycle.data.dataset import Prepared

HiddenOpt = Annotated[str | None, typer.Option(
    help="Hidden sizes, e.g. 64,32 (default: the seeds' one layer between input and output).")]
ActivationOpt = Annotated[str, typer.Option(help="relu, leaky_relu, tanh or sigmoid.")]
_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}


def initial_model(prepared: Prepared, hidden: list[int] | None, activation: str,
                  seed: int) -> tuple[torch.nn.Module, Any]:
    """The initial architecture `fc.train` and `fc.run` start from (seed 001; an embedding
    + LSTM per text column), with its output bias at the training prior, and the task's
    loss (a name, or a multitask net's summed per-head loss)."""
    from fullcycle.recipe.config import TrainConfig
    from fullcycle.recipe.trainer import build_model, loss_for

    config = TrainConfig(hidden=None if hidden is None else tuple(hidden),
                         activation=activation, seed=seed)
    return build_model(prepared, config), loss_for(prepared)


def _value(value: Any) -> str:
    return "—" if value is None else f"{value:.3g}"


@app.command("check")
def check_command(
    data: DataArg,
    target: TargetOpt,
    hidden: HiddenOpt = None,
    activation: ActivationOpt = "relu",
    skip: Annotated[str | None, typer.Option(
        help="Comma-separated checks to leave out, e.g. lr_finder.")] = None,
    task: TaskOpt = None,
    ignore: IgnoreOpt = None,
    drop_missing_target: DropMissingOpt = False,
    text_column: TextColumnOpt = None,
    text_tokenizer: TextTokenizerOpt = "wordpiece",
    text_lowercase: TextLowercaseOpt = True,
    text_unicode: TextUnicodeOpt = "NFKC",
    seed: SeedOpt = 0,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Run the sanity checks on the initial network: loss at init, overfit one batch,
    gradient check, dead parameters, signal propagation, batch independence,
    input-independent baseline and the LR finder. Exit status 1 when a check fails."""
    from fullcycle.checks.suite import run_checks

    prepared = prepare_data(data, target, task=task, ignore=ignore,
                            drop_missing_target=drop_missing_target, seed=seed,
                            text_columns=text_column,
                            text_options=text_options(text_tokenizer, text_lowercase,
                                                      text_unicode))
    model, loss = initial_model(prepared, parse_hidden(hidden), activation, seed)
    skipped = tuple(name.strip() for name in skip.split(",") if name.strip()) if skip else ()
    multitask = prepared.task == "multitask"
    # the initial-loss check knows single tasks; a multitask net starts at each head's prior
    # by construction (`prior_bias`), so it is skipped there, as the autopilot does
    results = run_checks(model, (prepared.X["train"], prepared.y["train"]), loss,
                         None if multitask else prepared.task, seed=seed,
                         skip=(*skipped, "init_loss") if multitask else skipped)
    failed = any(r.status == "fail" for r in results)
    if json_output:
        emit_json({"task": prepared.task, "loss": "multitask" if multitask else loss,
                   "architecture": model.config,
                   "checks": [r.to_dict() for r in results]})
        return 1 if failed else 0
    console = quiet_console(quiet, json_output)
    table = Table(title=f"Sanity checks: {prepared.task}, hidden "
                        f"{','.join(map(str, model.config['hidden'])) or 'none'} {activation}")
    table.add_column("check")
    table.add_column("status")
    table.add_column("value", justify="right")
    table.add_column("finding and fix", overflow="fold")
    for r in results:
        table.add_row(r.name, f"[{_STYLE[r.status]}]{r.status}[/]", _value(r.value), r.message)
    console.print(table)
    return 1 if failed else 0
