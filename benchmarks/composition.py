"""Composition theorem (ZLZ Thm 1.1, d = 1): the compositional certifier at large r against the
previous per-cell method at a smaller r, both measured in this run.

    PYTHONPATH=. python benchmarks/composition.py [--r 4096] [--r-old 64]

Prints the time of ``certify run zlz-composition-rate -p r=R -p d=1`` (the whole pipeline), the
time of the per-cell method (``method_lp_cells``) and of the compositional one at the smaller r
on the same network, and their ratio.
"""

from __future__ import annotations

import argparse
import time

from certify import composition_check as cc
from certify.certificate import run_theorem
from certify.targets import make_target
from constructive.composition import build_lp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--r", type=int, default=4096)
    ap.add_argument("--r-old", type=int, default=64)
    args = ap.parse_args()
    t = make_target("abs", 1)
    params = {"d": 1, "r": args.r_old, "p": 2}
    net = build_lp(params, t)
    t0 = time.perf_counter()
    old = cc.method_lp_cells(None, params, t, net)
    t1 = time.perf_counter()
    new = cc.method_lp(None, params, t, net)
    t2 = time.perf_counter()
    assert str(old.upper) == str(new.upper), "the two methods disagree"
    print(f"r = {args.r_old}: per-cell {t1 - t0:.2f} s, compositional {t2 - t1:.2f} s, "
          f"ratio {(t1 - t0) / (t2 - t1):.1f}x (same upper bound {new.upper})")
    t3 = time.perf_counter()
    cert = run_theorem("zlz-composition-rate", {"d": "1", "r": str(args.r)})
    t4 = time.perf_counter()
    print(f"certify run zlz-composition-rate -p r={args.r} -p d=1: {cert['verdict']} in "
          f"{t4 - t3:.1f} s (error {t4 - t3:.1f} s of which {cert['timings']['error']:.1f} s "
          f"certification), upper {cert['error']['upper']}, bound {cert['error']['bound']}")
    print(f"per-cell method per composition-cell at r={args.r_old} vs whole run at r={args.r}: "
          f"{(t4 - t3) / (t1 - t0):.2f}x the time for {(args.r / args.r_old):.0f}x the r")


if __name__ == "__main__":
    main()
