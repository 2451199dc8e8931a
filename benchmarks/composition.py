"""Composition theorem (ZLZ Thm 1.1, d = 1): the compositional certifier against the per-cell
method, both measured in this run.

    PYTHONPATH=. python benchmarks/composition.py [--r 4096] [--r-old 32 64]

1. For each small r in ``--r-old``: the per-cell method (``method_lp_cells``: every cell's 2^d
   vertices through all 3r+1 compositions, cost ~ K^d·r) and the compositional one
   (``method_lp``) on the same network; both must give the same upper bound; wall and CPU time
   and the ratio are printed.
2. ``certify run zlz-composition-rate -p r=R -p d=1`` (the whole pipeline: build, measure,
   certify, gadget certificates) at R = ``--r``, wall and CPU time.
3. The per-cell method's time at R, extrapolated (labelled as such) from the two measured small
   r with the fitted exponent, and the resulting ratio.
"""

from __future__ import annotations

import argparse
import math
import time

from certify.certificate import run_theorem
from constructive.targets import make_target
from proofs.compositions import check as cc
from proofs.compositions.build import build_lp


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--r", type=int, default=4096)
    ap.add_argument("--r-old", type=int, nargs="+", default=[32, 64])
    args = ap.parse_args()
    t = make_target("abs", 1)
    cell_cpu = {}
    for r in args.r_old:
        params = {"d": 1, "r": r, "p": 2}
        net = build_lp(params, t)
        old, ow, oc = timed(lambda: cc.method_lp_cells(None, params, t, net))
        new, nw, nc = timed(lambda: cc.method_lp(None, params, t, net))
        assert str(old.upper) == str(new.upper), "the two methods disagree"
        cell_cpu[r] = oc
        print(f"r = {r}: per-cell {ow:.2f} s wall / {oc:.2f} s CPU, compositional {nw:.2f} s wall / "
              f"{nc:.2f} s CPU, ratio {oc / nc:.1f}x CPU ({ow / nw:.1f}x wall), same upper bound")
    cert, w, c = timed(lambda: run_theorem("zlz-composition-rate", {"d": "1", "r": str(args.r)}))
    print(f"certify run zlz-composition-rate -p r={args.r} -p d=1: {cert['verdict']} in {w:.1f} s wall / "
          f"{c:.1f} s CPU (certification {cert['timings']['error']:.1f} s wall), upper "
          f"{cert['error']['upper']}, bound {cert['error']['bound']}")
    if len(cell_cpu) >= 2:
        (r0, c0), (r1, c1) = sorted(cell_cpu.items())[:2]
        k = math.log(c1 / c0) / math.log(r1 / r0)
        est = c1 * (args.r / r1) ** k
        print(f"per-cell method at r={args.r}: EXTRAPOLATED (not measured) from r={r0}, {r1} with "
              f"fitted exponent {k:.2f}: ~{est:.0f} s CPU, i.e. ~{est / c:.0f}x the compositional run")


if __name__ == "__main__":
    main()
