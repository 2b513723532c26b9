"""`fullcycle search`: random search on the right scales, coarse to fine, pandas or caviar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from fullcycle.cli.app import app
from fullcycle.cli.common import (
    DataArg,
    DevDataOpt,
    DevSizeOpt,
    DropMissingOpt,
    GroupOpt,
    IgnoreOpt,
    JsonOpt,
    QuietOpt,
    SeedOpt,
    TargetOpt,
    TaskOpt,
    TestSizeOpt,
    TimeOpt,
    parse_error_rate,
    prepare_data,
)
from fullcycle.cli.output import emit_json, quiet_console
from fullcycle.errors import FullcycleError

# config key -> column header, in the seeds' order of importance
_COLUMNS = {"lr": "lr", "beta1": "β1", "hidden_units": "units", "layers": "layers",
            "batch_size": "batch", "dropout": "dropout", "l2_per_example": "λ/m",
            "lr_decay": "decay"}


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def print_result(console: Console, doc: dict[str, Any], top: int = 10) -> None:
    """The best trials as a table, the rounds' ranges, importance and where things went."""
    done = sorted((t for t in doc["trials"] if t["dev_error"] is not None),
                  key=lambda t: (t["state"] != "complete", t["dev_error"]))
    keys = [k for k in _COLUMNS if any(k in t["params"] for t in done)] or sorted(
        {k for t in done for k in t["params"]})
    if console.width < 110:  # a narrow terminal shows the most important ones (seed 000)
        keys = keys[:5]
    table = Table(title=f"best of {len(doc['trials'])} trials (dev error, lower is better; "
                        "p = pruned)", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("#", "round", "dev err", *(_COLUMNS.get(k, k) for k in keys)):
        table.add_column(column, justify="right", no_wrap=True)
    for t in done[:top]:
        flag = "" if t["state"] == "complete" else " p"
        error = f"{t['dev_error']:.4g}{flag}"
        table.add_row(str(t["number"]), t["round"], error,
                      *(_cell(t["params"].get(k)) for k in keys))
    console.print(table)
    counts = ", ".join(f"{n} {state}" for state, n in doc["counts"].items())
    console.print(f"trials: {counts}", markup=False)
    fine = doc["rounds"].get("fine")
    if fine:
        lr = fine["ranges"].get("lr")
        where = f" (lr {lr['low']:.3g} to {lr['high']:.3g})" if lr else ""
        console.print(f"fine round{where}: {fine['rule']}", markup=False)
    if doc.get("importance"):
        ranked = ", ".join(f"{k} {v:.2f}" for k, v in list(doc["importance"].items())[:5])
        console.print(f"importance (fANOVA, coarse round): {ranked}", markup=False)
    diagnosis = doc.get("diagnosis")
    if diagnosis:
        console.print(f"best trial's diagnosis: {diagnosis['primary_problem']}", markup=False)


@app.command("search")
def search_command(
    data: DataArg,
    target: TargetOpt,
    trials: Annotated[int | None, typer.Option(
        help="Trials in all (coarse round, then fine round).")] = None,
    budget: Annotated[str | None, typer.Option(
        help="Time budget, e.g. 90s, 10m, 1h; with --trials, whichever ends first.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Run directory (default runs/<data name>-search).")] = None,
    workers: Annotated[int, typer.Option(
        help="Worker processes on this machine: 1 trains one model at a time with live "
             "progress; K trains K in parallel.")] = 1,
    storage: Annotated[str | None, typer.Option(
        help="Study storage URL, e.g. postgresql://user:pw@host/db to share a study between "
             "machines (default: SQLite in the run directory).")] = None,
    study: Annotated[str | None, typer.Option(
        help="Study name (default: the run directory's name).")] = None,
    join: Annotated[str | None, typer.Option(
        help="Join study STUDY started elsewhere, adding this machine's workers.")] = None,
    sampler: Annotated[str, typer.Option(help="random, sobol (quasi-random) or tpe.")] = "random",
    pruner: Annotated[str, typer.Option(
        help="Stop bad trials early: median, halving (successive halving) or none.")] = "median",
    fine_fraction: Annotated[float, typer.Option(
        help="Share of trials and time for the fine round (0: coarse only).")] = 0.4,
    epochs: Annotated[int | None, typer.Option(
        help="Epochs per trial (default: about 2,000 optimizer steps).")] = None,
    optimizer: Annotated[str, typer.Option(
        help="adam, adamw, momentum, rmsprop or sgd; its β is searched as 1 − β.")] = "adam",
    human_error: Annotated[str, typer.Option(
        "--human-error", help="Human-level error for the diagnosis (0.01 or 1%).")] = "0",
    retrain_best: Annotated[bool, typer.Option(
        "--retrain-best", help="Re-train the best configuration and write the model bundle "
                               "to OUT/model.")] = False,
    task: TaskOpt = None,
    dev_data: DevDataOpt = None,
    dev_size: DevSizeOpt = None,
    test_size: TestSizeOpt = None,
    group_column: GroupOpt = None,
    time_column: TimeOpt = None,
    ignore: IgnoreOpt = None,
    drop_missing_target: DropMissingOpt = False,
    seed: SeedOpt = 0,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Search hyperparameters: random on the right scales, coarse then fine, with pruning.

    Re-run the same command to resume; on other machines add workers with
    `fullcycle search DATA --target COL --join STUDY --storage postgresql://...`.
    """
    from fullcycle.recipe.budget import parse_duration
    from fullcycle.tuning.study import search

    console = quiet_console(quiet, json_output)
    budget_s = parse_duration(budget) if budget is not None else None
    if join is None and trials is None and budget_s is None:
        raise FullcycleError("a search needs a size; pass --trials N, --budget 10m, or both")
    if join is not None and (storage is None and out is None):
        raise FullcycleError(f"--join {join} needs the study's --storage URL (or the --out "
                             "directory whose search.sqlite holds it)")
    if epochs is not None and epochs < 1:
        raise FullcycleError(f"--epochs {epochs} is too small; pass at least 1")
    human = parse_error_rate(human_error, "--human-error") or 0.0
    out_dir = out or (None if join is not None and storage is not None
                      else Path("runs") / f"{Path(data).stem}-search")
    prepared = prepare_data(data, target, task=task, dev_data=dev_data, dev_size=dev_size,
                            test_size=test_size, group_column=group_column,
                            time_column=time_column, ignore=ignore,
                            drop_missing_target=drop_missing_target, seed=seed)
    base_config = {"optimizer": optimizer, "seed": seed,
                   **({"epochs": epochs} if epochs is not None else {})}
    show = not (quiet or json_output)
    result = search(
        prepared, trials=trials, budget=budget_s, base_config=base_config, out=out_dir,
        sampler=sampler, pruner=pruner, workers=workers, storage=storage,
        study_name=join or study, join=join is not None, fine_fraction=fine_fraction,
        seed=seed, progress=show, log=(lambda text: console.print(text, markup=False)),
        human_level_error=human,
    )
    doc = result.to_dict()
    if retrain_best:
        if out_dir is None:
            raise FullcycleError("--retrain-best writes a model bundle; pass --out DIR")
        from fullcycle.tuning.retrain import retrain_best as retrain

        doc["retrained"] = retrain(result, prepared, out_dir, base_config=base_config,
                                   human_level_error=human, progress=show)
    if json_output:
        emit_json({**doc, "out": None if out_dir is None else str(out_dir)})
        return
    print_result(console, doc)
    if "retrained" in doc:
        r = doc["retrained"]
        console.print(f"re-trained trial {r['trial']}: dev error {r['dev_error']:.4g}; "
                      f"bundle {r['bundle']}", markup=False)
    if out_dir is not None:
        console.print(f"results: {Path(out_dir) / 'summary.json'} (section search), plot "
                      f"{Path(out_dir) / 'search_slice.png'}", markup=False)
    console.print(f"more workers: fullcycle search {data} --target {target} --join "
                  f"{result.study} --storage <URL>", markup=False)
