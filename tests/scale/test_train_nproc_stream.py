"""`fullcycle train` past one process and past memory: --nproc, --stream, the trackers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from fullcycle.cli.common import command_line
from fullcycle.journal import Journal


def _frame(n: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "kind": rng.choice(["p", "q", "r"], n)})
    frame["y"] = (frame["a"] - frame["b"] + (frame["kind"] == "p") > 0.3).astype(int)
    return frame


def test_train_streams_parquet_and_its_bundle_predicts(tmp_path, cli):
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pandas(_frame(), preserve_index=False), path,
                   row_group_size=200)
    code, out, err = cli("train", path, "--target", "y", "--stream", "--epochs", "30",
                         "--out", tmp_path / "run", "--json", "--seed", "2")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["splits"] == {"train": 900, "train_dev": 0, "dev": 300, "test": 300}
    assert summary["errors"]["dev"] < 0.3 and not summary["test_accesses"]
    code, _, err = cli("predict", tmp_path / "run" / "model", path, "--out",
                       tmp_path / "p.csv")
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "p.csv")) == 1500


def test_stream_refuses_what_needs_the_whole_table_in_memory(tmp_path, cli):
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pandas(_frame(), preserve_index=False), path)
    code, _, err = cli("train", path, "--target", "y", "--stream", "--dev-data", path,
                       "--out", tmp_path / "run")
    assert code == 2 and "--dev-data needs the in-memory path" in err


def test_the_relaunch_repeats_the_flags_given_and_drops_nproc():
    app, seen = typer.Typer(), {}

    @app.command()
    def cmd(data: str, target: str = typer.Option(...), epochs: int | None = None,
            resume: bool = typer.Option(False, "--resume"), nproc: int = 1,
            ctx: typer.Context = None) -> None:  # type: ignore[assignment]
        seen["argv"] = command_line(ctx, drop={"nproc"})

    result = CliRunner().invoke(app, ["d.csv", "--target", "y", "--epochs", "3", "--resume",
                                      "--nproc", "4"])
    assert result.exit_code == 0, result.output
    assert seen["argv"] == ["d.csv", "--target", "y", "--epochs", "3", "--resume"]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_train_with_two_processes_writes_once_and_prints_one_summary(tmp_path, capfd):
    from fullcycle.cli import main

    _frame().to_csv(tmp_path / "data.csv", index=False)
    code = main(["train", str(tmp_path / "data.csv"), "--target", "y", "--nproc", "2",
                 "--epochs", "3", "--out", str(tmp_path / "run"), "--json"])
    captured = capfd.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)  # rank 0's one document, nothing from rank 1
    assert summary["epochs_run"] == 3 and summary["splits"]["train"] == 900
    journal = Journal(tmp_path / "run" / "journal.sqlite")
    epochs = journal.epochs(journal.experiments()[0]["id"])
    assert len(journal.runs()) == 1 and len(epochs) == summary["epochs_run"]
    assert list((tmp_path / "run" / "logs").glob("*/attempt_0/1/stderr.log"))
