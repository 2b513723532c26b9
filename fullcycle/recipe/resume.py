"""`fullcycle run --resume`: which run a folder holds, and whether this call may continue it.

A run journals the options that shape its decisions and its data's fingerprint when it
starts (`options_doc`); `--resume` continues the latest run of the folder only when it did
not finish and the same data and options are given again (one-line errors otherwise, exit
status 2). The budget counts what the killed run spent (the journal's `run_clock`, kept up
to date while it ran): the resumed run gets only what is left. How the flow then replays
the killed run's decisions is `fullcycle.recipe.replay`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fullcycle.data.text import TextOptions
from fullcycle.errors import FullcycleError
from fullcycle.journal import Journal
from fullcycle.jsonutil import jsonable
from fullcycle.recipe.moves import Decision
from fullcycle.rundir import JOURNAL_NAME

# The options that shape a run's decisions, and the flag each one is given with.
FLAGS = {
    "target": "--target", "task": "--task", "metric": "--metric",
    "human_level_error": "--human-error", "budget": "--budget", "satisfice": "--satisfice",
    "hidden": "--hidden", "ignore": "--ignore", "seed": "--seed", "tolerance": "tolerance=",
    "drop_missing_target": "--drop-missing-target", "dev_size": "--dev-size",
    "test_size": "--test-size", "group_column": "--group-column",
    "time_column": "--time-column", "stratify": "split stratify=",
    "split_seed": "split seed=", "text_columns": "--text-column",
    "tokenizer": "--text-tokenizer", "lowercase": "--text-lowercase",
    "unicode": "--text-unicode", "max_vocab": "text max_vocab=",
    "image_column": "--image-column", "image_size": "--image-size", "augment": "--augment",
    "pretrained": "--pretrained", "refuse_unreadable": "--refuse-unreadable",
    "dev_data": "--dev-data",
}


@dataclass
class ResumeState:
    """The run being resumed, as its journal has it."""

    run_id: int
    started: float
    status: str
    config: dict
    spent: float
    records: list[dict]
    experiments: list[dict] = field(default_factory=list)

    def decision(self) -> Decision:
        """The journal's note that the run was resumed, when, and from where."""
        finished = [e for e in self.experiments if e["status"] == "finished"]
        interrupted = [e for e in self.experiments if e["status"] == "running"]
        observed = {
            "resumed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "run_started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                            time.localtime(self.started)),
            "was": self.status, "spent_seconds": round(self.spent, 2),
            "budget": self.config.get("budget"),
            "finished_experiments": [e["id"] for e in finished],
            "interrupted_experiment": interrupted[-1]["id"] if interrupted else None,
        }
        left = max(0.0, float(self.config.get("budget") or 0.0) - self.spent)
        return Decision("resume", observed,
                        f"resumed after {self.spent:.1f}s of the budget: {len(finished)} "
                        f"finished experiments come from the journal, {left:.1f}s left",
                        "--resume: the decisions already made stand (replayed from the "
                        "journal), finished experiments are not trained again, the budget "
                        "counts the time already spent")


def options_doc(*, target: Any, task: str | None, metric: str | None,
                human_level_error: float | None, budget: float, satisfice: str | None,
                hidden: Any, ignore: list[str] | None, seed: int, tolerance: float | None,
                drop_missing_target: bool, split: Any, text_columns: list[str] | None,
                text_options: Any, image_column: str | None, image_size: Any,
                augment: str | None, pretrained: Any, refuse_unreadable: bool,
                dev_data: Any) -> dict[str, Any]:
    """The options that shape a run's decisions, as JSON (compared by `--resume`)."""
    split_doc = asdict(split) if split is not None else {}
    text_doc = asdict(text_options or TextOptions())  # the CLI always passes them
    doc = {
        "target": target, "task": task, "metric": metric,
        "human_level_error": human_level_error, "budget": budget, "satisfice": satisfice,
        "hidden": list(hidden) if hidden else None, "ignore": list(ignore or []),
        "seed": seed, "tolerance": tolerance, "drop_missing_target": drop_missing_target,
        **{k: split_doc.get(k) for k in ("dev_size", "test_size", "group_column",
                                         "time_column", "stratify")},
        "split_seed": split_doc.get("seed"), "text_columns": list(text_columns or []),
        **{k: text_doc.get(k) for k in ("tokenizer", "lowercase", "unicode", "max_vocab")},
        "image_column": image_column, "image_size": image_size, "augment": augment,
        "pretrained": _pretrained_id(pretrained), "refuse_unreadable": refuse_unreadable,
        "dev_data": dev_data is not None,
    }
    return json.loads(json.dumps(jsonable(doc)))


