"""The recipe's part for pictures: the first ResNet, how it trains, and its moves.

The autopilot is the same for tables and pictures; where a step must know it has pictures
(building the network, feeding it batches, the move table, baselines, checks) it asks this
module. The knobs of an image experiment are `ImageKnobs`, held by `TrainConfig.images`.

Moves, one knob each (seed 002's basic recipe, seed 003's orthogonalization):

* avoidable bias — more channels (×2), more blocks per stage, train longer, Adam, less
  regularization; with transfer learning, first unfreeze more layers (small → medium →
  large regime of `fullcycle.models.transfer`).
* variance — data augmentation first (seed 002: "get more data ... data augmentation";
  geometric, then mirror images, then photometric and information loss), then dropout
  before the output layer (0.25, 0.5), then L2 on the tables' log ladder.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from fullcycle.data.dataset import Prepared
from fullcycle.data.image_dataset import ImageArray, predict_images
from fullcycle.engine.evaluate import predict
from fullcycle.errors import FullcycleError
from fullcycle.models.cnn import MAX_WIDTH, ImageResNet, initial_cnn
from fullcycle.models.mlp import init_output_bias
from fullcycle.models.transfer import (
    REGIMES,
    TransferPlan,
    apply_plan,
    layer_groups,
    optimizer_factory,
    replace_head,
    transfer_rule,
)

# He et al. trained their CIFAR ResNets with mini-batches of 128; larger batches give a CPU
# little more throughput and the short image runs fewer updates.
IMAGE_BATCH = 128
MAX_BLOCKS = 3
CHECK_PICTURES = 256  # decoded for the sanity checks (each check subsamples further)
# A CNN step costs tens of times an MLP's: the checks take smaller batches and run the
# gradient check on 4 pictures (still every parameter tensor, along random directions).
CHECK_OPTIONS = {"batch_size": 16, "gradcheck_examples": 4}
BASELINE_PICTURES = 20_000  # thumbnails the linear baseline is fitted on, at most
THUMBNAIL_SIDE = 8
# The first experiment may use this share of the time left (the rest: the learning curve
# and a move); a run on many pictures and a short budget gets one good experiment.
FIRST_EXPERIMENT_SHARE = 0.8
DROPOUT_STEPS = (0.25, 0.5)
AUGMENT_LADDER = (("geometric", ("crop", "rotate")), ("mirror", ("flip",)),
                  ("photometric", ("contrast", "erase", "color")))


class PretrainedSource:
    """The task-A network to transfer from (a bundle's or the user's module) and its name.

    Held by the configuration but never copied: every experiment deep-copies the module
    itself before changing it.
    """

    def __init__(self, module: nn.Module, description: str) -> None:
        self.module, self.description = module, description
        self.bundle_features: dict | None = None  # a bundle's picture preprocessing

    def __deepcopy__(self, memo: dict) -> PretrainedSource:
        return self

    def __repr__(self) -> str:
        return f"PretrainedSource({self.description})"


@dataclass(frozen=True)
class ImageKnobs:
    """What an image experiment's network and data pipeline look like."""

    widths: tuple[int, ...]
    blocks: int = 1
    dropout: float = 0.0
    stem_stride: int = 1
    channels: int = 1  # of the pictures: colour shifts need 3
    augment: tuple[str, ...] = ()
    augment_fixed: bool = False  # the user chose --augment: the recipe does not change it
    transfer: str | None = None  # regime (small / medium / large) when transferring
    pretrained: PretrainedSource | None = field(default=None, compare=False)

    def with_changes(self, **changes: Any) -> ImageKnobs:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, pretrained=None))
        data["widths"] = list(self.widths)
        data["augment"] = list(self.augment)
        data["pretrained"] = self.pretrained.description if self.pretrained else None
        return data

    def describe(self) -> str:
        parts = [f"ResNet {','.join(map(str, self.widths))} x{self.blocks}"]
        if self.transfer:
            parts.append(f"transfer ({self.transfer})")
        parts.append("augment " + (",".join(self.augment) or "none"))
        if self.dropout:
            parts.append(f"dropout {self.dropout:g}")
        return ", ".join(parts)


