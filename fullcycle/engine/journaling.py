"""Write each epoch and each training decision to the run's journal (`fullcycle.journal`).

Epochs are logged after the epoch's other callbacks ran and before its checkpoint is saved:
a process killed in between redoes that epoch on resume, with the RNG restored, and
`Journal.log_epoch` replaces the row, so the journal never holds a duplicate or a gap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fullcycle.engine.events import Callback

if TYPE_CHECKING:
    from fullcycle.engine.loop import TrainingLoop
    from fullcycle.journal import Journal


class JournalCallback(Callback):
    """Journal epochs to ``experiment_id`` and decisions to its run."""

    order = 900  # after early stopping and the guards wrote their decisions
    rank_zero_only = True

    def __init__(self, journal: Journal, experiment_id: int, run_id: int | None = None) -> None:
        self.journal, self.experiment_id = journal, int(experiment_id)
        self.run_id = run_id if run_id is not None else self._run_of(experiment_id)
        self.decisions_logged = 0

    def _run_of(self, experiment_id: int) -> int | None:
        for row in self.journal.experiments():
            if row.get("id") == experiment_id:
                return row.get("run_id")
        return None

    def before_fit(self, loop: TrainingLoop) -> None:
        # After a resume: make sure every epoch the checkpoint knows is in the journal.
        logged = {row["epoch"] for row in self.journal.epochs(self.experiment_id)}
        for row in loop.history:
            if row["epoch"] not in logged:
                self.journal.log_epoch(self.experiment_id, row["epoch"], _metrics(row))

    def after_epoch(self, loop: TrainingLoop) -> None:
        self.journal.log_epoch(self.experiment_id, loop.epoch, _metrics(loop.logs))
        self._flush(loop)

    def after_fit(self, loop: TrainingLoop) -> None:
        self._flush(loop)

    def _flush(self, loop: TrainingLoop) -> None:
        for d in loop.decisions[self.decisions_logged :]:
            observed = {"what": d["observed"], "epoch": d["epoch"], "step": d["step"],
                        **{k: v for k, v in d.items()
                           if k not in ("kind", "observed", "action", "reason")}}
            self.journal.log_decision(self.run_id, d["kind"], observed, d["action"],
                                      d["reason"], experiment_id=self.experiment_id)
        self.decisions_logged = len(loop.decisions)

    def state_dict(self) -> dict[str, Any]:
        return {"decisions_logged": self.decisions_logged}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decisions_logged = state["decisions_logged"]


def _metrics(logs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in logs.items() if k != "epoch"}
