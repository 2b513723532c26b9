"""`fullcycle diagnose`: where the error comes from, from errors you already measured.

    fullcycle diagnose --train-error 1% --dev-error 11%
    fullcycle diagnose --human-error 0.5% --train-error 1% --train-dev-error 1.5% \\
        --dev-error 10% --json
    fullcycle diagnose runs/churn            # the errors a run recorded in summary.json
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from fullcycle.cli.app import app
from fullcycle.cli.common import JsonOpt, is_percent, parse_error_rate
from fullcycle.cli.output import emit_json, quiet_console
from fullcycle.diagnosis.diagnosis import DEFAULT_TOLERANCE, Diagnosis, diagnose
from fullcycle.errors import FullcycleError
from fullcycle.rundir import RunDir

_LABELS = {
    "avoidable_bias": "avoidable bias",
    "variance": "variance",
    "data_mismatch": "data mismatch",
    "dev_overfit": "dev overfit",
}
_FORMULAS = {
    "avoidable_bias": "train − human",
    "variance": "train-dev − train",
    "data_mismatch": "dev − train-dev",
    "dev_overfit": "test − dev",
}


def _fmt(value: float | None, as_percent: bool, signed: bool = False) -> str:
    if value is None:
        return "—"
    if as_percent:
        return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def _render(d: Diagnosis, as_percent: bool, console: Console) -> None:
    errors = Table(title="Errors", title_justify="left")
    errors.add_column("set")
    errors.add_column("error", justify="right")
    rows = [("human-level", d.human_level_error), ("train", d.train_error),
            ("train-dev", d.train_dev_error), ("dev", d.dev_error), ("test", d.test_error)]
    for name, value in rows:
        if value is not None:
            errors.add_row(name, _fmt(value, as_percent))
    console.print(errors)

    gaps = Table(title=f"Gaps (tolerance {_fmt(d.tolerance, as_percent)})",
                 title_justify="left")
    gaps.add_column("gap")
    gaps.add_column("formula")
    gaps.add_column("size", justify="right")
    gaps.add_column("verdict")
    for name, value in d.gaps().items():
        formula = _FORMULAS[name]
        if name == "variance" and d.train_dev_error is None:
            formula = "dev − train"
        if value is None:
            verdict = "[dim]not measured[/dim]"
        elif name == d.primary_problem:
            verdict = "[bold red]primary problem[/bold red]"
        elif name in d.problems:
            verdict = "[yellow]above tolerance[/yellow]"
        else:
            verdict = "[green]ok[/green]"
        gaps.add_row(_LABELS[name], formula, _fmt(value, as_percent, signed=True), verdict)
    console.print(gaps)

    headline = _LABELS.get(d.primary_problem, "none")
    console.print(f"[bold]Primary problem:[/bold] {headline}")
    console.print("[bold]Next actions[/bold] (in the recipe's order):")
    for i, action in enumerate(d.next_actions, start=1):
        console.print(f"  {i}. {action}")
    for note in d.notes:
        console.print(f"[dim]note:[/dim] {note}")


_EXAMPLES = (
    "Examples: fullcycle diagnose --train-error 1% --dev-error 11%  ·  "
    "fullcycle diagnose --human-error 0 --train-error 1% --train-dev-error 1.5% "
    "--dev-error 10% --json"
)


def _from_run(run_dir: Path) -> tuple[dict[str, float | None], bool | None]:
    """The errors a run recorded in its summary.json, keyed by flag, and its learning
    curve's verdict on more data (None when no curve was measured)."""
    summary = RunDir(run_dir, create=False).read_json("summary.json")
    errors = summary.get("errors") if isinstance(summary, dict) else None
    if not isinstance(errors, dict) or errors.get("train") is None or errors.get("dev") is None:
        raise FullcycleError(f"{run_dir}/summary.json records no train and dev errors; finish "
                             "the run first or pass --train-error and --dev-error")
    curve = summary.get("learning_curve")
    helps = curve.get("more_data_helps") if isinstance(curve, dict) else None
    return {
        "--train-error": errors.get("train"), "--dev-error": errors.get("dev"),
        "--train-dev-error": errors.get("train_dev"), "--test-error": errors.get("test"),
        "--human-error": summary.get("human_level_error"),
    }, (bool(helps) if helps is not None else None)


@app.command("diagnose", epilog=_EXAMPLES)
def diagnose_command(
    run_dir: Path | None = typer.Argument(
        None, metavar="[RUN_DIR]", help="A run directory: read its errors from summary.json."
    ),
    train_error: str | None = typer.Option(
        None, "--train-error", metavar="ERROR", help="Training error, e.g. 0.01 or 1% (required)."
    ),
    dev_error: str | None = typer.Option(
        None, "--dev-error", metavar="ERROR", help="Dev error, e.g. 0.11 or 11% (required)."
    ),
    human_error: str | None = typer.Option(
        None, "--human-error", metavar="ERROR", help="Human-level error, the Bayes-error proxy "
        "[default: 0]."
    ),
    train_dev_error: str | None = typer.Option(
        None, "--train-dev-error", metavar="ERROR",
        help="Error on held-out data from the training distribution.",
    ),
    test_error: str | None = typer.Option(
        None, "--test-error", metavar="ERROR", help="Test error, measured once."
    ),
    tolerance: str = typer.Option(
        str(DEFAULT_TOLERANCE), "--tolerance", metavar="ERROR",
        help="Gaps at or below this are noise, e.g. 0.5%.",
    ),
    json_output: JsonOpt = False,
) -> None:
    """Split the error into avoidable bias, variance, data mismatch and dev overfitting.

    Errors are fractions (0.11) or percentages (11%); above 1 without '%' is a raw RMSE.
    With RUN_DIR the run's recorded errors are used; flags override them.
    """
    flags = {
        "--train-error": train_error, "--dev-error": dev_error, "--human-error": human_error,
        "--train-dev-error": train_dev_error, "--test-error": test_error,
        "--tolerance": tolerance,
    }
    parsed = {flag: (parse_error_rate(text, flag), is_percent(text))
              for flag, text in flags.items()}
    more_data_helps = None
    if run_dir is not None:
        recorded, more_data_helps = _from_run(run_dir)
        for flag, value in recorded.items():
            if flags[flag] is None and value is not None:
                parsed[flag] = (float(value), False)
    for flag in ("--train-error", "--dev-error"):
        if parsed[flag][0] is None:
            raise FullcycleError(f"{flag} is required; pass the measured error, e.g. {flag} 5%, "
                                 "or a run directory")
    d = diagnose(
        train_error=parsed["--train-error"][0],  # type: ignore[arg-type]
        dev_error=parsed["--dev-error"][0],  # type: ignore[arg-type]
        human_level_error=parsed["--human-error"][0] or 0.0,
        train_dev_error=parsed["--train-dev-error"][0],
        test_error=parsed["--test-error"][0],
        tolerance=parsed["--tolerance"][0],  # type: ignore[arg-type]
        more_data_helps=more_data_helps,
    )
    if json_output:
        emit_json(d.to_dict())
        return
    values = [v for v, _ in parsed.values() if v is not None]
    # Percentages when the user wrote them, or when every value looks like a rate.
    as_percent = any(p for _, p in parsed.values()) or all(v <= 1 for v in values)
    console = quiet_console(False, json_output)
    _render(d, as_percent, console)
    if not as_percent:
        console.print("[dim]note:[/dim] values above 1 are read as raw errors (e.g. RMSE); "
                      "write 11% for a percentage")
