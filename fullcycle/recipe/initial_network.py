"""The seeds' first network for the data (seed 001, step 2), decided and journaled.

A table: one hidden layer whose width lies between the input and output sizes (or the
user's `--hidden`); text columns add an embedding + LSTM sized from the vocabulary, with
gradient clipping; pictures start from a small ResNet, or from the network they are
transferred from (`fullcycle.recipe.images`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullcycle.models.mlp import initial_architecture
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.moves import Decision
from fullcycle.recipe.trainer import n_outputs, network_inputs, resolved

if TYPE_CHECKING:
    from fullcycle.recipe.autopilot import Autopilot


def initial_config(pilot: Autopilot) -> TrainConfig:
    """The first network: one hidden layer between input and output sizes for a table (seed
    001 step 2), with the text path sized from the vocabulary, or a picture's ResNet."""
    n_train = len(pilot.p.X["train"])
    arch = initial_architecture(network_inputs(pilot.p), n_outputs(pilot.p), n_train)
    config = resolved(pilot.p, TrainConfig(hidden=pilot.hidden, seed=pilot.seed))
    if pilot.p.is_images:
        return initial_image_config(pilot, config)
    hidden = config.hidden
    if pilot.p.preprocessor.text_columns:
        describe_text(pilot, config, n_train)
    pilot.sections["architecture"] = {**arch.to_dict(), "chosen_hidden": list(hidden)}
    pilot.decide(Decision("architecture", arch.to_dict(),
                          f"start with hidden {','.join(map(str, hidden))}, "
                          f"batch {config.batch_size}",
                          arch.reason if not pilot.hidden else "hidden sizes given by the user"))
    return config


def initial_image_config(pilot: Autopilot, base: TrainConfig) -> TrainConfig:
    """The first ResNet, or the network transferred from task A (recipe/images)."""
    from fullcycle.recipe.images import initial_image_config as first_picture_network

    config, doc, reason = first_picture_network(pilot.p, base, pilot.augment,
                                               pilot.pretrained)
    pilot.sections["architecture"] = doc
    pilot.decide(Decision("architecture", doc, config.describe(), reason))
    if config.images.transfer:
        pilot.decide(Decision("transfer", doc["transfer"], doc["transfer"]["description"],
                              doc["transfer"]["reason"]))
    return config


def describe_text(pilot: Autopilot, config: TrainConfig, n_train: int) -> None:
    """Say the text path `resolve` chose: embedding + LSTM sizes from the largest
    vocabulary and the data (seed 001 step 2), and the gradient clipping recurrent nets
    get by default."""
    vocabulary = max(v for _, _, v in pilot.p.preprocessor.text)
    pilot.sections["text"] = {
        "columns": [t.to_dict()["stats"] | {"name": t.name, "max_length": t.max_length,
                                            "options": t.options}
                    for t in pilot.p.preprocessor.text_columns],
        "embedding": config.text_embedding, "lstm_hidden": config.text_hidden,
        "clip_norm": config.clip_norm}
    pilot.decide(Decision("text_architecture", {"vocabulary": vocabulary,
                                                "n_train": n_train},
                          f"embedding {config.text_embedding} + one-layer LSTM "
                          f"{config.text_hidden}, concat pooling (last, max, mean), "
                          f"batch {config.batch_size}",
                          "seed 001's first text architecture; the embedding width from "
                          "the vocabulary (fastai's rule, capped at 128, 32 below 2000 "
                          "rows), the LSTM as wide as the embedding; text batches of at "
                          "least 128 (an LSTM step costs about as much as at 32)"))
    if config.clip_norm:
        pilot.decide(Decision("gradient_clipping", {"recurrent": True},
                              f"clip gradients at global norm {config.clip_norm:g}",
                              "on by default for recurrent nets, whose gradients explode "
                              "through time (Pascanu et al. 2013)"))
