"""`fullcycle train`: one network trained on a table with the flags you choose.

A thin wrapper over `fc.train`: the flags become one `TrainConfig`, whose defaults (the
seeds') fill what is left out: one hidden layer at the midpoint width, the initializer of
the activation, the task's cost function and single metric, Adam with cosine decay; on a
table with text columns an embedding + LSTM per column beside them (`--text-column` names
one, others are detected), on several mixed targets one head per task. Writes
``summary.json`` (errors in the target's units), the model bundle, the journal and a
checkpoint per epoch, so ``--resume`` continues a run that was killed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
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
    MlflowOpt,
    NprocOpt,
    QuietOpt,
    SeedOpt,
    StreamOpt,
    TargetOpt,
    TaskOpt,
    TensorboardOpt,
    TestSizeOpt,
    TextColumnOpt,
    TextLowercaseOpt,
    TextTokenizerOpt,
    TextUnicodeOpt,
    TimeOpt,
    parse_hidden,
    prepare_data,
    relaunch,
    text_options,
    tracking_options,
)
from fullcycle.cli.output import emit_json, quiet_console
from fullcycle.engine.journaling import JournalCallback
from fullcycle.errors import FullcycleError
from fullcycle.models.bundle import save_bundle
from fullcycle.models.mlp import initial_architecture
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.trainer import n_outputs, network_inputs

DEFAULT = TrainConfig()  # the flags' defaults are the one config type's

STATE = "train.json"
CHECKPOINTS = "checkpoints"


def _floats(text: str | None, flag: str) -> list[float] | float | None:
    if text is None:
        return None
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise FullcycleError(f"{flag} {text!r} must be numbers, e.g. 0.25 or 0,0.25") from None
    if not values:
        raise FullcycleError(f"{flag} needs a value, e.g. 0.25")
    return values[0] if len(values) == 1 else values


def _print(console: Any, summary: dict) -> None:
    m = summary["metric"]
    table = Table(title=f"{summary['task']}: {m['name']} after {summary['epochs_run']} epochs "
                        f"(best epoch {summary['best_epoch']})")
    for col in ("split", m["name"], "error"):
        table.add_column(col, justify="right")
    for split in ("train", "train_dev", "dev"):
        if summary["errors"].get(split) is not None:
            table.add_row(split, f"{m[split]:.4g}", f"{summary['errors'][split]:.4g}")
    console.print(table)
    for d in summary["decisions"]:
        console.print(f"[bold]{d['kind']}[/bold]: {d['observed']}; {d['action']}")
    console.print(f"model saved to {summary['model']}")


@app.command("train")
def train_command(
    data: DataArg,
    target: TargetOpt,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Run directory (default runs/<data name>-train).")] = None,
    hidden: Annotated[str | None, typer.Option(
        help="Hidden sizes, e.g. 64,32 (default: one layer at the midpoint width).")] = None,
    activation: Annotated[str, typer.Option(
        help="relu, leaky_relu, tanh or sigmoid.")] = DEFAULT.activation,
    init: Annotated[str, typer.Option(
        help="auto (He for ReLU, Xavier for tanh/sigmoid), he, xavier, small, zeros.")
    ] = DEFAULT.init,
    optimizer: Annotated[str, typer.Option(
        help="adam, adamw, sgd, momentum, rmsprop.")] = DEFAULT.optimizer,
    lr: Annotated[float, typer.Option(help="Learning rate α.")] = DEFAULT.lr,
    schedule: Annotated[str, typer.Option(
        help="Decay: cosine, inverse_time, exponential, inverse_sqrt_epoch, "
             "inverse_sqrt_step, staircase, cosine_restarts, one_cycle, or none; parameters "
             "as name:key=value,... (e.g. staircase:drop=0.5,every=10).")
    ] = str(DEFAULT.schedule),
    epochs: Annotated[int | None, typer.Option(
        help="Passes over the training set (default: about 2,000 optimizer steps).")] = None,
    batch_size: Annotated[int | None, typer.Option(
        help="Mini-batch size, a power of 2 (default: from the data, 32 to 512).")] = None,
    dropout: Annotated[str | None, typer.Option(
        help="Dropout probability for every hidden layer, or one per layer (0,0.25).")] = None,
    l2: Annotated[float, typer.Option(help="L2 λ in λ/(2m)Σ‖W‖² (biases excluded).")] = 0.0,
    l1: Annotated[float, typer.Option(help="L1 λ in λ/m Σ|W| (with --l2: elastic net).")] = 0.0,
    batch_norm: Annotated[bool, typer.Option("--batch-norm", help="Batch norm in every "
                                             "hidden layer.")] = False,
    clip_norm: Annotated[float | None, typer.Option(
        help="Clip the gradient norm (default: 1 for a text model's LSTM, off otherwise; "
             "0 turns it off).")] = None,
    clip_value: Annotated[float | None, typer.Option(help="Clip gradient values.")] = None,
    early_stopping: Annotated[int | None, typer.Option(
        "--early-stopping", help="Stop after this many epochs without dev improvement "
                                 "(0: never; default: an eighth of the epochs).")] = None,
    metric: Annotated[str | None, typer.Option(
        help="accuracy, f1, f1_macro, auc, log_loss, rmse, mae, r2 (default: the task's).")
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    precision: Annotated[str | None, typer.Option(help="32, bf16 or fp16.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from "
                                         "its last checkpoint.")] = False,
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
    nproc: NprocOpt = 1,
    stream: StreamOpt = None,
    mlflow: MlflowOpt = False,
    tensorboard: TensorboardOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    ctx: typer.Context = None,  # type: ignore[assignment]  # given by Typer (for --nproc)
) -> int:
    """Train one network on a table (the seeds' first architecture unless told otherwise)."""
    from fullcycle.engine.distributed import WorkerLost, is_main_process
    from fullcycle.engine.progress import ProgressBar
    from fullcycle.metrics import check_metric
    from fullcycle.recipe.trainer import resolved, task_metric, train
    from fullcycle.rundir import RunDir

    console = quiet_console(quiet, json_output)
    hidden_sizes, drop = parse_hidden(hidden, empty_is_linear=True), _floats(dropout, "--dropout")
    config = TrainConfig(
        hidden=None if hidden_sizes is None else tuple(hidden_sizes), activation=activation,
        init=init, dropout=() if drop is None else drop, batch_norm=batch_norm, l2=l2, l1=l1,
        optimizer=optimizer, lr=lr, schedule=None if schedule == "none" else schedule,
        epochs=epochs, batch_size=batch_size, patience=early_stopping, clip_norm=clip_norm,
        clip_value=clip_value, seed=seed)
    rundir = RunDir(out or Path("runs") / f"{Path(data).stem}-train")
    launched = relaunch(ctx, nproc, rundir.file("logs"))  # --nproc N: N ranks run this command
    if launched is not None:
        return launched
    tracking, main = tracking_options(mlflow, tensorboard), is_main_process()
    state = rundir.read_json(STATE) if rundir.has(STATE) else None
    if main and not resume and state is not None and state.get("status") == "running":
        raise FullcycleError(
            f"{rundir.path} holds an unfinished training run; add --resume to continue it, "
            f"or choose another --out"
        )
    p = prepare_data(data, target, task=task, dev_data=dev_data, dev_size=dev_size,
                     test_size=test_size, group_column=group_column, time_column=time_column,
                     ignore=ignore, drop_missing_target=drop_missing_target, seed=seed,
                     text_columns=text_column,
                     text_options=text_options(text_tokenizer, text_lowercase, text_unicode),
                     stream=stream)
    if metric is not None and p.task != "multitask":
        check_metric(metric, p.task)
    task_metric(p, metric)  # refuses a metric on a multitask target before anything is written
    config = resolved(p, config)
    # What a resume must repeat: the knobs as trained and the rows they were trained on.
    # The epochs may grow: `--resume --epochs N` extends a fit (finished or not) to N.
    settings = {"data": str(data), "target": target, "task": p.task, "metric": metric,
                "config": config.to_dict(), "data_fingerprint": p.fingerprint,
                "splits": p.sizes}
    if p.preprocessor.text_columns:  # a resume must tokenize the same way
        settings["text"] = [{"name": t.name, "options": t.options, "max_length": t.max_length}
                            for t in p.preprocessor.text_columns]
    same = {**settings, "config": {k: v for k, v in settings["config"].items()
                                   if k not in ("epochs", "patience")}}
    fingerprint = hashlib.sha256(json.dumps(same, sort_keys=True).encode()).hexdigest()
    if resume and state is not None and state.get("flags_sha256") != fingerprint:
        raise FullcycleError(
            f"--resume with other settings than the run in {rundir.path}; repeat the original "
            f"flags (only --epochs may grow), or drop --resume to start over"
        )
    done = int(state.get("epochs_run", 0)) if resume and state is not None else 0
    if done and config.epochs is not None and config.epochs < done:
        raise FullcycleError(
            f"--epochs {config.epochs} is fewer than the {done} epochs the run in "
            f"{rundir.path} already trained; pass --epochs {done} or more to extend it"
        )
    if not main:  # under --nproc, the other ranks train their share and write nothing
        outcome = train(p, config, metric=metric, device=device, precision=precision,
                        checkpoint_dir=rundir.file(CHECKPOINTS), resume=resume)
        return 1 if outcome.diverged else 0
    if not resume or state is None:
        shutil.rmtree(rundir.file(CHECKPOINTS), ignore_errors=True)

    journal = rundir.journal
    if resume and state is not None:
        run_id, experiment_id = state["run_id"], state["experiment_id"]
    else:
        run_id = journal.start_run("train", settings)
        experiment_id = journal.start_experiment(
            run_id, "train", config.to_dict(), seed, p.fingerprint,
            "fullcycle train: one network with the flags given")
    rundir.write_json(STATE, {"status": "running", "run_id": run_id,
                              "experiment_id": experiment_id, "flags_sha256": fingerprint})
    progress = False if (quiet or json_output) else ProgressBar(console)
    try:
        outcome = train(p, config, metric=metric, device=device, precision=precision,
                        checkpoint_dir=rundir.file(CHECKPOINTS), resume=resume,
                        journal=JournalCallback(journal, experiment_id, run_id),
                        progress=progress)
    except FullcycleError as exc:
        _end(rundir, journal, run_id, experiment_id, fingerprint, "failed", str(exc))
        raise
    except WorkerLost as exc:  # the run stays "running": --resume continues it
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if outcome.diverged:
        _end(rundir, journal, run_id, experiment_id, fingerprint, "diverged", outcome.diverged)
        # Not the user's input at fault: exit 1, apart from the user errors' status 2.
        print(f"error: training diverged: {outcome.diverged}", file=sys.stderr)
        return 1

    metric_doc = {"name": outcome.metric, **outcome.metrics}
    bundle = save_bundle(
        rundir.file("model"), outcome.model,
        {"features": p.preprocessor.to_dict(), "target": p.target_encoding.to_dict()},
        p.task, {"metric": metric_doc, "errors": outcome.errors},
        p.preprocessor.input_schema(), classes=list(p.classes) if p.classes else None,
        reference=p.frame_of("train"))
    arch = initial_architecture(network_inputs(p), n_outputs(p), len(p.X["train"]))
    summary = {
        "task": p.task, "targets": p.targets, "classes": p.classes,
        "metric": metric_doc, "errors": outcome.errors,
        "best_epoch": outcome.best_epoch, "epochs_run": outcome.epochs_run,
        "stopped_early": outcome.stopped_early, "resumed_from": outcome.resumed_from,
        "history": outcome.history, "decisions": outcome.decisions,
        "architecture": {"config": outcome.model.config, "seeds_rule": arch.to_dict()},
        "config": config.to_dict(), "splits": p.sizes,
        "test_accesses": p.test_accesses, "model": str(bundle),
        "journal": str(journal.path),
    }
    rundir.write_json("summary.json", summary)
    journal.end_experiment(experiment_id, "finished", {"errors": outcome.errors,
                                                       "metric": outcome.metric})
    journal.end_run(run_id, "finished")
    rundir.write_json(STATE, {"status": "finished", "run_id": run_id,
                              "experiment_id": experiment_id, "flags_sha256": fingerprint,
                              "epochs_run": outcome.epochs_run})
    if tracking is not None:
        summary["tracking"] = tracking.log_run(rundir.path)
    if json_output:
        emit_json(summary)
    else:
        _print(console, summary)
    return 0


def _end(rundir: Any, journal: Any, run_id: int, experiment_id: int, fingerprint: str,
         status: str, message: str) -> None:
    """Record a fit that ended without a model, so a later run knows it is not running."""
    journal.end_experiment(experiment_id, status, {"error": message})
    journal.end_run(run_id, status)
    rundir.write_json(STATE, {"status": status, "run_id": run_id,
                              "experiment_id": experiment_id, "flags_sha256": fingerprint})
