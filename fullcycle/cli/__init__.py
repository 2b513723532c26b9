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

from fullcycle.cli.app import app
from fullcycle.errors import FullcycleError

_NOT_COMMANDS = {"app", "output"}


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
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="fullcycle", standalone_mode=False)
    except FullcycleError as exc:
        return _fail(str(exc))
    except click.exceptions.Abort:
        return _fail("interrupted")
    except click.exceptions.ClickException as exc:  # bad flag, missing argument, bad value
        return _fail(exc.format_message())
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return _fail("interrupted")
    if isinstance(result, int):
        return result
    return 0


if __name__ == "__main__":
    sys.exit(main())
