"""Transfer learning: start task B from a network trained on task A (seeds 001, 003, 004).

Seed 003: "delete the last layer of the network (and all the weights) and replace with a
fresh new layer ... If the new dataset is small, it's best to only train the last layer and
keep all the other layers fixed. If the new dataset is large, we can retrain the whole
network." Seed 004's table adds the middle case: small → "freezes all layers, trains
weights on softmax"; medium → "freezes most layers, trains weights on last layers and
softmax"; large → "trains weights on layers and softmax by initializing weights on
pre-trained ones". Seed 001: when unfreezing earlier layers, train them "with differential
learning rates" — the linked fast.ai practice is ``[lr/9, lr/3, lr]``, each group of layers
a third of the rate of the group after it.

The seeds give no numbers for small / large, so fullcycle counts training examples per class
(per output for regression / multilabel): below `SMALL_PER_CLASS` a new head is all the data
can fit; from `LARGE_PER_CLASS` on, every layer. Inside a frozen group the batch-norm
layers are frozen too and run in inference mode (`KeepInInference`), with task A's running
statistics, as Keras' transfer-learning guide does ("keep the BatchNormalization layers in
inference mode"): a few hundred new pictures in batches of 32 give noisy batch statistics,
and the frozen convolutions after them were trained on task A's. Measured on Fashion-MNIST
(8 classes → pullover vs coat, 120 training pictures): a logistic regression on the frozen
features read this way (task A's normalization too, see `fullcycle.recipe.images`) scored
0.83 on the official test pictures (0.79–0.81 with the new pictures' own mean / std), where
the earlier recipe (batch norm following the new pictures) scored 0.77 and the network
trained from scratch 0.79.

The new head (`replace_head`) reads every stage's pooled output, not the last stage's alone,
and starts as a linear probe on those frozen features (`fullcycle.models.probe`, LP-FT). On the
same pullover-vs-coat task, a logistic regression on the last stage's 64 features scored
0.776 and on all three stages' 112 features 0.811 (five draws of 140 pictures); the run
(`benchmarks/image_quality.py --part transfer`) went from 0.7765 to 0.8110 against 0.7705
from scratch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fullcycle.engine.events import Callback
from fullcycle.errors import FullcycleError
from fullcycle.models.cnn import ImageResNet
from fullcycle.models.init import init_layer
from fullcycle.models.mlp import OUTPUT_WEIGHT_SCALE, output_layer

SMALL_PER_CLASS = 200
LARGE_PER_CLASS = 2000
RATE_STEP = 3.0  # each earlier group trains at a third of the next one's rate (lr/9, lr/3, lr)
REGIMES = ("small", "medium", "large")
_NORM = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)


@dataclass(frozen=True)
class GroupPlan:
    """One group of layers: trained or frozen, and its rate as a multiple of the base rate."""

    name: str
    trainable: bool
    lr_factor: float

    def describe(self) -> str:
        if not self.trainable:
            return f"{self.name} frozen"
        step = round(1 / self.lr_factor) if self.lr_factor < 1 else 1
        return f"{self.name} at lr" + (f"/{step}" if step > 1 else "")


@dataclass(frozen=True)
class TransferPlan:
    """What the seeds' rule decided for this much data, and why."""

    regime: str
    examples_per_class: float
    groups: tuple[GroupPlan, ...]
    reason: str

    def describe(self) -> str:
        return "; ".join(g.describe() for g in self.groups)

    def to_dict(self) -> dict[str, Any]:
        return {"regime": self.regime, "examples_per_class": self.examples_per_class,
                "groups": [asdict(g) for g in self.groups], "description": self.describe(),
                "reason": self.reason}