# ---- the first experiment -----------------------------------------------------------------------
def initial_image_config(prepared: Prepared, base: Any, augment: tuple[str, ...] | None,
                         pretrained: PretrainedSource | None) -> tuple[Any, dict, str]:
    """(TrainConfig, architecture section, reason) of the first image experiment.

    `base` is the TrainConfig the autopilot would start a table with (epochs, seed, ...);
    `augment` None lets the recipe decide (no augmentation until variance asks for it).
    """
    from fullcycle.recipe.trainer import n_outputs

    pre = prepared.preprocessor
    arch = initial_cnn(pre.height, pre.width, pre.channels, n_outputs(prepared))
    knobs = ImageKnobs(widths=arch.widths, blocks=arch.blocks, stem_stride=arch.stem_stride,
                       channels=pre.channels, augment=augment or (),
                       augment_fixed=augment is not None)
    doc, reason = arch.to_dict(), arch.reason
    if pretrained is not None:
        plan = plan_for(prepared, pretrained.module, None)
        knobs = knobs.with_changes(transfer=plan.regime, pretrained=pretrained,
                                   widths=tuple(getattr(pretrained.module, "config", {})
                                                .get("widths", ())) or arch.widths)
        doc = {"pretrained": pretrained.description, "transfer": plan.to_dict()}
        reason = f"transfer learning from {pretrained.description}: {plan.reason}"
    config = base.with_changes(images=knobs, batch_size=min(IMAGE_BATCH, base.batch_size),
                               hidden=())
    return config, doc, reason


def plan_for(prepared: Prepared, source: nn.Module, regime: str | None) -> TransferPlan:
    """The seeds' transfer rule for this data and network (see `transfer_rule`)."""
    from fullcycle.recipe.trainer import n_outputs

    names = [name for name, _ in layer_groups(replace_head(copy.deepcopy(source), 1))]
    return transfer_rule(len(prepared.y["train"]), n_outputs(prepared), names, regime)


# ---- building and training --------------------------------------------------------------------
def build_image_model(prepared: Prepared, config: Any) -> nn.Module:
    """The network `config.images` describes, output bias at the training prior."""
    from fullcycle.recipe.trainer import n_outputs

    knobs: ImageKnobs = config.images
    torch.manual_seed(config.seed)
    if knobs.pretrained is not None:
        model = replace_head(copy.deepcopy(knobs.pretrained.module), n_outputs(prepared))
        if hasattr(model, "dropout") and isinstance(model, ImageResNet) and knobs.dropout:
            model.dropout = nn.Dropout(knobs.dropout)
            model._config["dropout"] = knobs.dropout
    else:
        pre = prepared.preprocessor
        model = ImageResNet(pre.channels, n_outputs(prepared), widths=knobs.widths,
                            blocks=knobs.blocks, dropout=knobs.dropout,
                            stem_stride=knobs.stem_stride)
    init_output_bias(model, prepared.task, prepared.y["train"])
    return model


def fit_arguments(prepared: Prepared, config: Any, model: nn.Module, X: ImageArray,
                  y: np.ndarray, deadline: float) -> dict[str, Any]:
    """What `fc.fit` needs beyond a table's: loaders, the augmentation callback, the
    transfer plan's frozen layers and per-group rates, and epochs fitted to `deadline`
    (a CNN epoch is slow enough that a cut schedule costs accuracy)."""
    from fullcycle.engine.deadline import ScheduleToDeadline
    from fullcycle.engine.schedules import parse_schedule

    knobs: ImageKnobs = config.images
    pre = prepared.preprocessor
    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    arguments: dict[str, Any] = {
        "train": X.loader(y, batch_size=config.batch_size, shuffle=True, seed=config.seed,
                          drop_singleton=has_bn),
        "dev": prepared.X["dev"].loader(prepared.y["dev"], batch_size=512),
        "callbacks": [ScheduleToDeadline(deadline, parse_schedule(config.schedule))],
        "optimizer": config.optimizer,
    }
    if knobs.augment:
        from fullcycle.engine.augment import Augment, Augmentation  # kornia: only when used

        arguments["callbacks"].append(Augment(Augmentation(knobs.augment, pre.mean, pre.std,
                                                           pre.height, pre.width)))
    if knobs.transfer:
        plan = plan_for(prepared, model, knobs.transfer)
        arguments["optimizer"] = optimizer_factory(apply_plan(model, plan), config.optimizer)
    return arguments


def outputs_of(model: nn.Module, X: Any) -> torch.Tensor:
    """Raw outputs for a split: decoded batch by batch for pictures, at once for a matrix."""
    if isinstance(X, ImageArray):
        return predict_images(model, X)
    return predict(model, torch.from_numpy(X))


def example_input(prepared: Prepared) -> torch.Tensor:
    """One input of the right shape (for latency): a picture, or a row of features."""
    if prepared.is_images:
        return torch.zeros(1, *prepared.preprocessor.shape)
    return torch.zeros(1, prepared.preprocessor.n_features)


