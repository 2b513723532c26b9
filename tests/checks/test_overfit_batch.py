"""Overfit one small batch (seed 004)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fullcycle.checks.overfit_batch import overfit_batch

from .conftest import mlp


def test_healthy_mlp_memorizes_one_batch(classification):
    result = overfit_batch(mlp(dropout=0.5), classification, "cross_entropy")
    assert result.status == "pass"
    assert 0 < result.value < 500
    assert result.details["final_loss"] <= result.details["threshold"]


def test_healthy_mlp_memorizes_one_regression_batch(regression):
    assert overfit_batch(mlp(n_out=1), regression, "mse").status == "pass"


def test_labels_reshuffled_every_step_cannot_be_memorized(classification):
    generator = torch.Generator().manual_seed(0)

    def shuffled_labels_loss(outputs, targets):
        return F.cross_entropy(outputs, targets[torch.randperm(len(targets),
                                                               generator=generator)])

    result = overfit_batch(mlp(), classification, shuffled_labels_loss, "multiclass",
                           max_steps=200)
    assert result.status == "fail" and result.value is None
    assert "labels line up" in result.message
