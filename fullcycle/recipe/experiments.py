"""One experiment of a run: trained and recorded, or replayed from the record a killed run
left (`fullcycle.recipe.replay`, `fullcycle.recipe.experiment_record`).

A finished experiment is never trained again: its outcome comes from the tape and its
network from the weights written when it ended. The experiment a kill interrupted is
trained again under the same journal id, from its last epoch checkpoint when it has one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fullcycle.engine.callbacks import Checkpoint
from fullcycle.engine.journaling import JournalCallback
from fullcycle.errors import FullcycleError
from fullcycle.jsonutil import jsonable
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.experiment_record import (
    EPOCH_CHECKPOINT_S,
    checkpoint_epoch,
    epochs_folder,
    experiment_folder,
    forget_epochs,
    outcome_doc,
    replayed_outcome,
    save_weights,
)
from fullcycle.recipe.replay import round_trip
from fullcycle.recipe.trainer import Outcome, train

if TYPE_CHECKING:
    from fullcycle.recipe.autopilot import Autopilot

#: The outcome numbers a candidate built without training (a seed average) takes from its
#: record when replayed: its latency is a measurement, which the replay must not redo.
MEASURED = ("errors", "metrics", "latency_ms", "n_parameters", "seconds")


def config_doc(config: TrainConfig) -> dict:
    """An experiment's configuration as the tape compares it."""
    return round_trip(jsonable(config.to_dict()))


def train_or_replay(pilot: Autopilot, config: TrainConfig, change: str, reason: str,
                    deadline: float) -> tuple[int, Outcome, bool]:
    """(journal id, outcome, replayed) of one experiment: its record when it finished
    before a kill, otherwise trained now (and recorded by `record_end`)."""
    recorded = pilot.tape.experiment(change, config_doc(config))
    if recorded is not None:
        experiment_id, doc = recorded
        folder = experiment_folder(pilot.rundir, pilot.run_id, experiment_id)
        if doc is not None:
            outcome = replayed_outcome(pilot.p, config, doc, folder)
            if outcome is None:
                raise FullcycleError(
                    f"--resume: the weights of experiment {experiment_id} in {folder} are "
                    "missing or unreadable; start the run again without --resume")
            return experiment_id, outcome, True
        # the kill came while it trained: again, from its last epoch checkpoint if any
        pilot.journal.restart_experiment(experiment_id, checkpoint_epoch(folder / "epochs"))
    else:
        experiment_id = pilot.journal.start_experiment(
            pilot.run_id, change, config.to_dict(), config.seed, pilot.p.fingerprint, reason,
            record=("experiment", {"name": change, "config": config_doc(config)}))
    epochs = epochs_folder(pilot.rundir, pilot.run_id, experiment_id)
    # One line per experiment (the autopilot's log); per-epoch bars of dozens of experiments
    # would bury the decisions, and every epoch is in the journal anyway.
    outcome = train(pilot.p, config, metric=pilot.metric, deadline=deadline,
                    journal=JournalCallback(pilot.journal, experiment_id, pilot.run_id),
                    callbacks=[Checkpoint(epochs, every_seconds=EPOCH_CHECKPOINT_S)],
                    checkpoint_dir=epochs, resume=checkpoint_epoch(epochs) > 0)
    save_weights(epochs.parent, outcome.model)
    return experiment_id, outcome, False


def candidate_or_replay(pilot: Autopilot, outcome: Outcome, change: str, reason: str
                        ) -> tuple[int, bool]:
    """(journal id, replayed) of a candidate built from trained networks (a seed average):
    replayed, its measured numbers are the recorded ones."""
    recorded = pilot.tape.experiment(change, config_doc(outcome.config))
    if recorded is not None and recorded[1] is not None:
        experiment_id, doc = recorded
        for name in MEASURED:
            setattr(outcome, name, doc[name])
        return experiment_id, True
    if recorded is not None:  # killed before it was recorded: measured again
        return recorded[0], False
    return pilot.journal.start_experiment(
        pilot.run_id, change, outcome.config.to_dict(), outcome.config.seed,
        pilot.p.fingerprint, reason,
        record=("experiment", {"name": change, "config": config_doc(outcome.config)})), False


def record_end(pilot: Autopilot, experiment_id: int, outcome: Outcome, metrics: dict,
               kept: bool, replayed: bool) -> None:
    """Journal a trained experiment's end with its outcome record (one transaction; its
    weights are already on disk), and drop its epoch checkpoints. Nothing when replayed."""
    if replayed:
        return
    pilot.journal.end_experiment(experiment_id, "finished", metrics, kept, run_id=pilot.run_id,
                                 record=("outcome", {"id": experiment_id,
                                                     **outcome_doc(outcome)}))
    forget_epochs(experiment_folder(pilot.rundir, pilot.run_id, experiment_id))
