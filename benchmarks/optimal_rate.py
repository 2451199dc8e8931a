"""Theorem 1.1 of the optimal-rate paper (syz-rate-lp, syz-rate-linf): build and certify the
instances of issue 11's "done" list and print verdict, measured width/depth next to the stated
formulas, the certified error against the bound, and the seconds spent.

    PYTHONPATH=. python benchmarks/optimal_rate.py            # the whole list
    PYTHONPATH=. python benchmarks/optimal_rate.py bench      # d=1, N=25, L=3, p=oo only (target < 2 min)
"""

import sys
import time
from fractions import Fraction

from certify import run

CASES = [(tid, {"d": 1, "N": N, "L": L, **extra}) for N in (7, 25) for L in (1, 2, 3)
         for tid, extra in (("syz-rate-lp", {"p": 2}), ("syz-rate-linf", {}))] + \
        [(tid, {"d": 2, "N": 9, "L": L, **extra}) for L in (1, 2)
         for tid, extra in (("syz-rate-lp", {"p": 2}), ("syz-rate-linf", {}))]


def as_float(text: str) -> float:
    """An exact rational or an arb ball '[mid +/- rad]' as a float (for display only)."""
    return float(text.strip("[").split()[0]) if text.startswith("[") else float(Fraction(text))


def main() -> None:
    cases = CASES
    if sys.argv[1:] == ["bench"]:
        cases = [("syz-rate-linf", {"d": 1, "N": 25, "L": 3})]
    for tid, params in cases:
        t = time.time()
        cert = run(tid, **params)
        secs = time.time() - t
        a = cert.data["architecture"]
        claims = " ".join(f"{c['name']} {c['measured']}<={c['claimed']}" for c in a["claims"])
        e = cert.data["error"]
        print(f"{tid:14s} {params}  {cert.verdict}  {claims}  upper {as_float(e['upper']):.3e}"
              f"  bound {e['bound'][:24]}  {secs:.1f} s", flush=True)


if __name__ == "__main__":
    main()
