"""Orthogonalization, in the seeds' order: fit the training set, then the dev set.

Seed 001 (steps 3 and 4) and seed 003 ("Orthogonalization", "Basic recipe"): first make the
training error reach the Bayes proxy — bigger network, train longer with decay, better
optimization, another architecture — and judge each of those moves by the **training**
error, since that is the knob they turn; only then fit the dev set — regularization, more
data, averaging — and judge those by the **dev** error. Judging a bias move by dev error
(as a naive "keep if dev improves" does) stops the network growing whenever dev is noisy,
which is how a checkerboard stays at chance.

A bias move counts only when it lowers the training error by more than noise
(`noise_tolerance`: one standard error of that error); a regularization move only when it
lowers the dev error *and* the dev − train gap it attacks. "Another architecture" is in
both of seed 003's lists: it is tried in the training-set phase when the Bayes proxy is a
bound that a simple baseline beats the network by on dev, and after regularization while
a baseline still beats it. Data mismatch comes last: the target distribution's training
rows are weighted up, judged by the dev error and the mismatch gap. Each decision is
journaled with what was seen and why, and each experiment with the one it was judged
against (its journaled ``metrics.against``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from fullcycle.diagnosis.diagnosis import noise_tolerance
from fullcycle.recipe.moves import (
    BIAS,
    MISMATCH,
    VARIANCE,
    Decision,
    Move,
    architecture_moves,
    bias_moves,
    mismatch_moves,
    variance_moves,
)
from fullcycle.recipe.trainer import Outcome
from fullcycle.recipe.training_rows import target_rows

if TYPE_CHECKING:
    from fullcycle.recipe.autopilot import Autopilot

# A bias move that fails (train error not lower by more than noise) is not retried; after
# this many failures in a row the training set is as fit as these moves can make it.
MAX_FAILED_BIAS_MOVES = 3


def next_move(moves: list[Move], tried: set[str]) -> Move | None:
    """The first move not tried yet, marked as tried; None when every one was."""
    for move in moves:
        if move.key not in tried:
            tried.add(move.key)
            return move
    return None


def train_noise(pilot: Autopilot, outcome: Outcome) -> float:
    """Noise of a training error: one standard error on the training rows."""
    return noise_tolerance(pilot.metric, float(outcome.errors["train"]),
                           len(pilot.p.X["train"]))


def dev_noise(pilot: Autopilot, outcome: Outcome) -> float:
    """Noise of a dev error: one standard error on the dev rows."""
    return noise_tolerance(pilot.metric, outcome.dev_error, len(pilot.p.X["dev"]))


def fit_training_set(pilot: Autopilot, current: Outcome) -> Outcome:
    """Bias moves, each kept when it lowers the training error by more than noise, until the
    avoidable bias is within tolerance, the moves are spent or the time is.

    Without a human-level error the Bayes proxy is the best baseline's dev error, a bound:
    a training error below it shows the network fits as well as that baseline generalizes,
    not that the training set is fit. While that baseline beats the network on dev by more
    than the tolerance (a lead within noise is no evidence: 2 rows of a 32-row dev set)
    *and* on the training set by more than noise, the cheap "another architecture" moves
    are tried before the dev set (judged by the training error like any bias move): the
    network fits the training set worse than a model that also generalizes better, so it
    lacks something the baseline has, and regularization cannot add it. A network already
    at the baseline's training error (0 on digits) has nothing a bias move can show.
    """
    tried: set[str] = set()
    failures = 0
    while pilot.can_afford(current):
        found = pilot.diagnosis_of(current)
        bias = found.avoidable_bias
        if bias <= found.tolerance:
            leader = (baseline_ahead(pilot, current, margin=found.tolerance)
                      if pilot.proxy is not None else None)
            if leader is not None and not fits_train_better(pilot, leader, current):
                leader = None  # the network fits train as well: what is left is variance
            moves = ([m for m in architecture_moves(current.config, BIAS)
                      if m.key not in tried] if leader else [])
            if not moves or failures >= MAX_FAILED_BIAS_MOVES:
                pilot.decide(Decision(
                    "phase", {"avoidable_bias": bias, "tolerance": found.tolerance},
                    "training set fit: move on to the dev set",
                    f"avoidable bias {bias:.4g} is within tolerance {found.tolerance:.3g} "
                    "(seed 003: fix bias first, then variance)"))
                return current
            move = moves[0]
            reason = (f"avoidable bias {bias:.4g} is within tolerance only against a bound: "
                      f"the {leader['name']} baseline (the proxy) still beats the network "
                      f"on dev ({leader['dev_error']:.4g} against "
                      f"{_network_dev(pilot, current):.4g}): {move.change}, judged by the "
                      "train error")
        else:
            moves = [m for m in bias_moves(current.config, len(pilot.p.X["train"]))
                     if m.key not in tried]
            if not moves or failures >= MAX_FAILED_BIAS_MOVES:
                pilot.decide(Decision(
                    "phase", {"avoidable_bias": bias, "failed_moves": failures},
                    "bias moves spent: move on to the dev set",
                    f"{failures} bias moves in a row did not lower the training error by "
                    "more than noise" if failures else "no bias move left to try"))
                return current
            move = moves[0]
            reason = _reason(move, bias, "avoidable bias", "train error")
        tried.add(move.key)
        pilot.decide(Decision("experiment", {"primary_problem": BIAS, "avoidable_bias": bias,
                                             "judged_by": "train error"}, move.change, reason))
        outcome = pilot.experiment(move.config, move.change, reason, current,
                                   judge="train", margin=train_noise(pilot, current))
        if pilot.experiments[-1]["kept"]:
            current, failures = outcome, 0
        else:
            failures += 1
    return current


def fit_dev_set(pilot: Autopilot, current: Outcome) -> Outcome:
    """Regularization while variance is above tolerance; then, when a simple baseline still
    beats the network on dev, other architectures (each followed by regularization again)."""
    current = regularize(pilot, current)
    return try_other_architectures(pilot, current)


def regularize(pilot: Autopilot, current: Outcome) -> Outcome:
    """Variance moves, each kept when it lowers both the dev error and the gap it attacks
    (dev − train; one that lowers dev while widening the gap fit the training set harder,
    which is not what it was for), while variance is above tolerance and time is left."""
    tried: set[str] = set()
    while pilot.can_afford(current):
        found = pilot.diagnosis_of(current)
        variance = found.variance
        if variance <= found.tolerance:
            pilot.decide(Decision(
                "phase", {"variance": variance, "tolerance": found.tolerance},
                "dev set fit", f"variance {variance:.4g} is within tolerance "
                f"{found.tolerance:.3g}"))
            return current
        move = next_move(variance_moves(current.config, len(pilot.p.X["train"])), tried)
        if move is None:
            return current
        reason = _reason(move, variance, "variance", "dev error and the variance")
        pilot.decide(Decision("experiment", {"primary_problem": VARIANCE, "variance": variance,
                                             "judged_by": "dev error"}, move.change, reason))
        outcome = pilot.experiment(move.config, move.change, reason, current,
                                   judge="variance")
        if pilot.experiments[-1]["kept"]:
            current = outcome
    return current


def close_the_mismatch(pilot: Autopilot, current: Outcome) -> Outcome:
    """Weight the target distribution's training rows while data mismatch (dev − train-dev)
    is above tolerance; each move kept when it lowers the dev error by more than noise *and*
    the mismatch gap. Without target-distribution rows in train there is no such knob, and
    the mismatch is reported for the data work the seeds prescribe (error analysis, more
    data like dev)."""
    mask = target_rows(pilot.p)
    tried: set[str] = set()
    while pilot.can_afford(current):
        found = pilot.diagnosis_of(current)
        gap = found.data_mismatch
        if gap is None or gap <= found.tolerance or mask is None:
            return current
        move = next_move(mismatch_moves(current.config), tried)
        if move is None:
            return current
        reason = (f"data mismatch {gap:.4g} is the gap to close and {int(mask.sum()):,} "
                  f"training rows come from the target distribution: {move.change}, one "
                  "knob, judged by the dev error and the mismatch")
        pilot.decide(Decision("experiment", {"primary_problem": MISMATCH, "data_mismatch": gap,
                                             "judged_by": "dev error"}, move.change, reason))
        outcome = pilot.experiment(move.config, move.change, reason, current,
                                   judge="mismatch", margin=dev_noise(pilot, current))
        if pilot.experiments[-1]["kept"]:
            current = outcome
    return current


def strongest_baseline(pilot: Autopilot) -> dict | None:
    """The baseline row with the lowest finite dev error (in the metric's units), if any."""
    rows = [r for r in pilot.sections.get("baselines") or []
            if math.isfinite(r.get("dev_error", math.inf))]
    return min(rows, key=lambda r: r["dev_error"]) if rows else None


def _network_dev(pilot: Autopilot, current: Outcome) -> float:
    """The run's best network so far on dev (the one it would ship)."""
    return (pilot.best or current).dev_error


def baseline_ahead(pilot: Autopilot, current: Outcome, margin: float = 0.0) -> dict | None:
    """The strongest baseline when its dev error is below the network's by more than
    `margin`, else None."""
    leader = strongest_baseline(pilot)
    if leader is None or _network_dev(pilot, current) <= float(leader["dev_error"]) + margin:
        return None
    return leader


def fits_train_better(pilot: Autopilot, leader: dict, current: Outcome) -> bool:
    """Whether the baseline row's training error is below the network's by more than the
    noise of the network's training error."""
    train = leader.get("train_error")
    return (train is not None and math.isfinite(train)
            and float(train) < float(current.errors["train"]) - train_noise(pilot, current))


def try_other_architectures(pilot: Autopilot, current: Outcome) -> Outcome:
    """Seed 002: "If none of these options work, trying a different neural network
    architecture" — asked here when the strongest simple baseline still has the lower dev
    error. Every gap can be "within tolerance" then (the Bayes proxy is that very baseline,
    a bound, and one standard error of a few thousand dev rows is over half a point), yet
    the network is no better than a model that took a second to fit: the knobs that remain
    do not change what the network can represent, an architecture does (numeric embeddings
    let it draw the thresholds trees draw; Gorishniy et al. 2022). Each move is judged by
    dev error; a kept one is regularized again (its variance is its own)."""
    tried: set[str] = set()
    while pilot.can_afford(current):
        leader = baseline_ahead(pilot, current)
        if leader is None:
            return current
        network = _network_dev(pilot, current)
        move = next_move(architecture_moves(current.config), tried)
        if move is None:
            return current
        reason = (f"the {leader['name']} baseline still beats the network on dev "
                  f"({leader['dev_error']:.4g} against {network:.4g}): {move.change}, judged "
                  "by the dev error (seed 002: if none of these options work, a different "
                  "architecture)")
        pilot.decide(Decision("experiment", {"primary_problem": VARIANCE,
                                             "baseline": leader["name"],
                                             "baseline_dev_error": leader["dev_error"],
                                             "network_dev_error": network,
                                             "judged_by": "dev error"}, move.change, reason))
        outcome = pilot.experiment(move.config, move.change, reason, current, judge="dev")
        if pilot.experiments[-1]["kept"]:
            current = regularize(pilot, outcome)
    return current


def _reason(move: Move, gap: float, name: str, judged_by: str) -> str:
    return (f"{name} {gap:.4g} is the gap to close: {move.change}, one knob, judged by the "
            f"{judged_by}")


def finite(outcome: Outcome) -> bool:
    return math.isfinite(outcome.dev_error) and not outcome.diverged


def use_the_time_left(pilot: Autopilot, best: Outcome) -> Outcome:
    """Spend what is left of the budget on work that cannot overfit the dev set much: one
    longer final training of the chosen configuration (seed 000: longer training with
    decay), kept only if the dev error improves."""
    if isinstance(best.model, _ensemble_type()):
        return best
    config = best.config
    epochs = config.epochs or 0
    # a doubled fit takes about twice as long: start it only if that fits
    if not epochs or best.stopped_early or pilot.time_left() < 2.2 * max(best.seconds, 1.0):
        return average_seeds(pilot, best)
    longer = config.with_changes(epochs=min(2 * epochs, 4 * 200), schedule="cosine",
                                 patience=max(config.patience or 0, epochs // 2))
    change = f"final training: {epochs} → {longer.epochs} epochs with cosine decay"
    reason = ("budget left after the recipe's moves: a longer final training of the chosen "
              "configuration, which tunes nothing against the dev set")
    pilot.decide(Decision("final", {"seconds_left": round(pilot.time_left(), 1)}, change,
                          reason))
    outcome = pilot.experiment(longer, change, reason, best, judge="dev")
    best = outcome if pilot.experiments[-1]["kept"] else best
    return average_seeds(pilot, best)


def _ensemble_type() -> type:
    from fullcycle.models.ensemble import SeedEnsemble

    return SeedEnsemble


def satisfy_constraints(pilot: Autopilot, current: Outcome) -> Outcome:
    """When the network breaks a size or latency constraint (`--satisfice`), try smaller
    ones: a quarter of the width, then one layer fewer, until one satisfies or none is left.

    Seed 003: satisficing metrics are thresholds a candidate must meet before the
    optimizing metric counts, so a model that breaks them is no candidate at all.
    """
    broken = pilot.experiments[-1]["violations"] if pilot.experiments else []
    if not broken or not any(v.startswith(("params", "latency_ms")) for v in broken):
        return current
    config = current.config
    while pilot.best is None and pilot.can_afford(current):
        hidden = config.hidden or (1,)
        if max(hidden) > 1:
            smaller = tuple(max(1, w // 4) for w in hidden)
        elif len(hidden) > 1:
            smaller = hidden[:-1]
        else:
            break
        config = config.with_changes(hidden=smaller, dropout=config.dropout[: len(smaller)])
        change = f"smaller: hidden {','.join(map(str, hidden))} → {','.join(map(str, smaller))}"
        reason = f"the network breaks {'; '.join(broken)}: a smaller one may satisfy it"
        pilot.decide(Decision("satisficing", {"violations": broken}, change, reason))
        current = pilot.experiment(config, change, reason, None)
        broken = pilot.experiments[-1]["violations"]
    return pilot.best or current


#: Members of a seed average (the chosen network included); more gain little (Lakshminarayanan
#: et al. 2017 report most of the ensemble's gain from the first five).
MAX_MEMBERS = 5


def average_seeds(pilot: Autopilot, best: Outcome) -> Outcome:
    """A variance move that needs no choice on the dev set: train the chosen configuration
    again from other seeds while the budget allows, and average the members' predictions
    (`SeedEnsemble`); kept when the average's dev error is below the members' mean."""
    from fullcycle.models.ensemble import SeedEnsemble
    from fullcycle.recipe.images import example_input
    from fullcycle.recipe.trainer import measure_latency_ms, split_errors

    if pilot.p.task == "multitask":
        # `SeedEnsemble` averages one task's outputs; a multitask net's heads mix tasks
        pilot.decide(Decision("final", {"task": "multitask"}, "no seed average",
                              "averaging seeds is not built for a multi-task net's heads "
                              "yet; the chosen network is kept as trained"))
        return best
    members = [best]
    while len(members) < MAX_MEMBERS and pilot.time_left() > 1.3 * max(best.seconds, 1.0):
        config = best.config.with_changes(seed=best.config.seed + 1000 + len(members))
        change = f"seed average: member {len(members) + 1} (seed {config.seed})"
        reason = ("budget left: another seed of the chosen configuration, for an average of "
                  "predictions (lower variance without another comparison on dev)")
        outcome = pilot.experiment(config, change, reason, None, judge="dev", candidate=False)
        # a member cut short by the deadline is not the configuration it stands for (one cut
        # at its first epoch, dev 0.50, made a 2-member average of a high-variance table)
        if finite(outcome) and not outcome.stopped_by_deadline:
            members.append(outcome)
    if len(members) < 2:
        return best
    ensemble = SeedEnsemble([m.model for m in members], pilot.p.task).eval()
    errors, metrics = split_errors(pilot.p, ensemble, pilot.metric)
    averaged = Outcome(config=best.config, model=ensemble, errors=errors, metrics=metrics,
                       metric=pilot.metric, seconds=sum(m.seconds for m in members),
                       best_epoch=best.best_epoch,
                       n_parameters=sum(m.n_parameters for m in members),
                       latency_ms=measure_latency_ms(ensemble, example_input(pilot.p)),
                       experiment_id=best.experiment_id)
    # Judge the average against what one network of this configuration scores on dev: the
    # members' mean. The chosen network's own dev error is the lowest of many experiments
    # on this dev set, so beating it asks the average to beat that selection's luck too.
    reference = sum(m.dev_error for m in members) / len(members)
    reason = (f"the {len(members)} members' predictions averaged (no further training, no "
              f"choice on dev); kept when below the members' mean dev error {reference:.4g}, "
              "the unbiased figure for one network of this configuration")
    kept = pilot.consider(averaged, f"average of {len(members)} seeds", reference, reason)
    return averaged if kept else best
