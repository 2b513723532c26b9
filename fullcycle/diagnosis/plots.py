"""Pictures of the diagnosis for the report: where the error comes from, and learning curves.

Both functions draw on a bare `matplotlib.figure.Figure` with the Agg canvas (no pyplot,
no global backend switch), so they are safe in servers, threads and headless runs. They
accept the result objects or their ``to_dict()`` form, as read back from ``summary.json``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fullcycle.diagnosis.diagnosis import PROBLEMS, Diagnosis
from fullcycle.diagnosis.learning_curves import LearningCurve

_LABELS = {
    "avoidable_bias": "avoidable bias\n(train − human)",
    "variance": "variance\n(train-dev − train)",
    "data_mismatch": "data mismatch\n(dev − train-dev)",
    "dev_overfit": "dev overfit\n(test − dev)",
}
_COLORS = {
    "human": "#9e9e9e",
    "avoidable_bias": "#e07b39",
    "variance": "#3b75af",
    "data_mismatch": "#8e5ea2",
    "dev_overfit": "#c0504d",
    "negative": "#d9d9d9",
}


def _as_dict(obj: Any) -> Mapping[str, Any]:
    return obj if isinstance(obj, Mapping) else obj.to_dict()


def _formatter(values: list[float]) -> Any:
    if all(v <= 1 for v in values):
        return lambda v: f"{v * 100:.1f}%"
    return lambda v: f"{v:.3g}"


def bias_variance_figure(diagnosis: Diagnosis | Mapping[str, Any],
                         human_level_error: float | None = None) -> Figure:
    """The error budget as a stacked bar laid out left to right (a waterfall).

    The first bar is human-level error; each next bar starts where the previous ended and
    adds one gap, so the tops read train, train-dev, dev and test error. The primary
    problem is hatched and outlined; a negative gap is drawn grey, going down.
    """
    d = _as_dict(diagnosis)
    recorded = d.get("human_level_error")
    if recorded is not None and human_level_error is not None \
            and abs(float(recorded) - float(human_level_error)) > 1e-12:
        # a caller's bug, not a user's: the gaps were computed from the recorded value
        raise ValueError(f"human_level_error {human_level_error} differs from the "
                         f"diagnosis's {recorded}; diagnose again with it, or pass None")
    human = float(recorded if recorded is not None else human_level_error or 0.0)
    gaps = [(name, d[name]) for name in PROBLEMS if d.get(name) is not None]
    # without a train-dev set, variance is dev − train and there is no mismatch bar
    has_train_dev = d.get("train_dev_error") is not None or d.get("data_mismatch") is not None
    levels = [human]
    for _, gap in gaps:
        levels.append(levels[-1] + float(gap))
    fmt = _formatter([abs(v) for v in levels])

    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    names = ["human-level\nerror"] + [
        _LABELS[n].replace("train-dev − train", "dev − train")
        if n == "variance" and not has_train_dev else _LABELS[n]
        for n, _ in gaps
    ]
    ax.bar(0, human, color=_COLORS["human"], edgecolor="black", linewidth=0.5)
    ax.text(0, human, fmt(human), ha="center", va="bottom", fontsize=9)
    primary = d.get("primary_problem")
    for i, (name, gap) in enumerate(gaps, start=1):
        bottom, gap = levels[i - 1], float(gap)
        is_primary = name == primary
        ax.bar(i, gap, bottom=bottom,
               color=_COLORS[name] if gap >= 0 else _COLORS["negative"],
               edgecolor="black" if is_primary else "none", linewidth=2 if is_primary else 0,
               hatch="//" if is_primary else None)
        ax.plot([i - 1.4, i + 0.4], [bottom, bottom], color="black", lw=0.6, ls=":")
        ax.text(i, max(bottom, bottom + gap), f"{'+' if gap >= 0 else '−'}{fmt(abs(gap))}",
                ha="center", va="bottom", fontsize=9,
                fontweight="bold" if is_primary else "normal")
    ax.set_xticks(range(len(names)), names, fontsize=8)
    ax.set_ylabel("error")
    top = max(levels) if max(levels) > 0 else 1.0
    ax.set_ylim(0, top * 1.18)
    ax.yaxis.set_major_formatter(lambda v, _pos: fmt(v))
    ax.spines[["top", "right"]].set_visible(False)
    headline = "no gap above tolerance" if primary in (None, "none") else \
        f"primary problem: {str(primary).replace('_', ' ')}"
    ax.set_title(f"Where the error comes from — {headline}", fontsize=10, loc="left")
    return fig


def bias_variance_chart(diagnosis: Diagnosis | Mapping[str, Any],
                        human_level_error: float | None, path: str | Path) -> Path:
    """Write `bias_variance_figure` as a PNG at ``path``; returns the path.

    ``human_level_error`` may be None: the diagnosis already records it (it is used when a
    dict lacks it, and must agree with it otherwise).
    """
    return _save(bias_variance_figure(diagnosis, human_level_error), path)


def learning_curve_figure(curve: LearningCurve | Mapping[str, Any]) -> Figure:
    """Train and dev error against training-set size (log scale), with the power-law fit
    extended to twice the data and its asymptote, and the verdict underneath."""
    c = _as_dict(curve)
    sizes = np.asarray(c["sizes"], dtype=float)
    train, dev = np.asarray(c["train_errors"]), np.asarray(c["dev_errors"])
    fmt = _formatter([float(v) for v in np.r_[train, dev]])

    fig = Figure(figsize=(7, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(sizes, train, "o-", color=_COLORS["avoidable_bias"], label="train error")
    ax.plot(sizes, dev, "o-", color=_COLORS["variance"], label="dev error")
    fit = c.get("fit")
    if fit:
        m = np.geomspace(sizes.min(), 2 * sizes.max(), 100)
        ax.plot(m, fit["a"] * m ** (-fit["b"]) + fit["c"], "--", color=_COLORS["variance"],
                alpha=0.7, label=f"fit a·m^(−{fit['b']:.2f}) + c (R² {fit['r2']:.2f})")
        ax.axhline(fit["c"], color="grey", ls=":", lw=1, label=f"c = {fmt(fit['c'])}")
        ax.axvline(2 * sizes.max(), color="grey", ls="-", lw=0.5)
    ax.set_xscale("log")
    ticks = [*sizes, 2 * sizes.max()] if fit else list(sizes)
    ax.set_xticks(ticks, [f"{int(t):,}" for t in ticks], fontsize=8)
    ax.xaxis.set_minor_formatter(lambda _v, _pos: "")  # no crowded minor labels on log axes
    ax.set_ylim(bottom=0)
    ax.set_xlabel("training-set size m (rows); the last tick is twice the data")
    if not fit:
        ax.set_xlabel("training-set size m (rows)")
    ax.set_ylabel("error")
    ax.yaxis.set_major_formatter(lambda v, _pos: fmt(v))
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False)
    helps = ("more data helps" if c.get("more_data_helps") else "one size, undetermined"
             if c.get("more_data_helps") is None else "more data will not help much")
    ax.set_title(f"Learning curve — {helps}", fontsize=10, loc="left")
    fig.text(0.01, 0.0, textwrap.fill(str(c.get("verdict", "")), 110), fontsize=7,
             va="bottom", ha="left")
    fig.get_layout_engine().set(rect=(0, 0.08, 1, 0.92))
    return fig


def learning_curve_plot(curve: LearningCurve | Mapping[str, Any], path: str | Path) -> Path:
    """Write `learning_curve_figure` as a PNG at ``path``; returns the path."""
    return _save(learning_curve_figure(curve), path)


def _save(fig: Figure, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, format="png", dpi=110)
    return target