def _pretrained_id(pretrained: Any) -> str | None:
    """A bundle path as given, or a network's weights as a checksum (an `nn.Module`)."""
    if pretrained is None:
        return None
    state = getattr(pretrained, "state_dict", None)
    if state is None:
        return str(Path(pretrained).resolve())
    digest = hashlib.sha256()
    for name, tensor in state().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return f"module:{digest.hexdigest()}"


def latest_run(journal: Journal) -> dict | None:
    runs = [r for r in journal.runs() if r["command"] == "run"]
    return runs[-1] if runs else None


def find_run(out: Path, options: dict) -> ResumeState:
    """The unfinished run in `out` that these options may continue (see module docstring)."""
    journal_path = out / JOURNAL_NAME
    if not journal_path.is_file():
        raise FullcycleError(f"--resume: {out} holds no fullcycle run to resume; give the "
                             "--out of the killed run, or drop --resume to start one")
    journal = Journal(journal_path)
    try:
        run = latest_run(journal)
        if run is None:
            raise FullcycleError(f"--resume: {out} holds no fullcycle run to resume; give the "
                                 "--out of the killed run, or drop --resume to start one")
        if run["status"] == "finished":
            raise FullcycleError(f"--resume: the run in {out} already finished; its report is "
                                 f"{out / 'report.html'} (drop --resume to start a new run)")
        config = json.loads(run["config"]) if isinstance(run["config"], str) else run["config"]
        if "options" not in config:
            raise FullcycleError(f"--resume: the run in {out} was started by a fullcycle "
                                 "that journals no resume record; start it again without "
                                 "--resume")
        check_options(config["options"], options, out)
        records = journal.records(run["id"])
        clock = [r["doc"]["elapsed"] for r in records if r["kind"] == "clock"]
        spent = max([journal.spent(run["id"]) or 0.0, *clock])
        return ResumeState(run_id=run["id"], started=run["started"], status=run["status"],
                           config=config, spent=spent, records=records,
                           experiments=journal.experiments(run["id"]))
    finally:
        journal.close()


def check_options(before: dict, now: dict, out: Path) -> None:
    """The first option that differs from the run being resumed, as a one-line error."""
    for key in sorted(set(before) | set(now), key=lambda k: list(FLAGS).index(k)
                      if k in FLAGS else len(FLAGS)):
        if before.get(key) != now.get(key):
            flag = FLAGS.get(key, key)
            raise FullcycleError(
                f"--resume: {flag} differs from the run being resumed in {out} "
                f"({_shown(before.get(key))} there, {_shown(now.get(key))} here); repeat the "
                "options it was started with, or drop --resume to start a new run")


def check_data(state: ResumeState, fingerprint: str, out: Path) -> None:
    if state.config.get("fingerprint") != fingerprint:
        raise FullcycleError(
            f"--resume: the data differs from the run being resumed in {out} (its fingerprint "
            "changed); resume with the data it was started on, or drop --resume to start a "
            "new run")


def _shown(value: Any) -> str:
    return "not given" if value is None else json.dumps(value)


def unfinished_note(out: Path) -> str | None:
    """Without --resume: a line saying the folder's latest run did not finish (a new one
    starts beside it, as always), and how to continue it instead."""
    journal_path = out / JOURNAL_NAME
    if not journal_path.is_file():
        return None
    journal = Journal(journal_path)
    try:
        run = latest_run(journal)
    finally:
        journal.close()
    if run is None or run["status"] == "finished":
        return None
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run["started"]))
    return (f"note: {out} holds a run that did not finish (started {started}); this starts a "
            "new one — add --resume to continue that one instead")
