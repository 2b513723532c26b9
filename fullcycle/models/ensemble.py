"""Seed averaging: one network whose output is the average of several trained members.

A variance move of the recipe (issue 11, "averaging the predictions of several seeds"):
networks trained from different seeds make partly independent errors, and their average has
lower variance than any one of them without touching the dev set for a choice — so the time
left in a budget can go to it without the risk of overfitting dev that more comparisons
carry.

The average is taken where the predictions live:

- classification: the mean of the members' *probabilities* (sigmoid per output for binary
  and multilabel, softmax for multiclass), the deep-ensembles rule (Lakshminarayanan et al.,
  2017). A mean of logits would be a normalized geometric mean of the probabilities: one
  confident member outvotes several unsure ones, and the result is sharper than any member.
  The ensemble returns the *logit* of that mean probability (``log p − log(1 − p)``, or
  ``log p`` per class, which softmax maps back to ``p``), computed with log-sum-exp, so the
  task's loss, metrics and `fullcycle predict` treat it as any network's logits;
- regression: the mean of the outputs.

Log loss and squared error are convex, so the ensemble's dev loss is never above its
members' mean (Jensen). The ensemble is bundled like one network: the members' classes and
configs as JSON, their weights in the one safetensors file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from fullcycle.errors import FullcycleError

TASKS = ("regression", "binary", "multiclass", "multilabel")


class SeedEnsemble(nn.Module):
    """Average of ``members`` (built-in networks with ``.config``) for ``task``."""

    def __init__(self, members: Sequence[nn.Module], task: str) -> None:
        super().__init__()
        if task not in TASKS:
            raise FullcycleError(f"unknown task {task!r}; use one of: {', '.join(TASKS)}")
        if not members:
            raise FullcycleError("an ensemble needs at least one member network")
        for member in members:
            if not isinstance(getattr(member, "config", None), dict) \
                    or not hasattr(type(member), "from_config"):
                raise FullcycleError(
                    f"a {type(member).__name__} cannot join a bundled ensemble: give it "
                    ".config and from_config() (the built-in networks have both)")
        outputs = {m.config.get("n_outputs") for m in members} - {None}
        if len(outputs) > 1:
            raise FullcycleError(f"ensemble members disagree on the number of outputs "
                                 f"({sorted(outputs)}); train every member for the same task")
        self.task = task
        self.members = nn.ModuleList(members)

    @property
    def config(self) -> dict[str, Any]:
        """The task and each member's class and config, as JSON-able values."""
        return {"task": self.task,
                "members": [{"class": type(m).__name__, "config": m.config}
                            for m in self.members]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedEnsemble:
        """Rebuild the members from their configs (weights are loaded separately)."""
        from fullcycle.models.bundle import ARCHITECTURES  # the registry imports this module

        members = []
        for member in config["members"]:
            builder = ARCHITECTURES.get(member["class"])
            if builder is None or builder is cls:
                raise FullcycleError(f"ensemble member architecture {member['class']!r} is "
                                     "unknown; register it with register_architecture")
            members.append(builder.from_config(member["config"]))
        return cls(members, config["task"])

    def forward(self, *inputs: Tensor) -> Tensor:
        outputs = torch.stack([member(*inputs) for member in self.members])  # (k, batch, out)
        if self.task == "regression":
            return outputs.mean(dim=0)
        log_k = math.log(len(self.members))
        if self.task == "multiclass":
            # log of the mean softmax: a valid logit vector whose softmax is the mean
            return torch.logsumexp(torch.log_softmax(outputs, dim=-1), dim=0) - log_k
        # binary / multilabel: logit of the mean sigmoid, log p − log(1 − p), both sides
        # by log-sum-exp so saturated members stay finite
        log_p = torch.logsumexp(nn.functional.logsigmoid(outputs), dim=0) - log_k
        log_q = torch.logsumexp(nn.functional.logsigmoid(-outputs), dim=0) - log_k
        return log_p - log_q
