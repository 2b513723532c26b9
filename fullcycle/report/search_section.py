"""The report's search section: a `fullcycle search` study or the autopilot's own rounds."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from fullcycle.report import plots
from fullcycle.report.plots import try_plot
from fullcycle.rundir import RunDir

_ROUND = re.compile(r"^search round (\d+): (.*)$")


def _autopilot_search(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The search section of a run whose autopilot ran its own search rounds (its
    experiments named "search round N: ..."), which writes no `search` section."""
    trials = []
    for index, e in enumerate(summary.get("experiments") or []):
        match = _ROUND.match(str(e.get("change", ""))) if isinstance(e, dict) else None
        if match:
            trials.append({"number": index + 1, "round": f"round {match.group(1)}",
                           "description": match.group(2), "params": {},
                           "dev_error": e.get("dev_error"), "state": "complete"})
    if not trials:
        return None
    finished = sorted((t for t in trials if isinstance(t["dev_error"], int | float)
                       and math.isfinite(t["dev_error"])), key=lambda t: t["dev_error"])
    rounds = len({t["round"] for t in trials})
    return {
        "best": finished[0] if finished else None, "top": finished[:10], "counts": {},
        "plot": None,
        "line": (f"The autopilot ran {len(trials)} trials in {rounds} round"
                 f"{'s' if rounds > 1 else ''} of random search around its best configuration "
                 "once the recipe's moves were spent (numbers are rows of the experiments "
                 "table)."),
    }


def search_section(run: RunDir, summary: dict[str, Any]) -> dict[str, Any] | None:
    """The search section: best trial, the ten best finished trials, its own slice plot."""
    search = summary.get("search")
    if not isinstance(search, dict) or not search:
        return _autopilot_search(summary)
    trials = search.get("trials") or search.get("best_trials") or []
    finished = [
        t
        for t in trials
        if isinstance(t, dict)
        and t.get("state", "complete") == "complete"
        and isinstance(t.get("dev_error", t.get("value")), int | float)
    ]
    finished.sort(key=lambda t: t.get("dev_error", t.get("value")))
    plot = None
    name = search.get("plot")
    if isinstance(name, str) and run.has(name) and not Path(name).is_absolute():
        plot = try_plot(plots.encode_png_file, run.file(name))
    return {
        "best": search.get("best"),
        "top": finished[:10],
        "counts": search.get("counts") or {},
        "plot": plot,
        "line": None,
    }


def from_search(summary: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A `fullcycle search` directory's summary holds only its search section: take the
    task, the errors (of the best trial) and the diagnosis from there. Returns the summary
    to render and where its errors came from (None: the summary's own)."""
    search = summary.get("search")
    if summary.get("errors") or not isinstance(search, dict):
        return summary, None
    best = search.get("best") if isinstance(search.get("best"), dict) else {}
    errors = {k: best.get(f"{k}_error") for k in ("train", "train_dev", "dev")}
    errors = {k: v for k, v in errors.items() if isinstance(v, int | float)}
    filled = {
        "task": summary.get("task") or search.get("task"),
        "errors": errors,
        "diagnosis": summary.get("diagnosis") or search.get("diagnosis"),
        "human_level_error": summary.get("human_level_error",
                                         search.get("human_level_error")),
    }
    source = f"best search trial (#{best.get('number')})" if errors else None
    return {**summary, **{k: v for k, v in filled.items() if v is not None}}, source
