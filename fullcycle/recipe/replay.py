"""The autopilot's tape: what a run read from outside, journaled in order, so that
`fullcycle run --resume` can replay it after a kill.

The autopilot's flow is ordinary code; what makes two runs of it take different paths is
what it reads from outside: the clock (how much of the budget is left), the results of its
measuring steps (baselines, sanity checks, the learning curve), the outcomes of its
experiments and the one test evaluation. Each read is written to the journal's ``records``
table as it happens, in the same transaction as the journal row it belongs to (a decision,
an experiment), so a SIGKILL at any instant leaves both or neither.

A resumed run runs the same flow again from its start with the tape playing back: each read
returns what the killed run read, so the flow takes the same path, its decisions match the
journaled ones (which stand, and are not written again) and no finished experiment is
trained again. When the tape ends, reads go live: the run carries on where it was killed.
A read the tape does not hold (the code changed between the two runs) ends the replay there:
the records after it are dropped and the run goes on live, and says so in the journal.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fullcycle.journal import record_dumps
from fullcycle.recipe.moves import Decision

if TYPE_CHECKING:
    from fullcycle.data.dataset import Prepared
    from fullcycle.journal import Journal

# How often (seconds) a run writes its spent time to the journal: the most a kill can take
# from the budget's count without a trace.
HEARTBEAT_S = 1.0


def round_trip(value: Any) -> Any:
    """`value` as the tape gives it back (JSON, inf and NaN kept): a live read returns this
    too, so a replayed run sees exactly what the killed one saw, not a near copy."""
    return json.loads(record_dumps(value))


def decision_doc(decision: Decision | None) -> dict | None:
    return None if decision is None else decision.to_dict()


def decision_from(doc: dict | None) -> Decision | None:
    return None if doc is None else Decision(doc["kind"], doc["observed"], doc["action"],
                                             doc["reason"], list(doc["recommendations"]))


class Tape:
    """The run's records: played back while they last (a resumed run), then written.

    `recorded` are the journal's records of the run being resumed (empty: a fresh run,
    live from the start); `elapsed` reads the run's budget clock live; `on_live` is called
    once, when a resumed run's reads go live (the replay is over).
    """

    def __init__(self, journal: Journal, run_id: int, recorded: list[dict],
                 elapsed: Callable[[], float],
                 on_live: Callable[[Tape], None] | None = None) -> None:
        self.journal, self.run_id = journal, run_id
        self.recorded, self.position = list(recorded), 0
        self.elapsed_live, self.on_live = elapsed, on_live
        self.resumed = on_live is not None
        self.replayed: Counter[str] = Counter()
        self.left_path: str | None = None  # why the replay stopped before the tape's end
        self._live_announced = not self.resumed

    @property
    def playing(self) -> bool:
        return self.position < len(self.recorded)

    def go_live(self) -> None:
        """Stop playing back (the tape ended, or the flow left it) and say so once."""
        if not self._live_announced:
            self._live_announced = True
            if self.on_live is not None:
                self.on_live(self)

    def take(self, kind: str, matches: Callable[[dict], bool] | None = None) -> dict | None:
        """The next record while playing back, when it is a `kind` that `matches`; None once
        the tape has ended. Anything else means the flow left the recorded path: the rest
        of the tape is dropped and the run goes on live."""
        if not self.playing:
            self.go_live()
            return None
        record = self.recorded[self.position]
        if record["kind"] != kind or (matches is not None and not matches(record["doc"])):
            self.leave(f"the flow asked for a {kind} where the journal holds a "
                       f"{record['kind']} (record {record['id']})")
            return None
        self.position += 1
        self.replayed[kind] += 1
        return record

    def leave(self, why: str) -> None:
        """Drop the records not played back; experiments they started are abandoned."""
        rest = self.recorded[self.position:]
        if rest:
            self.journal.drop_records(self.run_id, rest[0]["id"])
            for record in rest:
                if record["kind"] == "experiment":
                    self.journal.end_experiment(record["ref"], "abandoned")
        self.recorded = self.recorded[: self.position]
        self.left_path = why
        self.go_live()

    def write(self, kind: str, doc: dict) -> None:
        """A record with no journal row of its own; the run's spent time goes with it."""
        self.journal.log_record(self.run_id, kind, doc, spent=self.elapsed_live())

    # ---- the reads -------------------------------------------------------------------------
    def clock(self) -> float:
        """Seconds of the budget spent: the killed run's reading while playing back."""
        record = self.take("clock")
        if record is not None:
            return float(record["doc"]["elapsed"])
        value = self.elapsed_live()
        self.write("clock", {"elapsed": value})
        return value

    def step(self, name: str, compute: Callable[[], tuple[Any, Decision | None]],
             notes: list[str] | None = None) -> tuple[Any, Decision | None]:
        """A measuring step's (result, decision): recorded, or computed and recorded.

        `notes`: the run's notes (`Prepared.notes`), which the step may add to; the lines
        it added are recorded and added again when it is replayed."""
        record = self.take("step", lambda doc: doc["name"] == name)
        if record is None:
            known = len(notes) if notes is not None else 0
            result, decision = compute()
            doc = round_trip({"name": name, "result": result,
                              "decision": decision_doc(decision),
                              "notes": notes[known:] if notes is not None else []})
            self.write("step", doc)
        else:
            doc = record["doc"]
            if notes is not None:
                notes.extend(line for line in doc.get("notes", []) if line not in notes)
        return doc["result"], decision_from(doc["decision"])

    def decision(self, decision: Decision) -> bool:
        """True when the tape holds this decision: it was journaled before the kill."""
        return self.take("decision", lambda doc: doc["kind"] == decision.kind
                         and doc["action"] == decision.action) is not None

    def experiment(self, name: str, config: dict) -> tuple[int, dict | None] | None:
        """A recorded experiment: (its journal id, its outcome record, or None when the kill
        came while it trained); None when it is not on the tape (train it)."""
        record = self.take("experiment", lambda doc: doc["name"] == name
                           and doc["config"] == config)
        if record is None:
            return None
        outcome = self.take("outcome", lambda doc: doc.get("id") == record["ref"])
        return int(record["ref"]), None if outcome is None else outcome["doc"]

    def test_once(self, prepared: Prepared, evaluate: Callable[[], Any]) -> Any:
        """The one test evaluation: its recorded result (the accesses counted, the split
        not read again), or evaluated now and recorded. A kill during the evaluation leaves
        an access with no result: the split is read again, and both reads are counted."""
        started = self.take("test_started")
        done = self.take("test") if started is not None else None
        if done is not None:
            prepared.test_access_reasons.extend(done["doc"]["reasons"])
            return done["doc"]["result"]
        if started is not None:
            prepared.test_access_reasons.append("an evaluation a kill interrupted before "
                                                "its result was journaled")
        else:
            self.write("test_started", {})
        result = round_trip(evaluate())
        self.write("test", {"result": result, "reasons": list(prepared.test_access_reasons)})
        return result


class Heartbeat:
    """While the run works, journal its spent time every `HEARTBEAT_S` seconds from a
    background thread (``with Heartbeat(...):``), so that a kill at any point — inside an
    experiment, the baselines or the learning curve — loses at most that much from the
    budget's count. The journal is thread-safe (one connection behind a lock)."""

    def __init__(self, journal: Journal, run_id: int, elapsed: Callable[[], float]) -> None:
        self.journal, self.run_id, self.elapsed = journal, run_id, elapsed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="fullcycle-heartbeat",
                                        daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self.journal.set_spent(self.run_id, self.elapsed())

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
