"""A script the distributed tests launch with torchrun: the same fit on every rank.

    python -m torch.distributed.run --standalone --nproc_per_node 2 ddp_job.py OUT [--kill-at E]
        [--resume] [--epochs N]

Writes (from rank 0 only) ``OUT/weights.safetensors``, ``OUT/resumed_from``, the checkpoints
in ``OUT/checkpoints`` and, from a user callback marked rank_zero_only,
``OUT/written-by-rank<RANK>``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from fullcycle.engine.distributed import WorkerLost, is_main_process
from fullcycle.engine.events import Callback
from fullcycle.engine.fit import fit

N, D = 1000, 6  # 15 full batches of 64 and a last one of 40: uneven shares are exact too


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=N) > 0).astype(np.float32)
    return X, y


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(D, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1),
                               torch.nn.Flatten(0))


class Writer(Callback):
    """A user callback that writes a file: marked rank_zero_only, so rank 0 alone runs it."""

    rank_zero_only = True

    def __init__(self, out: Path) -> None:
        self.out = out

    def after_fit(self, loop) -> None:
        (self.out / f"written-by-rank{os.environ.get('RANK', '0')}").write_text("x")


class KillRank(Callback):
    """SIGKILL this process at the start of an epoch when it is rank 1 (a dead worker)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def before_epoch(self, loop) -> None:
        if loop.epoch == self.epoch and os.environ.get("RANK") == "1":
            os.kill(os.getpid(), signal.SIGKILL)


def run(out: Path, epochs: int = 4, kill_at: int = 0, resume: bool = False) -> int:
    """The fit (in this process, or on each rank under torchrun); 1 when a peer was lost."""
    torch.set_num_threads(1)
    X, y = data()
    callbacks: list[Callback] = [Writer(out)]
    if kill_at:
        callbacks.append(KillRank(kill_at))
    try:
        result = fit(model(), (X, y), (X[:300], y[:300]), loss="bce", optimizer="adam", lr=0.01,
                     epochs=epochs, batch_size=64, l2=0.01, progress=False, seed=3,
                     metric="auc", callbacks=callbacks, resume=resume,
                     checkpoint_dir=out / "checkpoints")
    except WorkerLost as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if is_main_process():
        save_file({k: v.contiguous() for k, v in result.model.state_dict().items()},
                  str(out / "weights.safetensors"))
        (out / "resumed_from").write_text(str(result.resumed_from))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--kill-at", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    return run(args.out, args.epochs, args.kill_at, args.resume)


if __name__ == "__main__":
    sys.exit(main())
