"""Devices and precision: auto picks CUDA when present; AMP paths; CUDA tests run on a GPU."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fullcycle.engine.device import autocast, grad_scaler, resolve_device
from fullcycle.engine.fit import fit
from fullcycle.errors import FullcycleError
from fullcycle.models.mlp import TabularMLP

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _data(n: int = 128) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.float32)


def test_auto_is_cuda_when_present_else_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without a GPU")
def test_asking_for_cuda_without_a_gpu_names_the_fix():
    with pytest.raises(FullcycleError, match="sees no GPU; use auto or cpu"):
        resolve_device("cuda")


def test_fp16_uses_a_grad_scaler_and_bf16_does_not():
    cpu = torch.device("cpu")
    assert grad_scaler(cpu, "fp16") is not None and grad_scaler(cpu, "bf16") is None
    with autocast(cpu, "bf16"):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.bfloat16


def test_fp16_with_scaler_trains_and_resumes_on_cpu(tmp_path):
    X, y = _data()
    first = fit(TabularMLP(6, 1, hidden=[8]), (X, y), (X, y), loss="bce", epochs=2,
                precision="fp16", progress=False, checkpoint_dir=tmp_path)
    again = fit(TabularMLP(6, 1, hidden=[8]), (X, y), (X, y), loss="bce", epochs=3,
                precision="fp16", progress=False, checkpoint_dir=tmp_path, resume=True)
    assert math.isfinite(first.history[-1]["train_loss"])
    assert again.resumed_from == 2 and again.epochs_run == 3


@cuda
@pytest.mark.parametrize("precision", [None, "bf16", "fp16"])
def test_fit_on_cuda(precision):
    X, y = _data(512)
    result = fit(TabularMLP(6, 1, hidden=[16]), (X, y), (X, y), loss="bce", lr=0.01,
                 epochs=5, device="cuda", precision=precision, progress=False)
    assert next(result.model.parameters()).device.type == "cuda"
    assert result.best["dev_error"] < 0.2


@cuda
def test_resume_on_cuda_matches_an_uninterrupted_run(tmp_path):
    X, y = _data(256)

    def run(**kw):
        torch.manual_seed(0)
        return fit(TabularMLP(6, 1, hidden=[16], dropout=0.2), (X, y), loss="bce",
                   device="cuda", progress=False, seed=1, **kw)

    straight = run(epochs=4)
    run(epochs=2, checkpoint_dir=tmp_path)
    resumed = run(epochs=4, checkpoint_dir=tmp_path, resume=True)
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values(),
                    strict=True):
        assert torch.allclose(a, b, atol=1e-5)
