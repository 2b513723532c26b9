"""Preprocessing fitted on the training split only, saved as JSON, re-applied identically.

Seed 002 ("Normalizing inputs"): use the *training* mean and variance to normalize dev and
test too — never statistics computed on dev or test. Numeric columns are standardized,
missing values imputed with the training median plus a missing-indicator column,
categorical columns become integer codes with code 0 for values never seen in training,
date strings become year / month / weekday / elapsed days (`fullcycle.data.dates`), and
constant columns and row identifiers (integers unique per row and increasing) are dropped
with a note.

Heavy-tailed numeric columns (a few training rows tens of standard deviations out, as
rooms-per-household on a housing table) are not standardized: their mean and deviation are
set by those few rows, which then dominate a batch's loss and gradients. They get a
quantile-to-normal transform instead (scikit-learn's ``QuantileTransformer(
output_distribution="normal")``, reproduced here so the fitted quantiles are plain JSON
numbers in ``preprocessing.json`` and predicting needs no pickle), with a note saying why.

Free-text columns (named, or detected by `fullcycle.data.text.looks_like_text`) get a
tokenizer trained on the training rows (`fullcycle.data.text`) instead of category codes.

The output is one float32 matrix: scaled numeric columns, then missing indicators,
then categorical codes (stored as floats; the model embeds them), then each text column's
token ids, 0-padded to its length cap (also floats; the text model embeds them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri

from fullcycle.data.dates import PARTS, date_features, date_format, earliest, parse_dates
from fullcycle.data.text import TextColumn, TextOptions, looks_like_text
from fullcycle.errors import FullcycleError

# A text column whose non-missing values parse as numbers at least this often is numeric
# with a few malformed cells (coerced to missing, with a note), not a categorical column;
# so is one that is mostly numbers whose other cells are a few repeated codes ("unknown",
# "N/A", "?"): missing-value markers, not categories.
NUMERIC_PARSE_SHARE = 0.8
MOSTLY_NUMERIC_SHARE = 0.5
MAX_MISSING_CODES = 5
# An integer column unique per row and increasing along the file, over at least this many
# training rows, is a row identifier: a model could only learn the row order from it.
MIN_ROWS_FOR_IDENTIFIER = 20
# A text column with more distinct values than this share of rows (and > 50 of them) looks
# like an identifier or free text: it cannot generalize as a category, so it is dropped.
IDENTIFIER_SHARE = 0.5
# Categories beyond the most frequent MAX_CATEGORIES share the "unknown" code.
MAX_CATEGORIES = 1000
FORMAT_VERSION = 1

# A numeric column is heavy-tailed when a training value lies beyond HEAVY_TAIL_Z standard
# deviations (a normal sample stays within ~sqrt(2 ln n): 4.4 at 16k rows, 5.3 at a million)
# or its excess kurtosis exceeds HEAVY_TAIL_KURTOSIS (normal 0, exponential 6, Student t(5)
# 6, lognormal(0, 1) 110): one row 50σ out gives 50⁴/n, 390 at 16k rows. On small tables
# the kurtosis fires first: n rows cannot put a value beyond sqrt(n − 1) deviations.
HEAVY_TAIL_Z = 10.0
HEAVY_TAIL_KURTOSIS = 20.0
# Columns with fewer distinct training values are flags or small counts (a rare 0/1 flag
# sits 30σ out) and keep standardization: a quantile map would only rename their levels.
MIN_DISTINCT_FOR_QUANTILES = 10
# scikit-learn's QuantileTransformer defaults: 1000 quantiles, probabilities kept within
# [1e-7, 1 − 1e-7] so values beyond the training range map to ±5.2, never ±inf.
N_QUANTILES = 1000
_BOUNDS = 1e-7


@dataclass
class NumericColumn:
    name: str
    mean: float
    std: float
    median: float
    indicator: bool
    # "standard": (x − mean) / std; "quantile": through `quantiles` (training quantiles at
    # evenly spaced probabilities 0..1) to a standard normal
    scaling: str = "standard"
    quantiles: list[float] | None = None

    def scale(self, values: np.ndarray) -> np.ndarray:
        """Training-fitted scaling of float64 values without NaN."""
        if self.scaling == "quantile" and self.quantiles is not None:
            return quantile_to_normal(values, np.asarray(self.quantiles, dtype=np.float64))
        return (values - self.mean) / self.std


@dataclass
class DateColumn:
    name: str
    format: str  # strftime format guessed on the training rows
    origin: str  # ISO date the elapsed-days feature counts from (earliest training date)


@dataclass
class CategoricalColumn:
    name: str
    categories: list[str]  # code i+1 for categories[i]; 0 = unknown / unseen


@dataclass
class Preprocessor:
    """Fit on the training frame, then `transform` any frame with the same columns."""

    numeric: list[NumericColumn] = field(default_factory=list)
    categorical_columns: list[CategoricalColumn] = field(default_factory=list)
    dates: list[DateColumn] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)  # column -> why
    notes: list[str] = field(default_factory=list)
    input_columns: list[str] = field(default_factory=list)
    text_columns: list[TextColumn] = field(default_factory=list)
    # texts cut to their column's length cap by the last `transform` (column -> count)
    last_truncated: dict[str, int] = field(default_factory=dict, repr=False)

    # ---- fitting -------------------------------------------------------------------------
    @classmethod
    def fit(cls, frame: pd.DataFrame, features: list[str], *,
            text_columns: list[str] | None = None, text_options: TextOptions | None = None,
            detect_text: bool = True) -> Preprocessor:
        """Learn every statistic from `frame` (the training rows) alone.

        `text_columns` are tokenized whatever they hold; with `detect_text`, other columns
        of free text are found and tokenized too (otherwise they would be dropped as
        identifiers: thousands of distinct values cannot be categories).
        """
        pre = cls(input_columns=list(features))
        forced = set(text_columns or [])
        for name in features:
            column = frame[name]
            if column.isna().all():
                raise FullcycleError(
                    f"column '{name}' is empty in the training rows (all values missing); "
                    f"remove it from the file or pass --ignore {name}"
                )
            if name in forced or (detect_text and looks_like_text(column)):
                pre._fit_text(name, column, text_options, detected=name not in forced)
                continue
            kind, values = _column_kind(column)
            if kind == "numeric" and _row_identifier(column):
                pre.dropped[name] = "row identifier"
                pre.notes.append(f"column '{name}' is an integer unique per row and "
                                 "increasing along the file (a row id): left out")
            elif kind == "date":
                pre._fit_date(name, column)
            elif kind == "numeric":
                infinite = int(np.isinf(values.to_numpy(dtype=np.float64, na_value=np.nan)).sum())
                if infinite:
                    pre.notes.append(f"column '{name}': {infinite} infinite values treated "
                                     "as missing")
                    values = _finite(values)
                pre._fit_numeric(name, values, column, infinite)
            else:
                pre._fit_categorical(name, column)
        if not pre.numeric and not pre.categorical_columns and not pre.text_columns:
            raise FullcycleError(
                "no usable feature columns remain (all constant, empty or identifiers); "
                "check the file and the --target/--ignore flags"
            )
        return pre

    def _fit_numeric(self, name: str, values: pd.Series, raw: pd.Series,
                     infinite: int = 0) -> None:
        observed = values.dropna().to_numpy(dtype=np.float64)
        bad = int(raw.notna().sum() - values.notna().sum()) - infinite
        if bad:
            junk = raw[raw.notna() & values.isna()].astype(str).value_counts().index[:3]
            self.notes.append(
                f"column '{name}': {bad} non-numeric cells "
                f"({', '.join(repr(v) for v in junk)}) treated as missing"
            )
        if observed.size == 0 or np.nanstd(observed) == 0.0 and not values.isna().any():
            self.dropped[name] = "constant"
            self.notes.append(f"column '{name}' is constant in training rows: dropped")
            return
        std = float(np.std(observed))
        column = NumericColumn(
            name=name, mean=float(np.mean(observed)), std=std if std > 0 else 1.0,
            median=float(np.median(observed)), indicator=bool(values.isna().any()),
        )
        why = heavy_tail_reason(observed)
        if why:
            column.scaling, column.quantiles = "quantile", fit_quantiles(observed)
            self.notes.append(f"column '{name}' is heavy-tailed in the training rows ({why}): "
                              "quantile-transformed to a normal instead of standardized")
        self.numeric.append(column)

    def _fit_text(self, name: str, column: pd.Series, options: TextOptions | None,
                  detected: bool) -> None:
        text = column.astype("object").where(column.notna(), None)
        fitted = TextColumn.fit(name, text, options)
        self.text_columns.append(fitted)
        st = fitted.stats
        how = "detected as free text" if detected else "text (--text-column)"
        self.notes.append(
            f"column '{name}' {how}: {fitted.options['tokenizer']} vocabulary of "
            f"{st['vocabulary_size']} tokens learned on the training rows, texts cut at "
            f"{fitted.max_length} tokens (the 99th percentile; {st['truncated_training_texts']}"
            f" of {st['training_texts']} training texts cut), {st['missing']} missing and "
            f"{st['empty']} empty texts kept as their own tokens"
        )

    def _fit_date(self, name: str, column: pd.Series) -> None:
        fmt = date_format(column)
        assert fmt is not None  # _column_kind said "date"
        parsed = parse_dates(column, fmt)
        origin = earliest(parsed)
        self.dates.append(DateColumn(name=name, format=fmt, origin=origin.isoformat()))
        for part, values in date_features(parsed, origin, name).items():
            self._fit_numeric(part, values, values)
        self.notes.append(
            f"column '{name}' parsed as dates ({fmt}): year, month, day of week and days "
            f"since {origin:%Y-%m-%d}; if the rows are ordered in time, split with "
            f"--time-column {name}"
        )

    def _fit_categorical(self, name: str, column: pd.Series) -> None:
        text = _as_text(column)
        counts = text.value_counts(dropna=True)
        if len(counts) <= 1 and not text.isna().any():
            self.dropped[name] = "constant"
            self.notes.append(f"column '{name}' is constant in training rows: dropped")
            return
        if len(counts) > 50 and len(counts) > IDENTIFIER_SHARE * text.notna().sum():
            self.dropped[name] = "identifier"
            self.notes.append(
                f"column '{name}' has {len(counts)} distinct text values (an identifier or "
                "free text?): dropped"
            )
            return
        categories = [str(c) for c in counts.index[:MAX_CATEGORIES]]
        if text.isna().any():
            categories.append(_MISSING)
        if len(counts) > MAX_CATEGORIES:
            self.notes.append(
                f"column '{name}': only the {MAX_CATEGORIES} most frequent categories kept"
            )
        self.categorical_columns.append(CategoricalColumn(name=name, categories=categories))

    # ---- applying --------------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        names = [c.name for c in self.numeric]
        names += [f"{c.name}__missing" for c in self.numeric if c.indicator]
        names += [c.name for c in self.categorical_columns]
        for t in self.text_columns:
            names += [f"{t.name}__token{i}" for i in range(t.max_length)]
        return names

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def categorical(self) -> list[tuple[int, int]]:
        """(column index in the output matrix, cardinality including the unknown code)."""
        start = len(self.numeric) + sum(c.indicator for c in self.numeric)
        return [(start + i, len(c.categories) + 1) for i, c in enumerate(self.categorical_columns)]

    @property
    def n_tabular(self) -> int:
        """Width of the tabular part (numeric, indicators, categorical codes)."""
        return (len(self.numeric) + sum(c.indicator for c in self.numeric)
                + len(self.categorical_columns))

    @property
    def text(self) -> list[tuple[int, int, int]]:
        """(first column in the output matrix, length cap, vocabulary size) per text column."""
        out, start = [], self.n_tabular
        for t in self.text_columns:
            out.append((start, t.max_length, t.vocabulary_size))
            start += t.max_length
        return out

    def transform(self, frame: pd.DataFrame, *, strict: bool = False) -> np.ndarray:
        """Apply the training statistics to `frame` and return a float32 matrix.

        `strict` (used when predicting) refuses non-numeric text in a numeric column
        instead of treating it as missing.
        """
        derived = self._derived()
        needed = ([c.name for c in self.numeric if c.name not in derived]
                  + [d.name for d in self.dates] + [c.name for c in self.categorical_columns])
        needed += [t.name for t in self.text_columns]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise FullcycleError(
                f"missing column(s) {', '.join(missing)}; the model was trained with "
                f"{', '.join(needed)}"
            )
        sources = self._date_parts(frame, strict)
        numeric: list[np.ndarray] = []
        indicators: list[np.ndarray] = []
        codes: list[np.ndarray] = []
        for col in self.numeric:
            source = sources[col.name] if col.name in sources else frame[col.name]
            arr = _to_numeric(source, col.name, strict).to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            nan = np.isnan(arr)
            numeric.append(col.scale(np.where(nan, col.median, arr)))
            if col.indicator:
                indicators.append(nan)
        for col in self.categorical_columns:
            lookup = {c: i + 1 for i, c in enumerate(col.categories)}
            text = _as_text(frame[col.name]).fillna(_MISSING)
            codes.append(text.map(lookup).fillna(0).to_numpy(dtype=np.float64))
        columns = numeric + indicators + codes
        tokens = []
        self.last_truncated = {}
        for t in self.text_columns:
            ids, cut = t.encode(frame[t.name].astype("object").where(frame[t.name].notna(),
                                                                      None))
            tokens.append(ids.astype(np.float32))
            self.last_truncated[t.name] = cut
        tabular = (np.column_stack(columns).astype(np.float32) if columns
                   else np.zeros((len(frame), 0), dtype=np.float32))
        return np.concatenate([tabular, *tokens], axis=1) if tokens else tabular

    def _date_parts(self, frame: pd.DataFrame, strict: bool) -> dict[str, pd.Series]:
        """The numeric features derived from each date column of ``frame``."""
        parts: dict[str, pd.Series] = {}
        for d in self.dates:
            raw = frame[d.name]
            parsed = parse_dates(raw, d.format)
            bad = raw.notna() & parsed.isna()
            if strict and bad.any():
                raise FullcycleError(
                    f"column '{d.name}' must hold dates but holds {raw[bad].iloc[0]!r}; "
                    f"write them like the training data ({d.format}) or leave them blank"
                )
            parts.update(date_features(parsed, pd.Timestamp(d.origin), d.name))
        return parts

    def transform_records(self, rows: list[dict]) -> np.ndarray:
        """`transform(strict=True)` for rows given as dicts (the HTTP server's input).

        The same statistics and the same arithmetic, without building a DataFrame: pandas
        costs about a millisecond per one-row frame, most of a one-row request's budget.
        Values must already be typed (numbers or None for numeric columns, as the server's
        validation guarantees); a missing key is an error naming the column. Text columns
        need their tokenizer: a model with one goes through `transform` on a small frame.
        """
        if self.text_columns or self.dates:  # tokenizers / pandas date parsing: the
            # DataFrame path, same result
            missing = [c for c in self.used_columns if any(c not in row for row in rows)]
            if missing:
                raise FullcycleError(f"missing column {missing[0]!r}; the model was trained "
                                     f"with {', '.join(self.used_columns)}")
            return self.transform(pd.DataFrame.from_records(rows, columns=self.used_columns),
                                  strict=True)
        n = len(rows)
        numeric = np.empty((n, len(self.numeric)), dtype=np.float64)
        codes = np.empty((n, len(self.categorical_columns)), dtype=np.float64)
        try:
            for i, row in enumerate(rows):
                for j, c in enumerate(self.numeric):
                    value = row[c.name]
                    numeric[i, j] = np.nan if value is None else _number(value, c.name)
                for j, c in enumerate(self.categorical_columns):
                    codes[i, j] = self._code(j, row[c.name])
        except KeyError as exc:
            raise FullcycleError(f"missing column {exc.args[0]!r}; the model was trained "
                                 f"with {', '.join(self.used_columns)}") from None
        medians, means, stds, flagged, _ = self._record_constants()
        nan = ~np.isfinite(numeric)  # infinite counts as missing, as in `transform`
        out = np.empty((n, self.n_features), dtype=np.float32)
        k, f = len(self.numeric), len(flagged)
        filled = np.where(nan, medians, numeric)
        out[:, :k] = (filled - means) / stds
        for j, c in enumerate(self.numeric):  # heavy-tailed columns: their quantile map
            if c.scaling != "standard":
                out[:, j] = c.scale(filled[:, j])
        out[:, k:k + f] = nan[:, flagged]
        out[:, k + f:] = codes
        return out

    def _record_constants(self) -> tuple:
        """Statistics as arrays and category lookups, built once per preprocessor: the
        server applies them to every request."""
        cached = self.__dict__.get("_records")
        if cached is None:
            cached = (np.array([c.median for c in self.numeric], dtype=np.float64),
                      np.array([c.mean for c in self.numeric], dtype=np.float64),
                      np.array([c.std for c in self.numeric], dtype=np.float64),
                      np.array([i for i, c in enumerate(self.numeric) if c.indicator],
                               dtype=np.int64),
                      [{c: i + 1 for i, c in enumerate(col.categories)}
                       for col in self.categorical_columns])
            self.__dict__["_records"] = cached
        return cached

    def _code(self, j: int, value: object) -> int:
        lookup = self._record_constants()[4][j]
        missing = value is None or (isinstance(value, float) and value != value)
        return lookup.get(_MISSING if missing else _canonical(value), 0)

    @property
    def used_columns(self) -> list[str]:
        """The input columns the model reads (numeric, dates, categorical, then text); dropped
        ones aside."""
        derived = self._derived()
        return ([c.name for c in self.numeric if c.name not in derived]
                + [d.name for d in self.dates] + [c.name for c in self.categorical_columns]
                + [t.name for t in self.text_columns])

    def _derived(self) -> set[str]:
        """Names of the numeric features computed from date columns (not input columns)."""
        return {f"{d.name}.{part}" for d in self.dates for part in PARTS}

    def typed_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The used columns as the model sees their values: numeric columns as float64
        (malformed or infinite cells become NaN), categorical ones as canonical text (None
        when missing), text ones as written. Drift monitoring compares these, never raw CSV
        strings."""
        out = {}
        parts = self._date_parts(frame, strict=False)  # a date compares as its numbers
        for col in self.numeric:
            source = parts[col.name] if col.name in parts else frame[col.name]
            out[col.name] = _to_numeric(source, col.name, strict=False).astype(
                "float64").reset_index(drop=True)
        for col in self.categorical_columns:
            out[col.name] = _as_text(frame[col.name]).astype("object").reset_index(drop=True)
        for t in self.text_columns:  # kept as written: the tokenizer reads them
            out[t.name] = frame[t.name].astype("object").where(
                frame[t.name].notna(), None).reset_index(drop=True)
        return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))

    # ---- persistence -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "input_columns": self.input_columns,
            "numeric": [vars(c) for c in self.numeric],
            "categorical": [vars(c) for c in self.categorical_columns],
            "text": [t.to_dict() for t in self.text_columns],
            "dates": [vars(d) for d in self.dates],
            "dropped": self.dropped,
            "notes": self.notes,
            "feature_names": self.feature_names[: self.n_tabular],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessor:
        try:
            return cls(
                numeric=[NumericColumn(**c) for c in data["numeric"]],
                categorical_columns=[CategoricalColumn(**c) for c in data["categorical"]],
                dates=[DateColumn(**d) for d in data.get("dates", [])],
                dropped=dict(data.get("dropped", {})),
                notes=list(data.get("notes", [])),
                input_columns=list(data.get("input_columns", [])),
                text_columns=[TextColumn.from_dict(t) for t in data.get("text", [])],
            )
        except (KeyError, TypeError) as exc:
            raise FullcycleError(
                f"preprocessing JSON is malformed ({exc}); re-create it by training again"
            ) from None

    def input_schema(self) -> dict:
        """Columns a caller must send, with their kind and (for categories) known values."""
        derived = self._derived()
        schema = {c.name: {"type": "number"} for c in self.numeric if c.name not in derived}
        schema.update({d.name: {"type": "date", "format": d.format} for d in self.dates})
        for c in self.categorical_columns:
            schema[c.name] = {"type": "category",
                              "categories": [x for x in c.categories if x != _MISSING]}
        for t in self.text_columns:
            schema[t.name] = {"type": "text", "max_tokens": t.max_length}
        return schema


