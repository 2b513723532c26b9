"""`fullcycle diagnose` through the real command line."""

from __future__ import annotations

import json

import pytest

from fullcycle.cli.common import is_percent, parse_error_rate
from fullcycle.errors import FullcycleError


def test_cli_json_names_variance_when_train_1_dev_11(cli) -> None:
    code, out, err = cli("diagnose", "--train-error", "1%", "--dev-error", "11%", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"avoidable_bias", "variance", "data_mismatch", "dev_overfit",
            "primary_problem", "next_actions"} <= set(data)
    assert data["primary_problem"] == "variance"
    assert data["variance"] == pytest.approx(0.10)
    assert data["data_mismatch"] is None
    assert data["next_actions"][0] == "get more training data"


def test_cli_json_names_data_mismatch_with_train_dev_error(cli) -> None:
    code, out, _ = cli("diagnose", "--train-error", "0.01", "--train-dev-error", "1.5%",
                       "--dev-error", "10%", "--human-error", "0", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["primary_problem"] == "data_mismatch"
    assert data["data_mismatch"] == pytest.approx(0.085)


def test_cli_human_error_moves_the_verdict_from_bias_to_variance(cli) -> None:
    args = ("diagnose", "--train-error", "7%", "--dev-error", "10%", "--json")
    assert json.loads(cli(*args, "--human-error", "1%")[1])["primary_problem"] == (
        "avoidable_bias")
    assert json.loads(cli(*args, "--human-error", "6%")[1])["primary_problem"] == "variance"


def test_cli_tolerance_and_test_error(cli) -> None:
    code, out, _ = cli("diagnose", "--train-error", "2%", "--dev-error", "3%",
                       "--test-error", "9%", "--tolerance", "2%", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["tolerance"] == pytest.approx(0.02)
    assert data["primary_problem"] == "dev_overfit"


def test_cli_prints_a_readable_table_for_people(cli) -> None:
    code, out, _ = cli("diagnose", "--train-error", "15%", "--dev-error", "16%")
    assert code == 0
    assert "Primary problem: avoidable bias" in out
    assert "train a bigger network" in out
    assert "15.00%" in out and "train − human" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_cli_raw_values_above_one_read_as_rmse(cli) -> None:
    code, out, _ = cli("diagnose", "--train-error", "3", "--dev-error", "5.5")
    assert code == 0
    assert "+2.5" in out and "raw errors" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--train-error", "abc", "--dev-error", "10%"), "--train-error 'abc' is not an error"),
        (("--train-error", "-1%", "--dev-error", "10%"), "--train-error '-1%'"),
        (("--train-error", "1%", "--dev-error", "150%"), "--dev-error '150%'"),
        (("--train-error", "1%", "--dev-error", "nan"), "--dev-error 'nan'"),
        (("--dev-error", "10%"), "--train-error is required"),
        (("--train-error", "1%", "--dev-error", "2%", "--tolerance", "x"), "--tolerance 'x'"),
    ],
)
def test_cli_bad_values_end_in_one_line_and_exit_2(cli, args, message) -> None:
    code, out, err = cli("diagnose", *args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_parse_error_reads_fractions_and_percentages() -> None:
    assert parse_error_rate("11%", "--x") == pytest.approx(0.11) and is_percent("11%")
    assert parse_error_rate(" 0.11 ", "--x") == 0.11 and not is_percent(" 0.11 ")
    assert parse_error_rate(None, "--x") is None
    with pytest.raises(FullcycleError, match="write a fraction like 0.11"):
        parse_error_rate("%", "--x")


def _write_summary(directory, summary: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "summary.json").write_text(json.dumps(summary))


def test_cli_reads_a_run_directory_and_flags_override_it(cli, tmp_path) -> None:
    run = tmp_path / "run"
    _write_summary(run, {"errors": {"train": 0.01, "train_dev": 0.015, "dev": 0.10,
                                    "test": None}, "human_level_error": 0.0})
    code, out, err = cli("diagnose", str(run), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["primary_problem"] == "data_mismatch"
    assert data["train_dev_error"] == 0.015 and data["test_error"] is None
    code, out, _ = cli("diagnose", str(run), "--train-dev-error", "9%", "--json")
    assert json.loads(out)["primary_problem"] == "variance"


def test_cli_run_directory_with_a_flat_learning_curve_puts_more_data_last(cli, tmp_path):
    run = tmp_path / "run"
    _write_summary(run, {"errors": {"train": 0.01, "dev": 0.11}, "human_level_error": 0.0,
                         "learning_curve": {"more_data_helps": False}})
    data = json.loads(cli("diagnose", str(run), "--json")[1])
    assert data["primary_problem"] == "variance"
    assert data["next_actions"][-1].startswith("get more training data (last")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ({"task": "binary"}, "records no train and dev errors"),
        ("{not json", "is corrupt"),
    ],
)
def test_cli_bad_run_directory_is_one_line_exit_2(cli, tmp_path, content, message) -> None:
    run = tmp_path / "run"
    if content is not None:
        run.mkdir()
        text = content if isinstance(content, str) else json.dumps(content)
        (run / "summary.json").write_text(text)
    code, out, err = cli("diagnose", str(run))
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1
