"""`fullcycle check` and `fullcycle lr-find` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ORDER = ["init_loss", "overfit_batch", "gradient_check", "dead_parameters",
         "signal_propagation", "batch_independence", "input_independent", "lr_finder"]


@pytest.fixture
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=(n, 3))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2],
                          "color": rng.choice(["r", "g", "b"], n),
                          "y": np.where(x[:, 0] + 0.5 * x[:, 1] > 0, "yes", "no")})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_check_json_lists_every_check_in_order(cli, table):
    code, out, err = cli("check", table, "--target", "y", "--hidden", "8", "--json")
    assert code in (0, 1), err
    doc = json.loads(out)
    assert [c["name"] for c in doc["checks"]] == ORDER
    assert all(c["status"] in ("pass", "warn", "fail") and c["message"] for c in doc["checks"])
    assert (code == 1) == any(c["status"] == "fail" for c in doc["checks"])
    assert doc["task"] == "binary" and doc["architecture"]["hidden"] == [8]


def test_check_prints_a_table_for_people(cli, table):
    code, out, _ = cli("check", table, "--target", "y", "--skip", "lr_finder,input_independent")
    assert code in (0, 1)
    assert "gradient_check" in out and "skipped on request" in out


def test_lr_find_json_gives_the_curve_and_saves_the_plot(cli, table, tmp_path):
    plot = tmp_path / "out" / "lr.png"
    code, out, err = cli("lr-find", table, "--target", "y", "--plot", plot, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert {"suggested_lr", "lrs", "losses"} <= set(doc)
    assert len(doc["lrs"]) == len(doc["losses"]) > 10
    assert doc["suggested_lr"] is None or doc["lrs"][0] <= doc["suggested_lr"] <= doc["lrs"][-1]
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_lr_find_without_out_writes_nothing_but_its_output(cli, table, tmp_path,
                                                           monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    code, out, err = cli("lr-find", table, "--target", "y", "--json")
    assert code == 0, err
    assert json.loads(out)["plot"] is None and list(work.iterdir()) == []
    code, _, err = cli("lr-find", table, "--target", "y", "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    assert (tmp_path / "run" / "lr_finder.png").read_bytes()[:4] == b"\x89PNG"


def test_lr_find_prints_the_suggestion(cli, table, tmp_path):
    code, out, _ = cli("lr-find", table, "--target", "y", "--plot", tmp_path / "lr.png")
    assert code == 0 and "suggested learning rate" in out


@pytest.mark.parametrize(("args", "needle"), [
    (("check", "missing.csv", "--target", "y"), "missing.csv"),
    (("check", "{table}", "--target", "nope"), "nope"),
    (("check", "{table}", "--target", "y", "--hidden", "8,x"), "--hidden"),
    (("check", "{table}", "--target", "y", "--activation", "swish"), "activation"),
    (("check", "{table}", "--target", "y", "--skip", "gradcheck"), "unknown check"),
    (("lr-find", "{table}", "--target", "y", "--start-lr", "1", "--end-lr", "0.1"), "start_lr"),
    (("lr-find", "{table}", "--target", "y", "--steps", "2"), "num_steps"),
    (("lr-find", "{table}", "--target", "y", "--optimizer", "lion"), "optimizer"),
])
def test_user_errors_end_in_one_line_and_exit_status_2(cli, table, tmp_path, args, needle):
    args = [str(a).replace("{table}", str(table)) for a in args]
    code, out, err = cli(*args, "--plot", tmp_path / "p.png") if args[0] == "lr-find" \
        else cli(*args)
    assert code == 2
    assert err.startswith("error: ") and needle in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
