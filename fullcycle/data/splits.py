"""Train / dev / test (and train-dev) splits, as the seeds size them.

Pure building blocks: sizes are a function of `m`; assignments are functions of labels,
groups or times and a seed. No I/O here (saving a split lives in `fullcycle.data.dataset`).

Sizes (seed 002, "Train / Dev / Test sets"; seed 000 §splits): 60/20/20 for small data, and
dev and test that stop growing near 10,000 examples — about 1% each at a million rows and
less beyond. The rule used: ``dev = test = min(round(0.2·m), max(10_000, round(0.01·m)))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fullcycle.errors import FullcycleError

SPLIT_NAMES = ("train", "train_dev", "dev", "test")

# Above this many examples the dev/test share stops at 20% and the 10,000-row cap takes over.
DEV_TEST_FLOOR = 10_000
SMALL_DATA_SHARE = 0.2  # 60/20/20 (seed 002)
LARGE_DATA_SHARE = 0.01  # ≈1% each at a million rows (seed 002)


def rule_size(m: int) -> int:
    """Dev (= test) size for `m` rows: ``min(round(0.2·m), max(10_000, round(0.01·m)))``."""
    return int(min(round(SMALL_DATA_SHARE * m), max(DEV_TEST_FLOOR, round(LARGE_DATA_SHARE * m))))


def split_sizes(
    m: int, dev_size: float | None = None, test_size: float | None = None
) -> tuple[int, int, int]:
    """Return (train, dev, test) row counts for `m` rows.

    `dev_size` / `test_size` override the rule: a number below 1 is a fraction of `m`,
    a whole number ≥ 1 is a row count.
    """
    if m < 3:
        raise FullcycleError(f"only {m} usable rows; a train/dev/test split needs at least 3")
    dev = _resolve(dev_size, m, "--dev-size")
    test = _resolve(test_size, m, "--test-size")
    if dev + test >= m:
        raise FullcycleError(
            f"dev ({dev}) + test ({test}) leave no training rows out of {m}; "
            "lower --dev-size/--test-size"
        )
    return m - dev - test, dev, test


def _resolve(size: float | None, m: int, flag: str) -> int:
    if size is None:
        return max(1, rule_size(m))
    if size <= 0:
        raise FullcycleError(f"{flag} must be positive (a fraction below 1 or a row count)")
    if size < 1:
        return max(1, int(round(size * m)))
    if size != int(size):
        raise FullcycleError(f"{flag} {size} is neither a fraction below 1 nor a row count")
    return int(size)


@dataclass(frozen=True)
class SplitOptions:
    """How to split: sizes, what to keep together, what to keep in order, the seed."""

    dev_size: float | None = None
    test_size: float | None = None
    group_column: str | None = None
    time_column: str | None = None
    stratify: bool = True
    seed: int = 0


@dataclass
class Split:
    """Row indices (into the combined table) of every split; test is locked."""

    indices: dict[str, np.ndarray]
    strategy: str
    notes: list[str] = field(default_factory=list)

    def sizes(self) -> dict[str, int]:
        return {name: int(len(self.indices.get(name, ()))) for name in SPLIT_NAMES}

    def to_dict(self) -> dict:
        return {
            "strategy": self.strategy,
            "sizes": self.sizes(),
            "indices": {k: [int(i) for i in v] for k, v in self.indices.items()},
            "locked": ["test"],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Split:
        indices = {k: np.asarray(v, dtype=np.int64) for k, v in data["indices"].items()}
        for name in SPLIT_NAMES:
            indices.setdefault(name, np.zeros(0, dtype=np.int64))
        return cls(indices=indices, strategy=data.get("strategy", "random"),
                   notes=list(data.get("notes", [])))


def _empty() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


def random_split(
    n: int, dev: int, test: int, strata: np.ndarray | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle `n` rows into train / dev / test, keeping each stratum's share.

    Stratified allocation by largest remainder, written here rather than sklearn's
    `train_test_split` because that one refuses classes with a single member.
    """
    positions = np.arange(n)
    if strata is None:
        order = rng.permutation(positions)
        return np.sort(order[dev + test:]), np.sort(order[:dev]), np.sort(order[dev:dev + test])
    test_ids, dev_ids, train_ids = [], [], []
    labels, inverse = np.unique(strata, return_inverse=True)
    members = [rng.permutation(positions[inverse == k]) for k in range(len(labels))]
    counts = np.array([len(x) for x in members], dtype=float)
    take_test = _largest_remainder(counts * test / n, test)
    take_dev = _largest_remainder(counts * dev / n, dev)
    for rows, t, d in zip(members, take_test, take_dev, strict=True):
        t, d = min(t, len(rows)), min(d, max(0, len(rows) - t))
        test_ids.append(rows[:t])
        dev_ids.append(rows[t:t + d])
        train_ids.append(rows[t + d:])
    short = dev - sum(len(x) for x in dev_ids)
    if short > 0:  # strata of one member went to test: dev takes rows from train instead
        pool = np.concatenate(train_ids)
        moved = rng.permutation(pool)[:short]
        dev_ids.append(moved)
        train_ids = [np.setdiff1d(pool, moved)]
    parts = (train_ids, dev_ids, test_ids)
    return tuple(np.sort(np.concatenate(x)).astype(np.int64) for x in parts)


