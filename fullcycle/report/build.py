"""Build ``report.html``: one self-contained page of everything a run found (flow step 10).

The report reads what the run left behind: ``summary.json`` (every part writes its own
key), the journal (per-epoch losses of every experiment, and the recipe's decisions) and,
when ``fullcycle errors`` ran, ``error_analysis.json``. Runs of different commands fill
different parts, so every section is optional and shows "not run" when its data is
missing. Plots are PNGs embedded as base64 and the page loads nothing from the network.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from fullcycle import __version__
from fullcycle.analysis.run import ERROR_ANALYSIS_NAME
from fullcycle.errors import FullcycleError
from fullcycle.journal import Journal, experiment_error
from fullcycle.report import plots
from fullcycle.report.formatting import (
    CLASSIFICATION,
    format_compact,
    format_error,
    format_number,
    format_share,
)
from fullcycle.report.plots import try_plot
from fullcycle.report.search_section import from_search, search_section
from fullcycle.rundir import JOURNAL_NAME, RunDir, atomic_write_text

REPORT_NAME = "report.html"

TEMPLATES = Path(__file__).parent / "templates"
def _diagnose_plot(name: str, *args: Any) -> str | None:
    """Draw with the diagnosis part's own figure (`fullcycle.diagnosis.plots`), if it can.

    The diagnosis owns how its gaps and learning curves look; the report's own plots are the
    fallback for summaries that lack the fields those figures need.
    """
    try:
        from fullcycle.diagnosis import plots as diagnose_plots

        return plots.encode_figure(getattr(diagnose_plots, name)(*args))
    except (ImportError, AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None


def _journal_experiment(experiment: dict[str, Any]) -> dict[str, Any]:
    """A row of the experiment table rebuilt from the journal (change, reason, errors, kept)."""
    metrics = experiment.get("metrics")
    return {
        "change": experiment.get("name"),
        "reason": experiment.get("reason") or "",
        "train_error": experiment_error(metrics, "train"),
        "dev_error": experiment_error(metrics, "dev"),
        "kept": experiment.get("kept"),
    }


def _journal_records(run: RunDir) -> tuple[list[dict], list[dict], list[dict]]:
    """From the journal: loss curves of every experiment that logged epochs, the
    experiments as table rows, and the decisions."""
    if not run.has(JOURNAL_NAME):
        return [], [], []
    journal = Journal(run.file(JOURNAL_NAME))
    try:
        curves = []
        experiments = journal.experiments()
        for experiment in experiments:
            epochs = journal.epochs(experiment["id"])
            if not epochs:
                continue
            curve = {
                "id": experiment["id"],
                "name": experiment.get("name") or f"experiment {experiment['id']}",
                "epochs": [e["epoch"] for e in epochs],
                "train_loss": [e.get("train_loss") for e in epochs],
                "dev_loss": [e.get("dev_loss") for e in epochs],
                "measure": "loss",
            }
            if not any(v is not None for v in curve["train_loss"] + curve["dev_loss"]):
                # search trials journal only their dev error per epoch (what they minimize)
                curve.update(dev_loss=[e.get("dev_error") for e in epochs], measure="error")
            curves.append(curve)
        rows = [_journal_experiment(e) for e in experiments if e.get("status") != "running"]
        return curves, rows, journal.decisions()
    finally:
        journal.close()


def _error_analysis(run: RunDir, summary: dict[str, Any]) -> dict[str, Any] | None:
    """The latest error analysis: ``fullcycle errors`` output (with its ceiling table) when
    it is newer than summary.json, else the summary's own (a run that rewrote the summary
    after `fullcycle errors` has made that file stale)."""
    saved = run.file(ERROR_ANALYSIS_NAME)
    if saved.exists() and saved.stat().st_mtime >= run.file("summary.json").stat().st_mtime:
        return run.read_json(ERROR_ANALYSIS_NAME)
    return summary.get("error_analysis")


def _class_balance(summary: dict[str, Any]) -> dict[str, dict[str, float]] | None:
    profile = summary.get("profile") or {}
    balance = profile.get("class_balance") or summary.get("class_balance")
    if isinstance(balance, dict) and balance and all(isinstance(v, dict) for v in balance.values()):
        return balance
    return None


def _architecture(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The architecture section in one shape, from `fullcycle run` or `fullcycle train`.

    ``run`` writes the seeds' rule flat (hidden, rule_of_thumb, reason); ``train`` writes
    the network it built under ``config`` and the rule under ``seeds_rule``.
    """
    arch = summary.get("architecture")
    if not isinstance(arch, dict) or not arch:
        return None
    rule = arch.get("seeds_rule")
    if isinstance(rule, dict):
        config = arch.get("config") or {}
        return {
            **rule,
            "hidden": config.get("hidden", rule.get("hidden")),
            "activation": config.get("activation"),
        }
    return arch


