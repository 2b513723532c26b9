"""Preprocessing fitted on the training split only, saved as JSON, re-applied identically.

Seed 002 ("Normalizing inputs"): use the *training* statistics to normalize dev and test
too — never statistics computed on dev or test. `Preprocessor` decides each column's kind
(`fullcycle.data.column_kinds`) and hands it to the module of that kind:

- numeric columns (`fullcycle.data.numeric`): standardized, heavy tails quantile-scaled,
  missing cells imputed with the training median plus a missing-indicator column;
- categorical columns (`fullcycle.data.categorical`): integer codes, 0 for the unseen;
- date strings (`fullcycle.data.dates`): year / month / weekday / elapsed days, then numeric;
- free text (named, or detected by `fullcycle.data.text.looks_like_text`): a tokenizer
  trained on the training rows (`fullcycle.data.text`).

Constant columns and row identifiers (integers unique per row and increasing) are dropped
with a note.

The output is one float32 matrix: scaled numeric columns, then missing indicators,
then categorical codes (stored as floats; the model embeds them), then each text column's
token ids, 0-padded to its length cap (also floats; the text model embeds them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fullcycle.data.categorical import (
    MISSING,
    CategoricalColumn,
    as_text,
    canonical,
    fit_categorical,
)
from fullcycle.data.column_kinds import column_kind, is_row_identifier
from fullcycle.data.dates import (
    PARTS,
    DateColumn,
    date_features,
    date_format,
    earliest,
    parse_dates,
)
from fullcycle.data.numeric import NumericColumn, finite, fit_numeric, parse_number, to_numeric
from fullcycle.data.text import TextColumn, TextOptions, looks_like_text
from fullcycle.errors import FullcycleError

FORMAT_VERSION = 1


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
            kind, values = column_kind(column)
            if kind == "numeric" and is_row_identifier(column):
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
                    values = finite(values)
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
        column, notes = fit_numeric(name, values, raw, infinite)
        self.notes += notes
        if column is None:
            self.dropped[name] = "constant"
        else:
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
        assert fmt is not None  # column_kind said "date"
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
        fitted, dropped, notes = fit_categorical(name, column)
        self.notes += notes
        if fitted is None:
            self.dropped[name] = dropped or "constant"
        else:
            self.categorical_columns.append(fitted)

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
            arr = to_numeric(source, col.name, strict).to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            nan = np.isnan(arr)
            numeric.append(col.scale(np.where(nan, col.median, arr)))
            if col.indicator:
                indicators.append(nan)
        for col in self.categorical_columns:
            lookup = col.lookup()
            text = as_text(frame[col.name]).fillna(MISSING)
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
                    numeric[i, j] = np.nan if value is None else parse_number(value, c.name)
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
                      [col.lookup() for col in self.categorical_columns])
            self.__dict__["_records"] = cached
        return cached

    def _code(self, j: int, value: object) -> int:
        lookup = self._record_constants()[4][j]
        missing = value is None or (isinstance(value, float) and value != value)
        return lookup.get(MISSING if missing else canonical(value), 0)

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
            out[col.name] = to_numeric(source, col.name, strict=False).astype(
                "float64").reset_index(drop=True)
        for col in self.categorical_columns:
            out[col.name] = as_text(frame[col.name]).astype("object").reset_index(drop=True)
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
                              "categories": [x for x in c.categories if x != MISSING]}
        for t in self.text_columns:
            schema[t.name] = {"type": "text", "max_tokens": t.max_length}
        return schema
