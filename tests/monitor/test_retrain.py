"""`fullcycle retrain`: warm start from the bundle, judged on the new dev set; the old
bundle is replaced only by a better model and never written into."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import tiny_bundles

from fullcycle.journal import Journal
from fullcycle.models.bundle import load_bundle


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def new_data(tmp_path) -> Path:
    path = tmp_path / "new.csv"
    tiny_bundles.task_frame("binary", n=800, seed=5).to_csv(path, index=False)
    return path


def _bundle(tmp_path: Path, epochs: int) -> Path:
    return tiny_bundles.make_bundle(tmp_path / "run" / "model",
                                    tiny_bundles.task_frame("binary"), "y", epochs=epochs)


def test_a_better_model_replaces_the_bundle_and_the_old_one_is_kept_aside(cli, tmp_path,
                                                                          new_data):
    bundle = _bundle(tmp_path, epochs=1)  # underfit: the new data teaches it more
    before = _digest(bundle)
    code, out, err = cli("retrain", bundle, new_data, "--lr", "0.01", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["replaced"] is True and doc["reason"].startswith("replaced the bundle: new dev")
    assert doc["new"]["errors"]["dev"] < doc["old"]["dev_error"]
    assert _digest(Path(doc["archived_old_bundle"])) == before  # moved, not rewritten
    assert load_bundle(bundle).manifest["weights_sha256"] != json.loads(
        (Path(doc["archived_old_bundle"]) / "bundle.json").read_text())["weights_sha256"]
    assert load_bundle(bundle).reference_rows == doc["splits"]["train"] == 480
    (decision,) = [d for d in Journal(doc["journal"]).decisions() if d["kind"] == "retrain"]
    assert decision["kind"] == "retrain" and decision["action"] == "replaced the bundle"
    assert doc["test_accesses"] == 1 and doc["test_error"] is not None
    assert Path(doc["out"]).parent == bundle.parent  # RUN_DIR/retrain-<time>


def test_a_worse_model_leaves_the_bundle_untouched(cli, tmp_path, new_data):
    bundle = _bundle(tmp_path, epochs=40)
    before = _digest(bundle)
    code, out, err = cli("retrain", bundle, new_data, "--lr", "5", "--epochs", "2", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["replaced"] is False and doc["archived_old_bundle"] is None
    assert doc["reason"].startswith("kept the old bundle: new dev error")
    assert doc["new"]["errors"]["dev"] >= doc["old"]["dev_error"]
    assert _digest(bundle) == before
    assert not list(bundle.parent.glob("model.previous-*"))
    assert (Path(doc["candidate"]) / "bundle.json").exists()  # there to inspect
    (decision,) = [d for d in Journal(doc["journal"]).decisions() if d["kind"] == "retrain"]
    assert decision["action"] == "kept the old bundle" and decision["reason"] == doc["reason"]


def test_a_better_model_that_breaks_a_constraint_is_not_kept(cli, tmp_path, new_data):
    bundle = _bundle(tmp_path, epochs=1)
    before = _digest(bundle)
    code, out, _ = cli("retrain", bundle, new_data, "--lr", "0.01", "--satisfice", "params<=10",
                       "--json")
    doc = json.loads(out)
    assert code == 0 and doc["replaced"] is False
    assert "but it breaks params<=10" in doc["reason"]
    assert _digest(bundle) == before


def test_no_replace_only_reports(cli, tmp_path, new_data):
    bundle = _bundle(tmp_path, epochs=1)
    before = _digest(bundle)
    code, out, _ = cli("retrain", bundle, new_data, "--lr", "0.01", "--no-replace")
    assert code == 0 and "kept the old bundle (--no-replace)" in out
    assert _digest(bundle) == before


@pytest.mark.parametrize(("make", "words"), [
    (lambda t, b, d: [t / "absent", d], "model bundle"),
    (lambda t, b, d: [b, t / "absent.csv"], "file not found"),
    (lambda t, b, d: [b, _csv(t, tiny_bundles.task_frame("binary").drop(columns="kind"))],
     "lacks column(s) kind"),
    (lambda t, b, d: [b, _csv(t, tiny_bundles.task_frame("binary").assign(
        y=lambda f: f["y"].where(f.index % 9 > 0, "maybe")))], "class(es) ['maybe']"),
    (lambda t, b, d: [b, d, "--satisfice", "speed<1"], "unknown quantity 'speed'"),
    (lambda t, b, d: [b, d, "--epochs", "0"], "--epochs must be 1 or more"),
    (lambda t, b, d: [b, d, "--budget", "soon"], "is not a duration"),
])
def test_bad_retrain_input_is_one_line_and_exit_2(cli, tmp_path, new_data, make, words):
    bundle = _bundle(tmp_path, epochs=1)
    before = _digest(bundle)
    code, out, err = cli("retrain", *make(tmp_path, bundle, new_data))
    assert code == 2 and out == "", err
    assert err.count("\n") == 1 and words in err, err
    assert _digest(bundle) == before and not list(bundle.parent.glob("retrain-*"))


def _csv(tmp_path: Path, frame) -> Path:
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


def test_training_starts_from_the_bundles_weights(tmp_path, new_data):
    """At a learning rate too small to move anything, the retrained network is the old one."""
    import torch

    from fullcycle.monitor.retrain import retrain_bundle

    bundle = _bundle(tmp_path, epochs=20)
    result = retrain_bundle(bundle, new_data, lr=1e-9, epochs=1, replace=False)
    old, new = load_bundle(bundle).model, load_bundle(result.doc["candidate"]).model
    for (name, a), b in zip(old.state_dict().items(), new.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name
    assert result.doc["new"]["errors"]["dev"] == result.doc["old"]["dev_error"]
    assert result.doc["config"]["hidden"] == [8]  # the bundle's architecture
