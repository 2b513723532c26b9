"""The model bundle: everything needed to predict, in files that never execute code.

A bundle is a folder::

    model/
      weights.safetensors   the state dict (tensors only; safetensors cannot hold code)
      bundle.json           format, architecture (class name + config), task, classes,
                            preprocessing, metrics, input schema, sha256 of every file
      reference.parquet     (optional) a sample of the training split's input columns, the
                            reference `fullcycle monitor` measures drift against
      model.onnx            (optional) the network as ONNX, written by `fullcycle export`

Loading never unpickles: the architecture is rebuilt from a registered class and its JSON
config (a user's own ``nn.Sequential`` of torch.nn layers is described layer by layer, see
`fullcycle.models.spec`), then the weights are loaded into it strictly. Any missing file,
bad JSON, unknown architecture, checksum mismatch or weight/shape mismatch is a
`FullcycleError` that names the folder and the fix. Writing goes to a temporary folder
renamed into place, so a crash never leaves a half-written bundle under the final name.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from fullcycle import __version__
from fullcycle.errors import FullcycleError
from fullcycle.jsonutil import dumps
from fullcycle.models.cnn import ImageResNet
from fullcycle.models.ensemble import SeedEnsemble
from fullcycle.models.mlp import TabularMLP
from fullcycle.models.resnet import TabularResNet
from fullcycle.models.spec import SequentialArchitecture, describe
from fullcycle.models.text import TextMLP
from fullcycle.rundir import follow_umask, make_temp_dir

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fullcycle.data.dataset import Prepared
    from fullcycle.data.load import TableSource

FORMAT = 1
WEIGHTS = "weights.safetensors"
MANIFEST = "bundle.json"
MODEL_DIR = "model"  # where a run directory keeps its bundle
PREDICT_CHUNK = 4096  # rows per forward pass in `Bundle.predict`: bounds memory on big files
REFERENCE = "reference.parquet"
ONNX = "model.onnx"
# Rows of the training split kept as the drift reference. Up to 1,000 training rows the
# monitor runs Evidently's statistical tests on all of them; past that it uses distances
# (normed Wasserstein, Jensen-Shannon), whose estimate from 5,000 rows varies by ~0.01,
# a tenth of their 0.1 threshold, while keeping the file to a few hundred KiB.
REFERENCE_ROWS = 5000

# class name -> class with `.config` and `from_config(config)`
ARCHITECTURES: dict[str, Any] = {"TabularMLP": TabularMLP,
                                 "TabularResNet": TabularResNet,
                                 "SeedEnsemble": SeedEnsemble,
                                 "TextMLP": TextMLP,
                                 "ImageResNet": ImageResNet,
                                 "Sequential": SequentialArchitecture}


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
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """sha256 of what decides the predictions: weights, architecture, preprocessing."""
        text = dumps({"weights": self.manifest.get("weights_sha256"),
                      "architecture": self.architecture,
                      "preprocessing": self.preprocessing}, indent=None)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def reads_pictures(self) -> bool:
        """Whether the bundle's preprocessing reads picture files (not table rows)."""
        from fullcycle.data.image_preprocess import KIND

        features = (self.preprocessing or {}).get("features") or {}
        return isinstance(features, dict) and features.get("kind") == KIND

    @property
    def reference_rows(self) -> int | None:
        """Rows of the training split the reference sample was drawn from (None: no sample)."""
        info = self.manifest.get("reference")
        return int(info["n_rows"]) if isinstance(info, dict) else None

    def reference(self) -> pd.DataFrame:
        """The training split's reference sample (checked against its checksum)."""
        info = self.manifest.get("reference")
        if not isinstance(info, dict):
            raise FullcycleError(
                f"model bundle {self.path} carries no training reference (it predates drift "
                f"monitoring); train it again with fullcycle run or fullcycle train"
            )
        path = self._checked_file(REFERENCE, info, "the drift reference")
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise _corrupt(self._folder, f"{REFERENCE} is unreadable: {exc}") from None

    def onnx_file(self) -> Path | None:
        """The bundle's ONNX file, checked; None when `fullcycle export` never wrote one."""
        info = self.manifest.get("onnx")
        if not isinstance(info, dict):
            return None
        if info.get("weights_sha256") != self.manifest.get("weights_sha256"):
            raise FullcycleError(
                f"{self._folder / ONNX} was exported from other weights; export again with "
                f"fullcycle export {self._folder}"
            )
        return self._checked_file(ONNX, info, "the ONNX model")

    @property
    def _folder(self) -> Path:
        return self.path if self.path is not None else Path(".")

    def _checked_file(self, name: str, info: dict[str, Any], what: str) -> Path:
        path = self._folder / name
        if not path.is_file():
            raise _corrupt(self._folder, f"{name} ({what}) is missing")
        if _sha256(path) != info.get("sha256"):
            raise _corrupt(self._folder, f"{name} ({what}) does not match its checksum")
        return path

    @torch.no_grad()
    def outputs(self, x: Any) -> torch.Tensor:
        """Raw model outputs (logits) for a preprocessed float32 feature matrix (or a
        float32 batch of normalized pictures, (n, C, H, W))."""
        tensor = torch.as_tensor(x, dtype=torch.float32)
        return self.model(tensor).float()

    def predict(self, rows: TableSource | Mapping[str, Any] | list[Mapping[str, Any]]
                ) -> pd.DataFrame:
        """Predictions for raw rows — a DataFrame, one row as a dict, a list of them or a
        CSV/Parquet path — through the training preprocessing (strict, as when serving),
        decoded by the target encoding: what `fullcycle predict` writes for the same rows.
        (`fullcycle.serve.Predictor` does the same with a choice of runtime, e.g. ONNX.)"""
        from fullcycle.data.load import load_table
        from fullcycle.data.preprocess import Preprocessor
        from fullcycle.data.target_encoding import TargetEncoding

        doc = self.preprocessing
        if not isinstance(doc, dict) or "features" not in doc or "target" not in doc:
            raise FullcycleError(
                f"bundle {self.path or ''} has no usable preprocessing, so it cannot read "
                "table rows; call bundle.outputs(X) with a feature matrix, or save it with "
                "save_bundle(..., prepared=p)"
            )
        frame = load_table(rows, name="rows to predict")
        X = Preprocessor.from_dict(doc["features"]).transform(frame, strict=True)
        outputs = np.concatenate([self.outputs(X[i:i + PREDICT_CHUNK]).numpy()
                                  for i in range(0, len(X), PREDICT_CHUNK)])
        target = TargetEncoding.from_dict(doc["target"])
        return pd.DataFrame(target.decode(outputs), columns=target.output_columns)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _architecture(model: nn.Module) -> dict[str, Any]:
    if type(model) is nn.Sequential:
        return {"class": "Sequential", "config": {"layers": describe(model)}}
    name = type(model).__name__
    config = getattr(model, "config", None)
    if ARCHITECTURES.get(name) is not type(model) or not isinstance(config, dict):
        raise FullcycleError(
            f"a {name} cannot be saved as a bundle: build it as an nn.Sequential of torch.nn "
            f"layers, or give it .config and from_config() and register it with "
            f"fullcycle.models.bundle.register_architecture"
        )
    return {"class": name, "config": config}


