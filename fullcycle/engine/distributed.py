"""Data-parallel training under ``torchrun``: `fc.fit` unchanged, N processes, one model.

Launched by ``torchrun`` (or ``fullcycle train --nproc N``), every process reads the usual
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), joins
one process group (gloo on CPU, NCCL on GPU) and trains a copy of the model wrapped in
PyTorch's `DistributedDataParallel`. What each piece does, and why:

- ``batch_size`` stays the *global* mini-batch: each process takes its contiguous share of
  every batch of the epoch (the same ``(seed, epoch)`` order everywhere), so N processes take
  the same optimizer steps as one and the learning rate found for one process stays right.
- Gradients are averaged by DDP with a communication hook that weights each process by its
  number of examples, so a last batch that does not split evenly still gives the gradient of
  the whole batch's mean loss: the final weights equal a one-process fit's to float rounding.
  The same all-reduce carries each batch's summed loss and "stop" requests, so every process
  sees the global training loss (the NaN guard decides the same everywhere) at no extra
  message per batch — on a loaded CPU one gloo all-reduce costs about a millisecond.
- Dev outputs are computed on each process's share and gathered, so dev metrics (AUC and F1
  included, which do not average) are those of the whole dev set, identical on every rank,
  and early stopping stops all ranks at the same epoch.
- Callbacks marked ``rank_zero_only`` (journal, checkpoints, progress, trackers) run on
  rank 0 alone; `load_checkpoint` runs on every rank, from the folder rank 0 wrote.
- A process that dies breaks the others' next collective: they raise `WorkerLost` (one line:
  which rank, what to do) instead of waiting, and ``torchrun`` stops the rest of the group.

Dropout draws different masks per rank (seed + rank, as nanoGPT does); a fit with dropout
therefore matches a one-process fit in distribution, not bit for bit.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from fullcycle.engine.device import resolve_device
from fullcycle.engine.events import Callback
from fullcycle.engine.loop import TrainingLoop
from fullcycle.errors import FullcycleError

if TYPE_CHECKING:
    from fullcycle.engine.batches import InMemoryBatches, LoaderBatches

ENVIRONMENT = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
# How often (in batches) the ranks compare "stop" requests made in the middle of an epoch
# (a deadline); the NaN guard's period. Reading the agreed flag costs a host sync on a GPU.
STOP_CHECK_EVERY = 16
_EXTRAS = 3  # values appended to each gradient bucket: summed loss, examples, stop request


class WorkerLost(RuntimeError):  # noqa: N818 - reads as what happened
    """Another training process died or became unreachable; the group cannot continue.

    Not a user input error: the data and flags were valid. The message names this process,
    the cause PyTorch reported, and how to continue (resume from the last checkpoint).
    """


@dataclass(frozen=True)
class Distributed:
    """This process's place in the group."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def backend(self) -> str:
        return "nccl" if self.device.type == "cuda" else "gloo"


def from_environment() -> tuple[int, int, int] | None:
    """(rank, world size, local rank) from torchrun's variables; None in a single process."""
    world = os.environ.get("WORLD_SIZE")
    if world is None or int(world) <= 1:
        return None
    missing = [name for name in ENVIRONMENT if name not in os.environ]
    if missing:
        raise FullcycleError(
            f"WORLD_SIZE={world} but {', '.join(missing)} not set; launch with torchrun "
            "(or fullcycle train --nproc N), which sets them all"
        )
    return int(os.environ["RANK"]), int(world), int(os.environ["LOCAL_RANK"])


def setup(device: str | torch.device = "auto") -> Distributed | None:
    """Join the process group torchrun describes (None outside torchrun).

    ``device="auto"`` takes GPU ``LOCAL_RANK`` when there are GPUs (NCCL), the CPU otherwise
    (gloo). A group the caller already initialized is used as it is.
    """
    place = from_environment()
    if place is None:
        return None
    rank, world, local_rank = place
    chosen = resolve_device(device)
    if chosen.type == "cuda":
        if chosen.index is None:
            chosen = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(chosen)
    ctx = Distributed(rank, world, local_rank, chosen)
    if not dist.is_initialized():
        dist.init_process_group(ctx.backend, rank=rank, world_size=world)
        atexit.register(_leave_group)
    elif dist.get_world_size() != world:
        raise FullcycleError(
            f"the process group has {dist.get_world_size()} processes but WORLD_SIZE is "
            f"{world}; initialize it with torchrun's environment"
        )
    return ctx


