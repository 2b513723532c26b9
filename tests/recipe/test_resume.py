"""`fullcycle run --resume`: a killed run continues from its journal.

Finished experiments are not trained again, the decisions already made stand (replayed in
the same order), the test split is read once, the budget counts what was spent; bad resumes
end with one line and exit status 2. A kill is either a real SIGKILL of a
`python -m fullcycle run` subprocess, or, where the test needs a kill at one exact point
(mid-epoch, after the test evaluation), an exception nothing catches raised there in
process (the journal is then left exactly as a SIGKILL would leave it, but for the run's
status, "failed" instead of "running": both are resumable).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fullcycle.recipe.autopilot as autopilot
import fullcycle.recipe.experiments as experiments
from fullcycle.data.dataset import Prepared
from fullcycle.engine.events import Callback
from fullcycle.errors import FullcycleError
from fullcycle.journal import Journal
from fullcycle.recipe.budget import Budget
from fullcycle.recipe.entry import run
from fullcycle.recipe.moves import Decision
from fullcycle.recipe.replay import Tape
from fullcycle.recipe.resume import find_run


class SimulatedKill(BaseException):
    """Stands for SIGKILL in process: nothing the run does catches it."""


class KillAfterEpoch(Callback):
    order = 2000  # after the epoch's checkpoint (1000) was written

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_epoch(self, loop) -> None:
        if loop.epoch == self.epoch:
            raise SimulatedKill(f"killed after epoch {self.epoch}")


def circle_table(path: Path, n: int = 600) -> Path:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.5, 1.5, size=(n, 2))
    y = (np.sqrt((x ** 2).sum(axis=1)) < 1.0).astype(int)
    pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "inside": y}).to_csv(path, index=False)
    return path


def journal_of(out: Path) -> Journal:
    return Journal(out / "journal.sqlite")


def autopilot_decisions(journal: Journal) -> list[tuple[int, str, str]]:
    """The run's own decisions (not the training loop's), in journal order."""
    return [(d["id"], d["kind"], d["action"]) for d in journal.decisions()
            if d["experiment_id"] is None]


class TrainingLog:
    """Wraps the experiments' trainer: which journal ids trained, and what came out."""

    def __init__(self, monkeypatch, kill_after_epoch: int | None = None) -> None:
        self.trained: list[int] = []
        self.outcomes: list = []
        real = experiments.train

        def train(*args, **kwargs):
            self.trained.append(kwargs["journal"].experiment_id)
            if kill_after_epoch is not None:
                kwargs["callbacks"] = [*kwargs["callbacks"], KillAfterEpoch(kill_after_epoch)]
            outcome = real(*args, **kwargs)
            self.outcomes.append(outcome)
            return outcome

        monkeypatch.setattr(experiments, "train", train)


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory) -> tuple[Path, Path]:
    """A run killed after the first epoch of its first experiment (whose deadline may stop
    it there on a busy machine), a checkpoint after every epoch."""
    folder = tmp_path_factory.mktemp("interrupted")
    data = circle_table(folder / "circle.csv")
    out = folder / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(experiments, "EPOCH_CHECKPOINT_S", 0.0)
        TrainingLog(mp, kill_after_epoch=1)
        with pytest.raises(SimulatedKill):
            run(data, "inside", out=out, budget="10s")
    return data, out


def written(out: Path) -> tuple[list[str], list[int]]:
    """The run directory's files (SQLite's -wal / -shm come and go with connections) and
    the journal's row counts."""
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*")
                   if not p.name.endswith(("-wal", "-shm")))
    with sqlite3.connect(out / "journal.sqlite") as conn:
        rows = [conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("runs", "experiments", "epochs", "decisions", "records")]
    return files, rows


