"""Hyperparameter search on the right scales (Optuna): spaces, coarse to fine, workers.

`fc.search(...)` is the function `fullcycle.search.study.search`. Python binds this package
as the attribute `fullcycle.search` as soon as any module in it is imported (the CLI and
the autopilot import `fullcycle.search.space`), which would hide the function behind the
package; so the package itself is callable and forwards to the function. Everything else
lives in the modules: `space`, `refine`, `plan`, `storage`, `workers`, `study`, `results`.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _SearchPackage(types.ModuleType):
    """This package, callable as `fullcycle.search.study.search` (see module docstring)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from fullcycle.search.study import search

        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _SearchPackage
