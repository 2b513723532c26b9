"""Data-parallel scaling of `fc.fit`: the same fit on 1 and 2 gloo processes (and on every GPU
when the machine has two or more), samples/s and speed-up, and the final weights compared.

An MLP 64→512→512→1 (binary cross-entropy, Adam) on 65,536 generated rows, global
mini-batches of 512, no dev set (only training is timed), one thread per process so that the
processes, not intra-op threads, share the cores. Each configuration runs in fresh processes
started by `fullcycle.engine.launch.launch` (what ``fullcycle train --nproc`` uses); the
samples/s of a run are its training examples over the summed epoch times (process start and
the group's rendezvous excluded). The 2-process fit takes the same global batches as the
1-process fit, so its final weights must match within 1e-5 (exit status 1 otherwise).

    python benchmarks/ddp_scaling.py [--epochs 2] [--rows 65536]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from fullcycle.engine.distributed import is_main_process
from fullcycle.engine.fit import fit
from fullcycle.engine.launch import launch

D, HIDDEN, BATCH, TOLERANCE = 64, 512, 512, 1e-5


def data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, D)).astype(np.float32)
    w = rng.normal(size=D).astype(np.float32)
    y = (X @ w + rng.normal(size=rows) > 0).astype(np.float32)
    return X, y


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(D, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, HIDDEN),
        torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 1), torch.nn.Flatten(0))


def worker(out: Path, epochs: int, rows: int, device: str) -> None:
    """One process's part (all processes under the launcher, or the only one)."""
    torch.set_num_threads(1)
    X, y = data(rows)
    result = fit(model(), (X, y), loss="bce", epochs=epochs, batch_size=BATCH, progress=False,
                 seed=0, device=device, nan_guard=False)
    if is_main_process():
        seconds = sum(row["seconds"] for row in result.history)
        save_file({k: v.detach().cpu().contiguous() for k, v in
                   result.model.state_dict().items()}, str(out / "weights.safetensors"))
        (out / "timing.json").write_text(json.dumps({"samples_per_s": rows * epochs / seconds}))


def measure(nproc: int, epochs: int, rows: int, device: str, root: Path) -> tuple[float, dict]:
    out = root / f"{device}-{nproc}"
    out.mkdir()
    command = [sys.executable, __file__, "--worker", str(out), "--epochs", str(epochs),
               "--rows", str(rows), "--device", device]
    if launch(nproc, command, out / "logs") != 0:
        raise SystemExit(f"the {nproc}-process run failed; see {out / 'logs'}")
    timing = json.loads((out / "timing.json").read_text())
    return timing["samples_per_s"], load_file(str(out / "weights.safetensors"))


def max_difference(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rows", type=int, default=65_536)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.epochs, args.rows, args.device)
        return 0
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    failed = False
    with tempfile.TemporaryDirectory(prefix="ddp-scaling-") as tmp:
        root = Path(tmp)
        base, base_weights = measure(1, args.epochs, args.rows, "cpu", root)
        print(f"cpu  1 process  (gloo): {base:10,.0f} samples/s")
        rate, weights = measure(2, args.epochs, args.rows, "cpu", root)
        diff = max_difference(base_weights, weights)
        failed |= diff > TOLERANCE
        print(f"cpu  2 processes(gloo): {rate:10,.0f} samples/s   speed-up x{rate / base:.2f}   "
              f"max |w2 - w1| = {diff:.2e} ({'within' if diff <= TOLERANCE else 'OVER'} "
              f"{TOLERANCE:g})")
        gpus = torch.cuda.device_count()
        if gpus >= 2:
            one, w1 = measure(1, args.epochs, args.rows, "cuda", root)
            many, wn = measure(gpus, args.epochs, args.rows, "cuda", root)
            diff = max_difference(w1, wn)
            print(f"cuda 1 GPU  (nccl): {one:10,.0f} samples/s")
            print(f"cuda {gpus} GPUs (nccl): {many:10,.0f} samples/s   speed-up x{many / one:.2f}  "
                  f" max |wN - w1| = {diff:.2e}")
        else:
            print(f"({gpus} GPU(s) here: the NCCL comparison needs two or more)")
    print(f"cores on this machine: {os.cpu_count()} (shared with whatever else runs)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
