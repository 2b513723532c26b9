"""`fullcycle run`: the whole recipe on one data file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fullcycle.cli.app import app
from fullcycle.cli.common import (
    DevDataOpt,
    DevSizeOpt,
    DropMissingOpt,
    GroupOpt,
    IgnoreOpt,
    JsonOpt,
    MlflowOpt,
    QuietOpt,
    SeedOpt,
    TaskOpt,
    TensorboardOpt,
    TestSizeOpt,
    TextColumnOpt,
    TextLowercaseOpt,
    TextTokenizerOpt,
    TextUnicodeOpt,
    TimeOpt,
    parse_columns,
    parse_error_rate,
    parse_hidden,
    split_options,
    text_options,
    tracking_options,
)
from fullcycle.cli.output import emit_json, quiet_console


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def print_summary(console: Console, summary: dict) -> None:
    """The diagnosis and the experiment table, for people."""
    errors = summary["errors"]
    satisficing = summary.get("satisficing") or {}
    if satisficing.get("message"):
        console.print(f"[bold red]warning:[/bold red] {satisficing['message']}")
    table = Table(title=f"{summary['task']} — {summary['metric']['name']} (errors)")
    proxy = summary.get("bayes_proxy") or {}
    human = summary["human_level_error"]
    for column in ("human" if human is not None else "Bayes proxy (bound)", "train",
                   "train-dev", "dev", "test"):
        table.add_column(column, justify="right")
    table.add_row(*(_cell(v) for v in (human if human is not None else proxy.get("value"),
                                       errors["train"],
                                       errors.get("train_dev"), errors["dev"], errors["test"])))
    console.print(table)
    floors = ", ".join(f"{b['name']} {_cell(b['dev_error'])}" for b in summary.get("baselines", []))
    if floors:
        console.print(f"baselines (dev error): {floors}")
    comparison = summary.get("comparison") or {}
    if comparison.get("verdict"):
        style = "bold yellow" if comparison.get("baseline_wins") else "bold green"
        console.print(f"[{style}]{comparison['verdict']}[/{style}]")
    d = summary["diagnosis"]
    console.print(f"[bold]diagnosis[/bold]: {d['primary_problem']}  (avoidable bias "
                  f"{_cell(d['avoidable_bias'])}, variance {_cell(d['variance'])}, "
                  f"data mismatch {_cell(d['data_mismatch'])}, "
                  f"dev overfit {_cell(d['dev_overfit'])})")
    for action in summary.get("recommendations", [])[:4]:
        console.print(f"  next: {action}")
    kept = sum(1 for e in summary["experiments"] if e["kept"])
    console.print(f"{len(summary['experiments'])} experiments, {kept} kept; test set accessed "
                  f"{summary['test_accesses']} time(s)")


class BudgetProgress:
    """A Rich bar of the time budget spent, with the recipe's decisions printed above it."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self.console = console
        self.progress = Progress(TextColumn("[bold]autopilot[/bold]"), TimeElapsedColumn(),
                                 TextColumn("{task.description}"), console=console,
                                 transient=True, disable=not enabled)
        self.task = self.progress.add_task("starting", total=None)
        self.experiments = 0

    def __enter__(self) -> BudgetProgress:
        return self

    def __exit__(self, *_: object) -> None:
        if self.started:
            self.progress.stop()

    started = False

    def log(self, message: str) -> None:
        if not self.started:  # first message: the input passed validation; a bar is useful
            self.started = True
            self.progress.start()
        if message.startswith("  "):
            self.experiments += 1
        self.progress.console.print(message)
        self.progress.update(self.task, description=f"{self.experiments} experiments")


RunDataArg = Annotated[Path, typer.Argument(
    help="CSV or Parquet file with a header row, or a folder of pictures with one sub-folder "
         "per class.")]
RunTargetOpt = Annotated[str | None, typer.Option(
    "--target", "-t", help="Target column (several, comma-separated, make a multilabel "
                           "task); not needed for a folder of class folders.")]


