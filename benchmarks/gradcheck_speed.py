"""Gradient check: per-element versus random-directions mode, on models of growing size.

MLPs 32→h→h→3 of about 1k, 10k, 100k and 1M parameters, each in two versions: a correct
one, and one with a custom autograd layer whose backward doubles its weight gradient (the
bug the check exists for). Both modes run on the same 16-row float64 batch.

Per-element mode costs two forward passes per parameter. Up to ``--full-limit`` parameters
it runs in full; above that it checks ``--sample`` random elements of every tensor and its
full time is extrapolated from the time per element (marked ``~``). Random-directions mode
checks 8 random unit directions per tensor, whatever the size.

Prints size, time of each mode, the verdicts and whether they agree; exits 1 when a verdict
differs between the modes or a planted bug goes unnamed.

    python benchmarks/gradcheck_speed.py [--sizes 1000,10000,100000,1000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import torch
from torch import nn

from fullcycle.checks.gradcheck import gradcheck

N_IN, N_OUT, ROWS = 32, 3, 16


class _DoubledGrad(torch.autograd.Function):
    """y = x * g whose backward returns twice the true dL/dg: a planted bug."""

    @staticmethod
    def forward(ctx, x, gain):
        ctx.save_for_backward(x, gain)
        return x * gain

    @staticmethod
    def backward(ctx, grad):
        x, gain = ctx.saved_tensors
        return grad * gain, 2 * (grad * x).sum(0)


class BuggyGain(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(width))

    def forward(self, x):
        return _DoubledGrad.apply(x, self.gain)


def width_for(params: int) -> int:
    """Hidden width h with about ``params`` parameters in 32→h→h→3 (h² + 37h + 3 ≈ p)."""
    return max(2, round((-37 + math.sqrt(37**2 + 4 * params)) / 2))


def make_model(width: int, buggy: bool, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(N_IN, width), nn.Tanh(), nn.Linear(width, width),
                               nn.Tanh()]
    if buggy:
        layers.append(BuggyGain(width))
    layers.append(nn.Linear(width, N_OUT))
    return nn.Sequential(*layers)


def run_case(width: int, buggy: bool, full_limit: int, sample: int) -> dict:
    g = torch.Generator().manual_seed(1)
    batch = (torch.randn(ROWS, N_IN, generator=g), torch.randint(0, N_OUT, (ROWS,),
                                                                 generator=g))
    model = make_model(width, buggy)
    n_params = sum(p.numel() for p in model.parameters())
    full = n_params <= full_limit
    started = time.perf_counter()
    per_element = gradcheck(model, batch, "cross_entropy", mode="per_element",
                            max_examples=ROWS, max_elements=None if full else sample)
    per_element_s = time.perf_counter() - started
    checked = sum(p.numel for p in per_element.parameters)
    if not full:
        per_element_s *= n_params / checked
    started = time.perf_counter()
    directions = gradcheck(model, batch, "cross_entropy", mode="random_directions",
                           max_examples=ROWS)
    directions_s = time.perf_counter() - started
    return {"params": n_params, "buggy": buggy, "per_element_s": per_element_s,
            "per_element_extrapolated": not full,
            "random_directions_s": directions_s,
            "per_element_verdict": per_element.verdict,
            "random_directions_verdict": directions.verdict,
            "per_element_difference": per_element.relative_difference,
            "random_directions_difference": directions.relative_difference,
            "agree": per_element.verdict == directions.verdict,
            "bug_named": (not buggy) or (per_element.suspects == directions.suspects
                                         == ["4.gain"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--full-limit", type=int, default=20_000,
                        help="largest model checked element by element in full")
    parser.add_argument("--sample", type=int, default=64,
                        help="elements per tensor above --full-limit")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for buggy in (False, True):
            rows.append(run_case(width_for(size), buggy, args.full_limit, args.sample))
            if not args.json:
                r = rows[-1]
                mark = "~" if r["per_element_extrapolated"] else " "
                print(f"{r['params']:>9,d} {'bug ' if buggy else 'ok  '}"
                      f" per-element {mark}{r['per_element_s']:9.2f}s {r['per_element_verdict']:8s}"
                      f" ({r['per_element_difference']:.1e})"
                      f"  random-directions {r['random_directions_s']:7.3f}s "
                      f"{r['random_directions_verdict']:8s}"
                      f" ({r['random_directions_difference']:.1e})"
                      f"  agree={r['agree']} bug_named={r['bug_named']}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    ok = all(r["agree"] and r["bug_named"] for r in rows)
    if not ok:
        print("verdicts differ between modes, or a planted bug went unnamed", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
