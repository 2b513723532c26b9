"""Tables larger than memory: a Parquet file (or a folder of them) streamed by row group.

`prepare_stream` is `prepare` for data that does not fit in memory; `should_stream` says when
a file is that large. Memory stays bounded by a few row groups, the shuffle buffer and the
dev and test splits (capped by the seeds' rule), whatever the number of rows:

- The split is a stable hash of the row number (`fullcycle.data.hash_split`): the ``test``
  rows with the smallest hashes are the test split, the next ``dev`` the dev split, the rest
  train — exactly the seeds' sizes (`split_sizes`), decided without reading any data, the
  same on every pass and every machine. It is not stratified (at the sizes that need
  streaming, a random split keeps class shares within a fraction of a point), and
  ``--group-column`` / ``--time-column`` / ``--dev-data`` need the in-memory path.
- One pass over the file computes the preprocessing statistics from the training rows only
  (`fullcycle.data.stream_stats`: exact means and deviations, exact category counts, medians
  from a uniform sample) and keeps the dev and test rows, which become in-memory arrays.
- `ParquetBatches` streams the training rows for `fc.fit`: each epoch visits the row groups
  in an order drawn from ``(seed, epoch)``, shuffles rows within a buffer of
  ``shuffle_rows``, and reads the next row group in a background thread while the current
  buffer trains.

The fingerprint is the sha256 of every file's Parquet footer (schema, row-group offsets,
sizes and statistics): hashing all the data would take a second pass.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch
from torch import Tensor

from fullcycle.data.dataset import (
    PREPROCESSING_FILE,
    SPLIT_FILE,
    Prepared,
    _check_columns,
)
from fullcycle.data.hash_split import DEV, TEST, TRAIN, HashSplit
from fullcycle.data.inputs import target_names
from fullcycle.data.load import parquet_files
from fullcycle.data.splits import SPLIT_NAMES, Split, SplitOptions
from fullcycle.data.stream_stats import SAMPLE_ROWS, StreamStatistics
from fullcycle.data.target_encoding import TargetEncoding, fit_target
from fullcycle.data.task import infer_task
from fullcycle.errors import FullcycleError

SHUFFLE_ROWS = 65_536
# Stream when the decoded table exceeds this share of the memory available: the in-memory
# path holds the table, its feature matrix and transient copies, about four times its size.
STREAM_SHARE = 0.125


# --------------------------------------------------------------------------- the files
class ParquetSource:
    """The row groups of a Parquet file or of every ``*.parquet`` file under a folder."""

    def __init__(self, path: str | Path) -> None:
        root = Path(path)
        if not root.exists():
            raise FullcycleError(f"file not found: {root}; check the path")
        files = [root] if root.is_file() else parquet_files(root)
        if not files:
            raise FullcycleError(f"{root} holds no .parquet files; give a Parquet file or "
                                 "a folder of them")
        self.root, self.files = root, files
        self.groups: list[tuple[int, int, int, int]] = []  # (file, group, first row, rows)
        self.decoded_bytes = 0
        digest = hashlib.sha256()
        offset = 0
        for i, file in enumerate(files):
            try:
                meta = pq.read_metadata(file)
            except Exception as exc:  # pyarrow raises many types for a bad file
                raise FullcycleError(f"{file} is not a readable Parquet file "
                                     f"({' '.join(str(exc).split())[:160]}); re-export it"
                                     ) from None
            names = [meta.schema.column(j).name for j in range(meta.num_columns)]
            if i == 0:
                self.columns = names
            elif names != self.columns:
                raise FullcycleError(f"{file} has other columns than {files[0]}; give files "
                                     "with the same columns in the same order")
            for g in range(meta.num_row_groups):
                rows = meta.row_group(g).num_rows
                self.groups.append((i, g, offset, rows))
                self.decoded_bytes += meta.row_group(g).total_byte_size
                offset += rows
            digest.update(file.name.encode())
            digest.update(_footer(file))
        self.n_rows = offset
        self.fingerprint = digest.hexdigest()
        if self.n_rows == 0:
            raise FullcycleError(f"{root} has no rows; give a file with data rows")

    def read(self, index: int, columns: list[str]) -> pd.DataFrame:
        """Row group ``index`` (in file order) as a DataFrame of ``columns``."""
        file, group, _, _ = self.groups[index]
        return pq.ParquetFile(self.files[file]).read_row_group(group, columns=columns) \
            .to_pandas()

    def rows_of(self, index: int) -> np.ndarray:
        """Global row numbers of row group ``index``."""
        _, _, first, rows = self.groups[index]
        return np.arange(first, first + rows, dtype=np.int64)


def _footer(path: Path) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(-8, os.SEEK_END)
        length = int.from_bytes(handle.read(4), "little")
        handle.seek(-8 - length, os.SEEK_END)
        return handle.read(length)


def should_stream(source: Any, available: int | None = None) -> bool:
    """True for a Parquet file or folder too large for the in-memory path (`STREAM_SHARE`)."""
    if not isinstance(source, str | Path):
        return False
    path = Path(source)
    if not path.exists() or (path.is_file() and path.suffix.lower() not in (".parquet", ".pq")):
        return False
    if path.is_dir() and not parquet_files(path):
        return False
    memory = available if available is not None else _available_memory()
    return ParquetSource(path).decoded_bytes > STREAM_SHARE * memory


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


# ----------------------------------------------------------------- the prepared stream
@dataclass(repr=False)
class StreamPrepared(Prepared):
    """`Prepared` for a streamed table: dev and test in memory, train as `ParquetBatches`.

    ``X["train"]`` / ``y["train"]`` (and ``frame``) hold a uniform sample of the training rows
    (about `SAMPLE_ROWS`): what the training error, the default metric, the output prior and
    a bundle's drift reference are estimated on, so code written for `Prepared` measures a
    streamed table unchanged; ``n_train`` is the true count, `train_batches` streams every
    training row, and ``hash_split`` is the split (``split`` only names its strategy).
    """

    source: ParquetSource | None = None
    hash_split: HashSplit | None = None
    n_train: int = 0
    drop_missing_target: bool = False
    raw: dict[str, pd.DataFrame] = field(default_factory=dict)  # train (its sample), dev

    def frame_of(self, split: str) -> pd.DataFrame:
        """Raw rows of train (its sample) or dev; the test split is locked."""
        if split == "test":
            raise FullcycleError("the test split is locked; use Prepared.test(reason)")
        return self.raw.get(split, self.frame.iloc[:0])

    @property
    def sizes(self) -> dict[str, int]:
        """Rows per split: ``{"train", "train_dev", "dev", "test"}`` (train: all of them)."""
        return {"train": self.n_train, "train_dev": 0, "dev": len(self.y["dev"]),
                "test": 0 if self._test is None else len(self._test[1])}

    def summary(self) -> dict:
        return {**super().summary(), "n_rows": self.hash_split.n_rows, "streamed": True}

    def __repr__(self) -> str:
        return "Stream" + super().__repr__()

    def train_batches(self, batch_size: int, seed: int = 0,
                      shuffle_rows: int = SHUFFLE_ROWS) -> ParquetBatches:
        """The training rows as mini-batches for `fc.fit` (a new order every epoch)."""
        return ParquetBatches(self, batch_size, seed, shuffle_rows)

    def save(self, directory: str | Path) -> None:
        """split.json (the hash rule, not row lists) and preprocessing.json, atomically."""
        from fullcycle.rundir import atomic_write_json

        directory = Path(directory)
        atomic_write_json(directory / SPLIT_FILE, {
            "fingerprint": self.fingerprint, "task": self.task, "targets": self.targets,
            "files": [str(f) for f in self.source.files], **self.hash_split.to_dict(),
            "notes": self.notes})
        atomic_write_json(directory / PREPROCESSING_FILE, {
            "features": self.preprocessor.to_dict(), "target": self.target_encoding.to_dict()})

    # used by ParquetBatches (possibly from its reading thread)
    def training_rows(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        frame = self.source.read(index, [*self.features, *self.targets])
        keep = self.hash_split.codes(self.source.rows_of(index)) == TRAIN
        if self.drop_missing_target:
            keep &= frame[self.targets[0]].notna().to_numpy()
        part = frame.loc[keep]
        return self.preprocessor.transform(part), self.target_encoding.encode(part)


def prepare_stream(source: str | Path, target: str | list[str], *, task: str | None = None,
                   split: SplitOptions | None = None, ignore: list[str] | None = None,
                   drop_missing_target: bool = False,
                   sample_rows: int = SAMPLE_ROWS) -> StreamPrepared:
    """Split, fit the preprocessing on the training rows and load dev/test, in one pass."""
    options = split or SplitOptions()
    if options.group_column or options.time_column:
        raise FullcycleError("a streamed table is split by row hash; --group-column and "
                             "--time-column need a file that fits in memory")
    src = ParquetSource(source)
    targets = target_names(target)
    if len(targets) > 1:
        raise FullcycleError("streaming takes one target column; a multilabel task needs a "
                             "file that fits in memory")
    _check_columns(pd.DataFrame(columns=src.columns), targets, ignore or [], options)
    features = [c for c in src.columns if c not in targets and c not in (ignore or [])]
    if not features:
        raise FullcycleError("no feature columns left besides the target; check --target/--ignore")
    the_split = HashSplit.make(src.n_rows, options)
    stats = StreamStatistics(features, targets[0])
    held: dict[int, list[pd.DataFrame]] = {DEV: [], TEST: []}
    rate = sample_rows / max(the_split.sizes[0], 1)
    dtype: Any = None
    for index in range(len(src.groups)):
        frame = src.read(index, [*features, *targets])
        rows = src.rows_of(index)
        dtype = frame[targets[0]].dtype if dtype is None else dtype
        missing = frame[targets[0]].isna().to_numpy()
        if missing.any() and not drop_missing_target:
            raise FullcycleError(
                f"target has missing values (first at row {int(rows[missing][0])}); fill "
                "them, or pass --drop-missing-target to drop those rows")
        codes = np.where(missing, -1, the_split.codes(rows))
        train = codes == TRAIN
        stats.add(frame.loc[train].reset_index(drop=True),
                  the_split.in_sample(rows[train], rate))
        for code, parts in held.items():
            if (codes == code).any():
                parts.append(frame.loc[codes == code])
    dev, test = (pd.concat(held[c], ignore_index=True) if held[c] else
                 pd.DataFrame(columns=[*features, *targets]) for c in (DEV, TEST))
    seen = pd.concat([stats.target_frame(dtype)[targets[0]], dev[targets[0]],
                      test[targets[0]]]).drop_duplicates()
    info = infer_task(seen.to_frame(targets[0]), targets, task)
    preprocessor = stats.preprocessor()
    encoding = _target_encoding(info, stats)
    sample = stats.sample()
    notes = [f"streamed from {len(src.files)} file(s), {len(src.groups)} row groups: split by "
             "row hash (not stratified), duplicates across splits not checked, imputation "
             f"medians from a sample of {len(sample)} training rows"]
    if drop_missing_target and stats.n_rows < the_split.sizes[0]:
        notes.append(f"{the_split.sizes[0] - stats.n_rows} training rows with a missing target "
                     "dropped (--drop-missing-target)")
    empty = {name: np.zeros(0, dtype=np.int64) for name in SPLIT_NAMES}
    return StreamPrepared(
        task=info.task, targets=list(info.targets), classes=list(encoding.classes),
        frame=sample, features=features, split=Split(empty, "hash", notes),
        preprocessor=preprocessor, target_encoding=encoding,
        X={"train": preprocessor.transform(sample),
           "train_dev": np.zeros((0, preprocessor.n_features), np.float32),
           "dev": preprocessor.transform(dev)},
        y={"train": encoding.encode(sample), "train_dev": encoding.encode(dev.iloc[:0]),
           "dev": encoding.encode(dev)},
        rows={}, fingerprint=src.fingerprint,
        duplicates={"count": 0, "rows": 0, "examples": []}, notes=notes,
        n_source_rows=src.n_rows, _test=(preprocessor.transform(test), encoding.encode(test)),
        source=src, hash_split=the_split, n_train=stats.n_rows,
        drop_missing_target=drop_missing_target, raw={"train": sample, "dev": dev})


def _target_encoding(info: Any, stats: StreamStatistics) -> TargetEncoding:
    """`fit_target`'s encoding and checks, from the streamed target statistics."""
    if info.task == "regression":
        m = stats.target_moments
        if m.std == 0.0:
            raise FullcycleError(f"regression target '{info.targets[0]}' is constant in the "
                                 "training rows; there is nothing to learn — check the target "
                                 "column")
        return TargetEncoding(info.task, list(info.targets), [], m.mean, m.std)
    present = pd.DataFrame({info.targets[0]: list(stats.target_counts)})
    return fit_target(info, present)  # classes, and the check that each has training rows


