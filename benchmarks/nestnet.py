"""Benchmark: NestNet (Shen, Yang, Zhang, NeurIPS 2022).

1. Wall time of ``certify run nestnet-height-s-rate -p s=3 -p n=8 -p d=1`` (goal: under 2 minutes
   on 2 cores), as a subprocess of the real command line.
2. Exact evaluations per second of the Theorem 2.1 network (height s) at cell midpoints: the
   memoised evaluator (each distinct activation network run once per distinct input value,
   all neurons using it batched together) against the plain interpreter, which evaluates every
   nested occurrence separately — exactly the work of the fully expanded ReLU network, whose
   neurons share parameters but not computations.  Both run in this process, on the same
   network and points; the values are compared.

Usage: ``PYTHONPATH=. python benchmarks/nestnet.py [--skip-run]``.
"""

from __future__ import annotations

import subprocess
import sys
import time

from flint import fmpq

from constructive.evaluate import evaluate
from constructive.targets import make_target
from proofs.nestnet.build import MemoInterpreter, build_lp, evaluate_memo, grid_K, nest_params


def time_cli() -> None:
    cmd = [sys.executable, "-m", "certify.cli", "run", "nestnet-height-s-rate",
           "-p", "s=3", "-p", "n=8", "-p", "d=1"]
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    verdict = next((ln.strip() for ln in res.stdout.splitlines() if "verdict" in ln), res.stderr[-200:])
    print(f"certify run nestnet-height-s-rate -p s=3 -p n=8 -p d=1: {verdict}; {dt:.1f} s "
          f"(goal < 120 s), exit {res.returncode}")


def evals_per_second(s: int, n: int, points: int, plain_budget: float = 40.0) -> None:
    target = make_target("abs", 1)
    net = build_lp({"d": 1, "s": s, "n": n, "p": 2}, target)
    K = grid_K(1, s, n)
    step = max(1, K // points)
    xs = [fmpq(2 * b + 1, 2 * K) for b in range(0, K, step)][:points]
    t = time.perf_counter()
    memo = MemoInterpreter()
    ym = evaluate_memo(net, [[x] for x in xs], memo)[0]
    dm = time.perf_counter() - t
    # the plain interpreter on a prefix that fits the time budget (grown geometrically)
    k, dp, yp = 1, 0.0, []
    while k <= len(xs):
        t = time.perf_counter()
        yp = evaluate(net, [xs[:k]])[0]
        dp = time.perf_counter() - t
        if dp > plain_budget / 4 or k == len(xs):
            break
        k = min(len(xs), 4 * k)
    assert yp == ym[:k], "memoised and plain evaluation disagree"
    rm, rp = len(xs) / dm, k / dp
    print(f"s={s} n={n} (K={K}, height {net.height}, {nest_params(net)} parameters): "
          f"memoised {rm:9.1f} evals/s ({len(xs)} points, {memo.calls} distinct nested inputs), "
          f"plain/expanded {rp:9.2f} evals/s ({k} points); ratio {rm / rp:7.1f}x")


def main() -> None:
    print("exact evaluations per second, memoised vs expanded (same network, same points):")
    for s, n, pts in ((1, 8, 64), (2, 4, 64), (3, 4, 64), (3, 8, 64)):
        evals_per_second(s, n, pts)
    if "--skip-run" not in sys.argv:
        time_cli()


if __name__ == "__main__":
    main()
