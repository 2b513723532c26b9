"""`fullcycle export`: a bundle's network as ONNX, checked against PyTorch before it is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fullcycle.cli.app import app
from fullcycle.cli.common import JsonOpt, QuietOpt
from fullcycle.cli.output import emit_json, quiet_console


@app.command("export")
def export_command(
    bundle: Annotated[Path, typer.Argument(help="A model bundle (RUN_DIR/model).")],
    onnx: Annotated[Path | None, typer.Option(
        "--onnx", help="Where to write the ONNX file (default BUNDLE/model.onnx).")] = None,
    attach: Annotated[bool, typer.Option(
        "--attach/--no-attach", help="Also store the export in the bundle, where fullcycle "
        "serve uses it.")] = True,
    tolerance: Annotated[float, typer.Option(
        help="Largest allowed |ONNX - PyTorch| on the logits.")] = 1e-4,
    opset: Annotated[int, typer.Option(help="ONNX opset version.")] = 17,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Export BUNDLE's network to ONNX (preprocessing stays in the bundle's JSON)."""
    from fullcycle.serve.export import export_onnx

    result = export_onnx(bundle, onnx or bundle / "model.onnx", attach=attach,
                         tolerance=tolerance, opset=opset)
    if json_output:
        emit_json(result.to_dict())
        return
    console = quiet_console(quiet, json_output)
    console.print(f"wrote {result.path} ({result.size_bytes / 1024:.1f} KiB, opset "
                  f"{result.opset}); max |ONNX - PyTorch| = {result.max_abs_diff:.2g} on "
                  f"{result.rows_checked} rows (tolerance {result.tolerance:g})")
    if result.attached:
        console.print(f"attached to {bundle}: fullcycle serve now uses ONNX Runtime")
