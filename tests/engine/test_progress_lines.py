"""Progress outside a terminal (a log file, CI): one line per epoch with its real time."""

from __future__ import annotations

import io
import re

import numpy as np
from rich.console import Console
from torch import nn

import fullcycle as fc
from fullcycle.engine.progress import ProgressBar, format_seconds


def _fit(console: Console, epochs: int = 5) -> str:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    fc.fit(nn.Linear(3, 1), (X, y), (X, y), loss="bce", epochs=epochs,
           progress=ProgressBar(console))
    return console.file.getvalue()


def test_a_log_file_gets_every_epoch_with_its_duration():
    text = _fit(Console(file=io.StringIO(), force_terminal=False, width=200))
    lines = [line for line in text.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == [f"{k}/5" for k in range(1, 6)]
    assert all(re.search(r"  \d+(\.\d+)?(ms|s)( \*)?$", line) for line in lines), lines
    assert not any(line.endswith(" 0.0s") for line in lines)


def test_a_terminal_still_gets_at_most_a_line_a_second():
    text = _fit(Console(file=io.StringIO(), force_terminal=True, width=200), epochs=20)
    lines = [line for line in text.splitlines() if "epoch " in line and "/20" in line]
    assert 1 <= len([line for line in lines if "train_loss" in line]) < 20


def test_durations_read_at_their_scale():
    assert format_seconds(0.0123) == "12ms"
    assert format_seconds(0.0004) == "0.4ms"
    assert format_seconds(3.456) == "3.46s"
    assert format_seconds(75.0) == "1m15s"
