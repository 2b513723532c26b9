"""Training throughput of `fc.fit` against a plain hand-written PyTorch loop.

An MLP 20→128→128→2 on 50,000 rows, mini-batches of 256, Adam, softmax cross-entropy.
Both trainers run in this process, alternating, on identical data and initial weights;
`fc.fit` runs with its Rich progress bars (rendered to an in-memory terminal) and
journaling to SQLite on, and its NaN guard, as a user gets it. The hand-written loop is what
one would write: a ``randperm`` per epoch, tensor slicing, forward, loss, ``zero_grad``,
backward, step, and the epoch's loss summed on the device.

Prints samples/s of each (median over rounds) and the ratio; exits 1 when the ratio is
below ``--min-ratio`` (0.95: the engine's per-batch overhead must stay within 5%).

A second case measures what the NaN guard costs where it weighs most, a tiny net
(10→16→1, 1,000 rows, batch 64: 16 batches an epoch, so a per-epoch cost shows): 50
epochs of `fc.fit` with the guard on and off (no progress bars, no journal), in paired
rounds, and the hand-written loop beside them. It prints the guard's ratio (on / off) and
the engine's (guard on / hand loop); ``--skip-tiny`` leaves it out.

    python benchmarks/train_throughput.py [--rounds 5] [--epochs 3] [--device auto]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from torch import nn

from fullcycle.engine.callbacks import NanGuard
from fullcycle.engine.device import resolve_device
from fullcycle.engine.fit import fit
from fullcycle.engine.journaling import JournalCallback
from fullcycle.engine.progress import ProgressBar
from fullcycle.journal import Journal

N, D, HIDDEN, CLASSES, BATCH = 50_000, 20, 128, 2, 256


def make_data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(N, D, generator=g)
    w = torch.randn(D, generator=g)
    y = (X @ w + 0.5 * torch.randn(N, generator=g) > 0).long()
    return X, y


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(D, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                         nn.Linear(HIDDEN, CLASSES))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


Timing = tuple[float, float]  # (wall seconds, CPU seconds of this process)


def clock() -> Timing:
    return time.perf_counter(), time.process_time()


def elapsed(start: Timing) -> Timing:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def hand_loop(X: torch.Tensor, y: torch.Tensor, epochs: int, device: torch.device) -> Timing:
    """A careful hand-written loop; returns (wall, CPU) seconds."""
    sync(device)
    start = clock()
    model = make_model().to(device)
    X, y = X.to(device), y.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        order = torch.randperm(N, generator=torch.Generator().manual_seed(epoch)).to(device)
        total = torch.zeros((), device=device)
        for i in range(0, N, BATCH):
            idx = order[i : i + BATCH]
            xb, yb = X[idx], y[idx]
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(yb)
        print(f"  hand loop epoch {epoch + 1}: loss {float(total) / N:.4f}", file=sys.stderr)
    sync(device)
    return elapsed(start)


def engine(X: torch.Tensor, y: torch.Tensor, epochs: int, device: torch.device,
           journal: Journal, run_id: int) -> Timing:
    """`fc.fit` with progress bars and journaling on; returns (wall, CPU) seconds."""
    experiment = journal.start_experiment(run_id, "fit", {}, 0, "bench", "throughput")
    bars = ProgressBar(Console(file=io.StringIO(), force_terminal=True, width=120))
    sync(device)
    start = clock()
    result = fit(make_model(), (X, y), loss="cross_entropy", optimizer="adam", lr=1e-3,
                 epochs=epochs, batch_size=BATCH, device=device, progress=bars,
                 journal=JournalCallback(journal, experiment, run_id))
    sync(device)
    seconds = elapsed(start)
    print(f"  fc.fit last epoch: loss {result.history[-1]['train_loss']:.4f}", file=sys.stderr)
    return seconds


TINY_N, TINY_D, TINY_HIDDEN, TINY_BATCH, TINY_EPOCHS = 1_000, 10, 16, 64, 50


def tiny_data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(TINY_N, TINY_D, generator=g)
    return X, (X[:, 0] + 0.3 * torch.randn(TINY_N, generator=g) > 0).float()


def tiny_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(TINY_D, TINY_HIDDEN), nn.ReLU(), nn.Linear(TINY_HIDDEN, 1))


def tiny_fit(X: torch.Tensor, y: torch.Tensor, device: torch.device, guard: bool) -> Timing:
    sync(device)
    start = clock()
    fit(tiny_model(), (X, y), loss="bce", epochs=TINY_EPOCHS, batch_size=TINY_BATCH,
        device=device, progress=False, nan_guard=guard)
    sync(device)
    return elapsed(start)


def tiny_hand(X: torch.Tensor, y: torch.Tensor, device: torch.device) -> Timing:
    sync(device)
    start = clock()
    model = tiny_model().to(device)
    X, y = X.to(device), y.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(TINY_EPOCHS):
        order = torch.randperm(TINY_N, generator=torch.Generator().manual_seed(epoch))
        order = order.to(device)
        total = torch.zeros((), device=device)
        for i in range(0, TINY_N, TINY_BATCH):
            idx = order[i : i + TINY_BATCH]
            loss = nn.functional.binary_cross_entropy_with_logits(model(X[idx]).squeeze(1),
                                                                  y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        float(total)
    sync(device)
    return elapsed(start)


class TimedNanGuard(NanGuard):
    """The guard, adding up the CPU time of this thread spent in its own methods."""

    def __init__(self) -> None:
        super().__init__()
        self.own = 0.0

    def before_epoch(self, loop) -> None:  # noqa: ANN001 - the engine's loop
        start = time.thread_time()
        super().before_epoch(loop)
        self.own += time.thread_time() - start

    def after_batch(self, loop) -> None:  # noqa: ANN001
        start = time.thread_time()
        super().after_batch(loop)
        self.own += time.thread_time() - start

    def after_epoch(self, loop) -> None:  # noqa: ANN001
        start = time.thread_time()
        super().after_epoch(loop)
        self.own += time.thread_time() - start


def guard_share(X: torch.Tensor, y: torch.Tensor, device: torch.device) -> float:
    """The share of one fit's thread CPU time spent inside the guard: immune to what other
    processes on a shared machine do to the paired timings."""
    guard = TimedNanGuard()
    start = time.thread_time()
    fit(tiny_model(), (X, y), loss="bce", epochs=TINY_EPOCHS, batch_size=TINY_BATCH,
        device=device, progress=False, nan_guard=guard)
    return guard.own / (time.thread_time() - start)


def tiny_case(rounds: int, device: torch.device, gate: int) -> None:
    """The NaN guard's cost on a tiny net (see the module docstring)."""
    X, y = tiny_data()
    tiny_fit(X, y, device, True)  # warm-up
    tiny_hand(X, y, device)
    on: list[Timing] = []
    off: list[Timing] = []
    hand: list[Timing] = []
    for r in range(rounds):
        runs = [("on", on), ("off", off), ("hand", hand)]
        for name, times in runs if r % 2 == 0 else runs[::-1]:
            times.append(tiny_hand(X, y, device) if name == "hand"
                         else tiny_fit(X, y, device, name == "on"))
    samples = TINY_N * TINY_EPOCHS
    clock_name = "CPU time" if gate else "wall clock"
    guard = statistics.median(o[gate] / g[gate] for g, o in zip(on, off, strict=True))
    engine = statistics.median(h[gate] / g[gate] for g, h in zip(on, hand, strict=True))
    print(f"tiny net {TINY_D}-{TINY_HIDDEN}-1, {TINY_N} rows, batch {TINY_BATCH}, "
          f"{TINY_EPOCHS} epochs, {rounds} rounds:")
    for label, times in (("fc.fit, NaN guard on", on), ("fc.fit, NaN guard off", off),
                         ("hand-written loop", hand)):
        print(f"  {label}: {statistics.median(samples / t[0] for t in times):,.0f} samples/s "
              f"({statistics.median(t[gate] for t in times):.3f} s {clock_name})")
    print(f"  ratio guard on / guard off ({clock_name}): {guard:.3f}")
    share = statistics.median(guard_share(X, y, device) for _ in range(rounds))
    print(f"  time inside the NaN guard's own methods: {100 * share:.2f}% of fc.fit's "
          "(thread CPU time, median)")
    print(f"  ratio fc.fit (guard on) / hand loop ({clock_name}): {engine:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--min-ratio", type=float, default=0.95)
    parser.add_argument("--skip-tiny", action="store_true", help="leave out the tiny-net case")
    args = parser.parse_args(argv)
    if args.device in ("auto", "cpu") and not torch.cuda.is_available():
        torch.set_num_threads(1)  # a shared machine: one thread gives steadier timings
    device = resolve_device(args.device)
    X, y = make_data()
    samples = N * args.epochs
    hand_times: list[Timing] = []
    engine_times: list[Timing] = []
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "journal.sqlite")
        run_id = journal.start_run("benchmark", {})
        hand_loop(X, y, 1, device)  # warm-up: allocator, kernels, lazy inits
        engine(X, y, 1, device, journal, run_id)
        for r in range(args.rounds):
            order = ["hand", "engine"] if r % 2 == 0 else ["engine", "hand"]
            for name in order:  # alternate who goes first: drift hits both alike
                if name == "hand":
                    hand_times.append(hand_loop(X, y, args.epochs, device))
                else:
                    engine_times.append(engine(X, y, args.epochs, device, journal, run_id))
        journal.close()
    # On the CPU the gate uses this process's CPU time: on a shared machine the wall clock
    # mostly measures what other processes steal. On a GPU (host time says little about
    # device work, and the machine is not shared) it uses the wall clock.
    gate = 1 if device.type == "cpu" else 0
    hand = statistics.median(samples / t[0] for t in hand_times)
    eng = statistics.median(samples / t[0] for t in engine_times)
    # each round's pair ran back to back, so its ratio is immune to slow drifts; the median
    # over rounds discards the rounds another process disturbed most
    ratios = [[h[k] / e[k] for h, e in zip(hand_times, engine_times, strict=True)]
              for k in (0, 1)]
    ratio = statistics.median(ratios[gate])
    print(f"device {device}, {args.rounds} rounds x {args.epochs} epochs of {N} rows, "
          f"batch {BATCH}, MLP {D}-{HIDDEN}-{HIDDEN}-{CLASSES}")
    print(f"hand-written loop: {hand:,.0f} samples/s")
    print(f"fc.fit (progress + journal): {eng:,.0f} samples/s")
    print(f"ratio fc.fit / hand loop, wall clock: {statistics.median(ratios[0]):.3f}; "
          f"CPU time: {statistics.median(ratios[1]):.3f} (medians of paired rounds)")
    print(f"gate ({'CPU time' if gate else 'wall clock'}): {ratio:.3f}, "
          f"required >= {args.min_ratio}")
    if not args.skip_tiny:
        tiny_case(args.rounds, device, gate)
    return 0 if ratio >= args.min_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
