"""Date columns: recognise them, and turn each into numbers a network can use.

A column of date strings ("2021-03-04", "04/03/2021 10:30") is not a category (every day is
new) nor an identifier: it carries the season, the weekday and a trend. So a date becomes
four numbers — year, month, day of the week (Monday 0) and days elapsed since the earliest
training date — which the preprocessing then standardizes like any numeric column. The
string format is guessed once on the training rows and stored, so new rows are read the
same way.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

# A value looks like a date when it starts with three digit groups split by - / or .
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
# ...and a column is dates when this share of its (sampled) values looks like one and parses.
DATE_SHARE = 0.9
_SAMPLE = 500
PARTS = ("year", "month", "day_of_week", "days")


@dataclass
class DateColumn:
    """A date column as fitted on the training rows (saved in ``preprocessing.json``)."""

    name: str
    format: str  # strftime format guessed on the training rows
    origin: str  # ISO date the elapsed-days feature counts from (earliest training date)


def date_format(column: pd.Series) -> str | None:
    """The strftime format of a column of date strings, or None when it is not one."""
    values = column.dropna().astype(str)
    if values.empty:
        return None
    sample = values.iloc[:_SAMPLE]
    if sample.str.match(_DATE_LIKE).mean() < DATE_SHARE:
        return None
    fmt = guess_datetime_format(sample.iloc[0])
    if fmt is None:
        return None
    if parse_dates(sample, fmt).notna().mean() < DATE_SHARE:
        return None
    return fmt


def parse_dates(column: pd.Series, fmt: str) -> pd.Series:
    """Timestamps (timezone-naive, UTC where a zone was given); NaT where a cell is no date."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(column.astype("object").where(column.notna(), None),
                                format=fmt, errors="coerce", utc="%z" in fmt or "%Z" in fmt)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    return parsed


def date_features(parsed: pd.Series, origin: pd.Timestamp, name: str) -> dict[str, pd.Series]:
    """``{name.year, name.month, name.day_of_week, name.days}`` as float Series (NaN for NaT)."""
    days = (parsed - origin) / pd.Timedelta(days=1)
    return {
        f"{name}.year": parsed.dt.year.astype("float64"),
        f"{name}.month": parsed.dt.month.astype("float64"),
        f"{name}.day_of_week": parsed.dt.day_of_week.astype("float64"),
        f"{name}.days": days.astype("float64"),
    }


def earliest(parsed: pd.Series) -> pd.Timestamp:
    """The origin of the elapsed-days feature: the earliest date seen (the training rows)."""
    value = parsed.min()
    return pd.Timestamp(value) if pd.notna(value) else pd.Timestamp(np.datetime64("1970-01-01"))
