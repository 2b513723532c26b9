"""The error-analysis ceiling table from hand-tagged errors.

Seed 003, "Error Analysis": of a cat detector's 10% dev error, 50% of the misclassified
examples were blurry and 10% were dogs; so fixing blurry images can remove at most half of
the error (10% -> 5%), and fixing dogs at most a tenth (10% -> 9%). That upper bound is the
*ceiling* of a fix, and it is what decides which fix goes first.

A person fills the ``tags`` column of ``errors.csv`` (several tags per row separated by
``;`` ``,`` or ``|``; one row can be both blurry and dark). Rows whose tags cell is left
empty count as not reviewed, so a sample of 100 reviewed errors gives the same estimate as
reviewing all of them: shares are over the reviewed rows. Shares can add up to more than
100% because tags overlap, exactly as in the course's spreadsheet.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fullcycle.errors import FullcycleError

_SEPARATORS = re.compile(r"[;,|]")


@dataclass(frozen=True)
class CeilingRow:
    """One tag: how many reviewed errors carry it and the most that fixing it can remove."""

    tag: str
    count: int
    share_of_errors: float
    max_error_removed: float | None
    dev_error_at_best: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CeilingTable:
    """Ceiling of every tag, largest first, with how many errors were reviewed."""

    rows: list[CeilingRow]
    reviewed: int
    total_errors: int
    dev_error: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reviewed": self.reviewed,
            "total_errors": self.total_errors,
            "dev_error": self.dev_error,
            "rows": [r.to_dict() for r in self.rows],
            "notes": list(self.notes),
        }


def split_tags(cell: object) -> list[str]:
    """The distinct tags of one cell, in order, lower-cased and stripped."""
    if cell is None or (pd.api.types.is_scalar(cell) and pd.isna(cell)):
        return []
    seen: list[str] = []
    for tag in _SEPARATORS.split(str(cell)):
        tag = tag.strip().lower()
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def ceiling_table(
    tagged_csv: str | Path | pd.DataFrame, dev_error: float | None = None
) -> CeilingTable:
    """Share of reviewed dev errors per tag = the most that fixing that tag can remove.

    ``tagged_csv`` is an ``errors.csv`` with its ``tags`` column filled (a path or a
    DataFrame). With ``dev_error`` (the dev error the errors came from) each row also says
    how much absolute error fixing the tag removes at most, and the dev error at best.
    """
    if isinstance(tagged_csv, pd.DataFrame):
        frame = tagged_csv
    else:
        path = Path(tagged_csv)
        if not path.is_file():
            raise FullcycleError(
                f"tagged file {path} not found; pass the errors.csv you filled with tags"
            )
        try:
            frame = pd.read_csv(path, dtype={"tags": "string"}, keep_default_na=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise FullcycleError(
                f"cannot read tagged file {path} ({exc}); save it as a CSV with a 'tags' column"
            ) from exc
    if "tags" not in frame.columns:
        raise FullcycleError(
            "tagged file has no 'tags' column; fill the 'tags' column of the errors.csv "
            "that `fullcycle errors DIR` wrote"
        )
    tags_per_row = [split_tags(cell) for cell in frame["tags"].tolist()]
    reviewed = sum(1 for tags in tags_per_row if tags)
    if reviewed == 0:
        raise FullcycleError(
            "no row of the tagged file has a tag; write tags such as 'blurry;dog' in the "
            "'tags' column of the errors you reviewed"
        )
    counts: dict[str, int] = {}
    for tags in tags_per_row:
        for tag in tags:
            counts[tag] = counts.get(tag, 0) + 1
    rows = []
    for tag, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        share = count / reviewed
        removed = None if dev_error is None else dev_error * share
        rows.append(
            CeilingRow(
                tag=tag,
                count=count,
                share_of_errors=share,
                max_error_removed=removed,
                dev_error_at_best=None if dev_error is None else dev_error - removed,
            )
        )
    notes = []
    if reviewed < len(frame):
        notes.append(
            f"{len(frame) - reviewed} of {len(frame)} errors have no tag and count as not "
            f"reviewed; shares are estimated from the {reviewed} reviewed"
        )
    if reviewed < 50:
        # Binomial standard error of a share, at its largest (p = 0.5): 1 / (2 sqrt(n)).
        spread = 100 / (2 * reviewed**0.5)
        notes.append(
            f"only {reviewed} errors reviewed; each share is uncertain by up to "
            f"±{spread:.0f} percentage points (one standard error); review more to firm it up"
        )
    return CeilingTable(rows, reviewed, len(frame), dev_error, notes)