def _leave_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def shared_seed(seed: int, ctx: Distributed | None) -> int:
    """Rank 0's seed on every rank (a seed drawn per process would give each its own batch
    order, and the shares would no longer partition the batches)."""
    if ctx is None:
        return seed
    value = torch.tensor([seed], dtype=torch.long, device=ctx.device)
    dist.broadcast(value, src=0)
    return int(value.item())


def is_main_process() -> bool:
    """True in a single process and on rank 0: the process that writes files."""
    return int(os.environ.get("RANK", "0")) == 0


def for_this_rank(callbacks: Sequence[Callback], ctx: Distributed | None) -> list[Callback]:
    """The callbacks this process runs: all of them on rank 0, the non-writers elsewhere."""
    if ctx is None:
        return list(callbacks)
    mine = [cb for cb in callbacks if ctx.is_main or not cb.rank_zero_only]
    return [*mine, AgreeToStop()]


# ---------------------------------------------------------------------------- batches
class ShardedBatches:
    """Each rank's contiguous share of every batch of an epoch.

    Rank r takes rows ``[r·m // N, (r+1)·m // N)`` of a batch of m rows. A batch too small to
    give every rank ``min_rows`` rows (two with batch norm, which cannot normalize one
    example) is skipped by all ranks alike. Works on in-memory tensors and on any loader or
    stream that yields the same batches on every rank.
    """

    def __init__(self, inner: InMemoryBatches | LoaderBatches | Any, ctx: Distributed,
                 min_rows: int = 1) -> None:
        self.inner, self.ctx, self.min_rows = inner, ctx, min_rows
        self.device = inner.device
        self.rows = 0  # rows of the whole batch last yielded (all ranks)

    @property
    def n_examples(self) -> int:
        return self.inner.n_examples  # the whole training set: L2's λ/(2m) uses the global m

    def __len__(self) -> int:
        steps = len(self.inner)
        n, size = getattr(self.inner, "n", None), getattr(self.inner, "batch_size", None)
        if n is not None and size is not None and steps:
            last = min(size, n - (steps - 1) * size)
            if last < self.ctx.world_size * self.min_rows:
                steps -= 1
        return steps

    def batches(self, epoch: int = 1) -> Iterator[tuple[Tensor, ...]]:
        rank, world = self.ctx.rank, self.ctx.world_size
        for batch in self.inner.batches(epoch):
            m = len(batch[-1])
            if m < world * self.min_rows:
                continue
            self.rows = m
            lo, hi = rank * m // world, (rank + 1) * m // world
            yield tuple(t[lo:hi] for t in batch)


def shard(train: Any, dev: Any, ctx: Distributed, batch_norm: bool = False
          ) -> tuple[ShardedBatches, ShardedBatches | None]:
    """Train and dev batches split across the ranks (dev shares may be empty)."""
    need = ctx.world_size * (2 if batch_norm else 1)
    if getattr(train, "batch_size", need) < need:
        raise FullcycleError(
            f"batch_size {train.batch_size} is too small for {ctx.world_size} processes "
            f"(each needs {need // ctx.world_size} rows of every batch); use at least {need}"
        )
    return (ShardedBatches(train, ctx, 2 if batch_norm else 1),
            None if dev is None else ShardedBatches(dev, ctx, 0))


