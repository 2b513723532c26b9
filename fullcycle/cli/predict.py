"""`fullcycle predict`: predictions from a model bundle, with the training preprocessing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from fullcycle.cli.app import app
from fullcycle.cli.common import JsonOpt, QuietOpt
from fullcycle.cli.output import emit_json, quiet_console
from fullcycle.data.load import load_table
from fullcycle.rundir import atomic_write_text


@app.command("predict")
def predict_command(
    bundle: Annotated[Path, typer.Argument(
        help="A run directory, or its model bundle (RUN_DIR/model).")],
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file with the input columns; for "
                                         "a model of pictures, a folder of pictures or a "
                                         "table of picture paths.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the predictions "
                                      "(CSV).")] = Path("predictions.csv"),
    keep_columns: Annotated[bool, typer.Option(
        "--keep-columns", help="Copy the input columns into the output.")] = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Predict DATA with BUNDLE and write one row per input row."""
    from fullcycle.serve import Predictor

    predictor = Predictor.load(bundle)
    if predictor.is_images:
        from fullcycle.data.images import picture_inputs

        frame = picture_inputs(data, predictor.preprocessor.column)
    else:
        frame = load_table(data)
    predictions = predictor.predict_frame(frame)
    if predictor.is_images and not keep_columns:  # which picture each row is about
        predictions.insert(0, predictor.preprocessor.column,
                           frame[predictor.preprocessor.column].to_numpy())
    if keep_columns:
        predictions = pd.concat([frame.reset_index(drop=True), predictions], axis=1)
    atomic_write_text(out, predictions.to_csv(index=False))
    if json_output:
        emit_json({"rows": len(predictions), "out": str(out),
                   "columns": list(predictions.columns)})
        return
    quiet_console(quiet, json_output).print(f"{len(predictions)} predictions written to {out}")

