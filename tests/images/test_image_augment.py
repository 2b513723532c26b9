"""Each augmentation changes pictures in its own way, keeps shape and labels, never touches dev."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fullcycle.engine.augment import AUGMENTATIONS, Augment, Augmentation, parse_augment
from fullcycle.engine.fit import fit
from fullcycle.errors import FullcycleError

SIDE = 15  # odd: rotation about the centre keeps the centre pixel where it is


def pictures(channels: int = 1, n: int = 8, seed: int = 0) -> torch.Tensor:
    """Smooth random pictures in [0.2, 0.8] (pixel units): room to shift without clipping."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, channels, 4, 4, generator=g)
    return 0.2 + 0.6 * nn.functional.interpolate(coarse, size=(SIDE, SIDE), mode="bilinear",
                                                 align_corners=True)


def augmented(name: str, x: torch.Tensor) -> torch.Tensor:
    torch.manual_seed(1)
    channels = x.shape[1]
    op = Augmentation([name], [0.5] * channels, [0.25] * channels, SIDE, SIDE, probability=1.0)
    normalized = (x - 0.5) / 0.25
    out = op(normalized) * 0.25 + 0.5  # back to pixel units
    assert out.shape == x.shape and out.dtype == x.dtype
    assert not torch.allclose(out, x)
    return out


def test_flip_mirrors_every_picture_left_to_right() -> None:
    x = pictures()
    assert torch.allclose(augmented("flip", x), torch.flip(x, dims=[-1]), atol=1e-6)


def test_rotate_turns_about_the_centre_by_a_slight_angle() -> None:
    x = pictures()
    out = augmented("rotate", x)
    centre = SIDE // 2
    assert torch.allclose(out[..., centre, centre], x[..., centre, centre], atol=1e-5)
    inner = slice(4, SIDE - 4)  # a slight angle moves inner pixels only a little
    assert float((out[..., inner, inner] - x[..., inner, inner]).abs().mean()) < 0.05


def test_crop_zooms_on_a_part_and_keeps_the_size() -> None:
    flat = torch.full((4, 1, SIDE, SIDE), 0.6)
    torch.manual_seed(1)
    op = Augmentation(["crop"], [0.5], [0.25], SIDE, SIDE, probability=1.0)
    assert torch.allclose(op((flat - 0.5) / 0.25) * 0.25 + 0.5, flat, atol=1e-5)  # uniform
    x = pictures()
    out = augmented("crop", x)
    assert float(out.std()) > 0  # still a picture, not blank


def test_color_shifts_each_rgb_channel_by_its_own_constant() -> None:
    x = pictures(channels=3)
    shift = augmented("color", x) - x
    per_channel = shift.flatten(2)
    assert torch.allclose(per_channel, per_channel[..., :1].expand_as(per_channel), atol=1e-5)
    assert float(per_channel[..., 0].abs().max()) <= 0.1 + 1e-6
    assert not torch.allclose(per_channel[:, 0, 0], per_channel[:, 1, 0])


def test_noise_adds_zero_mean_gaussian_noise_to_every_pixel() -> None:
    x = pictures(n=32)
    noise = augmented("noise", x) - x
    assert abs(float(noise.mean())) < 0.005
    assert float(noise.std()) == pytest.approx(0.05, rel=0.1)
    assert float((noise == 0).float().mean()) < 0.01


def test_erase_blanks_one_rectangle_and_leaves_the_rest() -> None:
    x = pictures()
    out = augmented("erase", x)
    changed = (out - x).abs() > 1e-6
    for picture, mask in zip(out, changed, strict=True):
        rows, cols = torch.nonzero(mask[0], as_tuple=True)
        assert len(rows) > 0
        box = picture[0, rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        assert torch.allclose(box, torch.zeros_like(box), atol=1e-6)  # blank, a rectangle
        area = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert area <= 0.16 * SIDE * SIDE + SIDE


def test_contrast_changes_luminosity_affinely_per_picture() -> None:
    x = pictures()
    out = augmented("contrast", x)
    for before, after in zip(x.flatten(1), out.flatten(1), strict=True):
        inside = (after > 1e-4) & (after < 1 - 1e-4)
        a, b = np.polyfit(before[inside].numpy(), after[inside].numpy(), 1)
        assert np.allclose(a * before[inside].numpy() + b, after[inside].numpy(), atol=1e-4)
    assert not torch.allclose(out.flatten(1).std(1), x.flatten(1).std(1))


def test_parse_augment_spellings_and_refusals() -> None:
    assert parse_augment("auto") is None and parse_augment(None) is None
    assert parse_augment("none") == ()
    assert parse_augment("flip, rotate,flip") == ("flip", "rotate")
    assert set(AUGMENTATIONS) == {"flip", "rotate", "crop", "color", "noise", "erase",
                                  "contrast"}
    with pytest.raises(FullcycleError, match="unknown augmentation.*mirror"):
        parse_augment("flip,mirror")
    with pytest.raises(FullcycleError, match="grayscale"):
        parse_augment("color", channels=1)


class Recorder(nn.Module):
    """A tiny classifier that keeps what it was shown, in training and in evaluation."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(SIDE * SIDE, 2)
        self.seen: dict[bool, list[torch.Tensor]] = {True: [], False: []}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen[self.training].append(x.detach().clone())
        return self.linear(x.flatten(1))


def test_training_batches_are_augmented_and_dev_batches_never() -> None:
    x = pictures(n=16)
    y = torch.arange(16) % 2
    normalized = (x - 0.5) / 0.25
    model = Recorder()
    labels_seen: list[torch.Tensor] = []

    class Labels(Augment):
        order = 0

        def before_batch(self, loop: object) -> None:
            labels_seen.append(loop.batch[1].clone())

    op = Augmentation(["flip"], [0.5], [0.25], SIDE, SIDE, probability=1.0)
    fit(model, (normalized, y), (normalized, y), loss="cross_entropy", epochs=1,
        batch_size=16, progress=False, callbacks=[Augment(op), Labels(op)], seed=0)
    trained_on = torch.cat(model.seen[True])
    assert torch.allclose(trained_on.sort(0).values,
                          torch.flip(normalized, dims=[-1]).sort(0).values, atol=1e-6)
    assert sorted(torch.cat(labels_seen).tolist()) == sorted(y.tolist())  # labels kept
    assert all(torch.equal(seen, normalized) for seen in model.seen[False])  # dev untouched
