"""Every submodule imports before and after touching `fc.diagnose` / `fc.search`.

Each case runs in a fresh interpreter: import order is process-wide state.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import fullcycle

SUBMODULES = sorted(
    m.name for m in pkgutil.walk_packages(fullcycle.__path__, "fullcycle.")
    if not m.name.endswith("__main__")
)

_SCRIPT = """
import importlib, sys
import fullcycle as fc
mods = sys.argv[1:]
if {touch_first}:
    assert callable(fc.diagnose) and callable(fc.search)
for name in mods:
    module = importlib.import_module(name)
    # the attribute path resolves to the module, not to a function of the same name
    obj = fc
    for part in name.split(".")[1:]:
        obj = getattr(obj, part)
    assert obj is module, name
assert fc.diagnose(train_error=0.01, dev_error=0.11).primary_problem == "variance"
assert fc.search.__module__ == "fullcycle.tuning.study"
print("ok")
"""


@pytest.mark.parametrize("touch_first", [True, False], ids=["api-first", "modules-first"])
def test_every_submodule_imports_in_any_order(touch_first: bool) -> None:
    script = _SCRIPT.format(touch_first=touch_first)
    done = subprocess.run([sys.executable, "-c", script, *SUBMODULES], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_no_public_function_shares_a_name_with_a_subpackage() -> None:
    subpackages = {m.name for m in pkgutil.iter_modules(fullcycle.__path__)}
    assert not subpackages & set(fullcycle.__all__)
