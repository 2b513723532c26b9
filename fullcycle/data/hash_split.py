"""The split of a table too large to hold: a stable hash of the row number.

A pure building block: which split a row is in depends only on its row number and the seed,
so every pass over the data (statistics, each epoch, each process) agrees without keeping a
list of rows. The ``test`` rows with the smallest hashes are the test split, the next
``dev`` the dev split, the rest train: exactly the seeds' sizes (`split_sizes`). The hash is
splitmix64 of ``row + (seed + 1)·φ`` (φ = 0x9E3779B97F4A7C15): a bijection on 64 bits, so no
two rows tie, and well mixed, so the split is uniform and not stratified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fullcycle.data.splits import SplitOptions, split_sizes

TRAIN, DEV, TEST = 0, 2, 3  # split codes (1 would be train-dev, which a hash split has not)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def row_hash(rows: np.ndarray, seed: int) -> np.ndarray:
    """splitmix64 of ``row + seed·φ``: a bijection on 64 bits, so no two rows tie."""
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) + np.uint64(seed + 1) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class HashSplit:
    """Test: hashes up to ``test_below``; dev: up to ``dev_below``; train: the rest."""

    seed: int
    n_rows: int
    sizes: tuple[int, int, int]  # train, dev, test
    test_below: int
    dev_below: int

    @classmethod
    def make(cls, n_rows: int, options: SplitOptions, chunk: int = 1 << 22) -> HashSplit:
        """The thresholds that give the seeds' sizes exactly (bottom-k of the hashes)."""
        train, dev, test = split_sizes(n_rows, options.dev_size, options.test_size)
        k = dev + test
        kept = np.zeros(0, dtype=np.uint64)
        for start in range(0, n_rows, chunk):
            h = row_hash(np.arange(start, min(n_rows, start + chunk)), options.seed)
            kept = np.concatenate([kept, np.partition(h, k - 1)[:k] if len(h) > k else h])
            if len(kept) > k:
                kept = np.partition(kept, k - 1)[:k]
        kept.sort()
        return cls(options.seed, n_rows, (train, dev, test), int(kept[test - 1]),
                   int(kept[k - 1]))

    def codes(self, rows: np.ndarray) -> np.ndarray:
        h = row_hash(rows, self.seed)
        out = np.full(len(rows), TRAIN, dtype=np.int8)
        out[h <= np.uint64(self.dev_below)] = DEV
        out[h <= np.uint64(self.test_below)] = TEST
        return out

    def in_sample(self, rows: np.ndarray, rate: float) -> np.ndarray:
        """A Bernoulli(rate) draw per row from a second hash: the same rows on every pass."""
        if rate >= 1.0:
            return np.ones(len(rows), dtype=bool)
        second = row_hash(row_hash(rows, self.seed), self.seed)
        return second < np.uint64(int(rate * 2**64))

    def to_dict(self) -> dict[str, Any]:
        train, dev, test = self.sizes
        return {"strategy": "hash", "seed": self.seed, "n_rows": self.n_rows,
                "sizes": {"train": train, "train_dev": 0, "dev": dev, "test": test},
                "test_below": self.test_below, "dev_below": self.dev_below, "locked": ["test"],
                "rule": "test: hash(row) <= test_below; dev: <= dev_below; train: the rest; "
                        "hash = splitmix64(row + (seed + 1) * 0x9E3779B97F4A7C15)"}
