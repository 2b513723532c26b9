"""Atomic checkpoints of a fit, and resuming from them. Nothing is ever pickled.

A checkpoint is a folder ``epoch-000007/`` holding ``tensors.safetensors`` (model weights,
the optimizer's moment buffers, the best epoch's weights, the RNG states, callback tensors)
and ``state.json`` (epoch, step, history, decisions, the optimizer's hyperparameters, the
scheduler, the loss scaler, the NumPy and Python RNGs, callback state). ``torch.save`` is
not used: it pickles, and loading a pickle runs code.

Atomicity: the folder is written under a temporary name, flushed to disk, renamed into
place, and only then does ``latest.json`` (itself replaced by an atomic rename) point at
it. A process killed at any instant, SIGKILL included, leaves ``latest.json`` naming a
complete checkpoint, the previous one or none.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from fullcycle.errors import FullcycleError
from fullcycle.rundir import atomic_write_text, follow_umask, fsync_dir, make_temp_dir

if TYPE_CHECKING:
    from fullcycle.engine.loop import TrainingLoop

LATEST = "latest.json"


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to a temporary file, flush it to disk, rename it over ``path``."""
    atomic_write_text(path, json.dumps(obj))


def _cpu(t: Tensor) -> Tensor:
    return t.detach().to("cpu").contiguous().clone()  # clone: safetensors rejects shared storage


# -------------------------------------------------------------- optimizer state
def split_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """An optimizer ``state_dict`` as (JSON part, tensors keyed ``state.<param>.<key>``)."""
    tensors: dict[str, Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for idx, entry in state["state"].items():
        plain[str(idx)] = {}
        for key, value in entry.items():
            if isinstance(value, Tensor):
                tensors[f"state.{idx}.{key}"] = _cpu(value)
            else:
                plain[str(idx)][key] = value
    return {"state": plain, "param_groups": state["param_groups"]}, tensors


def join_optimizer_state(plain: dict[str, Any], tensors: dict[str, Tensor]) -> dict[str, Any]:
    """The inverse of `split_optimizer_state`."""
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in plain["state"].items()}
    for name, value in tensors.items():
        _, idx, key = name.split(".", 2)
        state.setdefault(int(idx), {})[key] = value
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g
              for g in plain["param_groups"]]
    return {"state": state, "param_groups": groups}


# --------------------------------------------------------------------- RNG
def rng_state() -> tuple[dict[str, Any], dict[str, Tensor]]:
    """Torch (CPU and CUDA), NumPy and Python random states."""
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda.{i}"] = s
    np_state = np.random.get_state()
    py_state = random.getstate()
    plain = {
        "numpy": [np_state[0], np_state[1].tolist(), *[float(v) if isinstance(v, float)
                                                        else int(v) for v in np_state[2:]]],
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }
    return plain, tensors


