"""`fullcycle serve`: a model bundle behind HTTP (FastAPI on uvicorn).

Binds to 127.0.0.1 unless told otherwise; binding elsewhere without ``--token`` works but
says plainly that anyone who reaches the port can use the model. Every served row is logged
for `fullcycle monitor` (RUN_DIR/served/ by default).
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from fullcycle.cli.app import app
from fullcycle.cli.output import console, err_console
from fullcycle.errors import FullcycleError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
               "mib": 1024**2}


def parse_size(text: str) -> int:
    """Bytes in "1048576", "512KiB", "1MiB", "2MB"."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if not match or unit not in _SIZE_UNITS:
        raise FullcycleError(f"--max-body {text!r} is not a size; write e.g. 1MiB, 512KiB or "
                             "a number of bytes")
    size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if size < 1:
        raise FullcycleError("--max-body must be at least 1 byte")
    return size


def exposure_warning(host: str, port: int, token: str | None) -> str | None:
    """The warning to print when the server is reachable beyond this machine without a token."""
    if host in LOOPBACK or token:
        return None
    return (f"warning: serving on {host} without --token: anyone who can reach port {port} "
            f"can query the model; pass --token (or set FULLCYCLE_TOKEN)")


def run_uvicorn(target: Any, sock: socket.socket, workers: int) -> None:
    """Start uvicorn on ``sock`` (kept apart so tests can replace it and never serve)."""
    import uvicorn

    from fullcycle.serve.background import uvicorn_config

    server = uvicorn.Server(uvicorn_config(target, workers))
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(server.config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])


@app.command("serve")
def serve_command(
    bundle: Annotated[Path, typer.Argument(help="A model bundle (RUN_DIR/model).")],
    host: Annotated[str, typer.Option(help="Address to bind; the default reaches only this "
                                      "machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    token: Annotated[str | None, typer.Option(
        envvar="FULLCYCLE_TOKEN", help="Require 'Authorization: Bearer TOKEN' (or set "
        "FULLCYCLE_TOKEN, which keeps it out of the process list).")] = None,
    workers: Annotated[int, typer.Option(help="Server processes (each loads the model and "
                                         "logs to its own file).")] = 1,
    runtime: Annotated[str, typer.Option(help="auto (ONNX when the bundle has an export), "
                                         "onnx or torch.")] = "auto",
    max_body: Annotated[str, typer.Option("--max-body", help="Largest request body, e.g. "
                                          "1MiB.")] = "1MiB",
    max_rows: Annotated[int, typer.Option("--max-rows", help="Most rows in one "
                                          "request.")] = 1000,
    log_dir: Annotated[Path | None, typer.Option(
        "--log-dir", help="Where served rows are logged (default RUN_DIR/served).")] = None,
) -> None:
    """Serve BUNDLE over HTTP: POST /predict, GET /health, /metadata, /metrics."""
    from fullcycle.serve.app import CONFIG_ENV, ServeConfig, create_app, default_log_dir
    from fullcycle.serve.background import listen_socket

    if not 0 < port < 65536:
        raise FullcycleError(f"--port {port} is not a TCP port; use 1-65535")
    if workers < 1:
        raise FullcycleError("--workers must be 1 or more")
    if max_rows < 1:
        raise FullcycleError("--max-rows must be 1 or more")
    if token is not None and not token.strip():
        raise FullcycleError("--token is empty; give a secret, or leave --token out")
    config = ServeConfig(bundle=str(bundle), runtime=runtime, token=token,
                         max_body=parse_size(max_body), max_rows=max_rows,
                         log_dir=str(log_dir or default_log_dir(bundle)))
    sock = listen_socket(host, port)
    try:
        warning = exposure_warning(host, port, token)
        if warning:
            err_console.print(warning)
        if workers > 1:
            from fullcycle.serve.predictor import Predictor

            Predictor.load(bundle, runtime=runtime)  # refuse a bad bundle before forking
            os.environ[CONFIG_ENV] = config.to_env()
            target: Any = "fullcycle.serve.app:app_from_environment"
            runtime_name, log_path = runtime, f"{config.log_dir}/served-*.jsonl"
        else:
            target = create_app(config)
            server = target.state.server
            runtime_name, log_path = server.predictor.runtime.name, server.log.path
        shown = f"[{host}]" if ":" in host else host
        console.print(f"serving {bundle} ({runtime_name} runtime, {workers} worker"
                      f"{'s' if workers > 1 else ''}) at http://{shown}:{port}  POST /predict; "
                      f"served rows logged to {log_path}; Ctrl+C stops")
        sys.stdout.flush()
        run_uvicorn(target, sock, workers)
    finally:
        sock.close()
