"""The `fullcycle` command line.

Each command lives in its own module in this package and registers itself on
`fullcycle.cli.app.app`; modules are discovered, so adding a command touches no shared file.
User errors (`FullcycleError`, bad flags) end as one line on stderr with exit status 2.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click
import typer

from fullcycle.cli import app as application  # the module: `fullcycle.cli.app` stays it
from fullcycle.errors import FullcycleError

_NOT_COMMANDS = {"app", "output", "common"}

# Typer ≥ 0.20 vendors its own copy of click; catch both copies' exception types.
_EXIT = (typer.Exit, click.exceptions.Exit)
_ABORT = (typer.Abort, click.exceptions.Abort)
_USAGE = (typer.TyperException, click.exceptions.ClickException)


def _register_commands() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name not in _NOT_COMMANDS and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def _fail(message: str) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    _register_commands()
    command = typer.main.get_command(application.app)
    try:
        result = command.main(args=argv, prog_name="fullcycle", standalone_mode=False)
    except FullcycleError as exc:
        return _fail(str(exc))
    except _EXIT as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except (*_ABORT, KeyboardInterrupt):
        return _fail("interrupted")
    except _USAGE as exc:  # bad flag, missing argument, bad value
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        return _fail(message)
    if isinstance(result, int):
        return result
    return 0


if __name__ == "__main__":
    sys.exit(main())
