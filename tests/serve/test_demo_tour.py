"""The demo's deployment tour: export, a real loopback server, and the monitor finding the
planted shift (and nothing else) in the served traffic."""

from __future__ import annotations

import pandas as pd
import pytest
import tiny_bundles
from rich.console import Console

from fullcycle.cli.demo import ONE_ROW_REQUESTS, deploy_tour, write_dataset
from fullcycle.serve.served_log import read_served


@pytest.mark.slow  # trains on 569 rows, 200 requests, 31 histograms: ~10 s on a busy machine
def test_the_tour_exports_serves_and_catches_the_planted_shift(tmp_path):
    data, target = write_dataset("breast_cancer", tmp_path / "data")
    run = tmp_path / "run"
    tiny_bundles.make_bundle(run / "model", pd.read_csv(data), target, epochs=2)
    console = Console(record=True, width=200)
    deploy = deploy_tour(console, run, data, target)
    text = console.export_text()
    assert deploy["onnx"]["max_abs_diff"] <= 1e-4 and (run / "model" / "model.onnx").exists()
    assert deploy["serve"]["runtime"] == "onnx" and deploy["serve"]["server_p50_ms"] > 0
    assert deploy["monitor"]["drifted_columns"] == ["mean radius"]
    assert len(read_served(run / "served").rows) == ONE_ROW_REQUESTS + 569
    assert (run / "monitor" / "monitor.html").exists()
    for step in ("export:", "serve:", "monitor:"):
        assert step in text
