"""Bias / variance / data-mismatch diagnosis, baselines and learning curves.

``fc.diagnose`` is both the public function (``fullcycle.diagnose.diagnosis.diagnose``) and
the name of this package: once any ``fullcycle.diagnose.*`` module is imported, Python binds
``fullcycle.diagnose`` to the package, hiding the function. Calling the package therefore
calls the function, so ``fc.diagnose(train_error=0.01, dev_error=0.11)`` works in any
import order.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from fullcycle.diagnose.diagnosis import diagnose

        return diagnose(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
