"""run_checks: every check, in the issue's order, fast, leaving the model untouched."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

import fullcycle as fc
from fullcycle.checks.suite import CHECK_NAMES
from fullcycle.errors import FullcycleError

from .conftest import mlp

ORDER = ["init_loss", "overfit_batch", "gradient_check", "dead_parameters",
         "signal_propagation", "batch_independence", "input_independent", "lr_finder"]


def test_a_healthy_mlp_passes_every_check_in_order_within_seconds(classification):
    model = mlp()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    started = time.perf_counter()
    results = fc.run_checks(model, classification, "cross_entropy", "multiclass")
    assert time.perf_counter() - started < 10
    assert [r.name for r in results] == ORDER == list(CHECK_NAMES)
    assert {r.name: r.status for r in results} == dict.fromkeys(ORDER, "pass")
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    rows = json.loads(json.dumps([r.to_dict() for r in results]))
    assert all({"name", "status", "value", "message"} <= set(row) for row in rows)
    lr_row = rows[-1]
    assert lr_row["value"] == lr_row["details"]["suggested_lr"]
    assert len(lr_row["details"]["lrs"]) == len(lr_row["details"]["losses"])


def test_numpy_arrays_from_prepare_work_and_task_is_guessed_when_absent(regression):
    x, y = (t.numpy().astype(np.float32) for t in regression)
    results = fc.run_checks(mlp(n_out=1), (x, y), "mse", lr_finder=False)
    by_name = {r.name: r for r in results}
    assert by_name["init_loss"].details["task"] == "regression"
    assert by_name["lr_finder"].message == "skipped on request"


def test_a_broken_model_fails_its_checks_without_hiding_the_others(classification):
    class Mixing(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = mlp()
            self.unused = torch.nn.Linear(3, 3)

        def forward(self, x):
            return self.net(x - x.mean(0))

    results = {r.name: r.status for r in fc.run_checks(Mixing(), classification,
                                                       "cross_entropy", lr_finder=False)}
    assert results["dead_parameters"] == "fail"
    assert results["batch_independence"] == "fail"
    assert results["gradient_check"] == "pass"


def test_a_crash_inside_one_check_is_reported_as_its_failure(classification):
    class NoBatchAxis(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(8, 3)

        def forward(self, x):
            if x.shape[0] < 20:
                raise RuntimeError("needs a big batch")
            return self.linear(x)

    results = {r.name: r for r in fc.run_checks(NoBatchAxis(), classification,
                                                "cross_entropy", lr_finder=False)}
    assert results["gradient_check"].status == "fail"
    assert "needs a big batch" in results["gradient_check"].message
    assert results["init_loss"].status == "pass"


def test_unknown_check_names_are_refused(classification):
    with pytest.raises(FullcycleError, match="unknown check"):
        fc.run_checks(mlp(), classification, "cross_entropy", skip=("gradcheck",))
