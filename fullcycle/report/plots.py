"""The report's plots, drawn with matplotlib's Agg backend and embedded as base64 PNG.

Each function takes plain numbers (what summary.json and the journal hold) and returns a
``data:image/png;base64,...`` URI, so the report is one file that opens without a network.
A plot is only drawn when its data exists; the caller shows "not run" otherwise.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit: the report is built on servers and in CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.category import StrCategoryConverter  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.text import Text  # noqa: E402

# One palette for every plot, so "train" and "dev" look the same everywhere.
COLORS = {
    "train": "#2563eb",
    "train_dev": "#7c3aed",
    "dev": "#ea580c",
    "test": "#0f766e",
    "human": "#6b7280",
    "mark": "#dc2626",
}
SERIES = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2", "#ca8a04", "#db2777", "#4b5563"]


def _figure(width: float = 6.4, height: float = 3.6) -> tuple[Any, Any]:
    fig, ax = plt.subplots(figsize=(width, height), dpi=110, layout="constrained")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, alpha=0.25, linewidth=0.6)
    return fig, ax


def _encode(fig: Any) -> str:
    buffer = io.BytesIO()
    _fonts_for(fig)
    fig.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.08)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def encode_figure(fig: Any) -> str:
    """A data URI of a bare ``matplotlib.figure.Figure`` (as `fullcycle.diagnosis.plots` draws)."""
    buffer = io.BytesIO()
    _fonts_for(fig)
    fig.savefig(buffer, format="png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# matplotlib's own font that draws every code point as a box naming its script: the last
# fallback, so a label in a script no installed font has shows as that, without warnings
LAST_RESORT = "Last Resort High-Efficiency"


def _fonts_for(fig: Any) -> None:
    """Let texts with characters the default font lacks (column or class names in CJK,
    Arabic...) fall back to an installed font that has them, then to `LAST_RESORT`."""
    if any(isinstance(axis.get_converter(), StrCategoryConverter)
           for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)):
        # category tick labels (class or column names) exist only once drawn
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.canvas.draw()
    texts = [t for t in fig.findobj(Text) if not t.get_text().isascii()]
    if not texts:
        return
    chars = frozenset(c for t in texts for c in t.get_text() if not c.isascii())
    families = list(fallback_families(chars))
    for text in texts:
        text.set_fontfamily(families)


@functools.lru_cache(maxsize=64)
def fallback_families(chars: frozenset[str]) -> tuple[str, ...]:
    """The default sans-serif font, then installed fonts covering ``chars`` not in it."""
    default = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    families = [font_manager.get_font(default).family_name]
    missing = {ord(c) for c in chars} - set(_charmap(default))
    for entry in font_manager.fontManager.ttflist:
        if not missing:
            break
        if entry.name in families or entry.name == LAST_RESORT:
            continue
        covered = missing & set(_charmap(entry.fname))
        if covered:
            families.append(entry.name)
            missing -= covered
    if missing and any(e.name == LAST_RESORT for e in font_manager.fontManager.ttflist):
        families.append(LAST_RESORT)
    return tuple(families)


@functools.lru_cache(maxsize=256)
def _charmap(path: str) -> frozenset[int]:
    try:
        return frozenset(font_manager.get_font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


def encode_png_file(path: Any) -> str:
    """A data URI of a PNG another part saved into the run directory."""
    with open(path, "rb") as handle:
        return "data:image/png;base64," + base64.b64encode(handle.read()).decode("ascii")


def _finite(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _mark(ax: Any, x: np.ndarray, y: np.ndarray, rate: float, style: str, label: str) -> None:
    ok = np.isfinite(y) & (x > 0)
    ax.axvline(
        rate,
        color=COLORS["mark"] if style == "--" else COLORS["test"],
        linestyle=style,
        linewidth=1.2,
    )
    at = np.interp(np.log(rate), np.log(x[ok]), y[ok])
    ax.plot(
        [rate], [at], "o", color=COLORS["mark"] if style == "--" else COLORS["test"], label=label
    )


def lr_finder_plot(
    lrs: Sequence[float],
    losses: Sequence[float],
    suggested: float | None,
    chosen: float | None = None,
) -> str:
    """Smoothed loss against learning rate (log scale), the suggested rate marked (seed 001),
    and the rate training started with when the recipe clipped the suggestion."""
    fig, ax = _figure()
    x, y = _finite(lrs), _finite(losses)
    ax.plot(x, y, color=COLORS["train"], linewidth=1.8, label="smoothed loss")
    ax.set_xscale("log")
    usable = [v for v in (suggested, chosen) if v is not None and math.isfinite(v) and v > 0]
    if suggested in usable:
        _mark(ax, x, y, suggested, "--", f"suggested {suggested:.2g}")
    if chosen in usable and (suggested not in usable or not math.isclose(chosen, suggested)):
        _mark(ax, x, y, chosen, ":", f"used {chosen:.2g}")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss")
    ax.legend(frameon=False)
    return _encode(fig)


MAX_NAMED_CURVES = 8  # more colours than this stop being told apart; the rest are grey


def _short(name: str, width: int = 42) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def loss_curves_plot(curves: Sequence[dict[str, Any]], ylabel: str = "loss") -> str:
    """Training (solid) and dev (dashed) loss per epoch of every experiment.

    The first experiments (the recipe's own moves) get a colour and a legend entry each;
    beyond ``MAX_NAMED_CURVES`` (typically search trials) they are drawn faint grey, dev
    loss only, under one legend entry, so the page stays readable with dozens of them.
    A curve with no finite value draws nothing and gets no legend entry. ``ylabel`` says
    what the series are ("dev error" for search trials, which journal no loss).
    """
    curves = [c for c in curves if _has_data(c.get("train_loss")) or _has_data(c.get("dev_loss"))]
    named = list(curves[:MAX_NAMED_CURVES])
    rest = [c for c in curves[MAX_NAMED_CURVES:] if _has_data(c.get("dev_loss"))]
    rows = -(-(len(named) + bool(rest)) // 2)  # legend rows under the plot
    fig, ax = _figure(7.2, 3.6 + 0.2 * rows)
    for curve in rest:
        ax.plot(curve["epochs"], _finite(curve["dev_loss"]), color="#9ca3af", linewidth=0.8,
                alpha=0.5)
    handles = []
    for i, curve in enumerate(named):
        color = SERIES[i % len(SERIES)]
        for key, style in (("train_loss", "-"), ("dev_loss", "--")):
            if _has_data(curve.get(key)):
                values = _finite(curve[key])
                single = np.isfinite(values).sum() == 1  # a trial pruned after one epoch
                ax.plot(curve["epochs"], values, color=color, linewidth=1.6, linestyle=style,
                        marker="o" if single else None, markersize=4)
        handles.append(Line2D([], [], color=color, linewidth=2, label=_short(curve["name"])))
    if rest:
        handles.append(
            Line2D([], [], color="#9ca3af", linewidth=1,
                   label=f"{len(rest)} more experiments (dev {ylabel.replace('dev ', '')})")
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    # Under the axes: inside, a long legend would hide the curves.
    ax.legend(
        handles=handles,
        frameon=False,
        fontsize=7,
        ncol=2,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
    )
    return _encode(fig)


def _has_data(values: Sequence[Any] | None) -> bool:
    return bool(values) and bool(np.isfinite(_finite(values)).any())


def learning_curve_plot(
    sizes: Sequence[float],
    train_errors: Sequence[float],
    dev_errors: Sequence[float],
    human_level_error: float | None = None,
) -> str:
    """Error against training-set size: do the curves still converge (more data helps)?"""
    fig, ax = _figure()
    ax.plot(sizes, _finite(train_errors), "o-", color=COLORS["train"], label="train error")
    ax.plot(sizes, _finite(dev_errors), "o-", color=COLORS["dev"], label="dev error")
    if human_level_error is not None:
        ax.axhline(
            human_level_error, color=COLORS["human"], linestyle=":", label="human-level error"
        )
    ax.set_xlabel("training examples")
    ax.set_ylabel("error")
    ax.legend(frameon=False)
    return _encode(fig)


def gaps_plot(errors: dict[str, float | None], human_level_error: float | None) -> str:
    """Human → train → train-dev → dev → test as bars, each gap labelled by its name.

    Seed 003's decomposition: avoidable bias = train − human, variance = train-dev − train
    (dev − train without a train-dev set), data mismatch = dev − train-dev, overfitting the
    dev set = test − dev.
    """
    steps = [("human-level", human_level_error, COLORS["human"])]
    steps += [
        (label, errors.get(key), COLORS[key])
        for key, label in (
            ("train", "train"),
            ("train_dev", "train-dev"),
            ("dev", "dev"),
            ("test", "test"),
        )
    ]
    steps = [(label, float(v), c) for label, v, c in steps if v is not None]
    fig, ax = _figure(5.6, 3.8)
    labels = [s[0] for s in steps]
    values = [s[1] for s in steps]
    bars = ax.bar(labels, values, color=[s[2] for s in steps], width=0.6)
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(
            f"{value:.3g}",
            (bar.get_x() + bar.get_width() / 2, value),
            ha="center",
            va="bottom",
            fontsize=9,
            xytext=(0, 2),
            textcoords="offset points",
        )
    gap_names = {
        ("human-level", "train"): "avoidable bias",
        ("train", "train-dev"): "variance",
        ("train", "dev"): "variance",
        ("train-dev", "dev"): "data mismatch",
        ("dev", "test"): "dev overfit",
    }
    top = max(values) if values else 1.0
    for i in range(1, len(steps)):
        name = gap_names.get((labels[i - 1], labels[i]))
        if name:
            gap = values[i] - values[i - 1]
            ax.annotate(
                f"{name}\n{gap:+.3g}",
                (i - 0.5, top * 1.12),
                ha="center",
                fontsize=9,
                color="#374151",
            )
    ax.set_ylim(0, top * 1.3 if top > 0 else 1)
    ax.set_ylabel("error")
    return _encode(fig)


def confusion_plot(matrix: Sequence[Sequence[int]], classes: Sequence[str]) -> str:
    """Confusion matrix as a heat map, rows = true class, columns = predicted class."""
    data = np.asarray(matrix, dtype=float)
    size = min(9.0, 2.6 + 0.45 * len(classes))
    fig, ax = plt.subplots(figsize=(size + 0.8, size), dpi=110, layout="constrained")
    row_sums = data.sum(axis=1, keepdims=True)
    shares = np.divide(data, row_sums, out=np.zeros_like(data), where=row_sums > 0)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    if len(classes) <= 20:
        for (i, j), count in np.ndenumerate(data):
            ax.text(
                j,
                i,
                f"{int(count)}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if shares[i, j] > 0.6 else "#111827",
            )
    ticks = range(len(classes))
    ax.set_xticks(
        ticks,
        [str(c) for c in classes],
        rotation=45 if len(classes) > 4 else 0,
        ha="right" if len(classes) > 4 else "center",
    )
    ax.set_yticks(ticks, [str(c) for c in classes])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    return _encode(fig)


def bars_plot(
    labels: Sequence[str], values: Sequence[float], xlabel: str, highlight: str | None = None
) -> str:
    """Horizontal bars (class balance, baselines against the model, parameter importance)."""
    height = min(6.0, 1.2 + 0.32 * len(labels))
    fig, ax = _figure(6.4, height)
    colors = [COLORS["mark"] if label == highlight else COLORS["train"] for label in labels]
    ax.barh(list(labels)[::-1], list(values)[::-1], color=colors[::-1], height=0.6)
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", alpha=0.25)
    ax.grid(False, axis="y")
    return _encode(fig)


def class_balance_plot(balance: dict[str, dict[str, float]]) -> str:
    """Share of each class in each split, side by side (are the splits stratified?)."""
    splits = list(balance)
    classes = list(dict.fromkeys(c for shares in balance.values() for c in shares))
    fig, ax = _figure(5.6, 2.8)
    width = 0.8 / max(1, len(splits))
    x = np.arange(len(classes))
    for i, split in enumerate(splits):
        values = [balance[split].get(c, 0.0) for c in classes]
        ax.bar(
            x + i * width - 0.4 + width / 2,
            values,
            width,
            color=COLORS.get(split, SERIES[i % len(SERIES)]),
            label=split,
        )
    ax.set_xticks(x, classes, rotation=45 if len(classes) > 6 else 0)
    ax.set_ylabel("share of rows")
    ax.set_ylim(
        0, 1.18 * max((v for shares in balance.values() for v in shares.values()), default=1.0)
    )
    ax.legend(frameon=False, ncol=len(splits), loc="upper center")
    return _encode(fig)


def slices_plot(slices: Sequence[dict[str, Any]], overall: float, label: str) -> str:
    """Error rate of the slices that hurt most against the whole dev set's rate."""
    names = [_short(f"{s['column']} = {s['value']}", 34) for s in slices]
    rates = [float(s["error_rate"]) for s in slices]
    height = min(5.0, 1.3 + 0.34 * len(slices))
    fig, ax = _figure(6.4, height)
    ax.barh(names[::-1], rates[::-1], color=COLORS["dev"], height=0.6)
    ax.axvline(
        overall,
        color=COLORS["human"],
        linestyle="--",
        linewidth=1.2,
        label=f"whole dev set {overall:.3g}",
    )
    ax.set_xlabel(label)
    ax.grid(True, axis="x", alpha=0.25)
    ax.grid(False, axis="y")
    ax.legend(frameon=False, fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0))
    return _encode(fig)


def try_plot(draw: Any, *args: Any, **kwargs: Any) -> str | None:
    """Draw one plot; a plot that cannot be drawn from malformed data is left out, not fatal."""
    try:
        return draw(*args, **kwargs)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