# ------------------------------------------------------------------------ the batches
class ParquetBatches:
    """Training mini-batches streamed from row groups through a shuffle buffer.

    ``len()`` is exact (the split's training rows over ``batch_size``); a last batch of a
    single row is dropped (batch norm cannot normalize one example; one row of millions
    changes nothing). Batches are CPU tensors; `fc.fit` moves them to its device.
    """

    def __init__(self, prepared: StreamPrepared, batch_size: int, seed: int = 0,
                 shuffle_rows: int = SHUFFLE_ROWS) -> None:
        if batch_size < 1:
            raise FullcycleError(f"batch_size must be a positive integer, got {batch_size}")
        self.prepared, self.batch_size, self.seed = prepared, int(batch_size), seed
        self.shuffle_rows = max(int(shuffle_rows), self.batch_size)
        self.n = prepared.n_train

    @property
    def n_examples(self) -> int:
        return self.n

    def __len__(self) -> int:
        return self.n // self.batch_size + (1 if self.n % self.batch_size > 1 else 0)

    def batches(self, epoch: int = 1) -> Any:
        """The epoch's batches: row groups in an order fixed by ``(seed, epoch)``."""
        rng = np.random.default_rng([self.seed, epoch])
        order = [int(i) for i in rng.permutation(len(self.prepared.source.groups))]
        bs, pending_X, pending_y, buffered = self.batch_size, [], [], 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet") as reader:
            next_part = reader.submit(self.prepared.training_rows, order[0]) if order else None
            for position in range(len(order)):
                assert next_part is not None
                X, y = next_part.result()
                last = position + 1 == len(order)
                next_part = None if last else reader.submit(self.prepared.training_rows,
                                                            order[position + 1])
                pending_X.append(X)
                pending_y.append(y)
                buffered += len(y)
                if buffered < self.shuffle_rows and not last:
                    continue
                X_all, y_all = np.concatenate(pending_X), np.concatenate(pending_y)
                mix = rng.permutation(len(y_all))
                X_all, y_all = X_all[mix], y_all[mix]
                full = len(y_all) // bs
                for b in range(full):
                    yield _tensors(X_all[b * bs:(b + 1) * bs], y_all[b * bs:(b + 1) * bs])
                pending_X, pending_y = [X_all[full * bs:]], [y_all[full * bs:]]
                buffered = len(y_all) - full * bs
            if buffered > 1:
                yield _tensors(pending_X[0], pending_y[0])


def _tensors(X: np.ndarray, y: np.ndarray) -> tuple[Tensor, Tensor]:
    return torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(np.ascontiguousarray(y))
