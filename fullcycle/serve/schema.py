"""The HTTP server's request validation, generated from the bundle's input schema.

pydantic checks every row against the columns the model was trained on (numbers or null for
numeric columns, text / numbers / null for categories, text / null for free text) and its
errors become one line that names the row, the column and the fix, the way `fullcycle
predict` words them. Columns the model does not know are ignored and reported, as MLflow's
scoring server does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Required

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

from fullcycle.data.dates import PARTS
from fullcycle.data.preprocess import Preprocessor

NumberCell = float | None
DateCell = str | None
CategoryCell = str | int | float | bool | None
TextCell = str | None  # a free-text column: its tokenizer reads the text as sent
SHOWN_COLUMNS = 12


class RequestError(Exception):
    """A request the server refuses: an HTTP status and the one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(" ".join(message.split()))
        self.status = status
        self.message = " ".join(message.split())


@dataclass(frozen=True)
class ParsedRequest:
    """A valid /predict body: typed rows, and the unknown columns that were ignored."""

    rows: list[dict[str, Any]]
    ignored: list[str]


class RowSchema:
    """Validates /predict bodies against the columns of one preprocessor."""

    def __init__(self, preprocessor: Preprocessor) -> None:
        derived = {f"{d.name}.{part}" for d in preprocessor.dates for part in PARTS}
        self.numeric = [c.name for c in preprocessor.numeric if c.name not in derived]
        self.dates = [d.name for d in preprocessor.dates]  # sent as text, parsed like training
        self.categorical = [c.name for c in preprocessor.categorical_columns]
        self.text = [t.name for t in preprocessor.text_columns]
        self.columns = self.numeric + self.dates + self.categorical + self.text
        self._known = set(self.columns)
        fields: dict[str, Any] = {name: Required[NumberCell] for name in self.numeric}
        fields.update({name: Required[DateCell] for name in self.dates})
        fields.update({name: Required[CategoryCell] for name in self.categorical})
        fields.update({name: Required[TextCell] for name in self.text})
        self.row_type = TypedDict("Row", fields)  # type: ignore[operator]
        self._rows = TypeAdapter(list[self.row_type])  # type: ignore[name-defined]

    def json_schema(self) -> dict:
        """The OpenAPI description of a /predict body (shown at /docs)."""
        row = TypeAdapter(self.row_type).json_schema()
        return {"type": "object", "properties": {
            "rows": {"type": "array", "items": row, "minItems": 1},
            "row": row}, "oneOf": [{"required": ["rows"]}, {"required": ["row"]}]}

    def parse(self, body: bytes, max_rows: int) -> ParsedRequest:
        """Body bytes -> typed rows; `RequestError` 400 / 413 / 422 otherwise."""
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestError(400, f"the body is not valid JSON ({exc}); send "
                               '{"rows": [{"column": value, ...}]}') from None
        rows = _rows_of(doc)
        if len(rows) > max_rows:
            raise RequestError(413, f"{len(rows)} rows is more than this server takes per "
                               f"request ({max_rows}); send fewer rows per request or start "
                               f"the server with a larger --max-rows")
        try:
            typed = self._rows.validate_python(rows)
        except ValidationError as exc:
            raise RequestError(422, self._explain(exc)) from None
        ignored = sorted({key for row in rows for key in row if key not in self._known})
        return ParsedRequest(typed, ignored)

    def _explain(self, exc: ValidationError) -> str:
        """The first problem in words (and how many more there are)."""
        errors = exc.errors(include_url=False)
        first = errors[0]
        loc = first["loc"]
        problems = {e["loc"][:2] for e in errors}
        more = f" ({len(problems) - 1} more problems)" if len(problems) > 1 else ""
        where = f"row {loc[0]}"
        if len(loc) < 2:
            return (f"{where} is {_json_type(first['input'])}, not an object; send each "
                    f'row as {{"column": value, ...}}{more}')
        column = loc[1]
        if first["type"] == "missing":
            absent = [e["loc"][1] for e in errors
                      if e["type"] == "missing" and e["loc"][0] == loc[0] and len(e["loc"]) > 1]
            shown = ", ".join(f"'{c}'" for c in absent[:SHOWN_COLUMNS])
            if len(absent) > SHOWN_COLUMNS:
                shown += f", … ({len(absent)} in all)"
            others = {e["loc"][:2] for e in errors} - {(loc[0], c) for c in absent}
            more = f" ({len(others)} more problems in other rows)" if others else ""
            return (f"{where} lacks column{'s' if len(absent) > 1 else ''} {shown}; every row "
                    f"needs the {len(self.columns)} columns the model was trained on (GET "
                    f"/metadata lists them){more}")
        value = _short(first["input"])
        if column in self._known and column in self.numeric:
            return (f"{where}, column '{column}': {value} is not a number; send a number, or "
                    f"null for a missing value{more}")
        if column in self.dates:
            return (f"{where}, column '{column}': {value} is not a date; send it as text "
                    f"written like the training data, or null{more}")
        return (f"{where}, column '{column}': {_json_type(first['input'])} is not a "
                f"category; send text, a number, or null{more}")


def _rows_of(doc: Any) -> list[Any]:
    if not isinstance(doc, dict) or ("rows" in doc) == ("row" in doc):
        raise RequestError(422, 'the body is not an object with "rows" (a list of rows) or '
                           '"row" (one row); send {"rows": [{"column": value, ...}]}')
    if "row" in doc:
        return [doc["row"]]
    rows = doc["rows"]
    if not isinstance(rows, list):
        raise RequestError(422, f'"rows" is {_json_type(rows)}, not a list; send '
                           '{"rows": [{"column": value, ...}]}')
    if not rows:
        raise RequestError(422, '"rows" is empty; send at least one row')
    return rows


def _json_type(value: Any) -> str:
    """The JSON type of a parsed value, with its article: "an object", "a list"."""
    name = {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null",
            int: "number", float: "number"}.get(type(value), type(value).__name__)
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _short(value: Any, width: int = 40) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[:width] + "…"
