"""Benchmark: LLL point fit (Prop 7) for K = 8, 16, 32 at eta = 1e-3, and `certify run
syz-fixed-sigma-1d` on the default target (goal: under 60 s).  Prints |w0| bits and ratios to
the K = 8 fit measured in the same run."""

from __future__ import annotations

import random
import time

from flint import fmpq

from certify.certificate import run_theorem
from constructive.gadgets.point_fit import fit


def main() -> None:
    eta = fmpq(1, 1000)
    base = None
    print("K   fit error      |w0| bits  seconds  ratio")
    for K in (8, 16, 32):
        r = random.Random(K)
        xi = [fmpq(r.randint(0, 1000), 1000) for _ in range(K)]
        t = time.perf_counter()
        f = fit(xi, eta=eta)
        dt = time.perf_counter() - t
        base = base or dt
        print(f"{K:<3} {float(f.error):.3e}      {f.bits:<9}  {dt:7.3f}  {dt / base:6.1f}x")
    for eps in ("1/10", "1/50"):
        t = time.perf_counter()
        cert = run_theorem("syz-fixed-sigma-1d", {"eps": eps})
        print(f"certify run syz-fixed-sigma-1d eps={eps}: {cert['verdict']} in "
              f"{time.perf_counter() - t:.2f} s (upper {cert['error']['upper']})")


if __name__ == "__main__":
    main()
