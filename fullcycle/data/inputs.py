"""What users hand to `prepare`, turned into one table and a list of target column names.

People arrive with scikit-learn habits: ``prepare(X_array, target=0)``, ``prepare((X, y))``,
``prepare(df, target=df["label"])``, integer column names, ``split={"dev_size": 0.1}``.
Each is accepted here and becomes what the rest of the data layer works on (a DataFrame
with string column names, target names, `SplitOptions`); anything else is refused with a
`FullcycleError` that says what to pass, at the door rather than as a traceback further in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.load import TableSource, load_table
from fullcycle.data.splits import SplitOptions
from fullcycle.errors import FullcycleError

# A target given as values (not a column name) becomes a column with this name.
TARGET_NAME = "target"

TargetSpec = str | int | Sequence[str | int] | pd.Series | np.ndarray | None
SplitSpec = SplitOptions | dict[str, Any] | None


def is_xy(source: Any) -> bool:
    """True for ``(X, y)``: a tuple of two, or a list of two whose first item is a table."""
    if isinstance(source, tuple):
        return len(source) == 2
    return (isinstance(source, list) and len(source) == 2
            and (isinstance(source[0], pd.DataFrame) or np.ndim(source[0]) == 2))


def table_and_targets(source: TableSource | tuple, target: TargetSpec, *,
                      name: str = "data") -> tuple[pd.DataFrame, list[str]]:
    """The table (with the target column in it) and the target column names."""
    if is_xy(source):
        if target is not None and not isinstance(target, str):
            raise FullcycleError(
                "(X, y) already holds the target; leave target= out (or give y's name)"
            )
        return _join_xy(source[0], source[1], name, target)
    if isinstance(source, tuple) or (isinstance(source, list) and not (
            source and all(isinstance(r, dict) for r in source))):
        raise FullcycleError(
            f"cannot read the {name} from a {type(source).__name__} of {len(source)} items; "
            "give a path to a CSV or Parquet file, a pandas DataFrame, a 2-D NumPy array, "
            "or (X, y)"
        )
    frame = load_table(source, name=name)
    if target is None:
        raise FullcycleError(
            "no target given; pass target= the name (or index) of the column to predict, "
            "or give (X, y)"
        )
    if isinstance(target, pd.Series | np.ndarray):
        return _attach_values(frame, target, name)
    return frame, target_names(target)


def target_names(target: TargetSpec) -> list[str]:
    """``"y"``, ``"a,b"``, ``3`` or ``["a", 3]`` as a list of column names (as strings)."""
    if isinstance(target, bool) or target is None:
        raise FullcycleError(_TARGET_HELP.format(got=repr(target)))
    if isinstance(target, str):
        names = [t.strip() for t in target.split(",")]
    elif isinstance(target, int | np.integer):
        names = [str(int(target))]
    elif isinstance(target, list | tuple) and all(
            isinstance(t, str | int | np.integer) and not isinstance(t, bool) for t in target):
        names = [str(t).strip() for t in target]
    else:
        raise FullcycleError(_TARGET_HELP.format(got=f"a {type(target).__name__} "
                                                 f"({_short(target)})"))
    names = [t for t in names if t]
    if not names:
        raise FullcycleError("no target column given; pass --target COLUMN")
    return names


_TARGET_HELP = ("target must be a column name or index, a list of them (multilabel), or a "
                "Series / array of labels; got {got}")


def split_options(split: SplitSpec) -> SplitOptions:
    """`SplitOptions` from itself, None (the seeds' rule) or a dict of its fields."""
    if split is None:
        return SplitOptions()
    if isinstance(split, SplitOptions):
        return split
    if isinstance(split, dict):
        fields = [f.name for f in dataclasses.fields(SplitOptions)]
        unknown = [k for k in split if k not in fields]
        if unknown:
            raise FullcycleError(
                f"split= has unknown key(s) {', '.join(map(str, unknown))}; the keys are: "
                f"{', '.join(fields)}"
            )
        return SplitOptions(**split)
    raise FullcycleError(
        f"split= takes a dict such as {{'dev_size': 0.1}} or SplitOptions, got "
        f"{type(split).__name__}"
    )


def _join_xy(X: Any, y: Any, name: str, target: str | None) -> tuple[pd.DataFrame, list[str]]:
    frame = load_table(X if isinstance(X, pd.DataFrame) else np.asarray(X), name=name)
    labels = _label_frame(y, frame, target)
    if len(labels) != len(frame):
        raise FullcycleError(
            f"X has {len(frame)} rows but y has {len(labels)}; give one label per row of X"
        )
    clash = [c for c in labels.columns if c in frame.columns]
    if clash:
        raise FullcycleError(
            f"y's name {clash[0]!r} is also a column of X; rename y or drop that column from X"
        )
    joined = pd.concat([frame, labels.set_axis(frame.index)], axis=1)
    return joined, [str(c) for c in labels.columns]


def _label_frame(y: Any, frame: pd.DataFrame, target: str | None) -> pd.DataFrame:
    """y as a DataFrame of target columns (one for a vector, several for multilabel)."""
    if isinstance(y, pd.DataFrame):
        labels = y.reset_index(drop=True)
        labels.columns = [str(c) for c in labels.columns]
        return labels
    if isinstance(y, pd.Series):
        name = target or (str(y.name) if y.name is not None else TARGET_NAME)
        return y.reset_index(drop=True).rename(name).to_frame()
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 1:
        return pd.DataFrame({target or _free_name(frame): values})
    if values.ndim == 2:
        return pd.DataFrame(values, columns=[f"{TARGET_NAME}_{j}" for j in range(values.shape[1])])
    raise FullcycleError(
        f"y has {values.ndim} dimensions; give one label per row (or rows of 0/1 labels)"
    )


def _attach_values(frame: pd.DataFrame, values: pd.Series | np.ndarray,
                   name: str) -> tuple[pd.DataFrame, list[str]]:
    """``target=df["label"]`` (a column of the frame) or labels from elsewhere."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    if series.ndim != 1:
        raise FullcycleError("target= values must be one label per row (a 1-D array)")
    column = str(series.name) if series.name is not None else None
    if column is not None and column in frame.columns:
        same = frame[column].reset_index(drop=True).equals(series.reset_index(drop=True))
        if not same:
            raise FullcycleError(
                f"target Series {column!r} differs from the {name}'s column {column!r}; pass "
                f"target={column!r} to use the column, or rename the Series"
            )
        return frame, [column]
    if len(series) != len(frame):
        raise FullcycleError(
            f"the {name} has {len(frame)} rows but target= holds {len(series)} labels; give "
            "one label per row"
        )
    column = column or _free_name(frame)
    return frame.assign(**{column: series.to_numpy()}), [column]


def _free_name(frame: pd.DataFrame) -> str:
    name = TARGET_NAME
    while name in frame.columns:
        name = f"_{name}"
    return name


def _short(value: Any) -> str:
    text = " ".join(repr(value).split())
    return text[:60] + ("…" if len(text) > 60 else "")
