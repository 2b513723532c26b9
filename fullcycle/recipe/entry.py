"""`fc.run` / `fullcycle run`: the recipe's entry point.

Checks the options, prepares the data (a table, text, pictures), opens the run directory —
a new run, or with ``resume=True`` the unfinished one it holds (`fullcycle.recipe.resume`)
— and hands them to the autopilot (`fullcycle.recipe.autopilot`), whose flow is the recipe.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fullcycle.data.dataset import prepare
from fullcycle.data.images import is_picture_source
from fullcycle.data.load import TableSource
from fullcycle.data.splits import SplitOptions
from fullcycle.data.text import TextOptions
from fullcycle.errors import FullcycleError
from fullcycle.metrics import MULTITASK_METRIC, check_error_rate, check_metric, default_metric
from fullcycle.recipe.budget import Budget, parse_duration
from fullcycle.recipe.replay import Heartbeat
from fullcycle.recipe.resume import check_data, find_run, options_doc, unfinished_note
from fullcycle.recipe.satisfice import parse_constraints
from fullcycle.rundir import RunDir
from fullcycle.tracking import Tracking

if TYPE_CHECKING:
    from fullcycle.recipe.autopilot import RunResult

MIN_BUDGET_S = 10.0


def run(data: TableSource, target: str | list[str] | None = None, *,
        out: str | Path | None = None,
        human_level_error: float | None = None, budget: str | float = "5m",
        metric: str | None = None,
        satisfice: str | None = None, dev_data: TableSource | None = None,
        task: str | None = None, split: SplitOptions | None = None,
        hidden: list[int] | tuple[int, ...] | None = None, ignore: list[str] | None = None,
        drop_missing_target: bool = False, tolerance: float | None = None,
        seed: int = 0, progress: bool = False, log: Callable[[str], None] | None = None,
        text_columns: list[str] | None = None, text_options: TextOptions | None = None,
        tracking: Tracking | None = None,
        image_column: str | None = None, image_size: str | int | None = None,
        augment: str | None = "auto", pretrained: Any = None,
        refuse_unreadable: bool = False, resume: bool = False) -> RunResult:
    """Run the whole recipe on a table and write a run directory (see module docstring).

    `human_level_error` is the Bayes-error proxy in the metric's error units (e.g. 0.01 for
    1% error); without it the best baseline's dev error is the proxy (a bound). `tolerance`:
    gaps at or below it are noise (default: one standard error of the dev error). `budget`
    a duration like "5m" or seconds; `satisfice` constraints like
    "latency_ms<=100". `progress=True` prints each decision and experiment as it happens
    (`log` receives those lines instead, when given). `text_columns` are tokenized as free
    text (others are detected), with `text_options`; several targets not all 0/1 make a
    multi-task run, judged by the mean of its tasks' errors. `tracking` logs the finished
    run to MLflow / TensorBoard (`fullcycle.tracking`). Pictures: `data` a folder of
    class folders, or a table with `image_column`; `image_size` ("64", "48x64"), `augment`
    ("auto", "none", "flip,rotate,..."), `pretrained` (a bundle folder or an `nn.Module` with
    its weights), `refuse_unreadable` (stop at an unreadable file instead of skipping it) —
    see `fullcycle.data.images` and `fullcycle.recipe.images`.

    `resume=True` continues the unfinished run in `out` (killed, even by SIGKILL, or
    interrupted) given the same data and options: its decisions stand, its finished
    experiments are not trained again, the test split is still read once, and the budget
    counts the time it already spent (`fullcycle.recipe.resume`, `fullcycle.recipe.replay`).
    Without it, a folder holding an unfinished run gets a new run beside it, as always.
    """
    from fullcycle.recipe.autopilot import Autopilot  # it re-exports `run`: import it late

    seconds = parse_duration(budget)
    if seconds < MIN_BUDGET_S:
        raise FullcycleError(f"--budget {budget} is too short; the recipe needs at least "
                             f"{MIN_BUDGET_S:g}s (checks, training, test, report)")
    constraints = parse_constraints(satisfice)
    options = split or SplitOptions(seed=seed)
    name = Path(str(data)).stem if not hasattr(data, "columns") else "dataframe"
    out_path = Path(out or Path("runs") / name)
    choices = options_doc(
        target=target, task=task, metric=metric, human_level_error=human_level_error,
        budget=seconds, satisfice=satisfice, hidden=hidden, ignore=ignore, seed=seed,
        tolerance=tolerance, drop_missing_target=drop_missing_target, split=options,
        text_columns=text_columns, text_options=text_options, image_column=image_column,
        image_size=image_size, augment=augment, pretrained=pretrained,
        refuse_unreadable=refuse_unreadable, dev_data=dev_data)
    resumed = find_run(out_path, choices) if resume else None
    clock = Budget(seconds, spent=resumed.spent if resumed else 0.0)
    pictures = None
    if is_picture_source(data, image_column):
        from fullcycle.recipe.images import prepare_for_run

        prepared, pictures = prepare_for_run(
            data, target, task=task, dev_data=dev_data, split=options,
            drop_missing_target=drop_missing_target, image_column=image_column,
            image_size=image_size, augment=augment, pretrained=pretrained,
            refuse_unreadable=refuse_unreadable)
    else:
        if target is None:
            raise FullcycleError("no target column given; pass --target COLUMN (or a folder "
                                 "of class folders of pictures)")
        prepared = prepare(data, target, task=task, dev_data=dev_data, split=options,
                           ignore=ignore, drop_missing_target=drop_missing_target,
                           text_columns=text_columns, text_options=text_options)
    if prepared.task == "multitask":
        if metric is not None:
            raise FullcycleError("--metric applies to one target; a multi-task run is judged "
                                 "by the mean of its tasks' errors: leave --metric out")
        chosen = MULTITASK_METRIC
    else:
        chosen = metric or default_metric(prepared.task, prepared.y["train"])
        check_metric(chosen, prepared.task)
    if human_level_error is not None:
        check_error_rate(human_level_error, chosen, "--human-error")
    if resumed is not None:
        check_data(resumed, prepared.fingerprint, out_path)
    if log is None and progress:
        from rich.console import Console

        log = Console(highlight=False).print
    note = None if resumed is not None else unfinished_note(out_path)
    if note is not None and log is not None:
        log(note)
    rundir = RunDir(out_path)
    prepared.save(rundir.path)
    doc = {"data": str(data) if not hasattr(data, "columns") else "DataFrame",
           "dev_data": (str(dev_data) if dev_data is not None and not hasattr(dev_data, "columns")
                        else None),
           "target": target, "human_level_error": human_level_error, "budget": seconds,
           "metric": chosen, "satisfice": satisfice, "seed": seed,
           "options": choices, "fingerprint": prepared.fingerprint}
    pilot = Autopilot(prepared, rundir, human_level_error=human_level_error, budget=clock,
                      metric=chosen, constraints=constraints, seed=seed,
                      hidden=tuple(hidden) if hidden else None, tolerance=tolerance,
                      log=log or (lambda *_: None), command="run", config_doc=doc,
                      resumed=resumed, **(pictures or {}))
    try:
        with Heartbeat(pilot.journal, pilot.run_id, clock.elapsed):
            result = pilot.execute()
    except BaseException:
        pilot.journal.end_run(pilot.run_id, "failed")
        raise
    result.summary["seconds"] = round(clock.elapsed(), 2)
    rundir.update_summary(seconds=result.summary["seconds"])
    if tracking is not None:
        result.summary["tracking"] = tracking.log_run(rundir.path)
    return result
