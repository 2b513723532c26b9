"""`fullcycle train`: one network trained on a table with the flags you choose.

The seeds' defaults where a flag is left out: one hidden layer at the midpoint width, the
initializer of the activation, the task's cost function and single metric, Adam. Writes
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

import torch
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
    QuietOpt,
    SeedOpt,
    TargetOpt,
    TaskOpt,
    TestSizeOpt,
    TimeOpt,
    parse_hidden,
    prepare_data,
)
from fullcycle.cli.output import emit_json, quiet_console
from fullcycle.errors import FullcycleError

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


def _split_scores(model: torch.nn.Module, p: Any, metric: str) -> tuple[dict, dict]:
    """(metric, error) per split in the target's units; the test split is not touched."""
    from fullcycle.engine.evaluate import predict
    from fullcycle.metrics import compute_metric, error_from_metric

    values: dict[str, float | None] = {}
    errors: dict[str, float | None] = {}
    for split in ("train", "train_dev", "dev"):
        X, y = p.X[split], p.y[split]
        if len(X) == 0:
            values[split] = errors[split] = None
            continue
        value = compute_metric(metric, p.task, predict(model, torch.from_numpy(X)), y)
        error = error_from_metric(metric, value)
        if metric in ("rmse", "mae"):  # standardized target -> the target's own units
            value, error = value * p.error_scale, error * p.error_scale
        values[split], errors[split] = value, error
    return values, errors


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
        help="relu, leaky_relu, tanh or sigmoid.")] = "relu",
    init: Annotated[str, typer.Option(
        help="auto (He for ReLU, Xavier for tanh/sigmoid), he, xavier, small, zeros.")] = "auto",
    optimizer: Annotated[str, typer.Option(
        help="adam, adamw, sgd, momentum, rmsprop.")] = "adam",
    lr: Annotated[float, typer.Option(help="Learning rate α.")] = 1e-3,
    schedule: Annotated[str | None, typer.Option(
        help="Decay: inverse_time, exponential, inverse_sqrt_epoch, inverse_sqrt_step, "
             "staircase, cosine, cosine_restarts, one_cycle; parameters as "
             "name:key=value,... (e.g. staircase:drop=0.5,every=10).")] = None,
    epochs: Annotated[int, typer.Option(help="Passes over the training set.")] = 20,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size (powers of 2).")] = 64,
    dropout: Annotated[str | None, typer.Option(
        help="Dropout probability for every hidden layer, or one per layer (0,0.25).")] = None,
    l2: Annotated[float, typer.Option(help="L2 λ in λ/(2m)Σ‖W‖² (biases excluded).")] = 0.0,
    l1: Annotated[float, typer.Option(help="L1 λ in λ/m Σ|W| (with --l2: elastic net).")] = 0.0,
    batch_norm: Annotated[bool, typer.Option("--batch-norm", help="Batch norm in every "
                                             "hidden layer.")] = False,
    clip_norm: Annotated[float | None, typer.Option(help="Clip the gradient norm.")] = None,
    clip_value: Annotated[float | None, typer.Option(help="Clip gradient values.")] = None,
    early_stopping: Annotated[int | None, typer.Option(
        "--early-stopping", help="Stop after this many epochs without dev improvement.")] = None,
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
    seed: SeedOpt = 0,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> int:
    """Train one network on a table (the seeds' first architecture unless told otherwise)."""
    flags = {k: str(v) if isinstance(v, Path) else v for k, v in locals().items()
             if k not in ("json_output", "quiet", "resume", "out", "device")}
    from fullcycle.engine.callbacks import TrainingDiverged
    from fullcycle.engine.fit import fit
    from fullcycle.engine.losses import loss_for_task
    from fullcycle.engine.progress import ProgressBar
    from fullcycle.metrics import default_metric
    from fullcycle.models.bundle import save_bundle
    from fullcycle.models.mlp import TabularMLP, init_output_bias, initial_architecture
    from fullcycle.rundir import RunDir

    console = quiet_console(quiet, json_output)
    hidden_sizes, drop = parse_hidden(hidden, empty_is_linear=True), _floats(dropout, "--dropout")
    rundir = RunDir(out or Path("runs") / f"{Path(data).stem}-train")
    state = rundir.read_json(STATE) if rundir.has(STATE) else None
    fingerprint = hashlib.sha256(json.dumps(flags, sort_keys=True).encode()).hexdigest()
    if resume and state is not None and state.get("flags_sha256") != fingerprint:
        raise FullcycleError(
            f"--resume with other settings than the run in {rundir.path}; repeat the original "
            f"flags, or drop --resume to start over"
        )
    if not resume and state is not None and state.get("status") == "running":
        raise FullcycleError(
            f"{rundir.path} holds an unfinished training run; add --resume to continue it, "
            f"or choose another --out"
        )
    if not resume or state is None:
        shutil.rmtree(rundir.file(CHECKPOINTS), ignore_errors=True)

    p = prepare_data(data, target, task=task, dev_data=dev_data, dev_size=dev_size,
                     test_size=test_size, group_column=group_column, time_column=time_column,
                     ignore=ignore, drop_missing_target=drop_missing_target, seed=seed)
    n_out = len(p.classes) if p.task in ("multiclass", "multilabel") else 1
    metric = metric or default_metric(p.task, p.y["train"])
    torch.manual_seed(seed)
    model = TabularMLP(p.X["train"].shape[1], n_out, hidden=hidden_sizes, activation=activation,
                       init=init, dropout=0.0 if drop is None else drop, batch_norm=batch_norm,
                       categorical=p.preprocessor.categorical)
    init_output_bias(model, p.task, p.y["train"])
    width_in = model.body[0].in_features if len(model.body) else model.output.in_features
    arch = initial_architecture(width_in, n_out, len(p.X["train"]))

    journal = rundir.journal
    if resume and state is not None:
        run_id, experiment_id = state["run_id"], state["experiment_id"]
    else:
        run_id = journal.start_run("train", flags)
        experiment_id = journal.start_experiment(
            run_id, "train", {**flags, "architecture": model.config}, seed, p.fingerprint,
            "fullcycle train: one network with the flags given")
    rundir.write_json(STATE, {"status": "running", "run_id": run_id,
                              "experiment_id": experiment_id, "flags_sha256": fingerprint})
    progress = False if (quiet or json_output) else ProgressBar(console)
    try:
        result = fit(model, (p.X["train"], p.y["train"]), (p.X["dev"], p.y["dev"]),
                     loss=loss_for_task(p.task), optimizer=optimizer, lr=lr, schedule=schedule,
                     epochs=epochs, batch_size=batch_size, l2=l2, l1=l1, clip_norm=clip_norm,
                     clip_value=clip_value, early_stopping=early_stopping, metric=metric,
                     device=device, precision=precision, seed=seed, task=p.task,
                     checkpoint_dir=rundir.file(CHECKPOINTS), resume=resume,
                     journal=(journal, experiment_id, run_id), progress=progress)
    except (TrainingDiverged, FullcycleError) as exc:
        status = "diverged" if isinstance(exc, TrainingDiverged) else "failed"
        journal.end_experiment(experiment_id, status, {"error": str(exc)})
        journal.end_run(run_id, status)
        rundir.write_json(STATE, {"status": status, "run_id": run_id,
                                  "experiment_id": experiment_id, "flags_sha256": fingerprint})
        if isinstance(exc, FullcycleError):
            raise
        # Not the user's input at fault: exit 1, apart from the user errors' status 2.
        print(f"error: {exc}", file=sys.stderr)
        return 1

    values, errors = _split_scores(result.model.cpu(), p, metric)
    bundle = save_bundle(
        rundir.file("model"), result.model,
        {"features": p.preprocessor.to_dict(), "target": p.target_encoding.to_dict()},
        p.task, {"metric": {"name": metric, **values}, "errors": errors},
        p.preprocessor.input_schema(), classes=list(p.classes) if p.classes else None)
    summary = {
        "task": p.task, "targets": p.targets, "classes": p.classes,
        "metric": {"name": metric, **values}, "errors": errors,
        "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
        "stopped_early": result.stopped_early, "resumed_from": result.resumed_from,
        "history": result.history, "decisions": result.decisions,
        "architecture": {"config": model.config, "seeds_rule": arch.to_dict()},
        "flags": flags, "splits": p.sizes, "test_accesses": p.test_accesses,
        "model": str(bundle), "journal": str(journal.path),
    }
    rundir.write_json("summary.json", summary)
    journal.end_experiment(experiment_id, "finished", {"errors": errors, "metric": metric})
    journal.end_run(run_id, "finished")
    rundir.write_json(STATE, {"status": "finished", "run_id": run_id,
                              "experiment_id": experiment_id, "flags_sha256": fingerprint})
    if json_output:
        emit_json(summary)
    else:
        _print(console, summary)
    return 0