def transfer_rule(n_train: int, n_outputs: int, group_names: list[str],
                  regime: str | None = None) -> TransferPlan:
    """The seeds' rule: how many layer groups to train, and at which rates.

    `group_names` run from the input to the head (the last is the new head). `regime`
    overrides the choice by data size (small / medium / large).
    """
    if len(group_names) < 2:
        raise FullcycleError("transfer needs a trunk and a head: the network has one group")
    per_class = n_train / max(1, n_outputs if n_outputs > 1 else 2)
    if regime is None:
        regime = ("small" if per_class < SMALL_PER_CLASS else
                  "medium" if per_class < LARGE_PER_CLASS else "large")
    if regime not in REGIMES:
        raise FullcycleError(f"unknown transfer regime {regime!r}; use one of: "
                             f"{', '.join(REGIMES)}")
    n = len(group_names)
    trained_from = {"small": n - 1, "medium": n - 2, "large": 0}[regime]
    groups = tuple(GroupPlan(name, i >= trained_from, RATE_STEP ** -(n - 1 - i))
                   for i, name in enumerate(group_names))
    counted = f"{per_class:.0f} training examples per class"
    reason = {
        "small": f"{counted} (< {SMALL_PER_CLASS}): little data — freeze the trunk and "
                 "train a new head (seed 003; seed 004: 'freezes all layers, trains weights "
                 "on softmax')",
        "medium": f"{counted} ({SMALL_PER_CLASS}–{LARGE_PER_CLASS}): medium data — also "
                  "unfreeze the last block, at a third of the head's rate (seed 004: "
                  "'freezes most layers, trains weights on last layers'; seed 001: "
                  "differential learning rates)",
        "large": f"{counted} (≥ {LARGE_PER_CLASS}): a lot of data — fine-tune every layer "
                 "from the pretrained weights, each earlier group at a third of the next "
                 "one's rate (seed 004; seed 001: differential learning rates)",
    }[regime]
    return TransferPlan(regime, float(per_class), groups, reason)


def layer_groups(model: nn.Module) -> list[tuple[str, list[nn.Module]]]:
    """(name, modules) from input to output; the head (the output layer) is the last group.

    An `ImageResNet` (or any module with ``layer_groups()``) says so itself; for other
    modules the top-level children before the output layer are cut into at most three
    contiguous groups of about equal parameter count.
    """
    if hasattr(model, "layer_groups"):
        return list(model.layer_groups())
    head = output_layer(model)
    children = [c for c in model.children() if any(True for _ in c.parameters())]
    trunk = [c for c in children if c is not head and head not in set(c.modules())]
    holder = [c for c in children if c is not head and head in set(c.modules())]
    if holder:  # the head sits inside a container (nn.Sequential ending in a Linear)
        inner = [c for c in holder[0].children() if c is not head
                 and any(True for _ in c.parameters())]
        trunk += inner
    if not trunk:
        raise FullcycleError("the model has no layers before its output layer to transfer")
    sizes = [sum(p.numel() for p in c.parameters()) for c in trunk]
    total, parts, acc, current = sum(sizes), [], 0, []
    for child, size in zip(trunk, sizes, strict=True):
        current.append(child)
        acc += size
        if acc >= total * (len(parts) + 1) / 3 and len(parts) < 2:
            parts.append(current)
            current = []
    if current:
        parts.append(current)
    return [(f"group {i + 1}", p) for i, p in enumerate(parts)] + [("head", [head])]


def replace_head(model: nn.Module, n_outputs: int) -> nn.Module:
    """The same network with a fresh output layer of `n_outputs` (seed 003: new weights)."""
    if isinstance(model, ImageResNet):
        # the new head reads every stage's pooled output (`ImageResNet`'s pool_stages)
        fresh = ImageResNet.from_config({**model.config, "n_outputs": int(n_outputs),
                                         "pool_stages": True})
        trunk = {k: v for k, v in model.state_dict().items() if not k.startswith("output.")}
        missing, unexpected = fresh.load_state_dict(trunk, strict=False)
        assert not unexpected and all(k.startswith("output.") for k in missing)
        return fresh
    head = output_layer(model)
    new = nn.Linear(head.in_features, int(n_outputs))
    init_layer(new, "xavier")
    with torch.no_grad():
        new.weight.mul_(OUTPUT_WEIGHT_SCALE)
    for parent in model.modules():
        for name, child in parent.named_children():
            if child is head:
                setattr(parent, name, new)
                return model
    raise FullcycleError("could not find the output layer to replace")