def _duplicates(summary: dict[str, Any]) -> int | None:
    value = summary.get("duplicates_across_splits")
    if isinstance(value, dict):
        value = value.get("count")
    return value if isinstance(value, int) else None


def _figures(summary: dict[str, Any], curves: list[dict], analysis: dict | None) -> dict:
    """Every plot the data allows, keyed by section."""
    task = summary.get("task")
    figures: dict[str, str | None] = {}
    lr = summary.get("lr_finder") or {}
    if lr.get("lrs") and lr.get("losses"):
        figures["lr_finder"] = try_plot(
            plots.lr_finder_plot,
            lr["lrs"],
            lr["losses"],
            lr.get("suggested_lr"),
            lr.get("chosen_lr"),
        )
    if curves:
        figures["loss_curves"] = try_plot(plots.loss_curves_plot, curves,
                                       "dev error" if _errors_only(curves) else "loss")
    lc = summary.get("learning_curve") or {}
    if lc.get("sizes"):
        figures["learning_curve"] = _diagnose_plot("learning_curve_figure", lc) or try_plot(
            plots.learning_curve_plot,
            lc["sizes"],
            lc.get("train_errors", []),
            lc.get("dev_errors", []),
            summary.get("human_level_error"),
        )
    errors = summary.get("errors") or {}
    diagnosis = summary.get("diagnosis") or {}
    if diagnosis and errors.get("train") is not None:
        human = summary.get("human_level_error")
        figures["gaps"] = _diagnose_plot("bias_variance_figure", diagnosis, human)
    if (
        not figures.get("gaps")
        and errors.get("train") is not None
        and errors.get("dev") is not None
    ):
        figures["gaps"] = try_plot(plots.gaps_plot, errors, summary.get("human_level_error"))
    balance = _class_balance(summary)
    if balance and task in CLASSIFICATION:
        figures["class_balance"] = try_plot(plots.class_balance_plot, balance)
    baselines = [b for b in summary.get("baselines") or [] if b.get("dev_error") is not None]
    if baselines:
        labels = [b["name"] for b in baselines]
        values = [b["dev_error"] for b in baselines]
        if errors.get("dev") is not None:
            labels.append("model")
            values.append(errors["dev"])
        figures["baselines"] = try_plot(
            plots.bars_plot, labels, values, "dev error", highlight="model"
        )
    importance = (summary.get("search") or {}).get("importance") or {}
    if isinstance(importance, dict) and importance:
        ranked = sorted(importance.items(), key=lambda kv: -float(kv[1] or 0))
        figures["importance"] = try_plot(
            plots.bars_plot,
            [k for k, _ in ranked],
            [float(v or 0) for _, v in ranked],
            "importance",
        )
    hurting = [s for s in (analysis or {}).get("slices") or [] if s.get("excess_errors", 0) > 0]
    if hurting:
        # The whole dev set's rate on the slices' own scale: the share of examples in error
        # (for multilabel, with any wrong label), or the mean absolute error for regression.
        if analysis.get("task") == "regression":
            overall, label = (analysis.get("absolute_error") or {}).get("mae"), "mean abs. error"
        else:
            n = analysis.get("n_examples") or 0
            overall, label = (analysis.get("n_errors", 0) / n if n else None), "error rate"
        if isinstance(overall, int | float):
            figures["slices"] = try_plot(plots.slices_plot, hurting[:8], overall, label)
    if analysis and analysis.get("confusion_matrix") and analysis.get("classes"):
        figures["confusion"] = try_plot(
            plots.confusion_plot, analysis["confusion_matrix"], analysis["classes"]
        )
    return {key: value for key, value in figures.items() if value}


