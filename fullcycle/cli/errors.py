"""`fullcycle errors DIR`: error analysis of a run's dev set, and the ceiling table from tags.

fullcycle errors runs/demo                 # writes errors.csv with an empty tags column
fullcycle errors runs/demo --tags runs/demo/errors.csv   # the seeds' ceiling table
fullcycle errors runs/demo --json
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fullcycle.cli.app import app
from fullcycle.cli.output import emit_json, quiet_console

_MAX_MATRIX_CLASSES = 10  # wider confusion matrices do not fit a terminal; see report.html


def _error(value: float | None, task: str) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.2f}%" if task != "regression" else f"{value:.4g}"


def _render(doc: dict[str, Any], console: Console) -> None:
    task = doc["task"]
    what = {"regression": "in the worst tenth", "multilabel": "with a wrong label"}.get(
        task, "misclassified"
    )
    label = "error" if task != "regression" else "RMSE"
    if task == "multilabel" and doc.get("n_label_decisions"):
        # two rates, each beside its own count: examples with a wrong label, and wrong
        # label decisions (the Hamming loss, which the error figure is)
        share = doc["n_errors"] / max(doc["n_examples"], 1)
        console.print(
            f"[bold]{doc['n_examples']:,}[/bold] dev examples, [bold]{doc['n_errors']:,}[/bold] "
            f"{what} ({100 * share:.2f}% of examples); {doc['n_wrong_labels']:,} of "
            f"{doc['n_label_decisions']:,} label decisions wrong (Hamming loss "
            f"{_error(doc['error'], task)})"
        )
    else:
        console.print(
            f"[bold]{doc['n_examples']}[/bold] dev examples, [bold]{doc['n_errors']}[/bold] "
            f"{what}; {label} {_error(doc['error'], task)}"
        )
    classes, matrix = doc.get("classes"), doc.get("confusion_matrix")
    if matrix and len(classes) <= _MAX_MATRIX_CLASSES:
        table = Table(title="Confusion matrix (rows true, columns predicted)", title_justify="left")
        table.add_column("")
        for name in classes:
            table.add_column(name, justify="right")
        for name, row in zip(classes, matrix, strict=True):
            table.add_row(name, *[str(v) for v in row])
        console.print(table)
    if doc.get("label_confusion"):
        table = Table(title="Per label (counts)", title_justify="left")
        for column in ("label", "tp", "fp", "fn", "tn"):
            table.add_column(column, justify="left" if column == "label" else "right")
        for c in doc["label_confusion"]:
            table.add_row(c["label"], *(str(c[k]) for k in ("tp", "fp", "fn", "tn")))
        console.print(table)
    if doc.get("per_class"):
        table = Table(title="Per class", title_justify="left")
        for column in ("class", "precision", "recall", "F1", "support"):
            table.add_column(column, justify="left" if column == "class" else "right")
        for c in doc["per_class"]:
            table.add_row(
                c["class"],
                f"{c['precision']:.3f}",
                f"{c['recall']:.3f}",
                f"{c['f1']:.3f}",
                str(c["support"]),
            )
        console.print(table)
    if doc.get("absolute_error"):
        ae = doc["absolute_error"]
        console.print("absolute error: " + ", ".join(f"{k} {v:.4g}" for k, v in ae.items()))
    hurting = [s for s in doc["slices"] if s["excess_errors"] > 0]
    if hurting:
        table = Table(title="Slices that hurt most", title_justify="left")
        columns = ["column", "slice", "rows", "error rate", "share of error", "excess"]
        if task != "regression":
            columns.append("p")  # one-sided binomial: could the slice just be unlucky?
        for column in columns:
            left = column in ("column", "slice")
            table.add_column(column, justify="left" if left else "right", no_wrap=left)
        for s in hurting[:8]:
            if task == "regression":
                rate, extra = f"{s['error_rate']:.4g}", []
            else:
                rate, extra = f"{100 * s['error_rate']:.1f}%", [f"{s['p_value']:.2g}"]
            table.add_row(
                s["column"],
                s["value"],
                str(s["count"]),
                rate,
                f"{100 * s['share_of_errors']:.1f}%",
                f"{s['excess_errors']:+.1f}",
                *extra,
            )
        console.print(table)
    elif doc["slices"]:
        console.print("No slice holds more errors than its size predicts.")
    _highest_loss(doc, console)
    issues = doc.get("label_issues")
    if issues:
        table = Table(
            title=f"Suspected label errors ({len(issues)}; candidates to review)",
            title_justify="left",
        )
        for column in ("row", "given", "model suggests", "label quality"):
            table.add_column(
                column, justify="right" if column in ("row", "label quality") else "left"
            )
        for i in issues[:10]:
            table.add_row(
                str(i["row"]), i["given_label"], i["suggested_label"], f"{i['label_quality']:.3g}"
            )
        console.print(table)
        # Seed 003, "Incorrectly Labelled Data": dev and test must keep one distribution.
        console.print(
            "[dim]rows are 0-based rows of the input file; if you relabel dev "
            "examples, relabel the test set the same way[/dim]"
        )
    elif issues is not None:
        console.print("No label looks wrong with confidence.")
    ceiling = doc.get("ceiling")
    if ceiling:
        table = Table(
            title=f"Ceiling ({ceiling['reviewed']} reviewed errors)", title_justify="left"
        )
        for column in (
            "tag",
            "errors",
            "share of errors",
            "most error removed",
            "dev error at best",
        ):
            table.add_column(column, justify="left" if column == "tag" else "right")
        for r in ceiling["rows"]:
            table.add_row(
                r["tag"],
                str(r["count"]),
                f"{100 * r['share_of_errors']:.1f}%",
                _error(r["max_error_removed"], task),
                _error(r["dev_error_at_best"], task),
            )
        console.print(table)
        for note in ceiling["notes"]:
            console.print(f"[dim]{note}[/dim]")
    for note in doc["notes"]:
        console.print(f"[dim]{note}[/dim]")
    console.print(
        f"errors to tag: [bold]{doc['files']['errors_csv']}[/bold]"
        + ("" if ceiling else " (fill 'tags', then run with --tags)")
    )


def _highest_loss(doc: dict[str, Any], console: Console) -> None:
    """The examples the model got most wrong (the `--top` of them), one row each."""
    rows = doc.get("highest_loss") or []
    if not rows:
        return
    table = Table(title=f"Highest-loss examples (top {len(rows)})", title_justify="left")
    columns = [c for c in rows[0] if not c.startswith("input.")]
    for column in columns:
        number = isinstance(rows[0][column], int | float) and not isinstance(rows[0][column],
                                                                              bool)
        table.add_column(column, justify="right" if number else "left")
    for r in rows:
        table.add_row(*(_cell(r[c]) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@app.command("errors")
def errors_command(
    run_dir: Annotated[
        Path, typer.Argument(help="Run directory (holds dev_predictions.csv or a model/ bundle).")
    ],
    tags: Annotated[
        Path | None,
        typer.Option(
            "--tags", help="errors.csv with its 'tags' column filled: prints the ceiling table."
        ),
    ] = None,
    top: Annotated[int, typer.Option(help="How many highest-loss examples to list.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Error analysis of the dev set: confusion matrix, per-class scores, the slices that hurt
    most, highest-loss examples and suspected label errors. Writes DIR/errors.csv: fill its
    'tags' column (e.g. blurry;dark), then run again with --tags for the ceiling table."""
    from fullcycle.analysis.run import analyse_run
    from fullcycle.errors import FullcycleError

    if top < 1:
        raise FullcycleError("--top must be 1 or more")
    result = analyse_run(run_dir, tags=tags, top_k=top)
    if (Path(run_dir) / "report.html").exists():
        # Keep the report in step with the analysis (and its ceiling table) just written.
        from fullcycle.report.build import build_report

        result.files["report"] = str(build_report(run_dir))
    document = result.to_dict()
    if as_json:
        emit_json(document)
        return
    _render(document, quiet_console(quiet, as_json))