def apply_plan(model: nn.Module, plan: TransferPlan) -> list[dict[str, Any]]:
    """Freeze what `plan` freezes; return the optimizer's parameter groups (lr factors).

    Normalization layers follow their group: frozen in a frozen group, where `frozen_norms`
    names them for `KeepInInference` (module docstring).
    """
    groups = layer_groups(model)
    if [name for name, _ in groups] != [g.name for g in plan.groups]:
        raise FullcycleError("the transfer plan does not match the network's layer groups")
    param_groups, seen = [], set()
    for (name, modules), group in zip(groups, plan.groups, strict=True):
        params = []
        for module in modules:
            for sub in module.modules():
                for p in sub.parameters(recurse=False):
                    if id(p) in seen:
                        continue
                    seen.add(id(p))
                    p.requires_grad_(group.trainable)
                    if p.requires_grad:
                        params.append(p)
        if params:
            param_groups.append({"params": params, "lr_factor": group.lr_factor,
                                 "name": name})
    for p in model.parameters():  # anything outside the groups follows the trunk's rule
        if id(p) not in seen:
            p.requires_grad_(plan.regime == "large")
    return param_groups


def frozen_norms(model: nn.Module, plan: TransferPlan) -> list[nn.Module]:
    """The normalization layers inside the groups `plan` freezes."""
    found: list[nn.Module] = []
    for (_, modules), group in zip(layer_groups(model), plan.groups, strict=True):
        if not group.trainable:
            found += [m for module in modules for m in module.modules()
                      if isinstance(m, _NORM) and m not in found]
    return found


class KeepInInference(Callback):
    """Keeps `modules` (a frozen group's batch norms) in inference mode while the rest of
    the network trains: the loop puts the whole network in training mode every epoch."""

    order = -45  # before the batch reaches the network

    def __init__(self, modules: list[nn.Module]) -> None:
        self.modules = modules

    def before_batch(self, loop: Any) -> None:
        for module in self.modules:
            module.eval()


def optimizer_factory(param_groups: list[dict[str, Any]], name: str = "adam"
                      ) -> Callable[..., torch.optim.Optimizer]:
    """A factory for `fc.fit(optimizer=...)` that gives every group its own rate."""
    from fullcycle.engine.optimizers import make_optimizer

    def build(_params: Any, lr: float, **options: Any) -> torch.optim.Optimizer:
        first, *rest = param_groups
        holder = nn.Module()
        holder.p = nn.ParameterList(first["params"])  # the same Parameter objects, not copies
        optimizer = make_optimizer(name, holder, lr * first["lr_factor"], **options)
        for group in rest:
            optimizer.add_param_group({"params": group["params"],
                                       "lr": lr * group["lr_factor"]})
        return optimizer

    return build


def pretrained_from_bundle(directory: str | Path) -> tuple[nn.Module, Any]:
    """The network of an earlier fullcycle run's bundle (task A) and the bundle itself."""
    from fullcycle.models.bundle import load_bundle

    bundle = load_bundle(directory)
    if not bundle.reads_pictures:
        raise FullcycleError(f"--pretrained {directory} was trained on a table, not on "
                             "pictures; pass the model/ folder of a run on pictures")
    from fullcycle.models.ensemble import SeedEnsemble

    model = bundle.model
    if isinstance(model, SeedEnsemble):
        # a seed-averaged bundle has no single trunk to fine-tune: transfer from its first
        # member, the chosen configuration trained as task A chose it (the others are the
        # same network from other seeds)
        model = model.members[0]
    model.train()
    return model, bundle


def pretrained_module(module: nn.Module, weights: str | Path) -> nn.Module:
    """A user's own network with its safetensors weights loaded (strictly, no pickle)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(weights)
    if not path.is_file():
        raise FullcycleError(f"weights file {path} not found; give a .safetensors file")
    try:
        module.load_state_dict(load_file(str(path)))
    except (SafetensorError, RuntimeError, OSError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise FullcycleError(f"weights {path} do not fit the module ({detail}); build the "
                             "module exactly as it was when saved") from None
    return module