def _errors_only(curves: list[dict]) -> bool:
    return bool(curves) and all(c.get("measure") == "error" for c in curves)


def _pictures(run: RunDir, summary: dict[str, Any]) -> dict[str, Any] | None:
    """The pictures section with every thumbnail embedded (the page loads no file)."""
    doc = summary.get("pictures")
    if not isinstance(doc, dict):
        return None

    def embed(entry: Any) -> dict[str, Any] | None:
        name = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(name, str) or Path(name).is_absolute() or ".." in Path(name).parts \
                or not run.has(name):
            return None
        src = try_plot(plots.encode_png_file, run.file(name))
        return {**entry, "src": src} if src else None

    out: dict[str, Any] = {}
    for key in ("highest_loss", "label_issues"):
        out[key] = [e for e in map(embed, doc.get(key) or []) if e]
    grid = embed(doc.get("augmentations"))
    if grid:
        out["augmentations"] = grid
    return out if any(out.values()) else None


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = format_number
    env.filters["share"] = format_share
    env.filters["compact"] = format_compact
    env.globals["zip"] = zip
    return env


def render_report(run_dir: str | Path) -> str:
    """The report's HTML for a run directory, without writing it."""
    run = RunDir(run_dir, create=False)
    if not run.has("summary.json"):
        raise FullcycleError(
            f"{run.path} has no summary.json; run `fullcycle run DATA --target COL --out "
            f"{run.path}` first"
        )
    summary = run.read_json("summary.json")
    if not isinstance(summary, dict):
        raise FullcycleError(f"{run.file('summary.json')} is not a JSON object; re-create the run")
    curves, journaled, decisions = _journal_records(run)
    if not summary.get("experiments") and journaled:
        # `fullcycle report` rebuilds from the journal what the summary does not hold.
        summary = {**summary, "experiments": journaled}
    summary, errors_source = from_search(summary)
    analysis = _error_analysis(run, summary)
    task = summary.get("task")
    context = {
        "name": run.path.resolve().name,
        "path": str(run.path),
        "errors_source": errors_source,
        "curves_measure": "error" if _errors_only(curves) else "loss",
        "version": __version__,
        "written": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "s": summary,
        "task": task,
        "metric": summary.get("metric") or {},
        "errors": summary.get("errors") or {},
        "diagnosis": summary.get("diagnosis") or {},
        "profile": summary.get("profile") or {},
        "duplicates": _duplicates(summary),
        "arch": _architecture(summary),
        "curves": curves,
        "decisions": decisions
        or [d for d in summary.get("decisions") or [] if isinstance(d, dict)],
        "analysis": analysis,
        "figures": _figures(summary, curves, analysis),
        "search": search_section(run, summary),
        "pictures": _pictures(run, summary),
        "err": lambda value: format_error(value, task),
        "aerr": lambda value: format_error(value, (analysis or {}).get("task", task)),
    }
    return _environment().get_template("report.html").render(**context)


def build_report(run_dir: str | Path) -> Path:
    """Write ``report.html`` into the run directory (atomically) and return its path."""
    html = render_report(run_dir)
    target = Path(run_dir) / REPORT_NAME
    atomic_write_text(target, html)
    return target
