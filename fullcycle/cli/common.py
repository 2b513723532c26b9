"""Options every data-reading command shares, and the one place they become a `Prepared`."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from fullcycle.data.dataset import Prepared, prepare
from fullcycle.data.splits import SplitOptions
from fullcycle.data.text import TextOptions
from fullcycle.errors import FullcycleError
from fullcycle.tracking import Tracking

DataArg = Annotated[Path, typer.Argument(help="CSV or Parquet file with a header row.")]
TargetOpt = Annotated[str, typer.Option("--target", "-t",
                                        help="Target column (several, comma-separated, "
                                             "make a multilabel task).")]
TaskOpt = Annotated[str | None, typer.Option(
    help="Override the inferred task: regression, binary, multiclass, multilabel.")]
DevDataOpt = Annotated[Path | None, typer.Option(
    "--dev-data", help="Data from the distribution the model will meet; dev and test are "
                       "drawn from it and a train-dev set is carved from train.")]
DevSizeOpt = Annotated[float | None, typer.Option(
    help="Dev rows (a count, or a fraction below 1). Default: the seeds' rule.")]
TestSizeOpt = Annotated[float | None, typer.Option(
    help="Test rows (a count, or a fraction below 1). Default: the seeds' rule.")]
GroupOpt = Annotated[str | None, typer.Option(
    "--group-column", help="Keep all rows of a group in one split.")]
TimeOpt = Annotated[str | None, typer.Option(
    "--time-column", help="Latest rows go to test, the next latest to dev.")]
IgnoreOpt = Annotated[str | None, typer.Option(
    "--ignore", help="Comma-separated columns to leave out (identifiers, leaks).")]
DropMissingOpt = Annotated[bool, typer.Option(
    "--drop-missing-target", help="Drop rows whose target is missing (refused otherwise).")]
SeedOpt = Annotated[int, typer.Option(help="Random seed (splits, initialization, batches).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
TextColumnOpt = Annotated[list[str] | None, typer.Option(
    "--text-column", help="A column of free text (repeat for several; others are detected). "
                          "Tokenized with a vocabulary learned on the training rows.")]
TextTokenizerOpt = Annotated[str, typer.Option(
    "--text-tokenizer", help="wordpiece or bpe (Hugging Face tokenizers).")]
TextLowercaseOpt = Annotated[bool, typer.Option(
    "--text-lowercase/--text-keep-case", help="Lower-case texts before tokenizing.")]
TextUnicodeOpt = Annotated[str, typer.Option(
    "--text-unicode", help="Unicode normalization of texts: NFKC, NFC, NFKD, NFD or none.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Run directory to write.")]
MlflowOpt = Annotated[bool, typer.Option(
    "--mlflow", help="Log to MLflow (MLFLOW_TRACKING_URI, else ./mlflow.db); on by itself "
                     "when MLFLOW_TRACKING_URI is set. Needs fullcycle[mlflow].")]
TensorboardOpt = Annotated[Path | None, typer.Option(
    "--tensorboard", help="Write per-epoch TensorBoard scalars under this folder. Needs "
                          "fullcycle[tensorboard].")]


def prepare_data(
    data: Path,
    target: str,
    *,
    task: str | None = None,
    dev_data: Path | None = None,
    dev_size: float | None = None,
    test_size: float | None = None,
    group_column: str | None = None,
    time_column: str | None = None,
    ignore: str | None = None,
    drop_missing_target: bool = False,
    seed: int = 0,
    text_columns: list[str] | None = None,
    text_options: TextOptions | None = None,
    stream: bool | None = False,
) -> Prepared:
    """Validate the shared flags and prepare the data (split + preprocessing); the
    `--text-column` names and `text_options` (see `text_options`) go to the tokenizer.

    ``stream``: True streams a Parquet file or folder (`fullcycle.data.stream`), None does
    when the table is too large for memory (`should_stream`), False never.
    """
    from fullcycle.data.stream import prepare_stream, should_stream

    options = split_options(dev_size, test_size, group_column, time_column, seed)
    if stream or (stream is None and should_stream(data)):
        if dev_data is not None or text_columns:
            flag = "--dev-data" if dev_data is not None else "--text-column"
            raise FullcycleError(f"{flag} needs the in-memory path; drop --stream or give "
                                 "files that fit in memory")
        return prepare_stream(data, target, task=task, split=options,  # type: ignore[return-value]
                              ignore=parse_columns(ignore),
                              drop_missing_target=drop_missing_target)
    return prepare(data, target, task=task, dev_data=dev_data, split=options,
                   ignore=parse_columns(ignore), drop_missing_target=drop_missing_target,
                   text_columns=text_columns, text_options=text_options)


def tracking_options(mlflow: bool, tensorboard: Path | None) -> Tracking | None:
    """--mlflow / --tensorboard (and MLFLOW_TRACKING_URI) as a `Tracking`, or None."""
    return Tracking.from_flags(mlflow, tensorboard)


def split_options(dev_size: float | None, test_size: float | None, group_column: str | None,
                  time_column: str | None, seed: int) -> SplitOptions:
    """The split flags, checked: sizes positive, seed not negative."""
    for value, flag in ((dev_size, "--dev-size"), (test_size, "--test-size")):
        if value is not None and value <= 0:
            raise FullcycleError(f"{flag} must be positive (a fraction below 1 or a row count)")
    if seed < 0:
        raise FullcycleError("--seed must be 0 or more")
    return SplitOptions(dev_size=dev_size, test_size=test_size, group_column=group_column,
                        time_column=time_column, seed=seed)


def parse_columns(text: str | None) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]`` (the --ignore list)."""
    return [c.strip() for c in text.split(",") if c.strip()] if text else []