_MISSING = "<missing>"


def heavy_tail_reason(observed: np.ndarray) -> str | None:
    """Why the training values of a numeric column are heavy-tailed, or None if they are not
    (see HEAVY_TAIL_Z, HEAVY_TAIL_KURTOSIS, MIN_DISTINCT_FOR_QUANTILES)."""
    std = float(np.std(observed))
    if std == 0.0 or len(np.unique(observed)) < MIN_DISTINCT_FOR_QUANTILES:
        return None
    z = (observed - np.mean(observed)) / std
    max_z, kurtosis = float(np.max(np.abs(z))), float(np.mean(z**4) - 3.0)
    if max_z > HEAVY_TAIL_Z or kurtosis > HEAVY_TAIL_KURTOSIS:
        return f"max |z| {max_z:.1f}, excess kurtosis {kurtosis:.1f}"
    return None


def fit_quantiles(observed: np.ndarray, n_quantiles: int = N_QUANTILES) -> list[float]:
    """Training quantiles at ``min(n_quantiles, n)`` evenly spaced probabilities, as
    scikit-learn's QuantileTransformer computes them (made non-decreasing)."""
    references = np.linspace(0.0, 1.0, min(n_quantiles, len(observed)))
    quantiles = np.maximum.accumulate(np.nanpercentile(observed, references * 100))
    return [float(q) for q in quantiles]


