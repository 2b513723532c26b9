"""The move table for pictures, and their random-search space (see `fullcycle.recipe.images`).

One knob per move (seed 002's basic recipe, seed 003's orthogonalization). Avoidable bias:
unfreeze more layers when transferring (small → medium → large regime), else more channels
(×2) then more blocks per stage; train longer; Adam; less regularization. Variance: data
augmentation first (seed 002: "get more data ... data augmentation" — geometric, then
mirror images, then photometric and information loss), dropout before the output layer
(0.25, 0.5), then L2 on the tables' log ladder. `fullcycle.recipe.moves` hands image
configurations here, so the autopilot has one move table.
"""

from __future__ import annotations

from typing import Any

from fullcycle.models.cnn import MAX_WIDTH
from fullcycle.models.transfer import REGIMES
from fullcycle.recipe.images import AUGMENT_LADDER, DROPOUT_STEPS, MAX_BLOCKS, ImageKnobs


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
    if config.epochs and config.epochs < MAX_EPOCHS:
        longer = min(MAX_EPOCHS, config.epochs * 2)
        moves.append(Move(f"longer:{longer}", BIAS, f"train longer: {config.epochs} → "
                          f"{longer} epochs with cosine decay",
                          config.with_changes(epochs=longer, schedule="cosine",
                                              patience=max(config.patience or 0,
                                                           longer // 4))))
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


def image_local_space(center: Any) -> Any:
    """The refine search's define-by-run space around an image configuration: the rate
    within ×/÷ 8 (log scale), channels ×½ / ×1 / ×2 and blocks ±1 (trained from scratch
    only), dropout before the output 0–0.5, L2 (λ/m) on or off, the batch ×/÷ 2."""
    from fullcycle.recipe.refine import LR_SPAN
    from fullcycle.recipe.steps import ADAM_LR_RANGE
    from fullcycle.tuning.space import L2_PER_EXAMPLE, suggest_log, suggest_power_of_two

    knobs: ImageKnobs = center.images

    def space(trial: Any) -> dict[str, Any]:
        low, high = ADAM_LR_RANGE
        batch = center.batch_size or 32
        values: dict[str, Any] = {
            "lr": suggest_log(trial, "lr", max(low / 10, center.lr / LR_SPAN),
                              min(high, center.lr * LR_SPAN)),
            "dropout": round(trial.suggest_float("dropout", 0.0, 0.5), 3),
            "batch_size": suggest_power_of_two(trial, "batch_size", max(16, batch // 2),
                                               max(16, min(512, batch * 2))),
            "seed": center.seed + trial.number + 1,
        }
        if not knobs.transfer:
            values["channels_log2"] = trial.suggest_int("channels_log2", -1, 1)
            values["blocks"] = trial.suggest_int("blocks", max(1, knobs.blocks - 1),
                                                 min(MAX_BLOCKS, knobs.blocks + 1))
        use_l2 = trial.suggest_categorical("use_l2", [False, True])
        values["l2_per_example"] = (suggest_log(trial, "l2_per_example", *L2_PER_EXAMPLE)
                                    if use_l2 else 0.0)
        # keep the number of optimizer steps when the batch size changes
        values["epochs"] = max(2, round((center.epochs or 10) * values["batch_size"] / batch))
        return values

    return space


def image_trial_config(values: dict[str, Any], base: Any, n_train: int) -> Any:
    """The configuration one search trial trains: `values` (from `image_local_space`) over
    `base`, the pretrained network kept."""
    knobs: ImageKnobs = base.images
    scale = 2.0 ** values.get("channels_log2", 0)
    knobs = knobs.with_changes(
        dropout=float(values.get("dropout", knobs.dropout)),
        blocks=int(values.get("blocks", knobs.blocks)),
        widths=tuple(int(min(MAX_WIDTH, max(4, round(w * scale)))) for w in knobs.widths))
    return base.with_changes(images=knobs, lr=values.get("lr", base.lr),
                             batch_size=values.get("batch_size", base.batch_size),
                             epochs=values.get("epochs", base.epochs),
                             seed=values.get("seed", base.seed),
                             l2=float(values.get("l2_per_example", 0.0)) * max(1, n_train))
