"""Data augmentation on batches of pictures, on the training device (kornia), on the fly.

The cheatsheet's seven kinds (seed 004, "Data augmentation"; "data is usually augmented on
the fly during training"), each with a small, label-preserving strength:

============  =====================================================================
``flip``      horizontal mirror, half of the pictures ("with respect to an axis for
              which the meaning of the image is preserved": the recipe judges that
              by the dev error, since a mirrored 2 is no longer a 2)
``rotate``    rotation by up to ±10° ("a slight angle", "incorrect horizon calibration")
``crop``      random crop of 75–100% of the area, resized back ("random focus on one
              part of the image")
``color``     each RGB channel shifted by up to ±0.1 ("nuances of RGB slightly
              changed"; colour pictures only)
``noise``     Gaussian noise of σ 0.05 ("more tolerance to quality variation")
``erase``     a random rectangle of 2–15% of the picture blanked ("information loss:
              parts of image ignored", random erasing, Zhong et al. 2020)
``contrast``  brightness and contrast changed by up to ±20% ("luminosity changes")
============  =====================================================================

Each is applied to a picture with probability 0.5, in pixel units ([0, 1]): the batch
arrives normalized with the training mean / std, is un-normalized, augmented, clipped to
[0, 1] and normalized again. `Augment` is the engine callback: it replaces the training
batch in ``before_batch``, an event the dev evaluation never fires, so dev and test
pictures are never augmented.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from fullcycle.engine.events import Callback
from fullcycle.errors import FullcycleError

AUGMENTATIONS = ("flip", "rotate", "crop", "color", "noise", "erase", "contrast")
PROBABILITY = 0.5
ROTATION_DEGREES = 10.0
CROP_AREA = (0.75, 1.0)
COLOR_SHIFT = 0.1
NOISE_STD = 0.05
ERASE_AREA = (0.02, 0.15)
BRIGHTNESS = CONTRAST = 0.2


def parse_augment(text: str | Sequence[str] | None, channels: int | None = None
                  ) -> tuple[str, ...] | None:
    """``"auto"`` / None → None (the recipe decides); ``"none"`` → (); a list → its names.

    ``color`` needs colour pictures: asking for it on grayscale ones (``channels`` 1) is
    refused rather than silently ignored.
    """
    if text is None:
        return None
    names = ([t.strip().lower() for t in text.split(",") if t.strip()]
             if isinstance(text, str) else [str(t).strip().lower() for t in text])
    if names in (["auto"], []):
        return None
    if names == ["none"]:
        return ()
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown or "auto" in names or "none" in names:
        raise FullcycleError(f"unknown augmentation(s) {', '.join(unknown) or 'auto/none'} in "
                             f"--augment; use auto, none, or a list of: {', '.join(AUGMENTATIONS)}")
    if "color" in names and channels == 1:
        raise FullcycleError("--augment color shifts RGB channels, but these pictures are "
                             "grayscale; leave color out (contrast changes luminosity)")
    return tuple(dict.fromkeys(names))


def _op(name: str, height: int, width: int, p: float) -> nn.Module:
    import kornia.augmentation as K

    if name == "flip":
        return K.RandomHorizontalFlip(p=p)
    if name == "rotate":
        return K.RandomRotation(degrees=ROTATION_DEGREES, p=p)
    if name == "crop":
        return K.RandomResizedCrop((height, width), scale=CROP_AREA, ratio=(3 / 4, 4 / 3), p=p)
    if name == "color":
        return K.RandomRGBShift(COLOR_SHIFT, COLOR_SHIFT, COLOR_SHIFT, p=p)
    if name == "noise":
        return K.RandomGaussianNoise(mean=0.0, std=NOISE_STD, p=p)
    if name == "erase":
        return K.RandomErasing(scale=ERASE_AREA, ratio=(0.3, 3.3), value=0.0, p=p)
    if name == "contrast":
        return K.ColorJiggle(brightness=BRIGHTNESS, contrast=CONTRAST, p=p)
    raise FullcycleError(f"unknown augmentation {name!r}; use one of: {', '.join(AUGMENTATIONS)}")


class Augmentation(nn.Module):
    """The chosen augmentations, in the table's order, on normalized (n, C, H, W) batches.

    ``mean`` / ``std`` are the per-channel statistics the pictures were normalized with;
    ``probability`` 1.0 applies every augmentation to every picture (previews, tests).
    """

    def __init__(self, names: Sequence[str], mean: Sequence[float], std: Sequence[float],
                 height: int, width: int, probability: float = PROBABILITY) -> None:
        super().__init__()
        chosen = parse_augment(list(names), channels=len(mean)) or ()
        self.names = tuple(n for n in AUGMENTATIONS if n in chosen)
        self.ops = nn.ModuleList(_op(n, height, width, probability) for n in self.names)
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32)
                             .view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32)
                             .view(1, -1, 1, 1))

    @torch.no_grad()
    def pixels(self, x01: Tensor) -> Tensor:
        """Augment pictures in pixel units ([0, 1]); returns [0, 1]."""
        for op in self.ops:
            x01 = op(x01)
        return x01.clamp_(0.0, 1.0)

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        if not self.names:
            return x
        mean, std = self.mean.to(x.device, x.dtype), self.std.to(x.device, x.dtype)
        return (self.pixels(x * std + mean) - mean) / std

    def describe(self) -> str:
        return ", ".join(self.names) or "none"


class Augment(Callback):
    """Augments every training batch's pictures (the first input) before the forward pass."""

    order = -50  # before anything that reads the batch

    def __init__(self, augmentation: Augmentation) -> None:
        self.augmentation = augmentation

    def before_fit(self, loop: Any) -> None:
        self.augmentation.to(loop.device)

    def before_batch(self, loop: Any) -> None:
        x, *rest = loop.batch
        loop.batch = (self.augmentation(x), *rest)
