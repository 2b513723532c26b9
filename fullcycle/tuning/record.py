"""Write a search into its run directory: summary section, slice plot, journal entries.

* `summary.json` gets a `search` section (best, every trial with its round, both rounds'
  ranges and the narrowing rule, importance, the plan), which the report renders;
* `search_slice.png` plots the dev error against each hyperparameter on the scale it was
  searched on (log axes for log-scaled ones), coarse and fine rounds in two colours, the
  best trial starred: Optuna's slice plot, drawn with matplotlib;
* the journal gets one experiment per trial (reason: its round), its per-epoch dev errors,
  and the narrowing as a decision, so both rounds are visible in `fullcycle runs`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from fullcycle.tuning.plan import FINE
from fullcycle.tuning.results import RULE, SearchResult
from fullcycle.tuning.space import describe_param

PLOT_NAME = "search_slice.png"

_REASONS = {
    "coarse": "coarse round: random draw over the full ranges, each on its scale (seed 000)",
    "fine": "fine round: random draw inside ranges narrowed around the best coarse trials",
}


def record_search(result: SearchResult, out: str | Path) -> None:
    """Write the summary section, the slice plot and the journal entries of `result`."""
    from fullcycle.rundir import RunDir

    run = RunDir(out)
    section = result.to_dict()
    plot = slice_plot(result, run.file(PLOT_NAME))
    section["plot"] = PLOT_NAME if plot is not None else None
    run.update_summary(search=section)
    journal_search(run.journal, result)


def slice_plot(result: SearchResult, path: Path) -> Path | None:
    """Dev error against each searched parameter (on its scale); None when nothing finished."""
    rows = [r for r in result.trials if r["dev_error"] is not None
            and math.isfinite(r["dev_error"]) and r["state"] in ("complete", "pruned")]
    names = sorted({k for r in rows for k in r["values"]})
    if not rows or not names:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    ranges = result.rounds.get("coarse", {}).get("ranges", {})
    cols = min(4, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols, 2.6 * nrows), squeeze=False,
                             sharey=True)
    best = result.best["number"] if result.best else None
    for ax, name in zip(axes.flat, names, strict=False):
        for round_name, colour in (("coarse", "tab:blue"), ("fine", "tab:orange")):
            pts = [(r["values"][name], r["dev_error"], r["state"]) for r in rows
                   if r["round"] == round_name and name in r["values"]]
            if pts:
                ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, c=colour,
                           alpha=[1.0 if p[2] == "complete" else 0.35 for p in pts],
                           label=round_name)
        star = [r for r in rows if r["number"] == best and name in r["values"]]
        if star:
            ax.scatter([star[0]["values"][name]], [star[0]["dev_error"]], marker="*", s=120,
                       c="crimson", label="best", zorder=3)
        coarse = ranges.get(name, {})
        if coarse.get("log"):
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        if "low" in coarse and coarse["high"] > coarse["low"]:
            # the whole coarse range (plus 3% each side), so the fine round's narrowing shows
            lo, hi = coarse["low"], coarse["high"]
            if coarse.get("log"):
                pad = (hi / lo) ** 0.03
                ax.set_xlim(lo / pad, hi * pad)
            else:
                pad = 0.03 * (hi - lo)
                ax.set_xlim(lo - pad, hi + pad)
        ax.set_xlabel(describe_param(name))
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("dev error")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("dev error per hyperparameter (faded: pruned)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def journal_search(journal: Any, result: SearchResult) -> None:
    """One journal run per invocation; each trial journaled once across resumes."""
    run_id = journal.start_run("search", {"study": result.study, "storage": result.storage,
                                          "plan": result.to_dict()["plan"]})
    seen = {e["name"] for e in journal.experiments()}
    for row in result.trials:
        name = f"search {result.study} trial {row['number']}"
        if name in seen or row["state"] in ("running", "waiting"):
            continue
        exp = journal.start_experiment(run_id, name, row["params"],
                                       seed=result.plan.seed,
                                       data_fingerprint=result.plan.data_fingerprint,
                                       reason=_REASONS.get(row["round"], row["round"]))
        for epoch, error in row.get("curve", []):
            journal.log_epoch(exp, int(epoch), {"dev_error": error})
        metrics = {"dev_error": row["dev_error"], "round": row["round"]}
        if "train_error" in row:
            metrics["train_error"] = row["train_error"]
        if "stopped" in row:
            metrics["stopped"] = row["stopped"]
        best = result.best is not None and result.best["number"] == row["number"]
        journal.end_experiment(exp, row["state"], metrics, kept=best)
    fine = result.rounds.get(FINE)
    if fine is not None:
        journal.log_decision(
            run_id, "search_refine",
            {"coarse_ranges": result.rounds["coarse"]["ranges"],
             "top_trials": fine.get("top_trials", [])},
            f"fine round over {fine['ranges']}", RULE)
    journal.end_run(run_id)