# ------------------------------------------------------------------------------ loop
class DistributedLoop(TrainingLoop):
    """`TrainingLoop` with DDP's gradient averaging and the ranks kept in agreement."""

    def __init__(self, ctx: Distributed, model: nn.Module, *args: Any, **kwargs: Any) -> None:
        super().__init__(model, *args, **kwargs)
        self.ctx = ctx
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        self.ddp = DistributedDataParallel(model, device_ids=ids)
        self.ddp.register_comm_hook(None, self._average_by_examples)
        self._agreed = torch.zeros(_EXTRAS, device=ctx.device)

    # ---- the four steps TrainingLoop leaves open
    def training_module(self) -> nn.Module:
        return self.ddp

    def count_batch(self, n: int) -> None:
        self.running_loss.add_(self._agreed[0])  # every rank's summed loss of this batch
        self.seen += self.train.rows

    def ends_epoch_early(self) -> bool:
        if self.restart_epoch:  # the NaN guard decided from the shared loss: all ranks at once
            return True
        last = self.batch_index + 1 == self.steps_per_epoch
        if (self.batch_index + 1) % STOP_CHECK_EVERY == 0 and not last and self._agreed[2] > 0:
            self.stop_training = True  # some rank asked (a deadline); all stop here together
            return True
        return False  # at an epoch's end, AgreeToStop settles it

    def dev_outputs(self) -> tuple[Tensor, Tensor]:
        outputs, targets = super().dev_outputs()
        return _gather(outputs), _gather(targets)

    def run(self) -> None:
        if self.ctx.rank:  # dropout masks differ per rank; the weights come from rank 0 (DDP)
            torch.manual_seed(torch.initial_seed() + self.ctx.rank * 1_000_003 + self.epoch)
        try:
            super().run()
        except (dist.DistError, RuntimeError) as exc:
            if isinstance(exc, WorkerLost) or not _is_peer_failure(exc):
                raise
            raise WorkerLost(
                f"training process {self.ctx.rank} of {self.ctx.world_size} lost the others "
                f"at epoch {self.epoch} ({_first_line(exc)}): a process died or was killed; "
                "the group stopped — run again with resume (--resume) to continue from the "
                "last checkpoint"
            ) from None

    # ---- DDP communication hook
    def _average_by_examples(self, _state, bucket):  # type: ignore[no-untyped-def]
        """All-reduce ``Σ n_r·g_r`` with ``[Σ loss_r·n_r, Σ n_r, any stop]``, return ``/ Σ n_r``.

        (`dist.GradBucket` in, ``Future[Tensor]`` out; DDP inspects the annotations and
        rejects postponed ones, hence none here.)
        """
        buffer = bucket.buffer()
        n = float(len(self.batch[-1]))
        loss = self.loss.detach().to(buffer.dtype).reshape(1)
        extras = torch.cat([loss * n, buffer.new_tensor([n, float(self.stop_training)])])
        packed = torch.cat([buffer * n, extras])
        first = bucket.index() == 0
        work = dist.all_reduce(packed, async_op=True)

        def unpack(fut: torch.futures.Future[list[Tensor]]) -> Tensor:
            total = fut.value()[0]
            if first:
                self._agreed = total[-_EXTRAS:].float()
            return total[:-_EXTRAS].div_(total[-2])

        return work.get_future().then(unpack)


class AgreeToStop(Callback):
    """After each epoch's callbacks: stop every rank when any of them asked to stop."""

    order = 1_000_000  # after early stopping, journaling and checkpoints

    def after_epoch(self, loop: TrainingLoop) -> None:
        flag = torch.tensor([float(loop.stop_training)], device=loop.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        loop.stop_training = bool(flag.item())


def _gather(local: Tensor) -> Tensor:
    """Concatenate every rank's tensor (shares may differ in length by a row or more)."""
    world = dist.get_world_size()
    sizes = [torch.zeros(1, dtype=torch.long, device=local.device) for _ in range(world)]
    dist.all_gather(sizes, torch.tensor([len(local)], device=local.device))
    counts = [int(s) for s in sizes]
    longest = max(counts)
    padded = torch.zeros((longest, *local.shape[1:]), dtype=local.dtype, device=local.device)
    padded[: len(local)] = local
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded)
    return torch.cat([p[:c] for p, c in zip(parts, counts, strict=True)])


_PEER_SIGNS = ("connection closed", "connection reset", "broken pipe", "timed out",
               "timeout", "socket", "peer", "nccl", "gloo")


def _is_peer_failure(exc: BaseException) -> bool:
    if isinstance(exc, dist.DistError):
        return True
    text = str(exc).lower()
    return any(sign in text for sign in _PEER_SIGNS)


def _first_line(exc: BaseException) -> str:
    """The cause in a few words: gloo's "[.../pair.cc:534] Connection closed by peer [...]"
    becomes "Connection closed by peer"."""
    text = " ".join(str(exc).split())
    if "] " in text:
        text = text.rsplit("] ", 1)[-1] if not text.endswith("]") else text.split("] ")[-1]
    text = text.split(" [")[0].strip() or text
    return text[:120] + ("…" if len(text) > 120 else "")
