"""Start N training processes the way ``torchrun --standalone`` does, and report in one line.

`launch` runs a command in ``nproc`` processes under PyTorch's elastic agent (the machinery
behind ``torchrun``: a rendezvous on localhost, ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` /
``MASTER_ADDR`` / ``MASTER_PORT`` set for each, the group torn down as soon as one process
fails). What torchrun leaves to the user is what a command line needs: on the console only
rank 0's standard output (the rest — other ranks' output, every rank's standard error —
lands in ``log_dir``), and when the group fails, one line saying which process failed, how,
and what to do — instead of every rank's traceback and the agent's report.
"""

from __future__ import annotations

import logging
import signal
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from fullcycle.errors import FullcycleError

ELASTIC_LOGGERS = ("torch.distributed.elastic", "torchelastic-events-null")


def launch(nproc: int, command: Sequence[str], log_dir: str | Path) -> int:
    """Run ``command`` (program and arguments) in ``nproc`` processes; its exit status.

    Rank 0's standard output is shown as it comes; everything else goes to ``log_dir``.
    On failure, the first failed process's ``error:`` line (or its signal, or the last line
    it wrote) is printed on stderr, once.
    """
    if nproc < 1:
        raise FullcycleError(f"--nproc must be 1 or more, got {nproc}")
    from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs, Std
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    log_root = Path(log_dir)
    log_root.mkdir(parents=True, exist_ok=True)
    # Rank 0's standard output is the console itself (live progress bars, one JSON
    # document, no "[default0]:" prefix that torchrun's tee adds); every other stream is a
    # file, so the one line below is the only error line.
    redirects = {rank: Std.ERR if rank == 0 else Std.ALL for rank in range(nproc)}
    specs = DefaultLogsSpecs(log_dir=str(log_root), redirects=redirects)
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc,
                          run_id=str(uuid.uuid4()), rdzv_backend="c10d",
                          rdzv_endpoint="localhost:0", max_restarts=0, logs_specs=specs)
    quiet = [logging.getLogger(name) for name in ELASTIC_LOGGERS]
    levels = [logger.level for logger in quiet]
    for logger in quiet:  # the agent's warnings, events and report: replaced by one line
        logger.setLevel(logging.CRITICAL)
    try:
        elastic_launch(config, command[0])(*command[1:])
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        print(f"error: {_describe(rank, nproc, failure, log_root)}", file=sys.stderr)
        return 2 if failure.exitcode == 2 else 1
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
    return 0


def _describe(rank: int, nproc: int, failure: object, log_root: Path) -> str:
    """One line for the first failure: the process's own error line, or its signal."""
    exitcode = int(getattr(failure, "exitcode", 1))
    who = f"training process {rank} of {nproc}"
    logs = f"logs of every process: {log_root}"
    if exitcode < 0:
        name = _signal_name(-exitcode)
        return (f"{who} was stopped by {name}; the others were stopped too — repeat the "
                f"command with --resume to continue from the last checkpoint ({logs})")
    last = _last_error_line(log_root, rank)
    if last.startswith("error:"):
        return last[len("error:"):].strip()
    detail = f": {last}" if last else ""
    return f"{who} failed with exit status {exitcode}{detail} ({logs})"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _last_error_line(log_root: Path, rank: int) -> str:
    """The last ``error:`` line of a rank's stderr log, else its last non-empty line."""
    logs = sorted(log_root.glob(f"*/attempt_*/{rank}/stderr.log"),
                  key=lambda p: p.stat().st_mtime)
    if not logs:
        return ""
    lines = [line.strip() for line in logs[-1].read_text(errors="replace").splitlines()
             if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or [""])[-1][:300]
