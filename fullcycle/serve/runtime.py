"""What computes a bundle's logits: the PyTorch network, or its ONNX export on ONNX Runtime.

Both take the preprocessed float32 feature matrix and return float32 logits, so everything
around them (preprocessing, decoding to labels) is shared and the two give the same
predictions up to the export's parity tolerance. ONNX Runtime is several times faster than
eager PyTorch for one row (no autograd or dispatcher bookkeeping per operator), which is
most of a small model's serving latency; it is the default when the bundle has an export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from fullcycle.errors import FullcycleError
from fullcycle.models.bundle import Bundle

RUNTIMES = ("auto", "onnx", "torch")
# Rows per forward pass: bounds memory on large files; results do not depend on it
# beyond float32 rounding.
CHUNK_ROWS = 4096
INPUT_NAME = "features"
OUTPUT_NAME = "logits"


class Runtime(Protocol):
    """Computes logits ``(n, n_outputs)`` from a preprocessed ``(n, n_features)`` matrix."""

    name: str

    def outputs(self, X: np.ndarray) -> np.ndarray: ...


class TorchRuntime:
    """The bundle's network in evaluation mode, on the CPU, without autograd."""

    name = "torch"

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model.eval().cpu()

    def outputs(self, X: np.ndarray) -> np.ndarray:
        from fullcycle.data.image_dataset import ImageArray, predict_images

        if isinstance(X, ImageArray):  # pictures: decoded from their files batch by batch
            return predict_images(self.model, X).numpy().reshape(len(X), -1)
        parts = []
        with torch.inference_mode():
            for start in range(0, len(X), CHUNK_ROWS):
                chunk = torch.from_numpy(np.ascontiguousarray(X[start:start + CHUNK_ROWS]))
                parts.append(self.model(chunk).float().numpy())
        out = np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.float32)
        return out.reshape(len(X), -1)


class OnnxRuntime:
    """An ONNX Runtime session on one CPU thread: one-row latency is what serving needs,
    and a thread pool only adds wake-up cost to operators this small."""

    name = "onnx"

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: no warnings on the server's stderr
        try:
            self.session = ort.InferenceSession(str(path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for a bad file
            raise FullcycleError(
                f"{path} is not a loadable ONNX model ({' '.join(str(exc).split())[:160]}); "
                f"export it again with fullcycle export"
            ) from None
        inputs = [i.name for i in self.session.get_inputs()]
        if inputs != [INPUT_NAME]:
            raise FullcycleError(f"{path} takes inputs {inputs}, not [{INPUT_NAME!r}]; export "
                                 f"it again with fullcycle export")
        self.path = path

    def outputs(self, X: np.ndarray) -> np.ndarray:
        parts = [self.session.run(None, {INPUT_NAME: np.ascontiguousarray(
            X[start:start + CHUNK_ROWS], dtype=np.float32)})[0]
            for start in range(0, len(X), CHUNK_ROWS)]
        out = np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.float32)
        return out.reshape(len(X), -1)


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def choose_runtime(bundle: Bundle, runtime: str = "auto") -> Runtime:
    """``auto``: ONNX when the bundle has an export and onnxruntime imports, else PyTorch."""
    if runtime not in RUNTIMES:
        raise FullcycleError(f"unknown runtime {runtime!r}; use one of: {', '.join(RUNTIMES)}")
    if runtime == "torch":
        return TorchRuntime(bundle.model)
    onnx_path = bundle.onnx_file()
    if runtime == "onnx" and onnx_path is None:
        raise FullcycleError(
            f"model bundle {bundle.path} has no ONNX export; run fullcycle export "
            f"{bundle.path} --onnx OUT.onnx first, or pass --runtime torch"
        )
    if onnx_path is not None and onnxruntime_available():
        return OnnxRuntime(onnx_path)
    if runtime == "onnx":
        raise FullcycleError("onnxruntime is not installed; pip install onnxruntime, or pass "
                             "--runtime torch")
    return TorchRuntime(bundle.model)
