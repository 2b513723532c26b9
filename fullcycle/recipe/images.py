"""The recipe's part for pictures: the first ResNet, and how an image experiment trains.

The autopilot is the same for tables and pictures; where a step must know it has pictures
(building the network, feeding it batches, baselines, checks) it asks this module, and the
move table asks `fullcycle.recipe.image_moves`. The knobs of an image experiment are
`ImageKnobs`, held by `TrainConfig.images`.
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
from fullcycle.engine.device import BusyMachineThreads, ChannelsLast, fewer_threads_when_busy
from fullcycle.engine.evaluate import predict
from fullcycle.errors import FullcycleError
from fullcycle.models.cnn import ImageResNet, initial_cnn
from fullcycle.models.mlp import init_output_bias
from fullcycle.models.probe import Probe, fit_probe, head_inputs, set_head
from fullcycle.models.transfer import (
    KeepInInference,
    TransferPlan,
    apply_plan,
    frozen_norms,
    layer_groups,
    optimizer_factory,
    replace_head,
    transfer_rule,
)

# Mini-batches of at most 64 pictures (seed 003: powers of two, 64 and up): a run of a few
# epochs needs the updates. On one CPU thread with channels-last convolutions the first
# ResNet on 28×28 pictures measured 531 pictures/s at 64 against 564 at 128 (450 at 64 in
# the ordinary layout) on the shared 2-core machine: doubling the batch buys 6% throughput
# for half the updates (10 minutes on Fashion-MNIST at load 6: 2 epochs, 626 steps of 128).
IMAGE_BATCH = 64
MAX_BLOCKS = 3
CHECK_PICTURES = 256  # decoded for the sanity checks (each check subsamples further)
# A CNN step costs tens of times an MLP's: the checks take smaller batches, run the
# gradient check on 4 pictures (still every parameter tensor, along random directions) and
# train the input-independent comparison for 50 steps instead of 150 (at 150 it took 23 s
# of the checks' 37 s at load 5 on 2 cores; real inputs beat zeros long before that).
CHECK_OPTIONS = {"batch_size": 16, "gradcheck_examples": 4, "input_independent_steps": 50}
# Thumbnails the baselines are fitted on, at most: a floor (and the Bayes-error bound) known
# to ±0.3% at 10,000 pictures; gradient boosting on 20,000 took 14 s of a 10-minute run.
BASELINE_PICTURES = 10_000
THUMBNAIL_SIDE = 8
# The train error is measured on at most this many pictures: ±0.4% (one standard error) at
# a 10% error, below the tolerance the diagnosis rounds gaps to.
TRAIN_ERROR_PICTURES = 5_000
# A transferred head's linear probe is fitted on at most this many training pictures: a few
# seconds of feature reading and nine strengths × five folds of logistic regression (8 s for
# ten classes on one thread).
PROBE_PICTURES = 3_000
HEAD_START = ("the new head starts as a linear probe fitted on the features it reads, "
              "before any layer trains (LP-FT, `models.probe`)")
# The first experiment may use this share of the time left. Its epochs are fitted to it
# (`ScheduleToDeadline`), so the share only binds when the data is too large for the
# budget; then one well-annealed fit is most of what the budget buys (seed 000: train
# longer with decay), and a second, shorter experiment could not beat it: Fashion-MNIST at
# 10 minutes with 0.8 used 307 s of 600 for its one fit and left 188 s that no move fitted.
FIRST_EXPERIMENT_SHARE = 0.93
DROPOUT_STEPS = (0.25, 0.5)
# Below this many dev pictures early stopping (and the best epoch kept) watches the dev loss,
# as Keras' EarlyStopping does by default: the dev error of 40 pictures moves in steps of
# 2.5% and its ties keep the earliest epoch (a head transferred to 120 pictures was restored
# to its 8th epoch of 58, at 0.73 training accuracy).
SMALL_DEV = 1000
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
        self.probes: dict[tuple, Probe | None] = {}  # the new head's probe, per task

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageKnobs:
        """Knobs from `to_dict` (a journal): the pretrained network is only named there."""
        values = {k: v for k, v in data.items() if k != "pretrained"}
        values["widths"] = tuple(values.get("widths", ()))
        values["augment"] = tuple(values.get("augment", ()))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, pretrained=None))
        data["widths"] = list(self.widths)
        data["augment"] = list(self.augment)
        data["pretrained"] = self.pretrained.description if self.pretrained else None
        return data

    def describe(self) -> str:
        network = (f"ResNet {','.join(map(str, self.widths))} x{self.blocks}" if self.widths
                   else type(self.pretrained.module).__name__ if self.pretrained else "CNN")
        parts = [network]
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
                                                .get("widths", ())))
        head = (("the new head reads every stage's pooled features; "
                 if isinstance(pretrained.module, ImageResNet) else "") + HEAD_START)
        doc = {"pretrained": pretrained.description,
               "transfer": {**plan.to_dict(), "head": head}}
        reason = f"transfer learning from {pretrained.description}: {plan.reason}; {head}"
    from fullcycle.recipe.config import choose_epochs

    # IMAGE_BATCH once an epoch has 50 such steps, else the tables' choice (which keeps 50)
    n_train = len(prepared.y["train"])
    batch = (IMAGE_BATCH if n_train >= 50 * IMAGE_BATCH
             else min(IMAGE_BATCH, base.batch_size or IMAGE_BATCH))
    epochs, patience = choose_epochs(n_train, batch)
    config = base.with_changes(images=knobs, batch_size=batch, hidden=(), epochs=epochs,
                               patience=patience)
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
    if knobs.pretrained is not None:
        probe = head_probe(prepared, knobs.pretrained, model)
        if probe is not None:
            set_head(model, probe)
    return model


def head_probe(prepared: Prepared, source: PretrainedSource, model: nn.Module
               ) -> Probe | None:
    """The new head as a linear probe on the pretrained features of at most
    `PROBE_PICTURES` training pictures (`fullcycle.models.probe`), fitted once per run:
    every experiment that transfers from `source` starts its head there."""
    from fullcycle.recipe.trainer import n_outputs

    X, y = prepared.X["train"], prepared.y["train"]
    key = (len(y), n_outputs(prepared), prepared.task)
    if key not in source.probes:
        rows = np.arange(len(y))
        if len(y) > PROBE_PICTURES:
            rows = np.sort(np.random.default_rng(0).choice(len(y), PROBE_PICTURES,
                                                           replace=False))
        sample = X[rows] if isinstance(X, ImageArray) else X
        with fewer_threads_when_busy():
            batches = (x for x, _ in sample.loader(batch_size=256))
            features = head_inputs(model, batches)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # as for the baselines: BLAS threads spin on a busy box
            source.probes[key] = fit_probe(features, y[rows], prepared.task, key[1])
    return source.probes[key]


def fit_arguments(prepared: Prepared, config: Any, model: nn.Module, X: ImageArray,
                  y: np.ndarray, deadline: float | None) -> dict[str, Any]:
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
        "callbacks": [BusyMachineThreads(), ChannelsLast()], "optimizer": config.optimizer,
    }
    if deadline is not None:
        arguments["callbacks"].append(ScheduleToDeadline(deadline,
                                                         parse_schedule(config.schedule)))
    if knobs.augment:
        from fullcycle.engine.augment import Augment, Augmentation  # kornia: only when used

        arguments["callbacks"].append(Augment(Augmentation(knobs.augment, pre.mean, pre.std,
                                                           pre.height, pre.width)))
    if knobs.transfer:
        plan = plan_for(prepared, model, knobs.transfer)
        arguments["optimizer"] = optimizer_factory(apply_plan(model, plan), config.optimizer)
        arguments["callbacks"].append(KeepInInference(frozen_norms(model, plan)))
    if config.patience and len(prepared.y["dev"]) < SMALL_DEV:
        from fullcycle.engine.callbacks import EarlyStopping

        arguments["early_stopping"] = EarlyStopping(config.patience, monitor="dev_loss")
    return arguments


def outputs_of(model: nn.Module, X: Any) -> torch.Tensor:
    """Raw outputs for a split: decoded batch by batch for pictures, at once for a matrix."""
    if isinstance(X, ImageArray):
        with fewer_threads_when_busy():
            return predict_images(model, X)
    return predict(model, torch.from_numpy(X))


def measured_rows(X: Any, y: np.ndarray, seed: int) -> tuple[Any, np.ndarray]:
    """The training rows whose error is measured after an experiment: all of a table's; for
    pictures a seeded sample of at most TRAIN_ERROR_PICTURES, precise enough for the
    diagnosis without a forward pass over every training picture."""
    if not isinstance(X, ImageArray) or len(X) <= TRAIN_ERROR_PICTURES:
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(len(X), TRAIN_ERROR_PICTURES,
                                                      replace=False))
    return X[rows], y[rows]


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


def image_baselines(prepared: Prepared, metric: str, seed: int) -> list[dict]:
    """The majority class and a linear model on 8×8 thumbnails, flattened, of at most
    BASELINE_PICTURES training pictures: the floor for pictures (seed 001, step 2).

    BLAS runs on one thread here: sixty-odd features gain nothing from more, and its threads
    spin against each other on a busy machine (82 s against 2 s for 6,000 thumbnails at
    load 6 on 2 cores).
    """
    from threadpoolctl import threadpool_limits

    from fullcycle.diagnosis.baselines import baselines

    n = len(prepared.X["train"])
    rows = np.arange(n)
    if n > BASELINE_PICTURES:
        rows = np.sort(np.random.default_rng(seed).choice(n, BASELINE_PICTURES, replace=False))
    data = (prepared.X["train"].thumbnails(THUMBNAIL_SIDE, rows), prepared.y["train"][rows],
            prepared.X["dev"].thumbnails(THUMBNAIL_SIDE), prepared.y["dev"])
    with threadpool_limits(1):
        found = baselines(prepared.task, *data, metric, seed=seed)
    for row in found:
        if row["name"] == "linear":
            row["description"] += f" on {THUMBNAIL_SIDE}×{THUMBNAIL_SIDE} thumbnails"
    return found


def pretrained_source(spec: Any) -> PretrainedSource | None:
    """`--pretrained BUNDLE` (a path) or a user's `nn.Module` (weights already loaded, e.g.
    with `fullcycle.models.transfer.pretrained_module`) as a source to transfer from."""
    if spec is None:
        return None
    if isinstance(spec, PretrainedSource):
        return spec
    if isinstance(spec, nn.Module):
        from fullcycle.models.bundle import ARCHITECTURES

        name = type(spec).__name__
        if ARCHITECTURES.get(name) is not type(spec) or not isinstance(
                getattr(spec, "config", None), dict):
            raise FullcycleError(
                f"pretrained {name} could not be saved in the run's bundle: give it .config "
                "(describing the module as it is, e.g. its output size read from the output "
                "layer) and from_config(), and register it with "
                "fullcycle.models.bundle.register_architecture")
        return PretrainedSource(spec, f"the user's {name}")
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
    layers were trained on those), unless --image-size is given, and the normalization to
    its mean / std.
    """
    from fullcycle.data.images import ImageOptions, parse_image_size, prepare_images
    from fullcycle.engine.augment import parse_augment

    size = parse_image_size(image_size)
    parse_augment(augment)  # a misspelt flag is refused before any picture is read
    source = pretrained_source(pretrained)
    channels, statistics = None, None
    bundle_features = getattr(source, "bundle_features", None)
    if bundle_features:
        size = size or (int(bundle_features["height"]), int(bundle_features["width"]))
        channels = int(bundle_features["channels"])
        # the trunk's first layers and frozen batch norms expect task A's input scaling (as
        # a torchvision / timm network carries its ImageNet mean and std)
        statistics = (tuple(bundle_features["mean"]), tuple(bundle_features["std"]))
    options = ImageOptions(image_column=image_column, image_size=size, channels=channels,
                           skip_unreadable=not refuse_unreadable, statistics=statistics)
    prepared = prepare_images(data, target, options=options, task=task, dev_data=dev_data,
                              split=split, drop_missing_target=drop_missing_target)
    chosen = parse_augment(augment, channels=prepared.preprocessor.channels)
    return prepared, {"augment": chosen, "pretrained": source}
