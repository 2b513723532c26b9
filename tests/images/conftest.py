"""Fixtures of small generated pictures (see `pictures.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pictures import write_digits, write_shapes


@pytest.fixture
def shapes_dir(tmp_path: Path) -> Path:
    return write_shapes(tmp_path / "shapes")


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_digits(tmp_path_factory.mktemp("digits") / "digits", limit=600)
