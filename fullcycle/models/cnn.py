"""The seeds' first network for pictures: a small ResNet (seed 001: "If I'm doing computer
vision, the best place to start is one of the proven architectures like ResNet").

Written here, not imported from torchvision or timm (neither works beside the CPU torch
wheel this project pins), in the shape of He et al.'s CIFAR ResNets (2016, §4.2): a 3×3
stem, then stages of *basic* residual blocks — ``conv3×3 → BN → ReLU → conv3×3 → BN``, plus
the input (a 1×1 convolution with BN when the shape changes), then ReLU — each stage
halving the resolution and doubling the channels (16, 32, 64 for ten classes), then global
average pooling, dropout and the linear output layer that emits logits.

Sizing (`initial_cnn`): stages halve the picture until its side is about 7 (He et al.'s
CIFAR nets end at 8×8 from 32×32; 28 → 14 → 7 for MNIST-sized pictures), at most four
stages, after a strided stem for pictures larger than 64 pixels; the first stage has 16
channels for up to 10 classes, 32 up to 100 and 64 beyond (enough features before the output
layer for every class). One block per stage to start: the recipe grows capacity when the
training error says so (more channels, more blocks).

Weights start by the seeds' He rule, ``randn · √(2 / fan_in)`` (fan_in = in-channels · k²),
convolutions before batch norm have no bias ("the shift is absorbed by β", seed 000), and the
output layer starts small, at the class prior, as `TabularMLP` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from fullcycle.errors import FullcycleError
from fullcycle.models.init import init_layer, init_std
from fullcycle.models.mlp import OUTPUT_WEIGHT_SCALE, set_output_bias

MAX_STAGES = 4
MAX_WIDTH = 512
FINAL_SIDE = 7  # stages halve the picture until its side is near this


def _conv(cin: int, cout: int, kernel: int, stride: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
    with torch.no_grad():
        conv.weight.normal_(0.0, init_std("he", cin * kernel * kernel))
    return conv


class BasicBlock(nn.Module):
    """``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))`` (He et al. 2016, Fig. 2)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv(cin, cout, 3, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = _conv(cout, cout, 3, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:  # projection shortcut (option B of the paper)
            self.shortcut = nn.Sequential(_conv(cin, cout, 1, stride), nn.BatchNorm2d(cout))
        self.relu2 = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + self.shortcut(x))


@dataclass(frozen=True)
class InitialCNN:
    """The starting ResNet for pictures, with the numbers behind its size."""

    height: int
    width: int
    channels: int
    n_outputs: int
    widths: tuple[int, ...]
    blocks: int
    stem_stride: int

    @property
    def reason(self) -> str:
        side = min(self.height, self.width) // self.stem_stride
        final = side // 2 ** (len(self.widths) - 1)
        return (f"a small ResNet (seed 001: start from a proven architecture): "
                f"{len(self.widths)} stages of {self.blocks} basic block(s), channels "
                f"{','.join(map(str, self.widths))}, taking {self.height}×{self.width} pictures "
                f"down to {final}×{final} before global pooling; {self.widths[0]} channels "
                f"first for {self.n_outputs} output(s)")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["widths"] = list(self.widths)
        out["reason"] = self.reason
        return out


def initial_cnn(height: int, width: int, channels: int, n_outputs: int) -> InitialCNN:
    """Stages and channels from the picture size and the number of outputs (module doc)."""
    side = min(height, width)
    stem_stride = 2 if side > 64 else 1
    side //= stem_stride
    halvings = max(0, int(math.floor(math.log2(max(side, 1) / FINAL_SIDE))))
    if side >= 8:
        halvings = max(1, halvings)
    stages = min(MAX_STAGES, 1 + halvings)
    base = 16 if n_outputs <= 10 else 32 if n_outputs <= 100 else 64
    widths = tuple(min(MAX_WIDTH, base * 2**i) for i in range(stages))
    return InitialCNN(height, width, channels, n_outputs, widths, 1, stem_stride)


class ImageResNet(nn.Module):
    """Stem, residual stages, global average pooling, dropout, linear output (logits).

    ``widths`` gives the channels of each stage (each after the first halves the picture),
    ``blocks`` the basic blocks per stage, ``dropout`` the rate before the output layer
    (seed 002: dropout is inverted, nothing is dropped at evaluation). ``pool_stages`` feeds
    the output layer every stage's pooled output, not only the last: the head a network
    gets when it is transferred to a new task (`fullcycle.models.transfer.replace_head`),
    since a stage's features are the more general the earlier it is (Yosinski et al. 2014,
    "How transferable are features in deep neural networks?").
    """

    def __init__(self, in_channels: int, n_outputs: int, widths: Sequence[int] = (16, 32, 64),
                 blocks: int = 1, dropout: float = 0.0, stem_stride: int = 1,
                 output_bias: Sequence[float] | None = None,
                 pool_stages: bool = False) -> None:
        super().__init__()
        widths = [int(w) for w in widths]
        if in_channels < 1 or n_outputs < 1 or not widths or min(widths) < 1 or blocks < 1:
            raise FullcycleError("an ImageResNet needs ≥1 input channel, ≥1 output, positive "
                                 "stage widths and ≥1 block per stage")
        if not 0.0 <= float(dropout) < 1.0:
            raise FullcycleError(f"dropout must be in [0, 1), got {dropout}")
        self._config = {"in_channels": int(in_channels), "n_outputs": int(n_outputs),
                        "widths": widths, "blocks": int(blocks), "dropout": float(dropout),
                        "stem_stride": int(stem_stride)}
        if pool_stages:  # kept out of the config otherwise: older bundles read the same
            self._config["pool_stages"] = True
        self.pool_stages = bool(pool_stages)
        stem: list[nn.Module] = [_conv(in_channels, widths[0], 3, stem_stride),
                                 nn.BatchNorm2d(widths[0]), nn.ReLU()]
        if stem_stride > 1:
            stem.append(nn.MaxPool2d(3, stride=2, padding=1))
        self.stem = nn.Sequential(*stem)
        stages, cin = [], widths[0]
        for i, cout in enumerate(widths):
            layers = [BasicBlock(cin if b == 0 else cout, cout, 2 if (i > 0 and b == 0) else 1)
                      for b in range(blocks)]
            stages.append(nn.Sequential(*layers))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.output = nn.Linear(sum(widths) if pool_stages else cin, n_outputs)
        init_layer(self.output, "xavier")
        with torch.no_grad():  # start at the prior, as TabularMLP (issue 4)
            self.output.weight.mul_(OUTPUT_WEIGHT_SCALE)
        if output_bias is not None:
            set_output_bias(self, list(output_bias))

    @property
    def config(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._config.items()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ImageResNet:
        return cls(**config)

    def features(self, x: Tensor) -> Tensor:
        """The trunk's output: pooled features before dropout and the output layer (the
        last stage's, or with ``pool_stages`` every stage's side by side)."""
        if x.ndim != 4:
            raise FullcycleError(f"an ImageResNet takes (batch, channels, height, width) "
                                 f"pictures, got a tensor of shape {tuple(x.shape)}")
        x = self.stem(x)
        pooled = []
        for stage in self.stages:
            x = stage(x)
            if self.pool_stages:
                pooled.append(torch.flatten(self.pool(x), 1))
        return torch.cat(pooled, 1) if self.pool_stages else torch.flatten(self.pool(x), 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.output(self.dropout(self.features(x)))

    def layer_groups(self) -> list[tuple[str, list[nn.Module]]]:
        """(name, modules) from the input to the output: what transfer learning freezes
        or trains at its own rate (fastai's "layer groups"). The stem rides with stage 1."""
        groups: list[tuple[str, list[nn.Module]]] = []
        for i, stage in enumerate(self.stages):
            name = "stem + stage 1" if i == 0 else f"stage {i + 1}"
            groups.append((name, [self.stem, stage] if i == 0 else [stage]))
        groups.append(("head", [self.output]))
        return groups
