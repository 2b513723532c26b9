"""The optimizers do what the seeds' formulas say, step by step."""

from __future__ import annotations

import pytest
import torch

from fullcycle.engine.optimizers import SeedMomentum, make_optimizer
from fullcycle.errors import FullcycleError


def _step(opt: torch.optim.Optimizer, p: torch.Tensor, grad: list[float]) -> None:
    p.grad = torch.tensor(grad)
    opt.step()


def test_momentum_in_seed_form_equals_two_hand_computed_steps():
    # seed 003: v = β v + (1 − β) dW with v = 0 at the start; W = W − α v
    beta, lr = 0.9, 0.1
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = make_optimizer("momentum", torch.nn.ParameterList([w]), lr=lr)
    g1, g2 = torch.tensor([0.5, 1.0]), torch.tensor([-1.0, 2.0])
    _step(opt, w, g1.tolist())
    v1 = (1 - beta) * g1
    assert w.detach() == pytest.approx((torch.tensor([1.0, -2.0]) - lr * v1).tolist())
    _step(opt, w, g2.tolist())
    v2 = beta * v1 + (1 - beta) * g2
    expected = torch.tensor([1.0, -2.0]) - lr * v1 - lr * v2
    assert w.detach().tolist() == pytest.approx(expected.tolist())


def test_torch_dampening_alone_differs_on_the_first_step():
    # why SeedMomentum exists: torch starts the buffer at dW, not at 0
    w = torch.nn.Parameter(torch.tensor([1.0]))
    plain = torch.optim.SGD([w], lr=0.1, momentum=0.9, dampening=0.9)
    _step(plain, w, [1.0])
    assert w.item() == pytest.approx(1.0 - 0.1 * 1.0)
    v = torch.nn.Parameter(torch.tensor([1.0]))
    _step(SeedMomentum([v], lr=0.1, beta=0.9), v, [1.0])
    assert v.item() == pytest.approx(1.0 - 0.1 * 0.1)


def test_adam_first_step_equals_bias_corrected_formula():
    # seed 003: V = (1−β1)g, S = (1−β2)g², corrected by 1−β^t, W −= α V̂ / (√Ŝ + ε)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    g = torch.tensor([0.3, -2.0, 1e-3])
    w = torch.nn.Parameter(torch.tensor([1.0, 1.0, 1.0]))
    opt = make_optimizer("adam", torch.nn.ParameterList([w]), lr=lr)
    assert opt.param_groups[0]["betas"] == (b1, b2) and opt.param_groups[0]["eps"] == eps
    _step(opt, w, g.tolist())
    v_hat = (1 - b1) * g / (1 - b1)
    s_hat = (1 - b2) * g**2 / (1 - b2)
    expected = 1.0 - lr * v_hat / (s_hat.sqrt() + eps)
    assert w.detach().tolist() == pytest.approx(expected.tolist(), rel=1e-5)


def test_rmsprop_follows_the_seed_formula_with_beta_0999():
    g = torch.tensor([2.0])
    w = torch.nn.Parameter(torch.tensor([0.0]))
    opt = make_optimizer("rmsprop", torch.nn.ParameterList([w]), lr=0.01)
    _step(opt, w, g.tolist())
    s = (1 - 0.999) * g**2
    assert w.item() == pytest.approx((-0.01 * g / (s.sqrt() + 1e-8)).item(), rel=1e-5)


def test_sgd_adamw_factory_and_instance():
    net = torch.nn.Linear(2, 1)
    assert isinstance(make_optimizer("sgd", net, 0.1), torch.optim.SGD)
    assert isinstance(make_optimizer("adamw", net, 0.1), torch.optim.AdamW)
    own = torch.optim.Adagrad(net.parameters())
    assert make_optimizer(own, net, 0.1) is own
    built = make_optimizer(lambda params, lr: torch.optim.SGD(params, lr=lr * 2), net, 0.1)
    assert built.param_groups[0]["lr"] == pytest.approx(0.2)


def test_unknown_optimizer_names_the_choices():
    with pytest.raises(FullcycleError, match="use one of: sgd, momentum"):
        make_optimizer("lion", torch.nn.Linear(2, 1), 0.1)