def save_bundle(directory: str | Path, model: nn.Module,
                preprocessing: dict[str, Any] | None = None, task: str | None = None,
                metrics: dict[str, Any] | None = None, input_schema: Any = None, *,
                classes: list[Any] | None = None, extra: dict[str, Any] | None = None,
                reference: pd.DataFrame | None = None,
                prepared: Prepared | None = None) -> Path:
    """Write ``model`` and what it needs to predict to ``directory`` (replaced atomically).

    ``reference``: the training split's rows (raw input columns); a sample of at most
    `REFERENCE_ROWS` of them is kept for drift monitoring.
    ``prepared`` (what `fc.prepare` returned for the training data) fills in the
    preprocessing, task, classes, input schema and reference, so the bundle predicts raw
    rows and can be monitored: ``fc.save_bundle("model", net, prepared=p)``.
    """
    if prepared is not None:
        preprocessing = preprocessing or {"features": prepared.preprocessor.to_dict(),
                                          "target": prepared.target_encoding.to_dict()}
        task = task or prepared.task
        classes = classes if classes is not None else list(prepared.classes)
        if input_schema is None:
            input_schema = prepared.preprocessor.input_schema()
        if reference is None:
            reference = prepared.frame_of("train")
    if task is None:
        raise FullcycleError("save_bundle needs the task: pass task= or prepared= (what "
                             "fc.prepare returned)")
    preprocessing, metrics = preprocessing or {}, metrics or {}
    target = Path(directory)
    manifest = {
        "format": FORMAT, "fullcycle_version": __version__, "created": time.time(),
        "architecture": _architecture(model), "task": task, "classes": classes,
        "preprocessing": preprocessing, "metrics": metrics, "input_schema": input_schema,
        "extra": extra or {},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(target.parent, prefix=f".{target.name}.tmp-")
    try:
        weights = {k: v.detach().cpu().contiguous().clone() for k, v in
                   model.state_dict().items()}
        save_file(weights, str(tmp / WEIGHTS), metadata={"format": str(FORMAT)})
        manifest["weights_sha256"] = _sha256(tmp / WEIGHTS)
        if reference is not None:
            manifest["reference"] = _write_reference(tmp / REFERENCE, reference, preprocessing)
        (tmp / MANIFEST).write_text(dumps(manifest))
        follow_umask(tmp)
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


def _write_reference(path: Path, frame: pd.DataFrame, preprocessing: dict[str, Any]) -> dict:
    """Sample the training rows (fixed seed, original order) and store the columns the
    model reads, typed as the preprocessing sees them (Parquet holds data, never code)."""
    from fullcycle.data.preprocess import Preprocessor

    n_rows = len(frame)
    if n_rows > REFERENCE_ROWS:
        keep = np.sort(np.random.default_rng(0).choice(n_rows, REFERENCE_ROWS, replace=False))
        frame = frame.iloc[keep]
    features = preprocessing.get("features") if isinstance(preprocessing, dict) else None
    from fullcycle.data.image_preprocess import KIND as PICTURES

    if isinstance(features, dict) and features.get("kind") == PICTURES:
        # what the monitor compares live pictures with, read now while the files are here
        from fullcycle.data.image_preprocess import ImagePreprocessor
        from fullcycle.data.picture_stats import picture_statistics

        pre = ImagePreprocessor.from_dict(features)
        frame = frame.reset_index(drop=True)
        stats = picture_statistics(frame[pre.column].tolist(), pre)
        frame = pd.concat([frame[[pre.column]].astype(str), stats], axis=1)
    elif isinstance(features, dict) and "numeric" in features:
        frame = Preprocessor.from_dict(features).typed_frame(frame)
    else:  # not the built-in preprocessing: numbers stay numbers, anything else is text
        frame = frame.reset_index(drop=True).copy()
        for name in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[name]):
                frame[name] = frame[name].map(lambda v: None if pd.isna(v) else str(v))
    frame.to_parquet(path, index=False)
    return {"file": REFERENCE, "n_rows": n_rows, "sample_rows": len(frame),
            "sha256": _sha256(path)}


