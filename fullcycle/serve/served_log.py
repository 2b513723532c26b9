"""The served-row log: every input row the server predicted, for the drift monitor.

JSON Lines, one file per server process (``served-<UTC time>-<pid>.jsonl``), opened with
``O_APPEND`` and written with one ``write`` per request *before* the response is sent: the
lines are in the kernel's page cache when the client sees its answer, so a killed server
(SIGKILL, an OOM kill) loses at most the requests still in flight. Each line is
``{"time", "request", "row", "prediction"}``. The reader skips a torn last line (a write
interrupted by a crash or a full disk) and counts any other unreadable line instead of
failing, so a monitor run never dies on the log of a crashed server.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fullcycle.errors import FullcycleError

PATTERN = "served-*.jsonl"


class ServedLog:
    """Appends served rows to this process's file in ``directory``."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            self.path = self.directory / f"served-{stamp}-{os.getpid()}.jsonl"
            # owner-only: the log holds the inputs users sent, which may be personal data
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise FullcycleError(f"cannot write the served-row log in {self.directory} "
                                 f"({exc.strerror}); pass a writable --log-dir") from None
        self.rows_written = 0

    def append(self, request_id: str, rows: list[dict], predictions: list[dict]) -> None:
        """One line per row, all in one write (no partial requests between them)."""
        now = round(time.time(), 6)
        data = "".join(
            json.dumps({"time": now, "request": request_id, "row": row, "prediction": pred},
                       separators=(",", ":")) + "\n"
            for row, pred in zip(rows, predictions, strict=True)).encode("utf-8")
        view = memoryview(data)
        while view:  # a regular file takes it all at once; loop for the rare short write
            view = view[os.write(self._fd, view):]
        self.rows_written += len(rows)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@dataclass
class ServedRows:
    """What the log holds: the input rows, the predictions served, and what was skipped."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    skipped: int = 0
    torn: int = 0


def log_files(source: str | Path) -> list[Path]:
    """A log file, or every server's file in a log directory (oldest first)."""
    path = Path(source)
    if path.is_dir():
        files = sorted(path.glob(PATTERN), key=lambda p: (p.stat().st_mtime, p.name))
        if not files:
            raise FullcycleError(f"{path} holds no served-row logs ({PATTERN}); pass the "
                                 f"--log-dir of fullcycle serve, or a CSV/Parquet file")
        return files
    if not path.is_file():
        raise FullcycleError(f"file not found: {path}; check the path")
    return [path]


def read_served(source: str | Path, last: int | None = None) -> ServedRows:
    """Read every complete line of the log(s); ``last`` keeps only the most recent rows."""
    out = ServedRows(files=log_files(source))
    for path in out.files:
        for record in _records(path, out):
            out.rows.append(record["row"])
            out.predictions.append(record.get("prediction") or {})
    if last is not None:
        out.rows, out.predictions = out.rows[-last:], out.predictions[-last:]
    return out


def _records(path: Path, out: ServedRows) -> Iterator[dict]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FullcycleError(f"cannot read {path} ({exc.strerror}); check its "
                             "permissions") from None
    lines = data.split(b"\n")
    if lines and lines[-1]:  # no newline at the end: a write cut short by a crash
        lines.pop()
        out.torn += 1
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            out.skipped += 1
            continue
        if isinstance(record, dict) and isinstance(record.get("row"), dict):
            yield record
        else:
            out.skipped += 1