def _largest_remainder(quotas: np.ndarray, total: int) -> np.ndarray:
    base = np.floor(quotas).astype(int)
    short = total - int(base.sum())
    if short > 0:
        order = np.argsort(-(quotas - base), kind="stable")
        base[order[:short]] += 1
    return base


def group_split(
    groups: np.ndarray, dev: int, test: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep every group in one split: whole groups, in random order, fill test then dev."""
    keys, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if len(keys) < 3:
        raise FullcycleError(
            f"the group column has only {len(keys)} distinct groups; a group split needs "
            "at least 3 — choose another --group-column or drop it"
        )
    order = rng.permutation(len(keys))
    assignment = np.zeros(len(keys), dtype=int)  # 0 train, 1 dev, 2 test
    filled = {1: 0, 2: 0}
    remaining = len(keys)
    for g in order:
        remaining -= 1
        target = 2 if filled[2] < test else 1 if filled[1] < dev else 0
        if target and remaining == 0 and not np.any(assignment == 0):
            target = 0  # never leave train without a group
        assignment[g] = target
        if target:
            filled[target] += counts[g]
    where = assignment[inverse]
    return tuple(np.flatnonzero(where == k).astype(np.int64) for k in (0, 1, 2))


def time_split(
    times: pd.Series, dev: int, test: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The latest rows go to test, the next latest to dev, the earliest to train."""
    parsed = times
    if not pd.api.types.is_numeric_dtype(times):
        parsed = pd.to_datetime(times, errors="coerce", format="mixed")
        if parsed.isna().mean() > 0.5:
            raise FullcycleError(
                "the time column holds values that are neither numbers nor dates; "
                "choose another --time-column"
            )
    order = np.argsort(parsed.to_numpy(), kind="stable")
    n = len(order)
    return (np.sort(order[: n - dev - test]).astype(np.int64),
            np.sort(order[n - dev - test: n - test]).astype(np.int64),
            np.sort(order[n - test:]).astype(np.int64))


def make_split(
    n_rows: int,
    options: SplitOptions,
    strata: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    times: pd.Series | None = None,
    n_target_rows: int = 0,
) -> Split:
    """Assign rows 0..n_rows-1 (plus `n_target_rows` dev-distribution rows after them).

    Without `n_target_rows`, train/dev/test come from one distribution and there is no
    train-dev set. With it (the seeds' "mobile photos": data from the distribution the
    model will meet), dev and test are drawn only from those rows — a quarter each,
    capped by the size rule — the rest of them join train, and a train-dev set the size of
    dev is carved from the original training rows, so variance (train → train-dev) and data
    mismatch (train-dev → dev) can be told apart (seed 003, "Mismatched training and dev/test
    set").
    """
    rng = np.random.default_rng(options.seed)
    total = n_rows + n_target_rows
    if n_target_rows:
        return _split_with_target_distribution(n_rows, n_target_rows, total, options, strata, rng)
    _, dev, test = split_sizes(n_rows, options.dev_size, options.test_size)
    if groups is not None:
        train_i, dev_i, test_i = group_split(groups, dev, test, rng)
        strategy = "group"
    elif times is not None:
        train_i, dev_i, test_i = time_split(times, dev, test)
        strategy = "time"
    else:
        use = strata if options.stratify else None
        train_i, dev_i, test_i = random_split(n_rows, dev, test, use, rng)
        strategy = "stratified" if use is not None else "random"
    return Split({"train": train_i, "train_dev": _empty(), "dev": dev_i, "test": test_i}, strategy)


def _split_with_target_distribution(
    n_rows: int, n_new: int, total: int, options: SplitOptions,
    strata: np.ndarray | None, rng: np.random.Generator,
) -> Split:
    if n_new < 4:
        raise FullcycleError(
            f"--dev-data has only {n_new} rows; it needs at least 4 to give dev and test rows"
        )
    cap = rule_size(total)
    dev = (_resolve(options.dev_size, total, "--dev-size") if options.dev_size
           else min(n_new // 4, cap))
    test = (_resolve(options.test_size, total, "--test-size") if options.test_size
            else min(n_new // 4, cap))
    if dev + test > n_new:
        raise FullcycleError(
            f"dev ({dev}) + test ({test}) exceed the {n_new} rows of --dev-data; lower them"
        )
    new_rows = np.arange(n_rows, total)
    new_strata = strata[n_rows:] if (strata is not None and options.stratify) else None
    rest_local, dev_local, test_local = random_split(n_new, dev, test, new_strata, rng)
    train_dev_size = min(dev, n_rows // 4)
    old_strata = strata[:n_rows] if (strata is not None and options.stratify) else None
    old_train, train_dev, _ = random_split(n_rows, train_dev_size, 0, old_strata, rng)
    train = np.sort(np.concatenate([old_train, new_rows[rest_local]])).astype(np.int64)
    notes = [f"{len(rest_local)} rows of --dev-data joined train; dev and test come only from "
             "--dev-data; train-dev comes from the original training rows"]
    return Split({"train": train, "train_dev": train_dev.astype(np.int64),
                  "dev": new_rows[dev_local], "test": new_rows[test_local]},
                 "dev-data", notes)


def duplicates_across_splits(features: pd.DataFrame, split: Split, limit: int = 20) -> dict:
    """Exact duplicate feature rows that fall in different splits (leakage), counted and listed.

    `count` is the number of distinct feature rows found in two or more splits; `rows` the
    number of table rows involved. Nothing is dropped: the user decides.
    """
    hashes = pd.util.hash_pandas_object(features, index=False).to_numpy()
    where = np.full(len(features), -1)
    for k, name in enumerate(SPLIT_NAMES):
        where[split.indices[name]] = k
    assigned = where >= 0
    frame = pd.DataFrame({"h": hashes[assigned], "s": where[assigned],
                          "row": np.flatnonzero(assigned)})
    spread = frame.groupby("h")["s"].nunique()
    leaking = spread[spread > 1].index
    involved = frame[frame["h"].isin(leaking)]
    examples = []
    for _, group in list(involved.groupby("h"))[:limit]:
        examples.append({"rows": [int(r) for r in group["row"]],
                         "splits": sorted({SPLIT_NAMES[s] for s in group["s"]})})
    return {"count": int(len(leaking)), "rows": int(len(involved)), "examples": examples}
