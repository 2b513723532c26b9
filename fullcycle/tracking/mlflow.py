"""MLflow tracking: a live callback for fits, and a run directory logged as MLflow runs.

Uses MLflow's own client (`mlflow.MlflowClient`) against any tracking URI it accepts: a
local SQLite store (MLflow's default, ``sqlite:///mlflow.db``), a server (``http://...``),
Databricks. Names follow MLflow's conventions: configuration as params, metrics per epoch
with ``step=epoch``, nested runs carry the ``mlflow.parentRunId`` tag.

The backend store is created once, under a file lock, before anything is written
(`ensure_store`): a new SQLite store is created by running MLflow's schema migrations, and
several processes doing that at once fail (mlflow/mlflow#4123) — parallel `fullcycle run`
processes sharing one ``MLFLOW_TRACKING_URI`` would.
"""

from __future__ import annotations

import fcntl
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from fullcycle.engine.events import Callback
from fullcycle.errors import FullcycleError
from fullcycle.tracking import DEFAULT_EXPERIMENT, flatten, numeric_items, require

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mlflow import MlflowClient

    from fullcycle.engine.loop import TrainingLoop

MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value (longer values are cut)
MAX_TAG_LENGTH = 8000


def _sqlite_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "sqlite":
        return None
    # sqlite:///relative.db and sqlite:////absolute.db: the path after the third slash
    return Path(unquote(parsed.path)[1:])


@contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """Serialize store creation for a local SQLite store (a no-op for servers)."""
    path = _sqlite_path(uri)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".fullcycle-lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_store(uri: str) -> MlflowClient:
    """A client on ``uri`` whose backend store exists (created here, once, if it did not)."""
    require("mlflow", "MLflow tracking")
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        with _store_lock(uri):
            client = MlflowClient(uri)
            client.search_experiments(max_results=1)  # forces the store (and its tables) now
    except MlflowException as exc:
        raise FullcycleError(f"MLflow tracking URI {uri!r} is not usable "
                             f"({' '.join(str(exc).split())[:200]}); fix MLFLOW_TRACKING_URI "
                             "or drop --mlflow") from None
    return client


def experiment_id(client: MlflowClient, name: str) -> str:
    """The id of experiment ``name``, created when it does not exist yet."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:  # created meanwhile by another process
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _params(values: dict[str, Any]) -> list:
    from mlflow.entities import Param

    return [Param(k[:250], v[:MAX_PARAM_LENGTH]) for k, v in flatten(values).items()]


def _metrics(values: dict[str, Any], step: int, prefix: str = "") -> list:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(f"{prefix}{k}", v, now, step) for k, v in numeric_items(values).items()]


def _tags(values: dict[str, str]) -> list:
    from mlflow.entities import RunTag

    return [RunTag(k[:250], str(v)[:MAX_TAG_LENGTH]) for k, v in values.items()]


def _decision_tags(decisions: list[dict[str, Any]]) -> dict[str, str]:
    """``decision.03.experiment`` -> "what was done — why" (tags keep the order in the key)."""
    return {f"decision.{i:02d}.{d['kind']}": f"{d['action']} — {d['reason']}"
            for i, d in enumerate(decisions, 1)}


class MLflowCallback(Callback):
    """Log one fit as an MLflow run: params at the start, metrics every epoch, the training
    decisions as tags at the end (status FAILED when the fit raised).

    A fit resumed from a checkpoint continues the same MLflow run (its id is part of the
    checkpointed state). ``run_id`` is set once the fit started, for logging artifacts after.
    """

    order = 960  # after early stopping and the guards wrote the epoch's decisions
    rank_zero_only = True

    def __init__(self, tracking_uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT,
                 run_name: str | None = None, params: dict[str, Any] | None = None,
                 tags: dict[str, str] | None = None, parent_run_id: str | None = None) -> None:
        require("mlflow", "MLflowCallback")
        import mlflow

        self.uri = tracking_uri or mlflow.get_tracking_uri()
        self.experiment, self.run_name = experiment, run_name
        self.params, self.tags, self.parent_run_id = params or {}, tags or {}, parent_run_id
        self.run_id: str | None = None
        self._client: MlflowClient | None = None

    def before_fit(self, loop: TrainingLoop) -> None:
        self._client = client = ensure_store(self.uri)
        if self.run_id is not None:  # resumed: the checkpoint named the run
            client.update_run(self.run_id, status="RUNNING")
            return
        tags = dict(self.tags)
        if self.parent_run_id:
            tags["mlflow.parentRunId"] = self.parent_run_id
        run = client.create_run(experiment_id(client, self.experiment), tags=tags,
                                run_name=self.run_name)
        self.run_id = run.info.run_id
        client.log_batch(self.run_id, params=_params({**describe_fit(loop), **self.params}))
        for row in loop.history:  # epochs a resumed fit already had
            client.log_batch(self.run_id, metrics=_metrics(row, row["epoch"]))

    def after_epoch(self, loop: TrainingLoop) -> None:
        assert self._client is not None and self.run_id is not None
        self._client.log_batch(self.run_id, metrics=_metrics(loop.logs, loop.epoch))

    def after_fit(self, loop: TrainingLoop) -> None:
        if self._client is None or self.run_id is None:
            return
        tags = _decision_tags(loop.decisions)
        if loop.best_epoch is not None:
            tags["best_epoch"] = str(loop.best_epoch)
        if tags:
            self._client.log_batch(self.run_id, tags=_tags(tags))
        self._client.set_terminated(self.run_id, "FAILED" if loop.error else "FINISHED")

    def state_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.run_id = state.get("run_id")


def describe_fit(loop: TrainingLoop) -> dict[str, Any]:
    """A fit's configuration as the loop knows it (what MLflow shows as params)."""
    group = loop.optimizer.param_groups[0]
    described = {
        "optimizer": type(loop.optimizer).__name__, "lr": group.get("lr"),
        "epochs": loop.epochs, "steps_per_epoch": loop.steps_per_epoch,
        "batch_size": getattr(loop.train, "batch_size", None),
        "train_examples": loop.train.n_examples,
        "loss": loop.loss_spec if isinstance(loop.loss_spec, str) else "custom",
        "metric": loop.metric if isinstance(loop.metric, str) else "custom",
        "task": loop.task, "model": type(loop.model).__name__,
        "parameters": sum(p.numel() for p in loop.model.parameters()),
        "precision": loop.precision or "32",
    }
    return {k: v for k, v in described.items() if v is not None}


