"""ONNX export: parity with PyTorch for the built-in net in every task, refusal otherwise,
and a corrupt or stale export refused by every command that would use it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import tiny_bundles

from fullcycle.errors import FullcycleError
from fullcycle.serve.export import export_onnx
from fullcycle.serve.predictor import Predictor
from fullcycle.serve.runtime import OnnxRuntime


@pytest.fixture
def bundle_copy(bundles, tmp_path):
    """A writable copy of one session bundle: ``bundle_copy(task)``."""
    def copy(task: str):
        target = tmp_path / f"{task}-model"
        shutil.copytree(bundles[task], target)
        return target
    return copy


@pytest.mark.parametrize("task", tiny_bundles.TASKS)
def test_onnx_predicts_what_pytorch_predicts_in_every_task(task, bundle_copy, tmp_path):
    bundle = bundle_copy(task)
    result = export_onnx(bundle, tmp_path / "model.onnx")
    assert result.max_abs_diff <= 1e-4 and result.rows_checked > 500
    assert (bundle / "model.onnx").read_bytes() == (tmp_path / "model.onnx").read_bytes()
    frame = tiny_bundles.task_frame(task, n=50, seed=9)
    frame.loc[0, "kind"] = "unseen"
    onnx, torch_ = Predictor.load(bundle, runtime="auto"), Predictor.load(bundle, "torch")
    assert onnx.runtime.name == "onnx" and torch_.runtime.name == "torch"
    a, b = onnx.predict_frame(frame), torch_.predict_frame(frame)
    for column in a.columns:
        if pd.api.types.is_float_dtype(a[column]):
            assert np.allclose(a[column], b[column], atol=1e-5), column
        else:
            assert (a[column] == b[column]).all(), column


def test_batch_norm_dropout_and_embeddings_export_with_parity(tmp_path):
    frame = tiny_bundles.task_frame("multiclass", n=200, seed=2)
    bundle = tiny_bundles.make_bundle(tmp_path / "model", frame, "y", hidden=(6, 5),
                                      batch_norm=True, dropout=0.25)
    result = export_onnx(bundle, tmp_path / "m.onnx")
    assert result.max_abs_diff <= 1e-4


def test_an_export_that_differs_is_refused_and_nothing_is_written(bundle_copy, tmp_path,
                                                                   monkeypatch):
    bundle = bundle_copy("binary")
    manifest = (bundle / "bundle.json").read_text()
    real = OnnxRuntime.outputs
    monkeypatch.setattr(OnnxRuntime, "outputs", lambda self, X: real(self, X) + 1e-3)
    with pytest.raises(FullcycleError, match=r"differs from PyTorch by 0\.001 \(> 0\.0001\)"):
        export_onnx(bundle, tmp_path / "out.onnx")
    assert list(tmp_path.glob("*.onnx*")) == [] and not (bundle / "model.onnx").exists()
    assert (bundle / "bundle.json").read_text() == manifest


def test_export_command_prints_the_difference_and_json(cli, bundle_copy, tmp_path):
    bundle = bundle_copy("regression")
    code, out, err = cli("export", bundle, "--onnx", tmp_path / "r.onnx")
    assert code == 0, err
    assert "max |ONNX - PyTorch| =" in out and "attached to" in out
    code, out, _ = cli("export", bundle, "--onnx", tmp_path / "r2.onnx", "--no-attach",
                       "--json")
    doc = json.loads(out)
    assert code == 0 and doc["attached"] is None and doc["max_abs_diff"] <= 1e-4
    assert doc["onnx"].endswith("r2.onnx") and doc["opset"] == 17


def test_a_corrupt_onnx_file_is_refused_by_serve_and_predict(cli, bundle_copy, tmp_path,
                                                             monkeypatch):
    import fullcycle.cli.serve as serve_cli

    monkeypatch.setattr(serve_cli, "run_uvicorn", lambda *a: pytest.fail("must not start"))
    bundle = bundle_copy("binary")
    assert cli("export", bundle, "--quiet")[0] == 0
    (bundle / "model.onnx").write_bytes(b"\x08\x07garbage")
    code, _, err = cli("serve", bundle, "--log-dir", tmp_path)
    assert code == 2 and err.count("\n") == 1
    assert "model.onnx (the onnx model) does not match its checksum" in err.lower()
    with pytest.raises(FullcycleError, match="does not match its checksum"):
        Predictor.load(bundle, runtime="onnx")


def test_an_unloadable_onnx_file_is_one_line(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"not a protobuf")
    with pytest.raises(FullcycleError, match="is not a loadable ONNX model"):
        OnnxRuntime(path)


def test_an_export_of_other_weights_is_not_used(bundle_copy, tmp_path):
    bundle = bundle_copy("binary")
    export_onnx(bundle, bundle / "model.onnx")
    manifest = json.loads((bundle / "bundle.json").read_text())
    manifest["onnx"]["weights_sha256"] = "0" * 64
    (bundle / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(FullcycleError, match="exported from other weights; export again"):
        Predictor.load(bundle, runtime="auto")


def test_export_of_a_missing_bundle_or_a_bad_tolerance_is_one_line_and_exit_2(cli, bundles,
                                                                             tmp_path):
    code, out, err = cli("export", tmp_path / "nope", "--onnx", tmp_path / "x.onnx")
    assert code == 2 and out == "" and "not found" in err and err.count("\n") == 1
    code, _, err = cli("export", bundles["binary"], "--onnx", tmp_path / "x.onnx",
                       "--tolerance", "0")
    assert code == 2 and "--tolerance must be positive" in err
    assert not (tmp_path / "x.onnx").exists()
