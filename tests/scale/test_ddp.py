"""DDP through torchrun: two gloo processes take the steps one process takes, rank 0 alone
writes, and a killed process ends the group with one line that says how to resume."""

from __future__ import annotations

import sys
from pathlib import Path

import ddp_job
import pytest
import torch
from safetensors.torch import load_file

from fullcycle.engine import distributed
from fullcycle.engine.callbacks import Checkpoint, EarlyStopping, NanGuard
from fullcycle.engine.distributed import Distributed, ShardedBatches
from fullcycle.engine.journaling import JournalCallback
from fullcycle.engine.launch import launch
from fullcycle.engine.progress import ProgressBar
from fullcycle.errors import FullcycleError

JOB = str(Path(ddp_job.__file__))


def _group(rank: int, world: int = 2) -> Distributed:
    return Distributed(rank=rank, world_size=world, local_rank=rank, device=torch.device("cpu"))


def _one_process_weights(tmp_path: Path) -> dict[str, torch.Tensor]:
    out = tmp_path / "one"
    out.mkdir()
    assert ddp_job.run(out) == 0
    return load_file(str(out / "weights.safetensors"))


def _launch(out: Path, *args: str) -> int:
    out.mkdir(exist_ok=True)
    return launch(2, [sys.executable, JOB, str(out), *args], out / "logs")


def _max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_only_rank_zero_runs_the_callbacks_that_write(tmp_path):
    journal_cb = JournalCallback.__new__(JournalCallback)
    callbacks = [NanGuard(), EarlyStopping(), journal_cb, ProgressBar(), Checkpoint(tmp_path)]
    on_rank1 = distributed.for_this_rank(callbacks, _group(1))
    assert [type(cb).__name__ for cb in on_rank1] == ["NanGuard", "EarlyStopping", "AgreeToStop"]
    assert len(distributed.for_this_rank(callbacks, _group(0))) == len(callbacks) + 1
    assert distributed.for_this_rank(callbacks, None) == callbacks


def test_each_rank_takes_its_contiguous_share_of_every_batch():
    class Batches:
        device, n_examples, n, batch_size = torch.device("cpu"), 11, 11, 4

        def __len__(self):
            return 3

        def batches(self, epoch=1):
            rows = torch.arange(11)
            yield from ((rows[i:i + 4], rows[i:i + 4]) for i in (0, 4, 8))

    shares = [list(ShardedBatches(Batches(), _group(r, 3)).batches()) for r in range(3)]
    # a batch of 4 over 3 ranks: 1, 1, 2 rows; the last batch (3 rows) gives each rank one
    assert [[b[0].tolist() for b in s] for s in shares] == [
        [[0], [4], [8]], [[1], [5], [9]], [[2, 3], [6, 7], [10]]]
    # batch norm needs two rows per rank: over 2 ranks the last batch (3 rows) is skipped
    two_each = ShardedBatches(Batches(), _group(0, 2), min_rows=2)
    assert len(two_each) == 2
    assert [b[0].tolist() for b in two_each.batches()] == [[0, 1], [4, 5]]


def test_world_size_without_the_rest_of_torchruns_environment_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for name in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(FullcycleError, match="launch with torchrun"):
        distributed.setup("cpu")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_gloo_processes_end_with_the_weights_of_one_and_only_rank_zero_writes(tmp_path):
    reference = _one_process_weights(tmp_path)
    out = tmp_path / "two"
    assert _launch(out) == 0
    assert _max_difference(reference, load_file(str(out / "weights.safetensors"))) < 1e-5
    assert sorted(p.name for p in out.glob("written-by-rank*")) == ["written-by-rank0"]
    assert (out / "checkpoints" / "latest.json").exists()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_killed_rank_ends_the_group_with_one_line_and_resume_finishes_the_fit(tmp_path, capfd):
    out = tmp_path / "killed"
    assert _launch(out, "--kill-at", "3") == 1
    errors = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(errors) == 1, errors
    assert errors[0].startswith("error: training process 1 of 2 was stopped by SIGKILL")
    assert "--resume" in errors[0]
    assert not (out / "weights.safetensors").exists()

    assert _launch(out, "--resume") == 0
    assert (out / "resumed_from").read_text() == "2"  # epochs 1-2 were checkpointed
    resumed = load_file(str(out / "weights.safetensors"))
    assert _max_difference(_one_process_weights(tmp_path), resumed) < 1e-5

