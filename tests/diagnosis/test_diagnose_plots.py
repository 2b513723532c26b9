"""The diagnosis pictures for the report: PNGs drawn without pyplot."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest

from fullcycle.diagnosis.diagnosis import diagnose
from fullcycle.diagnosis.learning_curves import learning_curve
from fullcycle.diagnosis.plots import (
    bias_variance_chart,
    bias_variance_figure,
    learning_curve_figure,
    learning_curve_plot,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_bias_variance_chart_stacks_each_gap_on_the_previous_error(tmp_path) -> None:
    d = diagnose(train_error=0.07, dev_error=0.10, human_level_error=0.01,
                 train_dev_error=0.08, test_error=0.105)
    fig = bias_variance_figure(d)
    bars = fig.axes[0].patches
    assert [round(b.get_height(), 6) for b in bars] == [0.01, 0.06, 0.01, 0.02, 0.005]
    # each gap starts where the previous error ended: human, train, train-dev, dev
    assert [round(b.get_y(), 6) for b in bars] == [0.0, 0.01, 0.07, 0.08, 0.10]
    assert "primary problem: avoidable bias" in fig.axes[0].get_title(loc="left")
    assert bars[1].get_hatch() == "//"  # the primary problem stands out
    path = bias_variance_chart(d, None, tmp_path / "plots" / "bias_variance.png")
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_bias_variance_chart_from_summary_dict_with_negative_bias(tmp_path) -> None:
    summary = json.loads(json.dumps(diagnose(0.01, 0.06, 0.04).to_dict()))
    fig = bias_variance_figure(summary, human_level_error=0.04)
    heights = [round(b.get_height(), 6) for b in fig.axes[0].patches]
    assert heights == [0.04, -0.03, 0.05]  # no train-dev set: no mismatch bar
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert any("dev − train" in label for label in labels)
    assert bias_variance_chart(summary, 0.04, tmp_path / "bv.png").stat().st_size > 5_000


def test_learning_curve_plot_draws_curves_fit_and_verdict(tmp_path) -> None:
    X, y = np.zeros((800, 1)), np.zeros(800)
    curve = learning_curve(lambda X, y: (0.02, 3.0 * len(X) ** -0.5 + 0.05), X, y)
    fig = learning_curve_figure(curve)
    lines = fig.axes[0].get_lines()
    assert len(lines) >= 3  # train, dev, fitted law
    assert list(lines[1].get_xdata()) == list(curve.sizes)
    assert "more data helps" in fig.axes[0].get_title(loc="left")
    path = learning_curve_plot(json.loads(json.dumps(curve.to_dict())), tmp_path / "lc.png")
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_chart_from_the_contract_keys_only() -> None:
    full = diagnose(0.01, 0.10, train_dev_error=0.015).to_dict()
    contract = {k: full[k] for k in ("avoidable_bias", "variance", "data_mismatch",
                                     "dev_overfit", "primary_problem", "next_actions")}
    bars = bias_variance_figure(contract, human_level_error=0.0).axes[0].patches
    assert [round(b.get_height(), 6) for b in bars] == [0.0, 0.01, 0.005, 0.085]


def test_plots_leave_the_global_backend_alone() -> None:
    before = matplotlib.get_backend()
    bias_variance_figure(diagnose(0.15, 0.16))
    assert matplotlib.get_backend() == before


@pytest.mark.parametrize("errors", [(4.0, 9.5, 3.0)])
def test_regression_errors_use_raw_units_on_the_axis(errors) -> None:
    train, dev, human = errors
    fig = bias_variance_figure(diagnose(train, dev, human))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "+5.5" in texts and not any("%" in t for t in texts)


def test_a_human_error_that_contradicts_the_diagnosis_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="differs from the diagnosis"):
        bias_variance_chart(diagnose(0.07, 0.10, 0.01), 0.06, tmp_path / "bv.png")
