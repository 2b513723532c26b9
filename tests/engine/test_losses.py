"""Cost functions by task (seed 001, step 1)."""

from __future__ import annotations

import math

import pytest
import torch

from fullcycle.engine import losses as L
from fullcycle.errors import FullcycleError


def test_loss_for_each_task():
    assert [L.loss_for_task(t) for t in L.TASKS] == ["mse", "bce", "cross_entropy",
                                                     "multilabel_bce"]
    with pytest.raises(FullcycleError, match="unknown task"):
        L.loss_for_task("ranking")


def test_targets_of_shape_n_are_not_broadcast_against_n_by_1_outputs():
    out = torch.tensor([[1.0], [2.0], [3.0]])
    y = torch.tensor([1.0, 2.0, 5.0])
    assert L.mse(out, y).item() == pytest.approx(4.0 / 3)


def test_bce_on_logits_at_zero_is_ln2():
    assert L.bce(torch.zeros(4, 1), torch.tensor([0.0, 1.0, 1.0, 0.0])).item() == \
        pytest.approx(math.log(2))


def test_softmax_cross_entropy_of_uniform_logits_is_ln_c():
    assert L.cross_entropy(torch.zeros(5, 4), torch.tensor([0, 1, 2, 3, 0])).item() == \
        pytest.approx(math.log(4))


def test_multilabel_bce_leaves_missing_labels_out():
    out = torch.tensor([[10.0, 0.0], [0.0, -10.0]])
    y = torch.tensor([[float("nan"), 1.0], [0.0, float("nan")]])
    # present: (0,1) logit 0 label 1 -> ln 2; (1,0) logit 0 label 0 -> ln 2
    assert L.multilabel_bce(out, y).item() == pytest.approx(math.log(2))
    out.requires_grad_(True)
    L.multilabel_bce(out, y).backward()
    assert out.grad[0, 0] == 0 and out.grad[1, 1] == 0


def test_multilabel_bce_with_no_label_at_all_is_zero_and_differentiable():
    out = torch.zeros(2, 2, requires_grad=True)
    loss = L.multilabel_bce(out, torch.full((2, 2), float("nan")))
    loss.backward()
    assert loss.item() == 0.0


def test_custom_callable_and_unknown_name():
    def own(o, y):
        return (o - y).abs().mean()
    assert L.get_loss(own) is own
    with pytest.raises(FullcycleError, match="unknown loss 'hinge'"):
        L.get_loss("hinge")
