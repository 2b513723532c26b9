"""The simple baselines as the run's yardstick: the Bayes-error proxy they give when no
human-level error is known, and the honest comparison of the network with the strongest."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from fullcycle.recipe.moves import Decision

if TYPE_CHECKING:
    from fullcycle.recipe.trainer import Outcome


def bayes_proxy(rows: list[dict]) -> tuple[float, str, Decision] | None:
    """Without a human-level error, the best baseline's dev error is the Bayes proxy: an
    error known to be achievable, so an upper bound on Bayes error (never 0).

    Returns (value, description, the decision that says so); None without a finite row."""
    finite_rows = [r for r in rows if math.isfinite(r["dev_error"])]
    if not finite_rows:
        return None
    best = min(finite_rows, key=lambda r: r["dev_error"])
    value = float(best["dev_error"])
    return value, f"the best baseline's dev error ({best['name']})", Decision(
        "bayes_proxy", {"baseline": best["name"], "value": value},
        f"Bayes-error proxy {value:.4g} ({best['name']}, a bound)",
        "no human-level error given: an error a simple model reaches on dev bounds the "
        "Bayes error from above (issue: never 0)")


def compare_with_baselines(best: Outcome, rows: list[dict]) -> dict[str, Any]:
    """The network beside the strongest baseline on dev, said plainly (issue: honest
    comparison): who wins and by how much, in the metric's error units."""
    finite_rows = [r for r in rows if math.isfinite(r.get("dev_error", math.inf))]
    if not finite_rows:
        return {}
    strongest = min(finite_rows, key=lambda r: r["dev_error"])
    network, baseline = best.dev_error, float(strongest["dev_error"])
    gap = network - baseline
    wins = gap > 0
    relative = gap / baseline if baseline > 0 else math.inf
    verdict = (f"the {strongest['name']} baseline beats the network on dev: {baseline:.4g} "
               f"against {network:.4g} ({gap:+.4g}, {relative:+.1%})" if wins else
               f"the network beats the strongest baseline ({strongest['name']}) on dev: "
               f"{network:.4g} against {baseline:.4g} ({gap:+.4g})")
    return {"network_dev_error": network, "baseline": strongest["name"],
            "baseline_dev_error": baseline, "difference": gap,
            "relative_difference": relative if math.isfinite(relative) else None,
            "baseline_wins": wins, "verdict": verdict}
