"""The Typer application every command module registers itself on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="fullcycle",
    help="Run a deep-learning project the way the practical recipe says.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