# ------------------------------------------------------------------ a whole run directory
def log_run_directory(run_dir: str | Path, uri: str,
                      experiment: str = DEFAULT_EXPERIMENT) -> str:
    """Log a finished run directory (its latest journal run) to MLflow; the parent run id."""
    from fullcycle.rundir import RunDir

    rundir = RunDir(run_dir)
    journal = rundir.journal
    runs = journal.runs()
    if not runs:
        raise FullcycleError(f"{rundir.path} holds no journaled run to log; run it first")
    run = runs[-1]
    summary = rundir.read_json("summary.json") if rundir.has("summary.json") else {}
    client = ensure_store(uri)
    exp = experiment_id(client, experiment)
    parent = client.create_run(exp, run_name=rundir.path.name,
                               tags={"fullcycle.command": run["command"],
                                     "fullcycle.run_dir": str(rundir.path.resolve())})
    parent_id = parent.info.run_id
    status = "FINISHED" if run["status"] in ("finished", "running") else "FAILED"
    try:
        client.log_batch(parent_id, params=_params(run["config"]),
                         tags=_tags({**_decision_tags(journal.decisions(run["id"])),
                                     **_summary_tags(summary)}))
        client.log_batch(parent_id, metrics=_metrics(_summary_metrics(summary), 0))
        for exp_row in journal.experiments(run["id"]):
            _log_experiment(client, exp, parent_id, journal, exp_row)
        for name in ("summary.json", "report.html", "errors.csv", "dev_predictions.csv"):
            if rundir.has(name):
                client.log_artifact(parent_id, str(rundir.file(name)))
        if rundir.file("model").is_dir():
            client.log_artifacts(parent_id, str(rundir.file("model")), "model")
    except BaseException:
        client.set_terminated(parent_id, "FAILED")
        raise
    client.set_terminated(parent_id, status)
    return parent_id


def _log_experiment(client: MlflowClient, exp: str, parent_id: str, journal: Any,
                    row: dict[str, Any]) -> None:
    tags = {"mlflow.parentRunId": parent_id, "reason": row.get("reason") or "",
            "status": row.get("status") or ""}
    if row.get("kept") is not None:
        tags["kept"] = str(row["kept"]).lower()
    child = client.create_run(exp, run_name=row["name"][:250], tags=tags)
    metrics = []
    for epoch in journal.epochs(row["id"]):
        metrics += _metrics(epoch, epoch["epoch"])
    final = {k: v for k, v in (row.get("metrics") or {}).items() if not isinstance(v, dict)}
    metrics += _metrics({f"final_{k}": v for k, v in final.items()}, 0)
    for start in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics a batch
        client.log_batch(child.info.run_id, metrics=metrics[start:start + 1000])
    client.log_batch(child.info.run_id, params=_params(row.get("config") or {}))
    client.set_terminated(child.info.run_id,
                          "FAILED" if row.get("status") in ("failed", "diverged") else "FINISHED")


def _summary_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split, value in (summary.get("errors") or {}).items():
        out[f"{split}_error"] = value
    metric = summary.get("metric") or {}
    for split in ("train", "train_dev", "dev", "test"):
        if split in metric:
            out[f"{split}_{metric.get('name', 'metric')}"] = metric[split]
    out["test_accesses"] = summary.get("test_accesses")
    out["seconds"] = summary.get("seconds")
    return out


def _summary_tags(summary: dict[str, Any]) -> dict[str, str]:
    tags = {}
    if summary.get("task"):
        tags["task"] = str(summary["task"])
    diagnosis = summary.get("diagnosis") or {}
    if diagnosis.get("primary_problem"):
        tags["diagnosis.primary_problem"] = str(diagnosis["primary_problem"])
    return tags
