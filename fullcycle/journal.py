"""The journal: an SQLite record of every run, experiment, epoch and decision.

Why SQLite: one file that travels with the run, readable by any tool, safe under crashes
(WAL mode, one transaction per write), and fine for several processes appending at once.
The report and `fullcycle runs` read it back; nothing in it is pickled.

Two tables serve `fullcycle run --resume` (`fullcycle.recipe.replay`): ``records``, the
autopilot's tape of what it observed (clock readings, step results, experiment outcomes), in
order, each written in the same transaction as the journal row it belongs to; and
``run_clock``, the seconds of budget a run has spent, so a resumed run gets only what is left.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from fullcycle.errors import FullcycleError
from fullcycle.jsonutil import dumps

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    config TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    status TEXT NOT NULL DEFAULT 'running'
);
CREATE TABLE IF NOT EXISTS experiments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER REFERENCES runs(id),
    parent_id INTEGER REFERENCES experiments(id),
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    seed INTEGER,
    data_fingerprint TEXT,
    reason TEXT,
    started REAL NOT NULL,
    ended REAL,
    status TEXT NOT NULL DEFAULT 'running',
    metrics TEXT,
    kept INTEGER
);
CREATE TABLE IF NOT EXISTS epochs (
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    epoch INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    logged REAL NOT NULL,
    PRIMARY KEY (experiment_id, epoch)
);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER REFERENCES runs(id),
    experiment_id INTEGER REFERENCES experiments(id),
    kind TEXT NOT NULL,
    observed TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    logged REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    kind TEXT NOT NULL,
    ref INTEGER,
    doc TEXT NOT NULL,
    logged REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS run_clock (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    spent REAL NOT NULL,
    updated REAL NOT NULL
);
"""

#: A replay record: (kind, doc). Docs keep inf and NaN exactly (a diverged experiment's
#: errors are infinite), unlike the journal's other JSON, which writes them as null.
Record = tuple[str, dict]
_FIRST_ROW = object()  # in a statement's parameters: the row the transaction's first inserted
_SET_SPENT = ("INSERT OR REPLACE INTO run_clock(run_id, spent, updated) VALUES (?, ?, ?)",)


def _dumps(obj: Any) -> str:
    return dumps(obj, indent=None)


def record_dumps(obj: Any) -> str:
    """JSON that keeps inf and NaN (Python's ``Infinity`` / ``NaN``) and turns NumPy values
    into Python ones, so a replayed number equals the recorded one exactly."""
    def plain(value: Any) -> Any:
        if hasattr(value, "tolist") and callable(value.tolist):
            return value.tolist()
        if isinstance(value, tuple | set):
            return list(value)
        if isinstance(value, Path):
            return str(value)
        raise TypeError(f"{type(value).__name__} is not JSON-able")

    return json.dumps(obj, default=plain, allow_nan=True)


