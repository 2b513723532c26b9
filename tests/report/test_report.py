"""report.html: self-contained, every section present or "not run", numbers from summary.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from fullcycle.errors import FullcycleError
from fullcycle.report.build import build_report
from fullcycle.report.formatting import format_error

SECTIONS = (
    "summary",
    "data",
    "baselines",
    "checks",
    "lr",
    "training",
    "diagnosis",
    "learning-curve",
    "experiments",
    "search",
    "test",
    "error-analysis",
    "decisions",
)


def _data_values(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-key="([^"]+)" data-value="([^"]*)"', html))


def test_report_is_one_self_contained_file(run_dir: Path, expected_plots) -> None:
    html = build_report(run_dir).read_text()
    sources = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert re.findall(r'<img[^>]+alt="([^"]+)"', html) == expected_plots
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    assert not re.search(r'(src|href)="(https?:)?//', html), "nothing may load from the network"
    assert "<script" not in html and "<link" not in html
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    assert "Not run" not in html, "a complete run fills every section"


def test_key_numbers_are_those_of_summary_json(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    html = build_report(run_dir).read_text()
    values = _data_values(html)
    for split, error in summary["errors"].items():
        assert float(values[f"errors.{split}"]) == error
        assert format_error(error, "multiclass") in html
    assert float(values["human_level_error"]) == summary["human_level_error"]
    assert int(values["test_accesses"]) == summary["test_accesses"]
    assert 'data-key="diagnosis.primary_problem">data mismatch<' in html
    for split, size in summary["splits"].items():
        assert int(values[f"splits.{split}"]) == size
    assert int(values["error_analysis.n_errors"]) == summary["error_analysis"]["n_errors"]
    assert float(values["lr_finder.suggested_lr"]) == summary["lr_finder"]["suggested_lr"]
    for i, experiment in enumerate(summary["experiments"]):
        assert float(values[f"experiments.{i}.dev_error"]) == experiment["dev_error"]
    for text in ("reverted", "dead ReLUs", "3</b> exact duplicate rows", "data mismatch"):
        assert text in html


def test_every_section_says_not_run_when_its_key_is_missing(tmp_path: Path) -> None:
    run = tmp_path / "bare"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"task": "binary"}))
    html = build_report(run).read_text()
    for section in SECTIONS:
        body = html.split(f'<section id="{section}">')[1].split("</section>")[0]
        assert "Not run" in body, f"section {section} should say it did not run"
    assert "<img" not in html


def test_regression_report_shows_errors_as_numbers_not_percentages(tmp_path: Path) -> None:
    run = tmp_path / "reg"
    run.mkdir()
    (run / "summary.json").write_text(
        json.dumps(
            {
                "task": "regression",
                "metric": {"name": "rmse", "dev": 3.21},
                "errors": {"train": 2.5, "dev": 3.21},
                "human_level_error": 1.0,
            }
        )
    )
    html = build_report(run).read_text()
    assert ">3.21<" in html and "321.00%" not in html


def test_ceiling_from_fullcycle_errors_appears_in_the_report(run_dir: Path) -> None:
    analysis = json.loads((run_dir / "summary.json").read_text())["error_analysis"]
    analysis["ceiling"] = {
        "reviewed": 20,
        "total_errors": 25,
        "dev_error": 0.126,
        "notes": [],
        "rows": [
            {
                "tag": "blurry",
                "count": 10,
                "share_of_errors": 0.5,
                "max_error_removed": 0.063,
                "dev_error_at_best": 0.063,
            }
        ],
    }
    (run_dir / "error_analysis.json").write_text(json.dumps(analysis))
    values = _data_values(build_report(run_dir).read_text())
    assert float(values["ceiling.blurry"]) == 0.5


def test_report_command_rebuilds_report_from_summary_and_journal(cli, run_dir: Path) -> None:
    code, out, err = cli("report", run_dir, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert Path(document["report"]) == run_dir / "report.html"
    html = (run_dir / "report.html").read_text()
    # The journal's decisions and per-epoch losses made it in.
    assert "avoidable bias is the largest gap" in html and "loss curves" in html


def test_errors_command_keeps_an_existing_report_in_step(cli, run_dir: Path) -> None:
    pd.DataFrame(
        {
            "row": [0, 1, 2, 3, 4, 5],
            "y_true": ["a", "b", "a", "b", "a", "b"],
            "proba_a": [0.9, 0.8, 0.7, 0.1, 0.6, 0.3],
            "proba_b": [0.1, 0.2, 0.3, 0.9, 0.4, 0.7],
        }
    ).to_csv(run_dir / "dev_predictions.csv", index=False)
    assert cli("report", run_dir)[0] == 0
    code, out, err = cli("errors", run_dir, "--json")
    assert code == 0, err
    values = _data_values((run_dir / "report.html").read_text())
    assert int(values["error_analysis.n_examples"]) == 6
    assert int(values["error_analysis.n_errors"]) == json.loads(out)["n_errors"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no summary.json"), ("{not json", "corrupt"), ("[1, 2]", "not a JSON object")],
)
def test_report_of_a_broken_run_exits_2_with_the_fix(cli, tmp_path, content, message) -> None:
    run = tmp_path / "run"
    run.mkdir()
    if content is not None:
        (run / "summary.json").write_text(content)
    code, out, err = cli("report", run)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (run / "report.html").exists()


def test_missing_run_directory_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(FullcycleError, match="not found"):
        build_report(tmp_path / "nowhere")


def test_multilabel_error_analysis_renders_a_table_per_label(tmp_path: Path) -> None:
    import numpy as np

    from fullcycle.analysis.errors import error_analysis

    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 5, dtype=float)
    proba = np.where(y == 1, 0.8, 0.3)
    proba[0, 1] = 0.9
    analysis = error_analysis(y, proba, task="multilabel", classes=["rain", "wind"])
    run = tmp_path / "ml"
    run.mkdir()
    (run / "summary.json").write_text(
        json.dumps(
            {"task": "multilabel", "error_analysis": json.loads(json.dumps(analysis.to_dict()))}
        )
    )
    html = build_report(run).read_text()
    body = html.split('<section id="error-analysis">')[1].split("</section>")[0]
    assert "Per label" in body and "with a wrong label" in body and "rain" in body
    assert _data_values(html)["error_analysis.n_errors"] == "1"


def test_an_error_analysis_older_than_the_summary_is_not_shown(run_dir: Path) -> None:
    import os

    stale = {"task": "multiclass", "n_examples": 99999, "n_errors": 1, "error": 0.5}
    (run_dir / "error_analysis.json").write_text(json.dumps(stale))
    summary_mtime = (run_dir / "summary.json").stat().st_mtime
    os.utime(run_dir / "error_analysis.json", (summary_mtime - 60, summary_mtime - 60))
    values = _data_values(build_report(run_dir).read_text())
    assert values["error_analysis.n_examples"] == "300"


def test_lr_finder_shows_the_rate_used_when_the_recipe_clipped_it(tmp_path: Path) -> None:
    run = tmp_path / "lr"
    run.mkdir()
    lrs = [10 ** (k / 4) for k in range(-24, 1)]
    losses = [1.0 - 0.02 * k for k in range(len(lrs))]
    (run / "summary.json").write_text(
        json.dumps(
            {
                "task": "binary",
                "lr_finder": {"lrs": lrs, "losses": losses, "suggested_lr": 0.3, "chosen_lr": 0.01},
            }
        )
    )
    html = build_report(run).read_text()
    values = _data_values(html)
    assert float(values["lr_finder.suggested_lr"]) == 0.3
    assert float(values["lr_finder.chosen_lr"]) == 0.01
    assert html.count('alt="LR finder"') == 1


def test_dozens_of_experiments_fold_away_and_plot_without_warnings(tmp_path: Path) -> None:
    import warnings

    from fullcycle.journal import Journal

    run = tmp_path / "many"
    run.mkdir()
    experiments = [
        {
            "change": f"search trial {i} with a long description of its settings",
            "reason": "random search",
            "train_error": 0.1,
            "dev_error": 0.2 - i / 100,
            "kept": i == 14,
        }
        for i in range(15)
    ]
    (run / "summary.json").write_text(json.dumps({"task": "binary", "experiments": experiments}))
    journal = Journal(run / "journal.sqlite")
    run_id = journal.start_run("run", {})
    for i in range(15):
        eid = journal.start_experiment(run_id, experiments[i]["change"], {})
        for epoch in range(3):
            journal.log_epoch(
                eid, epoch, {"train_loss": 1 / (epoch + 1), "dev_loss": 1.1 / (epoch + 1)}
            )
    journal.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        html = build_report(run).read_text()
    assert "<summary>3 more experiments</summary>" in html
    assert 'class="best"' in html.split("<summary>")[1]  # the lowest dev error is the last one
    assert float(_data_values(html)["experiments.14.dev_error"]) == experiments[14]["dev_error"]


def test_text_from_the_data_is_escaped(tmp_path: Path) -> None:
    run = tmp_path / "esc"
    run.mkdir()
    name = "<script>alert(1)</script>"
    (run / "summary.json").write_text(
        json.dumps(
            {
                "task": "binary",
                "profile": {
                    "columns": [{"name": name, "kind": "text", "missing": 0, "distinct": 2}]
                },
            }
        )
    )
    html = build_report(run).read_text()
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_experiment_table_is_rebuilt_from_the_journal_when_the_summary_lacks_it(
    tmp_path: Path, journal_writer
) -> None:
    run = tmp_path / "journal-only"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"task": "multiclass"}))
    journal_writer(run / "journal.sqlite")
    html = build_report(run).read_text()
    values = _data_values(html)
    assert [float(values[f"experiments.{i}.dev_error"]) for i in range(3)] == [0.175, 0.1, 0.125]
    assert "longer" in html.split('<section id="experiments">')[1].split("</section>")[0]