@app.command("run")
def run_command(
    data: RunDataArg,
    target: RunTargetOpt = None,
    out: Annotated[str | None, typer.Option("--out", "-o", help="Run directory "
                                            "(default runs/<data name>).")] = None,
    human_error: Annotated[str | None, typer.Option(
        "--human-error", help="Human-level error, the Bayes-error proxy (0.01 or 1%); "
                              "default: the best baseline's dev error, as a bound.")] = None,
    budget: Annotated[str, typer.Option(help="Time budget, e.g. 90s, 5m, 1h.")] = "5m",
    metric: Annotated[str | None, typer.Option(
        help="Single evaluation metric: accuracy, f1, f1_macro, auc, log_loss, rmse, mae, r2."
    )] = None,
    satisfice: Annotated[str | None, typer.Option(
        help='Satisficing constraints, e.g. "latency_ms<=100,params<=100000".')] = None,
    hidden: Annotated[str | None, typer.Option(
        help="Start from these hidden sizes (e.g. 64,32) instead of the seeds' rule.")] = None,
    task: TaskOpt = None,
    dev_data: DevDataOpt = None,
    dev_size: DevSizeOpt = None,
    test_size: TestSizeOpt = None,
    group_column: GroupOpt = None,
    time_column: TimeOpt = None,
    ignore: IgnoreOpt = None,
    drop_missing_target: DropMissingOpt = False,
    text_column: TextColumnOpt = None,
    text_tokenizer: TextTokenizerOpt = "wordpiece",
    text_lowercase: TextLowercaseOpt = True,
    text_unicode: TextUnicodeOpt = "NFKC",
    seed: SeedOpt = 0,
    mlflow: MlflowOpt = False,
    tensorboard: TensorboardOpt = None,
    image_column: Annotated[str | None, typer.Option(
        "--image-column", help="Pictures: the table column of picture paths (relative to "
                               "the table's folder).")] = None,
    image_size: Annotated[str | None, typer.Option(
        "--image-size", help="Pictures: resize to this side (64) or height x width (48x64); "
                             "default: chosen from the pictures.")] = None,
    augment: Annotated[str, typer.Option(
        help="Pictures: auto (the recipe decides), none, or a list of flip, rotate, crop, "
             "color, noise, erase, contrast.")] = "auto",
    pretrained: Annotated[Path | None, typer.Option(
        "--pretrained", help="Pictures: start from the model/ bundle of an earlier run "
                             "(transfer learning).")] = None,
    refuse_unreadable: Annotated[bool, typer.Option(
        "--refuse-unreadable", help="Pictures: stop at a file that cannot be decoded "
                                    "(default: skip it with a note).")] = False,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the unfinished (killed) run in --out: repeat its data and "
                         "options; finished experiments are not trained again, the budget "
                         "counts the time already spent.")] = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run the recipe: split, baselines, checks, LR finder, train, diagnose, iterate, test
    once, report. `--resume` continues a run that was killed."""
    from fullcycle.recipe.autopilot import run

    console = quiet_console(quiet, json_output)
    budget_bar = BudgetProgress(console, enabled=not (quiet or json_output))
    options = split_options(dev_size, test_size, group_column, time_column, seed)
    texts = text_options(text_tokenizer, text_lowercase, text_unicode)
    tracking = tracking_options(mlflow, tensorboard)
    with budget_bar:
        result = run(
            data, target, out=out,
            human_level_error=parse_error_rate(human_error, "--human-error", metric),
            budget=budget, metric=metric, satisfice=satisfice, dev_data=dev_data, task=task,
            split=options, hidden=parse_hidden(hidden), ignore=parse_columns(ignore),
            drop_missing_target=drop_missing_target, seed=seed, log=budget_bar.log,
            text_columns=text_column, text_options=texts,
            tracking=tracking,
            image_column=image_column, image_size=image_size, augment=augment,
            pretrained=pretrained, refuse_unreadable=refuse_unreadable, resume=resume,
        )
    if json_output:
        emit_json({**result.summary, "out": str(result.out)})
        return
    print_summary(console, result.summary)
    console.print(f"report: {result.out / 'report.html'}")
