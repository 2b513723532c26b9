"""`fullcycle runs DIR` lists each experiment with its errors."""

from __future__ import annotations

import json

from fullcycle.journal import Journal
from fullcycle.rundir import RunDir


def _run_dir(path):
    run = RunDir(path)
    run.update_summary(task="binary", errors={"train": 0.05, "dev": 0.125})
    journal = Journal(run.file("journal.sqlite"))
    run_id = journal.start_run("run", {})
    first = journal.start_experiment(run_id, "baseline", {}, 0, "fp", "the seeds' first net")
    journal.end_experiment(first, "complete", {"train_error": 0.1, "dev_error": 0.2}, kept=True)
    second = journal.start_experiment(run_id, "wider", {}, 0, "fp", "avoidable bias")
    journal.end_experiment(second, "complete", {"errors": {"train": 0.05, "dev": 0.125}},
                           kept=True)
    journal.end_run(run_id)
    journal.close()
    return run.path


def test_runs_lists_experiments_with_their_train_and_dev_errors(cli, tmp_path):
    code, out, err = cli("runs", _run_dir(tmp_path / "run"))
    assert code == 0, err
    assert "train error" in out and "dev error" in out
    wider = next(line for line in out.splitlines() if "wider" in line)
    assert "5.00%" in wider and "12.50%" in wider


def test_runs_json_gives_each_experiments_errors(cli, tmp_path):
    code, out, _ = cli("runs", _run_dir(tmp_path / "run"), "--json")
    assert code == 0
    experiments = json.loads(out)["experiments"]
    assert [(e["train_error"], e["dev_error"]) for e in experiments] == [(0.1, 0.2),
                                                                         (0.05, 0.125)]
