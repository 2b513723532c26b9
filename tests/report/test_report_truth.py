"""The report never contradicts the run: search directories, autopilot search rounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from fullcycle.journal import Journal
from fullcycle.report import plots
from fullcycle.report.build import render_report
from fullcycle.rundir import RunDir


def _search_dir(path: Path) -> Path:
    """What `fullcycle search` leaves: a summary with only its search section, and a journal
    of trials whose epochs log the dev error (no losses)."""
    run = RunDir(path)
    best = {"params": {"lr": 0.0016, "hidden_units": 128}, "dev_error": 1.83, "number": 0,
            "round": "coarse", "train_error": 1.82, "train_dev_error": None}
    trials = [{**best, "state": "complete", "epochs": 3},
              {"params": {"lr": 0.02, "hidden_units": 16}, "dev_error": 2.4, "number": 1,
               "round": "coarse", "state": "complete", "epochs": 3, "train_error": 2.3}]
    diagnosis = {"avoidable_bias": 1.82, "variance": 0.01, "data_mismatch": None,
                 "dev_overfit": None, "primary_problem": "avoidable_bias",
                 "next_actions": ["train a bigger network"], "train_error": 1.82,
                 "dev_error": 1.83, "human_level_error": 0.0, "train_dev_error": None,
                 "test_error": None, "tolerance": 0.005, "problems": ["avoidable_bias"],
                 "notes": []}
    run.update_summary(search={"best": best, "trials": trials, "counts": {"complete": 2},
                               "task": "regression", "human_level_error": 0.0,
                               "diagnosis": diagnosis, "plot": None})
    journal = Journal(run.file("journal.sqlite"))
    run_id = journal.start_run("search", {})
    for trial in trials:
        exp = journal.start_experiment(run_id, f"search reg60 trial {trial['number']}",
                                       trial["params"], 0, "fp", "coarse round")
        for epoch in (1, 2, 3):
            journal.log_epoch(exp, epoch, {"dev_error": trial["dev_error"] + 0.1 * (3 - epoch)})
        journal.end_experiment(exp, "complete", {"dev_error": trial["dev_error"],
                                                 "train_error": trial["train_error"]},
                               kept=True)
    journal.end_run(run_id)
    journal.close()
    return path


def test_a_search_directory_report_names_task_errors_and_diagnosis(tmp_path):
    html = render_report(_search_dir(tmp_path / "runs" / "reg60"))
    assert 'data-key="task">regression<' in html
    assert "no errors were measured" not in html
    assert 'data-key="errors.dev" data-value="1.83"' in html
    assert "best search trial" in html
    assert "avoidable bias" in html


def test_the_footer_names_the_path_to_rebuild_the_report(tmp_path):
    directory = _search_dir(tmp_path / "runs" / "reg60")
    html = render_report(directory)
    assert f"fullcycle report {directory}" in html


def test_search_trials_draw_their_dev_errors_with_a_legend_entry_per_drawn_line(tmp_path,
                                                                                monkeypatch):
    drawn = {}

    def capture(fig):
        ax = fig.axes[0]
        drawn["lines"] = [line for line in ax.get_lines() if len(line.get_xdata())]
        legend = fig.legends[0] if fig.legends else ax.get_legend()
        drawn["legend"] = [t.get_text() for t in legend.get_texts()] if legend else []
        drawn["ylabel"] = ax.get_ylabel()
        return "data:image/png;base64,"

    monkeypatch.setattr(plots, "_encode", capture)
    html = render_report(_search_dir(tmp_path / "runs" / "reg60"))
    assert len(drawn["lines"]) == 2 and len(drawn["legend"]) == 2
    assert drawn["ylabel"] == "dev error"
    assert "Dev error per epoch" in html


def test_a_run_whose_autopilot_searched_shows_the_search(tmp_path):
    run = RunDir(tmp_path / "run")
    experiments = [
        {"change": "baseline: 1 hidden layer of 8", "reason": "start", "train_error": 0.2,
         "dev_error": 0.22, "kept": True},
        {"change": "search round 1: 2 layers of 16, lr 0.003", "reason": "moves spent",
         "train_error": 0.1, "dev_error": 0.15, "kept": True},
        {"change": "search round 1: 1 layer of 32, lr 0.01", "reason": "moves spent",
         "train_error": 0.12, "dev_error": 0.18, "kept": False},
        {"change": "search round 2: 2 layers of 24, lr 0.002", "reason": "moves spent",
         "train_error": 0.09, "dev_error": 0.14, "kept": True},
    ]
    run.update_summary(task="binary", errors={"train": 0.09, "dev": 0.14},
                       experiments=experiments,
                       decisions=[{"kind": "search", "action": "random search around the best "
                                   "configuration", "reason": "moves spent"}])
    html = render_report(run.path)
    section = html[html.index('<section id="search">'):html.index('<section id="test">')]
    assert "Not run" not in section
    assert "3 trials in 2 rounds" in section
    assert "2 layers of 24, lr 0.002" in section
    assert 'data-value="0.14"' in section


@pytest.mark.parametrize("values", [[None, None], [float("nan"), None]])
def test_a_curve_with_nothing_to_draw_gets_no_legend_entry(values, monkeypatch):
    seen = {}

    def capture(fig):
        legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
        seen["legend"] = [t.get_text() for t in legend.get_texts()] if legend else []
        return "uri"

    monkeypatch.setattr(plots, "_encode", capture)
    curves = [{"name": "empty", "epochs": [1, 2], "train_loss": values, "dev_loss": values},
              {"name": "real", "epochs": [1, 2], "train_loss": [1.0, 0.5], "dev_loss": values}]
    plots.loss_curves_plot(curves)
    assert seen["legend"] == ["real"]
