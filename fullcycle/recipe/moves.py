"""The recipe's next moves, one knob each, as data.

Seed 002 ("Basic recipe for machine learning") and seed 003 ("Orthogonalization"): first
ask whether the training error is high (avoidable bias) — then try a bigger network,
training longer, a better optimizer; once it is low, ask whether the dev error is high
(variance) — then more data, regularization (dropout, L2), batch norm; a dev error that
the train-dev error does not explain is data mismatch — error analysis and making training
data more like dev, not a knob to turn here. Each move changes exactly one knob so that its
effect can be read off the dev metric (seed 001: "one knob per experiment").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fullcycle.recipe.config import TrainConfig

MAX_WIDTH = 1024
MAX_LAYERS = 4
MAX_EPOCHS = 400

# L2 tried on a log scale (seed 002: search λ on a log scale), one decade per move, in λ/m
# as every search space states it (`fullcycle.tuning.space.L2_PER_EXAMPLE`), times m.
L2_PER_EXAMPLE_LADDER = (1e-5, 1e-4, 1e-3, 1e-2)
# Dropout schedule (seed 002 / PRODUCT.md): first before the last linear layer at 0.25, then
# 0.5 there, then on the earlier layers too.
DROPOUT_LAST = (0.25, 0.5)
DROPOUT_EARLIER = 0.25
# Text (embedding + LSTM): width doubles up to this, at most this many recurrent layers.
MAX_TEXT_WIDTH = 512
MAX_TEXT_LAYERS = 2
TEXT_DROPOUT = (0.25, 0.5)

BIAS = "avoidable_bias"
VARIANCE = "variance"
MISMATCH = "data_mismatch"
# How often the target distribution's training rows are seen per epoch, one step per move.
TARGET_WEIGHTS = (4, 16)


@dataclass(frozen=True)
class Move:
    """One experiment the recipe proposes: the knob, the new configuration, and why."""

    key: str  # identifies the move so that it is not repeated
    family: str  # avoidable_bias | variance
    change: str  # what changes, in words
    config: TrainConfig
    reason: str = ""


@dataclass(frozen=True)
class Decision:
    """What the recipe saw, what it will do, and why — journaled and shown, never hidden."""

    kind: str
    observed: dict
    action: str
    reason: str
    recommendations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "observed": self.observed, "action": self.action,
                "reason": self.reason, "recommendations": list(self.recommendations)}


def _capacity_limit(n_train: int) -> int:
    """Most hidden units per layer the data supports: a net may hold a few times more
    parameters than there are examples once it is regularized, not hundreds of times."""
    return int(min(MAX_WIDTH, max(64, 2 ** round(math.log2(max(1, n_train) / 4)))))


def text_bias_moves(config: TrainConfig) -> list[Move]:
    """A text model's bigger networks: wider embedding and LSTM, a second layer, both
    directions (seed 002's "bigger network", for the recurrent part)."""
    if not config.text_hidden:
        return []
    moves = []
    if config.text_hidden < MAX_TEXT_WIDTH:
        emb, hid = (min(MAX_TEXT_WIDTH, 2 * config.text_embedding),
                    min(MAX_TEXT_WIDTH, 2 * config.text_hidden))
        moves.append(Move(f"text-wider:{emb},{hid}", BIAS,
                          f"wider text path: embedding {config.text_embedding} → {emb}, LSTM "
                          f"{config.text_hidden} → {hid}",
                          config.with_changes(text_embedding=emb, text_hidden=hid)))
    if config.text_layers < MAX_TEXT_LAYERS:
        moves.append(Move(f"text-layers:{config.text_layers + 1}", BIAS,
                          f"LSTM layers {config.text_layers} → {config.text_layers + 1}",
                          config.with_changes(text_layers=config.text_layers + 1)))
    if not config.bidirectional:
        moves.append(Move("bidirectional", BIAS, "bidirectional LSTM (reads each text both "
                          "ways)", config.with_changes(bidirectional=True)))
    return moves


def text_variance_moves(config: TrainConfig) -> list[Move]:
    """Dropout on the text path (embeddings, between LSTM layers, before the head)."""
    for rate in TEXT_DROPOUT if config.text_hidden else ():
        if config.text_dropout < rate:
            return [Move(f"text-dropout:{rate}", VARIANCE, f"text dropout {rate}",
                         config.with_changes(text_dropout=rate))]
    return []


def bias_moves(config: TrainConfig, n_train: int = 10_000) -> list[Move]:
    """Bigger network, train longer with decay, better optimizer — in the seeds' order.

    Capacity grows geometrically (issue: moves big enough to matter): a step multiplies
    the parameters by about four (width ×4 for one hidden layer, ×2 for several), up to
    what the data supports; "train longer" doubles the epochs and comes with cosine decay
    and a patience that lets the extra epochs count (seed 000: learning-rate decay).
    On a table with text (``text_hidden`` resolved) the text path's moves come first; the
    numeric embedding and residual blocks are tabular-only networks, not proposed there,
    and a table of text only (``hidden == ()``) has no body to widen or deepen.
    """
    if config.images is not None:  # pictures: channels, blocks, unfreezing (image_moves)
        from fullcycle.recipe.image_moves import image_bias_moves

        return image_bias_moves(config)
    moves = text_bias_moves(config)
    text = bool(config.text_hidden)
    tabular = not (text and not config.hidden)
    hidden = config.hidden or (1,)
    limit = _capacity_limit(n_train)
    factor = 4 if len(hidden) == 1 else 2
    if tabular and max(hidden) < limit:
        wider = tuple(min(limit, max(16, w * factor)) for w in hidden)
        moves.append(Move(f"wider:{wider}", BIAS, f"bigger: hidden {_h(hidden)} → "
                          f"{_h(wider)}", config.with_changes(hidden=wider)))
    if config.numeric_embedding is None and not text:
        # Seed 003's "another architecture", tried early because it is cheap and is what
        # lets an MLP draw sharp, axis-aligned boundaries (Gorishniy et al. 2022).
        moves.append(_numeric_embedding_move(config, BIAS))
    if tabular and len(hidden) < MAX_LAYERS:
        deeper = (*hidden, hidden[-1])
        dropout = config.dropout_per_layer()
        moves.append(Move(f"deeper:{deeper}", BIAS, f"deeper: hidden {_h(hidden)} → "
                          f"{_h(deeper)}",
                          config.with_changes(hidden=deeper,
                                              dropout=tuple([*dropout[:-1], 0.0, dropout[-1]])
                                              if any(dropout) else ())))
    epochs = config.epochs or 0
    if epochs and epochs < MAX_EPOCHS:
        longer = min(MAX_EPOCHS, epochs * 2)
        moves.append(Move(f"longer:{longer}", BIAS, f"train longer: {epochs} → {longer} "
                          "epochs with cosine decay",
                          config.with_changes(epochs=longer, schedule="cosine",
                                              patience=max(config.patience or 0,
                                                           longer // 4))))
    if config.architecture == "mlp" and len(hidden) >= 2 and not text:
        moves.append(_resnet_move(config, BIAS))
    if config.optimizer != "adam":
        moves.append(Move("adam", BIAS, f"optimizer {config.optimizer} → adam",
                          config.with_changes(optimizer="adam")))
    if any(config.dropout) or config.l2 or config.text_dropout:
        # tried once per run: regularization that the variance moves added later was kept
        # because it helped dev, so offering its removal again after each one wastes runs
        moves.append(Move("less-regularization", BIAS,
                          "remove regularization (it may be holding the fit back)",
                          config.with_changes(dropout=(), l2=0.0, text_dropout=0.0)))
    return moves


def variance_moves(config: TrainConfig, n_train: int) -> list[Move]:
    """Regularization in the seeds' order: dropout late then early, L2 on a log scale, BN."""
    if config.images is not None:  # pictures: augmentation first (image_moves)
        from fullcycle.recipe.image_moves import image_variance_moves

        return image_variance_moves(config, n_train)
    moves = text_variance_moves(config)
    rates = config.dropout_per_layer()
    for rate in DROPOUT_LAST if rates else ():
        if rates[-1] < rate:
            new = tuple([*rates[:-1], rate])
            moves.append(Move(f"dropout-last:{rate}", VARIANCE,
                              f"dropout {rate} before the last linear layer",
                              config.with_changes(dropout=new)))
            break
    if len(rates) > 1 and rates[-1] >= DROPOUT_LAST[0] and min(rates[:-1]) < DROPOUT_EARLIER:
        new = tuple([max(r, DROPOUT_EARLIER) for r in rates[:-1]] + [rates[-1]])
        moves.append(Move("dropout-earlier", VARIANCE,
                          f"dropout {DROPOUT_EARLIER} on the earlier layers too",
                          config.with_changes(dropout=new)))
    ladder = [v * max(1, n_train) for v in L2_PER_EXAMPLE_LADDER]
    next_l2 = next((v for v in ladder if v > config.l2 * 1.0001), None)
    if next_l2 is not None:
        moves.append(Move(f"l2:{next_l2:.3g}", VARIANCE,
                          f"L2 λ {config.l2:.3g} → {next_l2:.3g} (λ/m {next_l2 / n_train:.0e})",
                          config.with_changes(l2=next_l2)))
    if not config.batch_norm and config.hidden:
        moves.append(Move("batch-norm", VARIANCE, "batch norm after each hidden layer",
                          config.with_changes(batch_norm=True)))
    return moves


def architecture_moves(config: TrainConfig, family: str = VARIANCE) -> list[Move]:
    """Another architecture as a remedy for the dev set: numeric embeddings, then residual
    blocks, on the current (regularized) configuration.

    Seed 003 lists "maybe use different NN architecture" under variance as under bias, and
    seed 002 says when: "If none of these options work, trying a different neural network
    architecture" (`fullcycle.recipe.phases.try_other_architectures` asks it when a simple
    baseline still beats the network on dev). Tabular bodies only: pictures and text have
    their own networks (`image_moves`, `text_*_moves`). `family` says which phase asks:
    the training-set phase asks too when the Bayes proxy is only a bound
    (`fullcycle.recipe.phases.fit_training_set`).
    """
    if config.images is not None or config.text_hidden or not config.hidden:
        return []
    moves = []
    if config.numeric_embedding is None:
        moves.append(_numeric_embedding_move(config, family))
    if config.architecture == "mlp":
        moves.append(_resnet_move(config, family))
    return moves


def _numeric_embedding_move(config: TrainConfig, family: str) -> Move:
    return Move("numeric-embedding:ple", family,
                "another architecture: piecewise-linear embeddings of the numeric columns",
                config.with_changes(numeric_embedding="ple"))


def _resnet_move(config: TrainConfig, family: str) -> Move:
    hidden = config.hidden or (1,)
    return Move("resnet", family, "another architecture: residual blocks "
                f"({len(hidden)} of width {max(hidden)})",
                config.with_changes(architecture="resnet"))


def propose(primary: str, gaps: dict[str, float], config: TrainConfig, tried: set[str],
            tolerance: float, n_train: int) -> list[Move]:
    """Untried moves for the primary problem first, then for bias / variance if above tolerance.

    `gaps` holds the diagnosis' avoidable_bias and variance. Data mismatch and dev-set
    overfitting have no knob here (they are fixed with data), so when one of them is primary
    only the bias or variance that is also above tolerance gets moves. A move key already in
    `tried` is never proposed again.
    """
    families = [primary] if primary in (BIAS, VARIANCE) else []
    families += [f for f in (BIAS, VARIANCE)
                 if f not in families and gaps.get(f, 0.0) > tolerance]
    out = []
    for family in families:
        candidates = (bias_moves(config, n_train) if family == BIAS
                      else variance_moves(config, n_train))
        reason = (f"{family.replace('_', ' ')} {gaps.get(family, 0.0):.3f} is "
                  f"{'the largest gap' if family == primary else 'still above tolerance'}")
        out += [Move(m.key, m.family, m.change, m.config, reason)
                for m in candidates if m.key not in tried]
    return out


def _h(hidden: tuple[int, ...]) -> str:
    return ",".join(map(str, hidden))


def mismatch_moves(config: TrainConfig) -> list[Move]:
    """Data mismatch (seed 003): "make training data more similar" to dev. The one knob the
    recipe holds is how much the training rows that come from the target distribution
    (`--dev-data`'s share of train) weigh: they are repeated ×4, then ×16 per epoch."""
    return [Move(f"target-weight:{w}", MISMATCH,
                 f"weight the target distribution's training rows ×{w}",
                 config.with_changes(target_weight=w))
            for w in TARGET_WEIGHTS if w > config.target_weight]
