"""Budgets and satisficing constraints parse what users write and refuse the rest."""

from __future__ import annotations

import pytest

from fullcycle.errors import FullcycleError
from fullcycle.recipe.budget import parse_duration
from fullcycle.recipe.satisfice import parse_constraints, violations


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300),
                                               ("1.5h", 5400), (" 2 min ", 120)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "5 weeks", "-3m", "0s"])
def test_bad_durations_are_refused(text):
    with pytest.raises(FullcycleError, match="budget"):
        parse_duration(text)


def test_constraints_filter_candidates():
    constraints = parse_constraints("latency_ms<=100, params<5000")
    assert violations(constraints, {"latency_ms": 3.0, "params": 100}) == []
    broken = violations(constraints, {"latency_ms": 300.0, "params": 100})
    assert len(broken) == 1 and broken[0].startswith("latency_ms<=100")


@pytest.mark.parametrize("text", ["speed<=3", "latency_ms~3", "latency_ms<=fast"])
def test_bad_constraints_are_refused(text):
    with pytest.raises(FullcycleError, match="satisfice"):
        parse_constraints(text)