def quantile_to_normal(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """scikit-learn's ``QuantileTransformer(output_distribution="normal")`` transform of one
    column: the empirical CDF (interpolated up and down so tied quantiles map to the middle of
    their plateau), then the standard normal's inverse CDF, clipped at ±5.2."""
    references = np.linspace(0.0, 1.0, len(quantiles))
    prob = 0.5 * (np.interp(values, quantiles, references)
                  - np.interp(-values, -quantiles[::-1], -references[::-1]))
    prob[values - _BOUNDS < quantiles[0]] = 0.0
    prob[values + _BOUNDS > quantiles[-1]] = 1.0
    bound = _BOUNDS - np.spacing(1)
    with np.errstate(divide="ignore"):
        return np.clip(ndtri(prob), ndtri(bound), ndtri(1 - bound))


def _column_kind(column: pd.Series) -> tuple[str, pd.Series]:
    """'numeric' (with the parsed values), 'date' or 'categorical'."""
    if pd.api.types.is_bool_dtype(column):
        return "numeric", column.astype("float64")
    if pd.api.types.is_numeric_dtype(column):
        return "numeric", column.astype("float64")
    parsed = pd.to_numeric(column, errors="coerce")
    present, numbers = int(column.notna().sum()), int(parsed.notna().sum())
    if present and numbers >= NUMERIC_PARSE_SHARE * present:
        return "numeric", parsed
    if present and numbers >= MOSTLY_NUMERIC_SHARE * present:
        codes = column[column.notna() & parsed.isna()].astype(str).str.strip().nunique()
        if codes <= MAX_MISSING_CODES:
            return "numeric", parsed
    if date_format(column) is not None:
        return "date", column
    return "categorical", column


def _row_identifier(column: pd.Series) -> bool:
    """An integer column, never missing, unique per row and monotonic along the rows."""
    if (len(column) < MIN_ROWS_FOR_IDENTIFIER or not pd.api.types.is_integer_dtype(column)
            or pd.api.types.is_bool_dtype(column) or column.isna().any()):
        return False
    steps = np.diff(column.to_numpy(dtype=np.float64))
    return bool((steps > 0).all() or (steps < 0).all())


def _as_text(column: pd.Series) -> pd.Series:
    """Categories compared as text, so 3 and "3" are one category across files."""
    text = column.astype("object").where(column.notna(), None)
    return text.map(lambda v: None if v is None else _canonical(v))


def _canonical(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(value: object, name: str) -> float:
    """A numeric cell of a record, parsed as `pd.to_numeric` would (bool counts as 0/1)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FullcycleError(f"column '{name}' must be numeric but holds {value!r}; fix that "
                             "value or send null") from None


def _finite(values: pd.Series) -> pd.Series:
    """±inf is treated as missing: one infinite cell would turn the column's mean (and so
    every standardized value) into NaN."""
    return values.where(np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan)))


def _to_numeric(column: pd.Series, name: str, strict: bool) -> pd.Series:
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return _finite(column.astype("float64"))
    parsed = pd.to_numeric(column, errors="coerce")
    bad = column.notna() & parsed.isna()
    if strict and bad.any():
        example = column[bad].iloc[0]
        raise FullcycleError(
            f"column '{name}' must be numeric but holds {example!r} "
            f"({int(bad.sum())} such values); fix those cells or leave them blank"
        )
    return _finite(parsed.astype("float64"))
