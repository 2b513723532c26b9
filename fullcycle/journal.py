"""The journal: an SQLite record of every run, experiment, epoch and decision.

Why SQLite: one file that travels with the run, readable by any tool, safe under crashes
(WAL mode, one transaction per write), and fine for several processes appending at once.
The report and `fullcycle runs` read it back; nothing in it is pickled.
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
"""


def _dumps(obj: Any) -> str:
    return dumps(obj, indent=None)


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

    def _write(self, sql: str, params: tuple) -> int:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute(sql, params)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            return int(cur.lastrowid or 0)

    # ---- writers -----------------------------------------------------------------------------
    def start_run(self, command: str, config: dict | None = None) -> int:
        return self._write("INSERT INTO runs(command, config, started) VALUES (?, ?, ?)",
                           (command, _dumps(config or {}), time.time()))

    def end_run(self, run_id: int, status: str = "finished") -> None:
        self._write("UPDATE runs SET ended = ?, status = ? WHERE id = ?",
                    (time.time(), status, run_id))

    def start_experiment(self, run_id: int | None, name: str, config: dict | None = None,
                         seed: int | None = None, data_fingerprint: str | None = None,
                         reason: str = "", parent_id: int | None = None) -> int:
        return self._write(
            "INSERT INTO experiments(run_id, parent_id, name, config, seed, data_fingerprint,"
            " reason, started) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, parent_id, name, _dumps(config or {}), seed, data_fingerprint, reason,
             time.time()),
        )

    def log_epoch(self, experiment_id: int, epoch: int, metrics: dict) -> None:
        """Record one epoch; writing the same epoch again (after a resume) replaces it."""
        self._write("INSERT OR REPLACE INTO epochs(experiment_id, epoch, metrics, logged)"
                    " VALUES (?, ?, ?, ?)", (experiment_id, int(epoch), _dumps(metrics),
                                             time.time()))

    def end_experiment(self, experiment_id: int, status: str = "finished",
                       metrics: dict | None = None, kept: bool | None = None) -> None:
        self._write("UPDATE experiments SET ended = ?, status = ?, metrics = ?, kept = ?"
                    " WHERE id = ?", (time.time(), status, _dumps(metrics or {}),
                                      None if kept is None else int(kept), experiment_id))

    def log_decision(self, run_id: int | None, kind: str, observed: dict, action: str,
                     reason: str, experiment_id: int | None = None) -> int:
        return self._write(
            "INSERT INTO decisions(run_id, experiment_id, kind, observed, action, reason,"
            " logged) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, experiment_id, kind, _dumps(observed), action, reason, time.time()),
        )

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