def parse_hidden(text: str | None, *, empty_is_linear: bool = False) -> list[int] | None:
    """``"64,32"`` -> ``[64, 32]``; None (or "" unless `empty_is_linear`) keeps the seeds'
    default architecture; with `empty_is_linear`, "" means no hidden layer."""
    if text is None or (not text.strip() and not empty_is_linear):
        return None
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise FullcycleError(f"--hidden {text!r} must be comma-separated integers, "
                             "e.g. 64,32") from None
    if (not sizes and not empty_is_linear) or any(size < 1 for size in sizes):
        raise FullcycleError("--hidden sizes must be positive integers, e.g. 64,32")
    return sizes


def parse_error_rate(text: str | None, flag: str, metric: str | None = None) -> float | None:
    """An error given as a fraction (``0.11``) or a percentage (``11%``); None stays None.

    A percentage must lie in 0–100%. With a classification `metric` whose error is a rate
    (accuracy, F1, AUC) a value above 1 is refused too; without one (RMSE, or a metric not
    yet known) a number above 1 is read as a raw error.
    """
    if text is None:
        return None
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1].strip() if percent else raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (percent and value > 100):
        raise FullcycleError(f"{flag} {text!r} is not an error rate; write a fraction like "
                             "0.11 or a percentage like 11%")
    value = value / 100.0 if percent else value
    if metric is not None:
        from fullcycle.metrics import check_error_rate

        check_error_rate(value, metric, flag)
    return value


def is_percent(text: str | None) -> bool:
    """Whether an error flag was written as a percentage (``11%``)."""
    return text is not None and text.strip().endswith("%")


def text_options(tokenizer: str, lowercase: bool, unicode: str) -> TextOptions:
    """The --text-* flags as `TextOptions` (validated there: one-line errors)."""
    return TextOptions(tokenizer=tokenizer, lowercase=lowercase, unicode=unicode)


StreamOpt = Annotated[bool | None, typer.Option(
    "--stream/--no-stream", help="Stream a Parquet file or folder by row group (bounded "
                                 "memory). Default: when it would not fit in memory.")]
NprocOpt = Annotated[int, typer.Option(
    "--nproc", help="Train in N processes with DistributedDataParallel (gloo on CPU, NCCL "
                    "on GPU), started here as torchrun does.")]


def relaunch(ctx: typer.Context, nproc: int, log_dir: Path) -> int | None:
    """``--nproc N``: this same command in N processes under torchrun's agent; their exit
    status. None when this process should do the work itself (N = 1, or already a rank)."""
    from fullcycle.engine.distributed import from_environment
    from fullcycle.engine.launch import launch

    if nproc < 1:
        raise FullcycleError(f"--nproc must be 1 or more, got {nproc}")
    if nproc == 1 or from_environment() is not None:
        return None
    argv = command_line(ctx, drop={"nproc"})
    return launch(nproc, [sys.executable, "-m", "fullcycle", str(ctx.info_name), *argv],
                  log_dir)


def command_line(ctx: typer.Context, drop: set[str] = frozenset()) -> list[str]:
    """The arguments that give ``ctx.params`` again (defaults left out), for a relaunch."""
    argv: list[str] = []
    for param in ctx.command.params:
        name = param.name or ""
        value = ctx.params.get(name)
        if name in drop or value is None or (param.param_type_name == "option"
                                             and value == param.default):
            continue
        if param.param_type_name == "argument":
            argv.append(str(value))
        elif isinstance(value, list | tuple):  # a repeatable option: once per value
            for item in value:
                argv += [param.opts[0], str(item)]
        elif getattr(param, "is_flag", False):
            argv.append(param.opts[0] if value else param.secondary_opts[0])
        else:
            argv += [param.opts[0], str(value)]
    return argv
