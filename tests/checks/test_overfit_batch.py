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


def test_batch_error_reads_logits_argmax_and_probabilities():
    from fullcycle.checks.overfit_batch import batch_error

    y = torch.tensor([1.0, 0.0, 1.0, 0.0])
    logits = torch.tensor([[2.0], [-1.0], [0.5], [0.3]])
    assert batch_error(logits, y, "binary", logits=True) == 0.25
    probabilities = torch.tensor([0.9, 0.2, 0.7, 0.4])
    assert batch_error(probabilities, y, "binary") == 0.0
    scores = torch.tensor([[0.1, 2.0], [3.0, 0.0]])
    assert batch_error(scores, torch.tensor([1, 1]), "multiclass") == 0.5
    assert batch_error(torch.zeros(4, 1), torch.zeros(4), "regression") is None


def test_a_batch_of_one_class_is_not_memorized_at_step_zero():
    x, y = torch.randn(32, 8), torch.zeros(32, dtype=torch.long)
    result = overfit_batch(mlp(), (x, y), "cross_entropy", "multiclass")
    assert result.status == "pass" and result.value > 0