class Journal:
    """Append-only record of a run directory's history (see module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False,
                                         isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise FullcycleError(
                f"journal {self.path} is not a readable SQLite database ({exc}); "
                "move it away or use another --out"
            ) from None

    def close(self) -> None:
        self._conn.close()

    def _write(self, sql: str, params: tuple, *, run_id: int | None = None,
               record: Record | None = None, ref: int | None = None) -> int:
        """One transaction: the statement, and with `record` the replay record that goes
        with it (``ref`` the row it names; default the row the statement inserted)."""
        statements = [(sql, params)]
        if record is not None:
            kind, doc = record
            statements.append(("INSERT INTO records(run_id, kind, ref, doc, logged)"
                               " VALUES (?, ?, ?, ?, ?)",
                               (run_id, kind, _FIRST_ROW if ref is None else ref,
                                record_dumps(doc), time.time())))
        return self._transaction(statements)

    def _transaction(self, statements: list[tuple[str, tuple]]) -> int:
        """Run `statements` in one transaction; returns the row the first one inserted
        (`_FIRST_ROW` in a later statement's parameters stands for it)."""
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                first = None
                for sql, params in statements:
                    cur.execute(sql, tuple(first if p is _FIRST_ROW else p for p in params))
                    if first is None:
                        first = int(cur.lastrowid or 0)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            return int(first or 0)

    # ---- writers -----------------------------------------------------------------------------
    def start_run(self, command: str, config: dict | None = None) -> int:
        return self._write("INSERT INTO runs(command, config, started) VALUES (?, ?, ?)",
                           (command, _dumps(config or {}), time.time()))

    def end_run(self, run_id: int, status: str = "finished") -> None:
        self._write("UPDATE runs SET ended = ?, status = ? WHERE id = ?",
                    (time.time(), status, run_id))

    def reopen_run(self, run_id: int) -> None:
        """A resumed run is running again (its end and status are cleared)."""
        self._write("UPDATE runs SET ended = NULL, status = 'running' WHERE id = ?", (run_id,))

    def start_experiment(self, run_id: int | None, name: str, config: dict | None = None,
                         seed: int | None = None, data_fingerprint: str | None = None,
                         reason: str = "", parent_id: int | None = None,
                         record: Record | None = None) -> int:
        return self._write(
            "INSERT INTO experiments(run_id, parent_id, name, config, seed, data_fingerprint,"
            " reason, started) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, parent_id, name, _dumps(config or {}), seed, data_fingerprint, reason,
             time.time()), run_id=run_id, record=record,
        )

    def log_epoch(self, experiment_id: int, epoch: int, metrics: dict) -> None:
        """Record one epoch; writing the same epoch again (after a resume) replaces it."""
        self._write("INSERT OR REPLACE INTO epochs(experiment_id, epoch, metrics, logged)"
                    " VALUES (?, ?, ?, ?)", (experiment_id, int(epoch), _dumps(metrics),
                                             time.time()))

    def end_experiment(self, experiment_id: int, status: str = "finished",
                       metrics: dict | None = None, kept: bool | None = None, *,
                       run_id: int | None = None, record: Record | None = None) -> None:
        self._write("UPDATE experiments SET ended = ?, status = ?, metrics = ?, kept = ?"
                    " WHERE id = ?", (time.time(), status, _dumps(metrics or {}),
                                      None if kept is None else int(kept), experiment_id),
                    run_id=run_id, record=record, ref=experiment_id)

    def restart_experiment(self, experiment_id: int, after_epoch: int = 0) -> None:
        """An experiment a kill interrupted starts again from epoch `after_epoch` (its last
        checkpoint, 0 without one): the epochs and training decisions journaled after that
        epoch belonged to the lost attempt and are dropped, so none is doubled or stale."""
        self._transaction([
            ("DELETE FROM epochs WHERE experiment_id = ? AND epoch > ?",
             (experiment_id, after_epoch)),
            ("DELETE FROM decisions WHERE experiment_id = ? AND"
             " COALESCE(json_extract(observed, '$.epoch'), 0) > ?", (experiment_id, after_epoch)),
            ("UPDATE experiments SET status = 'running', ended = NULL WHERE id = ?",
             (experiment_id,)),
        ])

    def log_decision(self, run_id: int | None, kind: str, observed: dict, action: str,
                     reason: str, experiment_id: int | None = None,
                     record: Record | None = None) -> int:
        return self._write(
            "INSERT INTO decisions(run_id, experiment_id, kind, observed, action, reason,"
            " logged) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, experiment_id, kind, _dumps(observed), action, reason, time.time()),
            run_id=run_id, record=record,
        )

    def log_record(self, run_id: int, kind: str, doc: dict, spent: float | None = None) -> None:
        """Append one replay record; with `spent`, the run's spent seconds too (one
        transaction)."""
        statements = [("INSERT INTO records(run_id, kind, doc, logged) VALUES (?, ?, ?, ?)",
                       (run_id, kind, record_dumps(doc), time.time()))]
        if spent is not None:
            statements.append(_SET_SPENT + ((run_id, float(spent), time.time()),))
        self._transaction(statements)

    def drop_records(self, run_id: int, from_id: int) -> None:
        """Forget the replay records from `from_id` on (a replay that left them behind)."""
        self._write("DELETE FROM records WHERE run_id = ? AND id >= ?", (run_id, from_id))

    def set_spent(self, run_id: int, seconds: float) -> None:
        """The seconds of budget `run_id` has spent so far (replaces the last value)."""
        self._transaction([_SET_SPENT + ((run_id, float(seconds), time.time()),)])

    # ---- readers -----------------------------------------------------------------------------
    def _rows(self, sql: str, params: tuple = ()) -> list[dict]:
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        out = []
        for row in rows:
            item = dict(row)
            for key in ("config", "metrics", "observed"):
                if key in item and isinstance(item[key], str):
                    item[key] = json.loads(item[key])
            if "kept" in item and item["kept"] is not None:
                item["kept"] = bool(item["kept"])
            out.append(item)
        return out

    def runs(self) -> list[dict]:
        return self._rows("SELECT * FROM runs ORDER BY id")

    def experiments(self, run_id: int | None = None) -> list[dict]:
        if run_id is None:
            return self._rows("SELECT * FROM experiments ORDER BY id")
        return self._rows("SELECT * FROM experiments WHERE run_id = ? ORDER BY id", (run_id,))

    def epochs(self, experiment_id: int) -> list[dict]:
        rows = self._rows("SELECT epoch, metrics, logged FROM epochs WHERE experiment_id = ?"
                          " ORDER BY epoch", (experiment_id,))
        return [{"epoch": r["epoch"], **r["metrics"]} for r in rows]

    def decisions(self, run_id: int | None = None) -> list[dict]:
        if run_id is None:
            return self._rows("SELECT * FROM decisions ORDER BY id")
        return self._rows("SELECT * FROM decisions WHERE run_id = ? ORDER BY id", (run_id,))

    def records(self, run_id: int) -> list[dict]:
        """The replay records of `run_id` in the order they were written."""
        with self._lock:
            rows = self._conn.execute("SELECT id, kind, ref, doc, logged FROM records"
                                      " WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        return [{**dict(r), "doc": json.loads(r["doc"])} for r in rows]

    def spent(self, run_id: int) -> float | None:
        """The seconds of budget `run_id` has spent, as last written (None: never)."""
        with self._lock:
            row = self._conn.execute("SELECT spent FROM run_clock WHERE run_id = ?",
                                     (run_id,)).fetchone()
        return None if row is None else float(row["spent"])


def experiment_error(metrics: Any, split: str) -> float | None:
    """An experiment's error on ``split`` from its journaled metrics, whichever shape the
    command wrote (``{"dev_error": x}``, ``{"dev": x}`` or ``{"errors": {"dev": x}}``)."""
    if not isinstance(metrics, dict):
        return None
    nested = metrics.get("errors") if isinstance(metrics.get("errors"), dict) else {}
    for value in (metrics.get(f"{split}_error"), metrics.get(split), nested.get(split)):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None