def copy_of(interrupted: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    data, out = interrupted
    shutil.copytree(out, tmp_path / "run")
    return data, tmp_path / "run"


# ---- the logic, without a run -----------------------------------------------------------------
def test_a_resumed_budget_counts_the_seconds_already_spent():
    clock = Budget(60, spent=45)
    assert clock.elapsed() >= 45
    assert clock.remaining() <= 15


def test_the_tape_plays_the_killed_runs_readings_back_then_goes_live(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    run_id = journal.start_run("run", {})
    recorded = [{"id": 1, "kind": "clock", "ref": None, "doc": {"elapsed": 1.5}},
                {"id": 2, "kind": "decision", "ref": 7, "doc": {"kind": "split", "action": "a"}}]
    announced = []
    tape = Tape(journal, run_id, recorded, Budget(60, spent=40).elapsed,
                on_live=announced.append)
    assert tape.clock() == 1.5  # the killed run's reading, not this process's clock
    assert tape.decision(Decision("split", {}, "a", "why"))
    assert not announced
    live = tape.clock()  # the tape ended: the resumed run's deadline counts from 40 s
    assert live >= 40 and announced == [tape]
    assert [r["doc"]["elapsed"] for r in journal.records(run_id)] == [live]
    assert journal.spent(run_id) == pytest.approx(live)


def test_a_decision_the_tape_does_not_hold_ends_the_replay_and_drops_the_rest(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    run_id = journal.start_run("run", {})
    journal.log_record(run_id, "clock", {"elapsed": 1.0})
    journal.log_record(run_id, "clock", {"elapsed": 2.0})
    tape = Tape(journal, run_id, journal.records(run_id), lambda: 3.0, on_live=lambda t: None)
    assert not tape.decision(Decision("split", {}, "a", "why"))
    assert tape.left_path and "decision" in tape.left_path
    assert journal.records(run_id) == []


def test_a_replayed_step_gives_its_result_and_the_notes_it_added(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    run_id = journal.start_run("run", {})
    notes = ["loaded"]

    def baselines():
        notes.append("column 'id' alone predicts the target: --ignore id")
        return [{"name": "linear", "dev_error": float("inf")}], Decision("baselines", {}, "a",
                                                                          "why")

    live = Tape(journal, run_id, [], lambda: 1.0).step("baselines", baselines, notes)
    replayed_notes = ["loaded"]
    replay = Tape(journal, run_id, journal.records(run_id), lambda: 2.0, on_live=lambda t: None)
    again = replay.step("baselines", lambda: pytest.fail("a replayed step is not run"),
                        replayed_notes)
    assert again[0] == live[0] and again[0][0]["dev_error"] == float("inf")
    assert again[1] == live[1] and replayed_notes == notes


def test_resume_spends_the_larger_of_the_last_heartbeat_and_the_last_reading(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    run_id = journal.start_run("run", {"options": {"budget": 60.0}, "budget": 60.0})
    journal.log_record(run_id, "clock", {"elapsed": 12.5}, spent=12.5)
    journal.set_spent(run_id, 14.0)  # an experiment's heartbeat, after the last reading
    journal.close()
    state = find_run(tmp_path, {"budget": 60.0})
    assert state.run_id == run_id and state.spent == 14.0


def test_a_decision_and_its_replay_record_are_written_together(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    run_id = journal.start_run("run", {})
    decision_id = journal.log_decision(run_id, "split", {}, "a", "why",
                                       record=("decision", {"kind": "split", "action": "a"}))
    (record,) = journal.records(run_id)
    assert record["ref"] == decision_id and record["doc"]["action"] == "a"


# ---- one-line refusals --------------------------------------------------------------------------
def test_resume_without_a_run_in_the_folder_is_one_line_and_exit_2(cli, tmp_path):
    data = circle_table(tmp_path / "circle.csv", n=200)
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "missing", tmp_path / "empty"):
        code, stdout, err = cli("run", data, "--target", "inside", "--budget", "10s",
                                "--out", out, "--resume")
        assert code == 2 and stdout == ""
        assert err.count("\n") == 1 and "holds no fullcycle run to resume" in err, err
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(("flags", "named"), [
    (["--budget", "11s"], "--budget differs"),
    (["--budget", "10s", "--seed", "1"], "--seed differs"),
    (["--budget", "10s", "--human-error", "5%"], "--human-error differs"),
    (["--budget", "10s", "--data-changed"], "the data differs"),
])
def test_resume_with_other_data_or_options_is_one_line_and_exit_2(cli, interrupted, tmp_path,
                                                                  flags, named):
    data, out = interrupted
    if "--data-changed" in flags:
        flags = [f for f in flags if f != "--data-changed"]
        frame = pd.read_csv(data)
        frame.loc[0, "x1"] += 1.0
        data = tmp_path / "circle.csv"
        frame.to_csv(data, index=False)
    before = written(out)
    code, stdout, err = cli("run", data, "--target", "inside", *flags, "--out", out, "--resume")
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and named in err and "drop --resume" in err, err
    assert written(out) == before  # nothing written


def test_without_resume_a_new_run_starts_beside_the_unfinished_one(interrupted, tmp_path,
                                                                   monkeypatch):
    data, out = copy_of(interrupted, tmp_path)
    assert (out / "checkpoints" / "run-1").is_dir()
    lines: list[str] = []
    TrainingLog(monkeypatch, kill_after_epoch=1)
    with pytest.raises(SimulatedKill):
        run(data, "inside", out=out, budget="10s", log=lines.append)
    assert "holds a run that did not finish" in lines[0] and "--resume" in lines[0]
    runs = journal_of(out).runs()
    assert [r["id"] for r in runs] == [1, 2]  # today's behaviour: a second run
    assert not (out / "checkpoints" / "run-1").exists()  # the first can no longer resume


# ---- resuming --------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_an_interrupted_experiment_resumes_from_its_checkpoint_and_test_is_read_once(
        cli, interrupted, tmp_path, monkeypatch):
    data, out = copy_of(interrupted, tmp_path)
    spent = journal_of(out).spent(1)

    # resume 1: experiment 1 continues after its epoch-1 checkpoint; killed after the test
    log = TrainingLog(monkeypatch)

    def killed_while_writing(*args, **kwargs):
        raise SimulatedKill("killed while writing the outputs")

    with monkeypatch.context() as mp:
        mp.setattr(autopilot, "write_outputs", killed_while_writing)
        with pytest.raises(SimulatedKill):
            run(data, "inside", out=out, budget="10s", resume=True)
    assert log.trained[0] == 1 and log.outcomes[0].resumed_from == 1
    journal = journal_of(out)
    epochs = [e["epoch"] for e in journal.epochs(1)]
    assert epochs == list(range(1, len(epochs) + 1))  # no epoch twice, none missing
    assert journal.experiments()[0]["status"] == "finished"
    first = next(d for d in journal.decisions() if d["kind"] == "resume")
    assert first["observed"]["spent_seconds"] == round(spent, 2)
    assert first["observed"]["interrupted_experiment"] == 1

    # resume 2: everything comes from the journal; the test split is not read again
    reads = []
    real_test = Prepared.test
    monkeypatch.setattr(Prepared, "test", lambda self, reason: reads.append(reason)
                        or real_test(self, reason))
    trained_before = len(log.trained)
    code, stdout, err = cli("run", data, "--target", "inside", "--budget", "10s", "--out", out,
                            "--resume", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert reads == [] and summary["test_accesses"] == 1
    assert len(log.trained) == trained_before  # nothing trained again
    assert [r["was"] for r in summary["resumed"]] == ["failed", "failed"]
    assert summary["experiments"][0].get("resumed_from_epoch") == 1
    assert not (out / "checkpoints").exists()  # the bundle holds the model now

    code, stdout, err = cli("run", data, "--target", "inside", "--budget", "10s", "--out", out,
                            "--resume")
    assert code == 2 and err.count("\n") == 1, err
    assert "already finished" in err and str(out / "report.html") in err


def _wait_for_a_finished_experiment(process: subprocess.Popen, journal_path: Path,
                                    limit_s: float = 180.0) -> None:
    """Poll the journal (bounded) until the run has finished an experiment."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be killed"
        try:
            with sqlite3.connect(journal_path, timeout=1.0) as conn:
                done = conn.execute("SELECT COUNT(*) FROM experiments WHERE status = "
                                    "'finished'").fetchone()[0]
            if done >= 1:
                return
        except sqlite3.Error:
            pass  # not created yet
        time.sleep(0.05)
    pytest.fail(f"no experiment finished within {limit_s:g} s")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_sigkilled_run_resumes_without_training_a_finished_experiment_again(
        cli, tmp_path, monkeypatch):
    data = circle_table(tmp_path / "circle.csv")
    out = tmp_path / "run"
    args = ["run", str(data), "--target", "inside", "--budget", "20s", "--out", str(out)]
    process = subprocess.Popen([sys.executable, "-m", "fullcycle", *args, "--quiet"],
                               env={**os.environ, "OMP_NUM_THREADS": "1"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_a_finished_experiment(process, out / "journal.sqlite")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    journal = journal_of(out)
    assert journal.runs()[0]["status"] == "running"
    finished = {e["id"]: e for e in journal.experiments() if e["status"] == "finished"}
    epochs = {i: journal.epochs(i) for i in finished}
    decided = autopilot_decisions(journal)
    spent = journal.spent(1)
    journal.close()

    log = TrainingLog(monkeypatch)
    code, stdout, err = cli(*args, "--resume", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["test_accesses"] == 1
    assert not set(log.trained) & set(finished)  # each finished id trained once, before

    journal = journal_of(out)
    rows = {e["id"]: e for e in journal.experiments()}
    for i, before in finished.items():  # untouched: not started, ended or logged again
        assert {k: rows[i][k] for k in ("started", "ended", "metrics")} == \
               {k: before[k] for k in ("started", "ended", "metrics")}
        assert journal.epochs(i) == epochs[i]
    after = autopilot_decisions(journal)
    assert after[: len(decided)] == decided  # the decisions made stand, in their order
    resumed = after[len(decided)]
    assert resumed[1] == "resume"
    note = next(d for d in journal.decisions() if d["id"] == resumed[0])["observed"]
    assert note["replayed"]["decision"] == len(decided)  # the same path, every one matched
    assert "left_recorded_path" not in note
    assert note["spent_seconds"] == round(spent, 2)
    # the budget logic: every reading the resumed run made counts from the journalled time
    readings = [r for r in journal.records(1) if r["kind"] == "clock"]
    resumed_at = next(d["logged"] for d in journal.decisions() if d["kind"] == "resume")
    assert all(r["doc"]["elapsed"] >= spent for r in readings if r["logged"] > resumed_at)
    assert summary["seconds"] >= spent
    assert journal.runs()[0]["status"] == "finished" and len(journal.runs()) == 1


def test_find_run_refuses_a_run_journaled_without_resume_records(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    journal.start_run("run", {"budget": 60})
    journal.close()
    with pytest.raises(FullcycleError, match="journals no resume record"):
        find_run(tmp_path, {})
