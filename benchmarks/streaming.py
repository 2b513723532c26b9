"""Training on a Parquet table with bounded memory: streamed against the in-memory path.

Generates (in a temporary folder, deleted afterwards; written in chunks, so the generator
itself stays small) a Parquet file of 5,000,000 rows × 20 feature columns (18 float32
numbers with 2% missing, one small integer, one 12-category string) and a binary target,
in row groups of 250,000 rows. Then, each in a fresh process so that its peak resident
memory is its own (``ru_maxrss``):

- streamed: `prepare_stream` (one pass: split by row hash, statistics) and one epoch of
  `fc.fit` on `ParquetBatches` (row groups through a 65,536-row shuffle buffer);
- in memory: `prepare` (the whole table as a DataFrame, then arrays) and one epoch of
  `fc.fit` on the arrays.

Both train the seeds' initial network (one hidden layer at the midpoint width) with
mini-batches of 512. Prints peak RSS, preparation seconds and training samples/s of each,
and the ratios; exits 1 when the streamed peak exceeds 1.5 GiB.

    python benchmarks/streaming.py [--rows 5000000] [--skip-in-memory]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LIMIT_GIB = 1.5
ROW_GROUP = 250_000
BATCH = 512
GIB = 2**30


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write the table chunk by chunk (one row group at a time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    weights = rng.normal(size=18).astype(np.float32)
    colours = np.array([f"c{i}" for i in range(12)])
    writer = None
    for start in range(0, rows, ROW_GROUP):
        n = min(ROW_GROUP, rows - start)
        numbers = rng.normal(size=(n, 18)).astype(np.float32)
        level = rng.integers(0, 5, n)
        colour = rng.integers(0, 12, n)
        logit = numbers @ weights + 0.5 * level - (colour % 3) + rng.normal(size=n)
        numbers[rng.random((n, 18)) < 0.02] = np.nan
        columns = {f"x{j}": pa.array(numbers[:, j], from_pandas=True) for j in range(18)}
        columns["level"] = pa.array(level.astype(np.int16))
        columns["colour"] = pa.DictionaryArray.from_arrays(colour.astype(np.int32), colours)
        columns["y"] = pa.array((logit > 0).astype(np.int8))
        table = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=ROW_GROUP)
    assert writer is not None
    writer.close()


def child(mode: str, path: Path) -> dict:
    """One measured run (in its own process)."""
    import torch

    from fullcycle.engine.fit import fit
    from fullcycle.engine.losses import loss_for_task
    from fullcycle.models.mlp import TabularMLP, initial_architecture

    started = time.perf_counter()
    if mode == "stream":
        from fullcycle.data.stream import prepare_stream

        p = prepare_stream(path, "y")
        train, n_train, y_prior = p.train_batches(BATCH), p.n_train, p.y["train"]
    else:
        from fullcycle.data.dataset import prepare

        p = prepare(path, "y")
        train, n_train, y_prior = (p.X["train"], p.y["train"]), len(p.y["train"]), p.y["train"]
    prepared_s = time.perf_counter() - started
    n_in = p.preprocessor.n_features
    arch = initial_architecture(n_in, 1, n_train)
    torch.manual_seed(0)
    model = TabularMLP(n_in, 1, hidden=list(arch.hidden), categorical=p.preprocessor.categorical)
    from fullcycle.models.mlp import init_output_bias

    init_output_bias(model, p.task, y_prior)
    result = fit(model, train, (p.X["dev"], p.y["dev"]), loss=loss_for_task(p.task),
                 metric="accuracy", task=p.task, epochs=1, batch_size=BATCH, progress=False)
    epoch = result.history[0]
    return {"peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "prepare_s": prepared_s, "epoch_s": epoch["seconds"], "rows": n_train,
            "samples_per_s": n_train / epoch["seconds"], "dev_error": epoch["dev_error"],
            "hidden": list(arch.hidden)}


def measure(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(name: str, r: dict) -> str:
    return (f"{name:10s} peak RSS {r['peak_rss'] / GIB:5.2f} GiB   prepare {r['prepare_s']:6.1f} s"
            f"   one epoch {r['epoch_s']:6.1f} s = {r['samples_per_s']:9,.0f} samples/s   "
            f"dev error {r['dev_error']:.4f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--skip-in-memory", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="fullcycle-streaming-"))
    try:
        free = shutil.disk_usage(tmp).free
        path = tmp / "table.parquet"
        started = time.perf_counter()
        generate(path, args.rows)
        print(f"table: {args.rows:,} rows x 20 feature columns + target, "
              f"{path.stat().st_size / GIB:.2f} GiB on disk ({free / GIB:.0f} GiB were free), "
              f"written in {time.perf_counter() - started:.0f} s")
        streamed = measure("stream", path)
        print(show("streamed", streamed) + f"   (train rows {streamed['rows']:,})")
        if not args.skip_in_memory:
            in_memory = measure("memory", path)
            print(show("in memory", in_memory))
            ratio = {k: streamed[k] / in_memory[k] for k in ("peak_rss", "samples_per_s",
                                                             "prepare_s")}
            print(f"streamed / in memory: peak RSS x{ratio['peak_rss']:.2f}, samples/s "
                  f"x{ratio['samples_per_s']:.2f}, preparation x{ratio['prepare_s']:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    within = streamed["peak_rss"] <= LIMIT_GIB * GIB
    print(f"streamed peak RSS {'within' if within else 'OVER'} {LIMIT_GIB} GiB")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
