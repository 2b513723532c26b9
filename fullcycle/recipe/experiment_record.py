"""What a finished experiment leaves for a resumed run: its outcome and its weights.

An experiment's numbers (errors, seconds, best epoch, latency...) go on the run's tape
(`fullcycle.recipe.replay`) with its end in the journal; its weights are written before
that, atomically, to ``checkpoints/run-<run>/experiment-<id>/weights.safetensors`` (a kill
mid-write leaves the old file or none, never half of one). While it trains, its epoch
checkpoints go to ``epochs/`` beside them (`EPOCH_CHECKPOINT_S` apart), so an experiment a
kill interrupted resumes from its last epoch; they are removed when it ends. The whole
``run-<run>/`` folder goes when the run finishes: the bundle then holds the chosen model.
"""

from __future__ import annotations

import shutil
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from fullcycle.engine.checkpoint import latest_checkpoint
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.trainer import Outcome, build_model, resolved
from fullcycle.rundir import RunDir, atomic_write_bytes

if TYPE_CHECKING:
    from fullcycle.data.dataset import Prepared

WEIGHTS = "weights.safetensors"
EPOCHS = "epochs"
# Seconds between two epoch checkpoints of a running experiment: a table's experiments take
# seconds (their checkpoints would cost more than retraining), a picture's take minutes.
EPOCH_CHECKPOINT_S = 30.0
# The outcome's fields a record keeps (the model and the configuration are rebuilt).
_NUMBERS = tuple(f.name for f in fields(Outcome) if f.name not in ("config", "model"))


def run_folder(rundir: RunDir, run_id: int) -> Path:
    return rundir.file("checkpoints") / f"run-{run_id}"


def experiment_folder(rundir: RunDir, run_id: int, experiment_id: int) -> Path:
    return run_folder(rundir, run_id) / f"experiment-{experiment_id}"


def epochs_folder(rundir: RunDir, run_id: int, experiment_id: int) -> Path:
    return experiment_folder(rundir, run_id, experiment_id) / EPOCHS


def checkpoint_epoch(folder: Path) -> int:
    """The epoch the last checkpoint in `folder` holds; 0 when there is none."""
    latest = latest_checkpoint(folder) if folder.is_dir() else None
    if latest is None or not latest.is_dir():
        return 0
    return int(latest.name.rsplit("-", 1)[-1])


def outcome_doc(outcome: Outcome) -> dict[str, Any]:
    """The numbers of an outcome, for the tape."""
    return {name: getattr(outcome, name) for name in _NUMBERS}


def save_weights(folder: Path, model: torch.nn.Module) -> None:
    """The trained weights, written atomically (temporary file, then a rename)."""
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    atomic_write_bytes(folder / WEIGHTS, save(state))


def replayed_outcome(prepared: Prepared, config: TrainConfig, doc: dict,
                     folder: Path) -> Outcome | None:
    """The outcome a record describes, its network rebuilt from the saved weights; None
    when the weights are missing or do not fit (the experiment is then trained again)."""
    config = resolved(prepared, config)
    try:
        state = load((folder / WEIGHTS).read_bytes())
        model = build_model(prepared, config)
        model.load_state_dict(state)
    except (OSError, SafetensorError, RuntimeError, KeyError, ValueError):
        return None
    numbers = {name: doc[name] for name in _NUMBERS if name in doc}
    return Outcome(config=config, model=model.eval(), **numbers)


def forget_epochs(folder: Path) -> None:
    """An ended experiment's epoch checkpoints (its weights and record say it all)."""
    shutil.rmtree(folder / EPOCHS, ignore_errors=True)


def forget_run(rundir: RunDir, run_id: int) -> None:
    """A finished run's experiment weights (the bundle holds the model it chose)."""
    shutil.rmtree(run_folder(rundir, run_id), ignore_errors=True)
    parent = rundir.file("checkpoints")
    if parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()


def forget_other_runs(rundir: RunDir, run_id: int) -> None:
    """A new run in a folder makes the older unfinished ones there unresumable (`--resume`
    continues the latest): their experiment weights go."""
    parent = rundir.file("checkpoints")
    if parent.is_dir():
        for folder in parent.glob("run-*"):
            if folder.is_dir() and folder.name != f"run-{run_id}":
                shutil.rmtree(folder, ignore_errors=True)


def experiment_row(experiment_id: int, change: str, reason: str, outcome: Outcome,
                   split: str, kept: bool, broken: list[str], *,
                   seconds: float | None = None) -> dict[str, Any]:
    """One experiment as `summary.json` lists it."""
    return {
        "id": experiment_id, "change": change, "reason": reason,
        "config": outcome.config.describe(), "judged_by": f"{split} error",
        "train_error": outcome.errors["train"],
        "train_dev_error": outcome.errors["train_dev"], "dev_error": outcome.errors["dev"],
        "kept": kept, "seconds": round(outcome.seconds if seconds is None else seconds, 2),
        "best_epoch": outcome.best_epoch, "params": outcome.n_parameters,
        "latency_ms": round(outcome.latency_ms, 4), "violations": broken,
        "stopped_by_deadline": outcome.stopped_by_deadline,
        **({"resumed_from_epoch": outcome.resumed_from} if outcome.resumed_from else {}),
    }
