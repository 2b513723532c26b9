"""Checkpoints: atomic, never pickled, and a resumed fit ends where an uninterrupted one does."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fullcycle.engine.checkpoint import latest_checkpoint
from fullcycle.engine.events import Callback
from fullcycle.engine.fit import fit
from fullcycle.engine.journaling import JournalCallback
from fullcycle.errors import FullcycleError
from fullcycle.journal import Journal
from fullcycle.models.mlp import TabularMLP


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(96, 5)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(np.float32)


class Crash(Callback):
    """Kill the fit in the middle of an epoch, as a power cut would."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch, self.batch = epoch, batch

    def after_batch(self, loop):
        if loop.epoch == self.epoch and loop.batch_index == self.batch:
            raise KeyboardInterrupt


def _model() -> TabularMLP:
    torch.manual_seed(3)
    return TabularMLP(5, 1, hidden=[12, 6], dropout=0.25)  # dropout: the RNG must be restored


def _run(tmp_path, **kw):
    X, y = _data()
    return fit(kw.pop("model", None) or _model(), (X, y), (X[:32], y[:32]), loss="bce",
               optimizer="adam", lr=0.01, epochs=5, batch_size=16, schedule="cosine",
               progress=False, seed=7, **kw)


def test_resume_after_a_crash_mid_epoch_matches_an_uninterrupted_run(tmp_path):
    straight = _run(tmp_path)
    ck = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, checkpoint_dir=ck, callbacks=[Crash(epoch=3, batch=2)])
    assert json.loads((ck / "latest.json").read_text())["epoch"] == 2
    resumed = _run(tmp_path, checkpoint_dir=ck, resume=True, callbacks=[Crash(99, 0)])
    assert resumed.resumed_from == 2
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4, 5]
    for a, b in zip(straight.history, resumed.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
    for (k, a), b in zip(straight.model.state_dict().items(),
                         resumed.model.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), k


def test_checkpoint_holds_only_safetensors_and_json(tmp_path):
    _run(tmp_path, checkpoint_dir=tmp_path / "ck")
    files = [p for p in (tmp_path / "ck").rglob("*") if p.is_file()]
    assert files and all(p.suffix in (".safetensors", ".json") for p in files)
    assert latest_checkpoint(tmp_path / "ck").name == "epoch-000005"
    assert len([p for p in (tmp_path / "ck").iterdir() if p.is_dir()]) == 1  # old ones pruned


def test_resume_with_no_checkpoint_starts_fresh(tmp_path):
    result = _run(tmp_path, checkpoint_dir=tmp_path / "empty", resume=True)
    assert result.resumed_from is None and result.epochs_run == 5


def test_resume_into_a_different_model_is_a_clear_error(tmp_path):
    _run(tmp_path, checkpoint_dir=tmp_path / "ck")
    other = TabularMLP(5, 1, hidden=[3])
    with pytest.raises(FullcycleError, match="does not fit this model"):
        _run(tmp_path, model=other, checkpoint_dir=tmp_path / "ck", resume=True)


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    _run(tmp_path, checkpoint_dir=tmp_path / "ck")
    (latest_checkpoint(tmp_path / "ck") / "tensors.safetensors").write_bytes(b"garbage")
    with pytest.raises(FullcycleError, match="unreadable"):
        _run(tmp_path, checkpoint_dir=tmp_path / "ck", resume=True)


def test_journal_gets_every_epoch_once_across_a_crash(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    run = journal.start_run("test", {})
    exp = journal.start_experiment(run, "mlp", {}, 0, "fp", "test")
    ck = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, checkpoint_dir=ck, journal=JournalCallback(journal, exp),
             callbacks=[Crash(4, 1)])
    _run(tmp_path, checkpoint_dir=ck, journal=JournalCallback(journal, exp), resume=True)
    assert [r["epoch"] for r in journal.epochs(exp)] == [1, 2, 3, 4, 5]
