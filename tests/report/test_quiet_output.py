"""`--quiet` means quiet: no pandas or matplotlib warnings, whatever the column names."""

from __future__ import annotations

import subprocess
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

import fullcycle as fc


def test_plots_with_cjk_labels_draw_without_glyph_warnings():
    from fullcycle.report.plots import _encode, _figure

    fig, ax = _figure()
    ax.plot([0, 1], [1, 0], label="年龄")
    ax.barh(["北京", "上海"], [1, 2])  # category tick labels appear only when drawn
    ax.set_title("收入 by 城市")
    ax.legend()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        uri = _encode(fig)
    assert uri.startswith("data:image/png;base64,")


def test_the_fallback_fonts_end_with_one_that_has_every_glyph():
    from fullcycle.report.plots import LAST_RESORT, fallback_families

    families = fallback_families(frozenset("年龄"))
    assert families[0] == "DejaVu Sans" and families[-1] == LAST_RESORT
    assert fallback_families(frozenset("é")) == ("DejaVu Sans",)  # nothing missing


def test_dev_predictions_with_many_classes_do_not_fragment_the_frame():
    from fullcycle.recipe.outputs import dev_predictions

    rng = np.random.default_rng(0)
    classes = 110  # one probability column each: inserted one by one, pandas warns
    y = np.repeat(np.arange(classes), 5)
    frame = pd.DataFrame({"a": rng.normal(size=len(y)), "t": rng.choice(["u", "v"], len(y)),
                          "y": [f"c{v}" for v in y]})
    p = fc.prepare(frame, "y", split={"dev_size": 0.4, "test_size": 0.2})
    model = torch.nn.Linear(p.preprocessor.n_features, classes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, proba = dev_predictions(SimpleNamespace(p=p), SimpleNamespace(model=model))
    assert list(out.columns[:5]) == ["row", "input.a", "input.t", "y_true", "y_pred"]
    assert len(out.columns) == 5 + classes and proba.shape == (p.sizes["dev"], classes)


@pytest.mark.slow
def test_run_quiet_on_cjk_columns_prints_nothing(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(rng.normal(size=(n, 2)), columns=["年龄", "收入"])
    frame["城市"] = rng.choice(["北京", "上海", "广州"], n)
    frame["y"] = np.where(frame["年龄"] > 0, "是", "否")
    path = tmp_path / "cjk.csv"
    frame.to_csv(path, index=False)
    result = subprocess.run(
        [sys.executable, "-m", "fullcycle", "run", str(path), "--target", "y", "--budget",
         "10s", "--out", str(tmp_path / "run"), "--quiet"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
