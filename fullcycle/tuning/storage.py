"""Where a study lives: SQLite in the run directory by default, PostgreSQL for many machines.

Every storage is an Optuna `RDBStorage` with heartbeats switched on, because that is what
makes the search fault tolerant: each running trial writes a heartbeat every
`heartbeat_s` seconds; a trial whose heartbeat is older than `grace_s` belongs to a worker
that died (SIGKILL, power loss, a pre-empted machine), so the next worker that looks marks
it failed and `RetryHeartbeatStaleTrialCallback` queues a copy with the same hyperparameters. No
trial stays "running" forever and nothing finished is lost. Optuna's journal-file storage
is not offered because it keeps no heartbeats, so a killed worker's trial would hang.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from fullcycle.errors import FullcycleError

#: A trial is retried at most this many times after its worker died, so a trial that kills
#: its worker every time (out of memory, a segfault in a kernel) cannot loop forever.
MAX_RETRY = 2

#: Default heartbeat period and grace period in seconds. Optuna recommends a grace period of
#: a few heartbeats so that a busy database does not fail a live trial.
HEARTBEAT_S = 5
GRACE_S = 20

_SCHEMES = ("sqlite:///", "postgresql://", "postgresql+psycopg2://", "postgres://")


def default_storage_url(run_dir: str | Path) -> str:
    """The embedded storage of a run: `search.sqlite` in the run directory (no server)."""
    return f"sqlite:///{Path(run_dir).resolve() / 'search.sqlite'}"


def normalize_url(url: str) -> str:
    """Check a storage URL at the boundary and return the form SQLAlchemy expects."""
    url = url.strip()
    if url.startswith("postgres://"):  # the form Heroku and libpq users often write
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None \
            and importlib.util.find_spec("psycopg2") is not None:
        # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; the project ships psycopg2
        url = "postgresql+psycopg2://" + url[len("postgresql://") :]
    if not url.startswith(_SCHEMES):
        raise FullcycleError(
            f"storage {url!r} is not a database URL; pass sqlite:///path/search.sqlite or "
            "postgresql://user:password@host:5432/dbname"
        )
    return url


def open_storage(
    url: str | optuna.storages.BaseStorage, *, heartbeat_s: int = HEARTBEAT_S,
    grace_s: int = GRACE_S
) -> optuna.storages.BaseStorage:
    """Open (creating tables if needed) a heartbeat-enabled storage at `url`.

    Raises `FullcycleError` with the fix when the database cannot be reached.
    """
    if isinstance(url, optuna.storages.BaseStorage):  # an in-memory study, shared in-process
        return url
    url = normalize_url(url)
    if heartbeat_s < 1 or grace_s <= heartbeat_s:
        raise FullcycleError(
            f"heartbeat {heartbeat_s}s / grace {grace_s}s is invalid; use a heartbeat of at "
            "least 1s and a grace period longer than the heartbeat"
        )
    engine_kwargs: dict = {"pool_pre_ping": True}
    sqlite = url.startswith("sqlite:///")
    if sqlite:
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        # Several worker processes share one file: wait for the lock instead of failing.
        engine_kwargs["connect_args"] = {"timeout": 60}
    else:
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_s,
                grace_period=grace_s,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
            )
    except ImportError as exc:
        raise FullcycleError(
            f"the driver for {url.split(':', 1)[0]} is missing ({exc}); "
            "install psycopg2-binary for PostgreSQL"
        ) from exc
    except Exception as exc:  # SQLAlchemy OperationalError and friends: server not reachable
        reason = " ".join(str(exc).split())[:200]
        raise FullcycleError(
            f"cannot open search storage {_redact(url)}: {reason}; check that the database "
            "server runs and the URL (host, port, user, password, database) is right"
        ) from exc
    if sqlite:
        _use_wal(storage)
    return storage


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _use_wal(storage: RDBStorage) -> None:
    """SQLite in WAL mode with NORMAL sync, as the journal uses it.

    A trial makes some 30 small commits (params, reports, attributes); with the default
    rollback journal each one waits for an fsync, which made the storage, not training,
    the cost of a short trial. In WAL mode readers do not block the writer either, which
    is what K workers on one file need. A crash cannot corrupt the file; a power cut may
    lose the last commits, which the heartbeat then treats like a dead worker's trial.
    """
    from sqlalchemy import event

    event.listen(storage.engine, "connect", _sqlite_pragmas)
    storage.engine.dispose()  # reconnect so every pooled connection gets the pragmas


def _redact(url: str | optuna.storages.BaseStorage) -> str:
    """Hide a password in a URL before it is printed."""
    if not isinstance(url, str):
        return "in memory"
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url