def set_rng_state(plain: dict[str, Any], tensors: dict[str, Tensor]) -> None:
    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted(t for t in tensors if t.startswith("cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    kind, keys, pos, has_gauss, cached = plain["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = plain["python"]
    random.setstate((version, tuple(internal), gauss))


# ----------------------------------------------------------- save and load
def _prefixed(prefix: str, tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    return {f"{prefix}{k}": _cpu(v) for k, v in tensors.items()}


def _unprefix(prefix: str, tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def save_checkpoint(directory: str | Path, loop: TrainingLoop, keep: int = 1) -> Path:
    """Save the loop's full state after its current epoch; returns the checkpoint folder."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    opt_plain, opt_tensors = split_optimizer_state(loop.optimizer.state_dict())
    rng_plain, rng_tensors = rng_state()
    tensors = {**_prefixed("model.", loop.model.state_dict()),
               **_prefixed("optimizer.", opt_tensors), **_prefixed("rng.", rng_tensors)}
    if loop.best_state is not None:
        tensors.update(_prefixed("best.", loop.best_state))
    callbacks: dict[str, Any] = {}
    for i, cb in enumerate(loop.events.callbacks):
        key = f"{i}.{cb.name}"
        callbacks[key] = cb.state_dict()
        tensors.update(_prefixed(f"callback.{key}.", cb.tensor_state()))
    sched = loop.scheduler.state_dict()
    sched["lr_lambdas"] = [None] * len(sched.get("lr_lambdas", []))  # closures: rebuilt, not saved
    state = {
        "format": 1, "epoch": loop.epoch, "step": loop.step, "history": loop.history,
        "decisions": loop.decisions, "best_epoch": loop.best_epoch,
        "best_value": loop.best_value, "stop_training": loop.stop_training,
        "optimizer": opt_plain, "scheduler": sched,
        "scaler": None if loop.scaler is None else loop.scaler.state_dict(),
        "rng": rng_plain, "callbacks": callbacks,
    }
    name = f"epoch-{loop.epoch:06d}"
    tmp = make_temp_dir(root, prefix=f".{name}.")
    try:
        save_file(tensors, str(tmp / "tensors.safetensors"))
        with open(tmp / "state.json", "w") as fh:
            json.dump(state, fh)
        follow_umask(tmp)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        final = root / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(root)
    write_json_atomic(root / LATEST, {"epoch": loop.epoch, "dir": name})
    old = sorted(p for p in root.glob("epoch-*") if p.is_dir() and p.name != name)
    for p in old[: max(len(old) - (keep - 1), 0)]:
        shutil.rmtree(p, ignore_errors=True)
    for p in root.glob(".epoch-*"):  # leftovers of a process killed while writing
        shutil.rmtree(p, ignore_errors=True)
    return final


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The folder ``latest.json`` points at, or None when there is no checkpoint yet."""
    pointer = Path(directory) / LATEST
    if not pointer.exists():
        return None
    try:
        name = json.loads(pointer.read_text())["dir"]
    except (ValueError, KeyError, TypeError) as exc:
        raise FullcycleError(
            f"checkpoint pointer {pointer} is unreadable; delete it to start over"
        ) from exc
    return Path(directory) / name


def load_checkpoint(directory: str | Path, loop: TrainingLoop) -> bool:
    """Restore the loop from the latest checkpoint; False when there is none."""
    folder = latest_checkpoint(directory)
    if folder is None:
        return False
    try:
        tensors = load_file(str(folder / "tensors.safetensors"))
        state = json.loads((folder / "state.json").read_text())
    except (OSError, ValueError, SafetensorError) as exc:
        raise FullcycleError(
            f"checkpoint {folder} is unreadable ({exc}); delete {directory} to start over"
        ) from exc
    try:
        loop.model.load_state_dict(_unprefix("model.", tensors))
        opt = join_optimizer_state(state["optimizer"], _unprefix("optimizer.", tensors))
        loop.optimizer.load_state_dict(opt)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise FullcycleError(
            f"checkpoint {folder} does not fit this model or optimizer ({exc}); "
            f"resume with the same settings or delete {directory}"
        ) from exc
    loop.scheduler.load_state_dict(dict(state["scheduler"]))
    if loop.scaler is not None and state.get("scaler"):
        loop.scaler.load_state_dict(state["scaler"])
    best = _unprefix("best.", tensors)
    loop.best_state = {k: v.to(loop.device) for k, v in best.items()} or None
    loop.epoch, loop.step = state["epoch"], state["step"]
    loop.history, loop.decisions = state["history"], state["decisions"]
    loop.best_epoch, loop.best_value = state["best_epoch"], state["best_value"]
    loop.stop_training = state["stop_training"]
    for i, cb in enumerate(loop.events.callbacks):
        key = f"{i}.{cb.name}"
        if key in state["callbacks"]:
            cb.load_state_dict(state["callbacks"][key])
            cb.load_tensor_state(_unprefix(f"callback.{key}.", tensors))
    set_rng_state(state["rng"], _unprefix("rng.", tensors))
    return True