def attach_onnx(directory: str | Path, onnx_bytes: bytes, info: dict[str, Any]) -> Path:
    """Add ``model.onnx`` to an existing bundle and record it (with its checksum and the
    weights it was exported from) in bundle.json; both files are replaced atomically."""
    from fullcycle.rundir import atomic_write_bytes, atomic_write_text

    folder = Path(directory)
    manifest_path = folder / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    atomic_write_bytes(folder / ONNX, onnx_bytes)
    manifest["onnx"] = {**info, "file": ONNX, "sha256": _sha256(folder / ONNX),
                        "weights_sha256": manifest.get("weights_sha256")}
    atomic_write_text(manifest_path, dumps(manifest))
    return folder / ONNX


def _corrupt(directory: Path, what: str) -> FullcycleError:
    return FullcycleError(
        f"model bundle {directory} is corrupt ({what}); re-export it with fullcycle train or "
        f"fullcycle run"
    )


def load_bundle(directory: str | Path) -> Bundle:
    """Load a bundle written by `save_bundle`, validating every part; never unpickles.

    ``directory`` is the bundle folder, or a run directory that holds it as ``model/``.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise FullcycleError(
            f"model bundle {folder} not found; pass the model/ folder of a run directory"
        )
    if not (folder / MANIFEST).exists() and (folder / MODEL_DIR / MANIFEST).is_file():
        folder = folder / MODEL_DIR  # a run directory: its bundle
    manifest_path, weights_path = folder / MANIFEST, folder / WEIGHTS
    if not manifest_path.exists() and not weights_path.exists():
        raise FullcycleError(
            f"{folder} holds no model bundle (no {MANIFEST}, no {MODEL_DIR}/ folder); pass a "
            f"run directory that holds {MODEL_DIR}/, or that folder itself"
        )
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
                  path=folder, manifest=manifest)
