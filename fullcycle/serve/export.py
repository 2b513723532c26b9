"""Export a bundle's network to ONNX, and refuse an export that does not predict the same.

The ONNX graph takes the *preprocessed* float32 matrix (`features`, shape rows × n_features)
and returns the logits (`logits`); the preprocessing stays in the bundle's JSON, so one
implementation of it serves both runtimes. Before anything is written, ONNX Runtime's
outputs are compared with PyTorch's on the bundle's training reference rows and on
synthetic rows that reach the corners (extreme values, every missing indicator, every
category code and codes beyond them, token ids across a text column's vocabulary and every
length from empty to full); a largest absolute difference above the tolerance
(1e-4 by default) means the export is refused and no file is left behind.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fullcycle.data.image_preprocess import KIND as IMAGE_KIND
from fullcycle.data.preprocess import Preprocessor
from fullcycle.errors import FullcycleError
from fullcycle.models.bundle import ONNX, attach_onnx, load_bundle
from fullcycle.serve.runtime import INPUT_NAME, OUTPUT_NAME, OnnxRuntime, TorchRuntime

OPSET = 17
TOLERANCE = 1e-4
SYNTHETIC_ROWS = 512


@dataclass(frozen=True)
class ExportResult:
    """What `export_onnx` wrote and how closely the export matches PyTorch."""

    path: Path
    attached: Path | None
    max_abs_diff: float
    rows_checked: int
    opset: int
    size_bytes: int
    tolerance: float

    def to_dict(self) -> dict:
        return {"onnx": str(self.path), "attached": str(self.attached) if self.attached else None,
                "max_abs_diff": self.max_abs_diff, "rows_checked": self.rows_checked,
                "opset": self.opset, "size_bytes": self.size_bytes, "tolerance": self.tolerance}


def parity_inputs(preprocessor: Preprocessor, reference: np.ndarray | None,
                  seed: int = 0) -> np.ndarray:
    """Rows to compare the runtimes on: the reference (real data) and synthetic corners."""
    rng = np.random.default_rng(seed)
    n_numeric = len(preprocessor.numeric)
    n_flags = sum(c.indicator for c in preprocessor.numeric)
    synthetic = [rng.normal(0.0, 3.0, size=(SYNTHETIC_ROWS, n_numeric)),
                 rng.integers(0, 2, size=(SYNTHETIC_ROWS, n_flags))]
    for _, cardinality in preprocessor.categorical:
        # every code, and codes past the last one (the network clamps them to "unknown")
        synthetic.append(rng.integers(0, cardinality + 2, size=(SYNTHETIC_ROWS, 1)))
    for _, length, vocabulary in preprocessor.text:
        # token ids over the whole vocabulary, 0-padded after a random length (0: empty)
        ids = rng.integers(1, vocabulary, size=(SYNTHETIC_ROWS, length))
        ids[np.arange(length) >= rng.integers(0, length + 1, size=(SYNTHETIC_ROWS, 1))] = 0
        synthetic.append(ids)
    rows = np.hstack(synthetic).astype(np.float32)
    if reference is not None and len(reference):
        rows = np.vstack([reference.astype(np.float32), rows])
    return rows


def export_onnx(bundle_dir: str | Path, out: str | Path, *, attach: bool = True,
                tolerance: float = TOLERANCE, opset: int = OPSET) -> ExportResult:
    """Write the bundle's network to ``out`` as ONNX after the parity check; with ``attach``
    also store it in the bundle, where `fullcycle serve` picks it up."""
    if tolerance <= 0:
        raise FullcycleError("--tolerance must be positive, e.g. 1e-4")
    bundle = load_bundle(bundle_dir)
    features = bundle.preprocessing.get("features") if bundle.preprocessing else None
    if not isinstance(features, dict):
        raise FullcycleError(f"bundle {bundle_dir} has no usable preprocessing; re-create it "
                             "with fullcycle run")
    if features.get("kind") == IMAGE_KIND:
        raise FullcycleError(
            f"bundle {bundle_dir} reads pictures; ONNX export covers table and text bundles, "
            "so serve this one with the PyTorch runtime (fullcycle serve, the default)")
    preprocessor = Preprocessor.from_dict(features)
    reference = (preprocessor.transform(bundle.reference())
                 if bundle.reference_rows is not None else None)
    X = parity_inputs(preprocessor, reference)
    data = _to_onnx(bundle.model, preprocessor.n_features, opset)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        diff = float(np.max(np.abs(OnnxRuntime(tmp).outputs(X) -
                                   TorchRuntime(bundle.model).outputs(X))))
        if not diff <= tolerance:  # also refuses NaN
            raise FullcycleError(
                f"the ONNX export differs from PyTorch by {diff:.3g} (> {tolerance:g}) on "
                f"{len(X)} rows, so nothing was written; keep serving with --runtime torch"
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    attached = None
    if attach:
        info = {"opset": opset, "max_abs_diff": diff, "rows_checked": len(X)}
        attached = attach_onnx(bundle.path or bundle_dir, data, info)
    return ExportResult(out, attached, diff, len(X), opset, len(data), tolerance)


def _to_onnx(model: torch.nn.Module, n_features: int, opset: int) -> bytes:
    """The network as ONNX bytes, with a dynamic row count."""
    import onnx

    model = model.eval().cpu()
    example = torch.zeros(2, n_features)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript-based exporter is deprecated in favour of the torch.export one,
        # which needs onnxscript (not a dependency); it still traces this network exactly,
        # and the parity check below proves it for every export.
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, (example,), buffer, dynamo=False,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              opset_version=opset,
                              dynamic_axes={INPUT_NAME: {0: "rows"}, OUTPUT_NAME: {0: "rows"}})
            data = buffer.getvalue()
            onnx.checker.check_model(onnx.load_from_string(data))
        except Exception as exc:  # a registered user architecture may use untraceable ops
            raise FullcycleError(
                f"a {type(model).__name__} cannot be exported to ONNX "
                f"({' '.join(str(exc).split())[:160]}); keep serving with --runtime torch"
            ) from None
    return data


__all__ = ["ONNX", "ExportResult", "export_onnx", "parity_inputs"]