def check_sample(prepared: Prepared, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded sample of decoded training pictures for the sanity checks."""
    n = len(prepared.X["train"])
    rows = np.sort(np.random.default_rng(seed).choice(n, min(n, CHECK_PICTURES),
                                                      replace=False))
    return prepared.X["train"].decode(rows), prepared.y["train"][rows]


def baseline_features(prepared: Prepared, seed: int) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray, np.ndarray]:
    """(X_train, y_train, X_dev, y_dev) for the baselines: 8×8 thumbnails, flattened, of at
    most BASELINE_PICTURES training pictures (a linear model on them is the floor)."""
    n = len(prepared.X["train"])
    rows = np.arange(n)
    if n > BASELINE_PICTURES:
        rows = np.sort(np.random.default_rng(seed).choice(n, BASELINE_PICTURES, replace=False))
    return (prepared.X["train"].thumbnails(THUMBNAIL_SIDE, rows), prepared.y["train"][rows],
            prepared.X["dev"].thumbnails(THUMBNAIL_SIDE), prepared.y["dev"])


# ---- the move table for pictures ----------------------------------------------------------------
def image_bias_moves(config: Any) -> list[Any]:
    """Unfreeze (transfer), more channels, more blocks, longer, Adam, less regularization."""
    from fullcycle.recipe.moves import BIAS, MAX_EPOCHS, Move

    knobs: ImageKnobs = config.images
    moves = []
    if knobs.transfer and knobs.transfer != REGIMES[-1]:
        more = REGIMES[REGIMES.index(knobs.transfer) + 1]
        moves.append(Move(f"unfreeze:{more}", BIAS, f"unfreeze more layers: transfer "
                          f"{knobs.transfer} → {more} regime",
                          config.with_changes(images=knobs.with_changes(transfer=more))))
    if not knobs.transfer and max(knobs.widths) < MAX_WIDTH:
        wider = tuple(min(MAX_WIDTH, w * 2) for w in knobs.widths)
        moves.append(Move(f"channels:{wider}", BIAS, f"more channels: {_w(knobs.widths)} → "
                          f"{_w(wider)}", config.with_changes(images=knobs.with_changes(
                              widths=wider))))
    if not knobs.transfer and knobs.blocks < MAX_BLOCKS:
        moves.append(Move(f"blocks:{knobs.blocks + 1}", BIAS, f"more blocks: {knobs.blocks} "
                          f"→ {knobs.blocks + 1} per stage", config.with_changes(
                              images=knobs.with_changes(blocks=knobs.blocks + 1))))
    if config.epochs < MAX_EPOCHS:
        longer = min(MAX_EPOCHS, config.epochs * 2)
        moves.append(Move(f"longer:{longer}", BIAS, f"train longer: {config.epochs} → "
                          f"{longer} epochs",
                          config.with_changes(epochs=longer, patience=config.patience * 2)))
    if config.optimizer != "adam":
        moves.append(Move("adam", BIAS, f"optimizer {config.optimizer} → adam",
                          config.with_changes(optimizer="adam")))
    regularized = knobs.dropout or config.l2 or (knobs.augment and not knobs.augment_fixed)
    if regularized:
        keep = knobs.augment if knobs.augment_fixed else ()
        moves.append(Move("less-regularization", BIAS,
                          "remove regularization (it may be holding the fit back)",
                          config.with_changes(l2=0.0, images=knobs.with_changes(
                              dropout=0.0, augment=keep))))
    return moves


def image_variance_moves(config: Any, n_train: int) -> list[Any]:
    """Augmentation (geometric, mirror, photometric), dropout, then L2 (one decade a move)."""
    from fullcycle.recipe.moves import L2_PER_EXAMPLE_LADDER, VARIANCE, Move

    knobs: ImageKnobs = config.images
    moves = []
    if not knobs.augment_fixed:
        for name, kinds in AUGMENT_LADDER:
            kinds = tuple(k for k in kinds if k != "color" or knobs.channels == 3)
            if set(kinds) <= set(knobs.augment):
                continue
            added = tuple(dict.fromkeys((*knobs.augment, *kinds)))
            moves.append(Move(f"augment:{name}", VARIANCE, f"data augmentation: "
                              f"{','.join(knobs.augment) or 'none'} → {','.join(added)}",
                              config.with_changes(images=knobs.with_changes(augment=added))))
    for rate in DROPOUT_STEPS:
        if knobs.dropout < rate:
            moves.append(Move(f"dropout:{rate}", VARIANCE,
                              f"dropout {rate} before the output layer",
                              config.with_changes(images=knobs.with_changes(dropout=rate))))
            break
    ladder = [v * max(1, n_train) for v in L2_PER_EXAMPLE_LADDER]
    next_l2 = next((v for v in ladder if v > config.l2 * 1.0001), None)
    if next_l2 is not None:
        moves.append(Move(f"l2:{next_l2:.3g}", VARIANCE,
                          f"L2 λ {config.l2:.3g} → {next_l2:.3g} (λ/m {next_l2 / n_train:.0e})",
                          config.with_changes(l2=next_l2)))
    return moves


def _w(widths: tuple[int, ...]) -> str:
    return ",".join(map(str, widths))


def pretrained_source(spec: Any) -> PretrainedSource | None:
    """`--pretrained BUNDLE` (a path) or a user's `nn.Module` (weights already loaded, e.g.
    with `fullcycle.models.transfer.pretrained_module`) as a source to transfer from."""
    if spec is None:
        return None
    if isinstance(spec, PretrainedSource):
        return spec
    if isinstance(spec, nn.Module):
        return PretrainedSource(spec, f"the user's {type(spec).__name__}")
    from fullcycle.models.transfer import pretrained_from_bundle

    if not isinstance(spec, str) and not hasattr(spec, "__fspath__"):
        raise FullcycleError("pretrained= takes a bundle folder or an nn.Module with its "
                             "weights loaded")
    module, bundle = pretrained_from_bundle(spec)
    source = PretrainedSource(module, f"bundle {spec}")
    source.bundle_features = bundle.preprocessing["features"]  # picture size and channels
    return source


def prepare_for_run(data: Any, target: Any, *, task: str | None, dev_data: Any, split: Any,
                    drop_missing_target: bool, image_column: str | None,
                    image_size: Any, augment: str | None, pretrained: Any,
                    refuse_unreadable: bool) -> tuple[Prepared, dict[str, Any]]:
    """`fc.run`'s picture flags checked, the pictures prepared, and the autopilot's picture
    options: (prepared, {"augment", "pretrained"}).

    A bundle to transfer from fixes the picture size and channels to its own (its first
    layers were trained on those), unless --image-size is given.
    """
    from fullcycle.data.images import ImageOptions, parse_image_size, prepare_images
    from fullcycle.engine.augment import parse_augment

    size = parse_image_size(image_size)
    parse_augment(augment)  # a misspelt flag is refused before any picture is read
    source = pretrained_source(pretrained)
    channels = None
    bundle_features = getattr(source, "bundle_features", None)
    if bundle_features:
        size = size or (int(bundle_features["height"]), int(bundle_features["width"]))
        channels = int(bundle_features["channels"])
    options = ImageOptions(image_column=image_column, image_size=size, channels=channels,
                           skip_unreadable=not refuse_unreadable)
    prepared = prepare_images(data, target, options=options, task=task, dev_data=dev_data,
                              split=split, drop_missing_target=drop_missing_target)
    chosen = parse_augment(augment, channels=prepared.preprocessor.channels)
    return prepared, {"augment": chosen, "pretrained": source}


def image_search_space(trial: Any, center: Any, n_train: int) -> Any:
    """One random-search sample around `center` for pictures (`recipe/refine` draws the
    rate): channels ×½–×2 and blocks ±1 (trained from scratch only), dropout before the
    output, L2 on a log scale, the mini-batch as a power of two."""
    from fullcycle.recipe.refine import L2_PER_EXAMPLE, _epochs_for
    from fullcycle.tuning.space import suggest_log, suggest_power_of_two

    knobs: ImageKnobs = center.images
    if not knobs.transfer:
        scale = 2.0 ** trial.suggest_int("channels_log2", -1, 1)
        blocks = trial.suggest_int("blocks", max(1, knobs.blocks - 1),
                                   min(MAX_BLOCKS, knobs.blocks + 1))
        knobs = knobs.with_changes(blocks=blocks, widths=tuple(
            int(min(MAX_WIDTH, max(4, round(w * scale)))) for w in knobs.widths))
    knobs = knobs.with_changes(dropout=round(trial.suggest_float("dropout", 0.0, 0.5), 3))
    use_l2 = trial.suggest_categorical("use_l2", [False, True])
    l2 = suggest_log(trial, "l2_per_example", *L2_PER_EXAMPLE) * n_train if use_l2 else 0.0
    low = max(16, center.batch_size // 2)
    batch = suggest_power_of_two(trial, "batch_size", low, max(low, min(512,
                                                                         center.batch_size * 2)))
    return center.with_changes(images=knobs, l2=l2, batch_size=batch,
                               seed=center.seed + trial.number + 1,
                               epochs=_epochs_for(center, batch))
