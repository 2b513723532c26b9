"""The model bundle: everything needed to predict, in files that never execute code.

A bundle is a folder::

    model/
      weights.safetensors   the state dict (tensors only; safetensors cannot hold code)
      bundle.json           format, architecture (class name + config), task, classes,
                            preprocessing, metrics, input schema, sha256 of the weights

Loading never unpickles: the architecture is rebuilt from a registered class and its JSON
config, then the weights are loaded into it strictly. Any missing file, bad JSON, unknown
architecture, checksum mismatch or weight/shape mismatch is a `FullcycleError` that names
the folder and the fix. Writing goes to a temporary folder renamed into place, so a crash
never leaves a half-written bundle under the final name.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from fullcycle import __version__
from fullcycle.errors import FullcycleError
from fullcycle.jsonutil import dumps
from fullcycle.models.cnn import ImageResNet
from fullcycle.models.mlp import TabularMLP

FORMAT = 1
WEIGHTS = "weights.safetensors"
MANIFEST = "bundle.json"

# class name -> class with `.config` and `from_config(config)`
ARCHITECTURES: dict[str, Callable[..., Any]] = {"TabularMLP": TabularMLP,
                                                 "ImageResNet": ImageResNet}


def register_architecture(cls: type[nn.Module]) -> type[nn.Module]:
    """Allow bundles of ``cls`` (a module with ``.config`` and ``from_config``); a decorator."""
    if not hasattr(cls, "from_config"):
        raise TypeError(f"{cls.__name__} needs a from_config(config) classmethod")
    ARCHITECTURES[cls.__name__] = cls
    return cls


@dataclass
class Bundle:
    """A loaded bundle; ``model`` is in evaluation mode on the CPU."""

    model: nn.Module
    task: str
    preprocessing: dict[str, Any]
    metrics: dict[str, Any]
    input_schema: Any
    architecture: dict[str, Any]
    classes: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @torch.no_grad()
    def outputs(self, x: Any) -> torch.Tensor:
        """Raw model outputs (logits) for a preprocessed float32 feature matrix (or a
        float32 batch of normalized pictures, (n, C, H, W))."""
        tensor = torch.as_tensor(x, dtype=torch.float32)
        return self.model(tensor).float()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _architecture(model: nn.Module) -> dict[str, Any]:
    name = type(model).__name__
    config = getattr(model, "config", None)
    if ARCHITECTURES.get(name) is not type(model) or not isinstance(config, dict):
        raise FullcycleError(
            f"a {name} cannot be saved as a bundle: give it .config and from_config() and "
            f"register it with fullcycle.models.bundle.register_architecture"
        )
    return {"class": name, "config": config}


def save_bundle(directory: str | Path, model: nn.Module, preprocessing: dict[str, Any],
                task: str, metrics: dict[str, Any], input_schema: Any, *,
                classes: list[Any] | None = None,
                extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` and what it needs to predict to ``directory`` (replaced atomically)."""
    target = Path(directory)
    manifest = {
        "format": FORMAT, "fullcycle_version": __version__, "created": time.time(),
        "architecture": _architecture(model), "task": task, "classes": classes,
        "preprocessing": preprocessing, "metrics": metrics, "input_schema": input_schema,
        "extra": extra or {},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        weights = {k: v.detach().cpu().contiguous().clone() for k, v in
                   model.state_dict().items()}
        save_file(weights, str(tmp / WEIGHTS), metadata={"format": str(FORMAT)})
        manifest["weights_sha256"] = _sha256(tmp / WEIGHTS)
        (tmp / MANIFEST).write_text(dumps(manifest))
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}-{time.time_ns()}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _corrupt(directory: Path, what: str) -> FullcycleError:
    return FullcycleError(
        f"model bundle {directory} is corrupt ({what}); re-export it with fullcycle train or "
        f"fullcycle run"
    )


def load_bundle(directory: str | Path) -> Bundle:
    """Load a bundle written by `save_bundle`, validating every part; never unpickles."""
    folder = Path(directory)
    if not folder.is_dir():
        raise FullcycleError(
            f"model bundle {folder} not found; pass the model/ folder of a run directory"
        )
    manifest_path, weights_path = folder / MANIFEST, folder / WEIGHTS
    if not manifest_path.is_file() or not weights_path.is_file():
        missing = MANIFEST if not manifest_path.is_file() else WEIGHTS
        raise _corrupt(folder, f"{missing} is missing")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (ValueError, OSError) as exc:
        raise _corrupt(folder, f"{MANIFEST} is not valid JSON") from exc
    if not isinstance(manifest, dict):
        raise _corrupt(folder, f"{MANIFEST} is not an object")
    if manifest.get("format") != FORMAT:
        raise FullcycleError(
            f"model bundle {folder} has format {manifest.get('format')!r}, this fullcycle "
            f"reads format {FORMAT}; re-export it with this version"
        )
    for key in ("architecture", "task", "weights_sha256"):
        if key not in manifest:
            raise _corrupt(folder, f"{MANIFEST} has no {key!r}")
    if _sha256(weights_path) != manifest["weights_sha256"]:
        raise _corrupt(folder, f"{WEIGHTS} does not match its checksum")
    arch = manifest["architecture"]
    cls = ARCHITECTURES.get(arch.get("class")) if isinstance(arch, dict) else None
    if cls is None:
        raise FullcycleError(
            f"model bundle {folder} needs architecture {arch!r}, which this installation does "
            f"not know; register it with fullcycle.models.bundle.register_architecture"
        )
    try:
        model = cls.from_config(arch["config"])
        model.load_state_dict(load_file(str(weights_path)))
    except (SafetensorError, RuntimeError, KeyError, TypeError, ValueError,
            FullcycleError) as exc:
        raise _corrupt(folder, f"weights do not fit the architecture: {exc}") from exc
    model.eval()
    return Bundle(model=model, task=manifest["task"],
                  preprocessing=manifest.get("preprocessing") or {},
                  metrics=manifest.get("metrics") or {},
                  input_schema=manifest.get("input_schema"), architecture=arch,
                  classes=manifest.get("classes"), extra=manifest.get("extra") or {},
                  path=folder)
