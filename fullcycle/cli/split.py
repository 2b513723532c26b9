"""`fullcycle split`: split and profile a data set, and save the split for later commands."""

from __future__ import annotations

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
    OutOpt,
    QuietOpt,
    SeedOpt,
    TargetOpt,
    TaskOpt,
    TestSizeOpt,
    TimeOpt,
    prepare_data,
)
from fullcycle.cli.output import emit_json, quiet_console
from fullcycle.data.profile import profile_table
from fullcycle.rundir import RunDir


@app.command("split")
def split_command(
    data: DataArg,
    target: TargetOpt,
    out: OutOpt,
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
    """Split DATA into train / dev / test (+ train-dev with --dev-data) and profile it."""
    prepared = prepare_data(data, target, task=task, dev_data=dev_data, dev_size=dev_size,
                            test_size=test_size, group_column=group_column,
                            time_column=time_column, ignore=ignore,
                            drop_missing_target=drop_missing_target, seed=seed)
    run = RunDir(out)
    prepared.save(run.path)
    summary = prepared.summary()
    profile = profile_table(prepared.frame, prepared.targets)
    journal = run.journal
    run_id = journal.start_run("split", {"data": str(data), "target": target, "seed": seed})
    journal.log_decision(run_id, "split", {"n_rows": summary["n_rows"], "task": prepared.task},
                         f"split {summary['strategy']}: {summary['splits']}",
                         "sizes from the seeds' rule min(0.2·m, max(10000, 0.01·m)) unless "
                         "overridden")
    journal.end_run(run_id)
    run.update_summary(task=prepared.task, splits=summary["splits"], profile=profile,
                       duplicates_across_splits=summary["duplicates_across_splits"],
                       class_balance=summary["class_balance"], data={
                           "path": str(data), "target": prepared.targets,
                           "fingerprint": prepared.fingerprint})
    if json_output:
        emit_json({**summary, "out": str(run.path)})
        return
    console = quiet_console(quiet, json_output)
    table = Table(title=f"{data.name}: {prepared.task} on {', '.join(prepared.targets)}")
    for column in ("split", "rows", "share"):
        table.add_column(column, justify="right" if column != "split" else "left")
    total = summary["n_rows"]
    for name, size in summary["splits"].items():
        table.add_row(name, str(size), f"{size / total:.1%}")
    console.print(table)
    console.print(f"{prepared.preprocessor.n_features} features after preprocessing; "
                  f"duplicates across splits: {summary['duplicates_across_splits']}")
    for note in summary["notes"]:
        console.print(f"  note: {note}")
    console.print(f"saved split and preprocessing in {run.path}")
