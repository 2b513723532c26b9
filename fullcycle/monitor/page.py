"""The monitor's HTML page: a per-column table with reference-vs-live histograms.

Numeric columns: both distributions on shared bin edges, as shares of their rows (so a
reference of 5,000 rows and 200 live rows compare). Categorical columns and predicted labels:
side-by-side bars of the most frequent categories' shares.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import numpy as np
import pandas as pd

from fullcycle import __version__
from fullcycle.report.formatting import format_number, format_share
from fullcycle.report.plots import COLORS, encode_figure

if TYPE_CHECKING:
    from fullcycle.monitor.check import MonitorResult

TEMPLATES = Path(__file__).parent / "templates"
BINS = 30
TOP_CATEGORIES = 10
METHODS = {"ks": "Kolmogorov–Smirnov", "chisquare": "chi-square", "z": "two-proportion z",
           "wasserstein": "Wasserstein (normed)", "jensenshannon": "Jensen–Shannon",
           "domain_classifier": "domain classifier (ROC AUC)", "none": "—"}
RULES = {True: "Kolmogorov–Smirnov for numeric columns with more than 5 values, chi-square "
               "(or a z-test for two values) for the others, drift at p < 0.05.",
         False: "Wasserstein distance over the reference's standard deviation for numeric "
                "columns with more than 5 values, Jensen–Shannon distance for the others, "
                "drift at 0.1 or more."}
TEXT_RULE = {True: "Text columns: a bag-of-words classifier tries to tell live texts from the "
                   "reference; drift when its ROC AUC beats the 95th percentile of a random "
                   "classifier's.",
             False: "Text columns: a bag-of-words classifier tries to tell live texts from the "
                    "reference; drift when its ROC AUC exceeds 0.55."}


def histogram(reference: pd.Series, live: pd.Series, kind: str) -> str | None:
    """A data URI comparing the two distributions, or None when a side has no values (a text
    column is drawn as its words per text)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(3.6, 1.4), dpi=80)  # no pyplot: no global state, a third faster
    ax = fig.add_axes((0.02, 0.22, 0.96, 0.74))
    if kind == "text":
        from fullcycle.monitor.text_drift import word_counts

        reference, live, kind = word_counts(reference), word_counts(live), "numeric"
    if kind == "picture":  # the mean thumbnail of each side, side by side
        from fullcycle.monitor.picture_drift import thumbnail_matrix

        ref, cur = thumbnail_matrix(reference), thumbnail_matrix(live)
        if not len(ref) or not len(cur):
            return None
        side = int(round(np.sqrt(ref.shape[1])))
        gap = np.full((side, 1), np.nan)
        ax.imshow(np.hstack([ref.mean(0).reshape(side, side), gap,
                             cur.mean(0).reshape(side, side)]), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([(side - 1) / 2, side + 1 + (side - 1) / 2], ["reference", "live"])
        ax.tick_params(labelsize=7, length=0)
        ax.set_yticks([])
        ax.spines[:].set_visible(False)
        return encode_figure(fig)
    if kind == "numeric":
        ref = pd.to_numeric(reference, errors="coerce").to_numpy(dtype=float)
        cur = pd.to_numeric(live, errors="coerce").to_numpy(dtype=float)
        ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
        if not len(ref) or not len(cur):
            return None
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=BINS)
        for values, color in ((ref, COLORS["train"]), (cur, COLORS["dev"])):
            shares = np.histogram(values, bins=edges)[0] / len(values)
            ax.stairs(shares, edges, fill=True, alpha=0.35, color=color)
            ax.stairs(shares, edges, color=color, linewidth=1)
        ax.xaxis.set_major_locator(MaxNLocator(4))  # tick labels are most of the drawing time
    else:
        ref, cur = reference.dropna().astype(str), live.dropna().astype(str)
        if not len(ref) or not len(cur):
            return None
        shares = pd.DataFrame({"reference": ref.value_counts(normalize=True),
                               "live": cur.value_counts(normalize=True)}).fillna(0.0)
        shares = shares.loc[shares.max(axis=1).sort_values(ascending=False).index]
        shares = shares.iloc[:TOP_CATEGORIES]
        x = np.arange(len(shares))
        ax.bar(x - 0.2, shares["reference"], 0.4, color=COLORS["train"])
        ax.bar(x + 0.2, shares["live"], 0.4, color=COLORS["dev"])
        ax.set_xticks(x, [str(i)[:10] for i in shares.index])
    ax.tick_params(labelsize=7, length=2, pad=1)
    ax.set_yticks([])
    ax.spines[["top", "right", "left"]].set_visible(False)
    return encode_figure(fig)


def render_page(result: MonitorResult) -> str:
    """The page's HTML for one monitor result."""
    plots = {f"column:{name}": histogram(result.reference[name], result.live[name], kind)
             for name, kind in result.kinds.items()}
    kind = "numeric" if result.meta["task"] == "regression" else "categorical"
    plots["prediction"] = histogram(result.reference_predictions, result.live_predictions,
                                    kind)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"]),
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = format_number
    env.filters["share"] = format_share
    doc = result.to_dict()
    checked = datetime.fromtimestamp(doc["checked_at"], UTC).strftime("%Y-%m-%d %H:%M UTC")
    return env.get_template("monitor.html").render(
        doc=doc, plots=plots, methods=METHODS, checked=checked, version=__version__,
        rule=RULES[doc["reference_rows"] <= 1000]
        + (" " + TEXT_RULE[doc["reference_rows"] <= 1000]
           if "text" in result.kinds.values() else "")
        + (" " + TEXT_RULE[doc["reference_rows"] <= 1000].replace("Text columns: a bag-of-"
                                                                  "words", "Pictures: a")
           .replace("texts", "pictures' 8×8 thumbnails", 1).replace("texts", "pictures")
           if "picture" in result.kinds.values() else ""))
