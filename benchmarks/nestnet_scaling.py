"""Benchmark: certification cost of ``nestnet-height-s-rate`` (s = 3, d = 1, p = 2) as n grows.

The Theorem 2.1 network has K = n^4 cells and nested floors of height 3 valid for counts up to
2^((2n)^3), so its exact numbers carry (2n)^3 bits.  Each n runs as a subprocess of the real
command line (the memory budget ``NESTNET_MEMORY_MB`` raised so that it does not gate n); CPU
seconds of the child are reported beside wall time, because wall time on a shared machine
measures the neighbours too.  ``--json-dir`` keeps each certificate (``certify run ... --json``)
so that the bounds can be compared across versions of the code.

What the proof needs grows with the cells and their numbers: the floors and the step are read
off Lemmas C.2/C.3 and Prop B.1 once their weights are checked (proofs/nestnet/floor_lemmas.py),
and the point fit runs once per cell (proofs/nestnet/collapse.py).  What still grows with the
network lies outside the method: the network digest re-hashes every nested occurrence of an
activation network (constructive.ir._tokens), and the stored-network evidence flattens the
nested network (tens of millions of entries) before refusing it as over its size limit.

Usage: ``PYTHONPATH=. python benchmarks/nestnet_scaling.py [--n 6..12] [--plot FILE.png]
[--json-dir DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Optional

from curves import plot_curve, timed_run


def run_one(n: int, json_dir: Optional[str] = None) -> tuple[str, float, float, str, str]:
    """(verdict, wall s, CPU s of the child, error lower, error upper) of one instance."""
    env = dict(os.environ, NESTNET_MEMORY_MB=os.environ.get("NESTNET_MEMORY_MB", "65536"))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(json_dir or tmp, f"n{n}.json")
        if json_dir:
            os.makedirs(json_dir, exist_ok=True)
        cmd = [sys.executable, "-m", "certify.cli", "run", "nestnet-height-s-rate",
               "-p", "s=3", "-p", f"n={n}", "-p", "d=1", "--json", path]
        res, wall, cpu = timed_run(cmd, env)
        try:
            with open(path) as fh:
                cert = json.load(fh)
        except (OSError, ValueError):
            return f"exit {res.returncode}: {res.stderr.strip()[-120:]}", wall, cpu, "", ""
    err = cert.get("error", {})
    return cert.get("verdict", "?"), wall, cpu, str(err.get("lower")), str(err.get("upper"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", default="6..12", help="range A..B of n (default 6..12)")
    ap.add_argument("--plot", help="write CPU seconds against n (log scale) to this PNG")
    ap.add_argument("--json-dir", help="keep each certificate as DIR/n<N>.json")
    args = ap.parse_args()
    a, b = (int(v) for v in args.n.split(".."))
    if not 1 <= a <= b <= 64:
        sys.exit("--n must be A..B with 1 <= A <= B <= 64")
    rows = []
    print("| n | cells K = n^4 | verdict | wall s | CPU s |\n|---|---|---|---|---|")
    for n in range(a, b + 1):
        verdict, wall, cpu, _, _ = run_one(n, args.json_dir)
        rows.append((n, verdict, wall, cpu))
        print(f"| {n} | {n ** 4} | {verdict} | {wall:.1f} | {cpu:.1f} |", flush=True)
    cpu = {n: c for n, _, _, c in rows}
    for lo in range(a, b):
        if lo in cpu and lo + 1 in cpu and cpu[lo] > 0:
            print(f"CPU(n={lo + 1})/CPU(n={lo}) = {cpu[lo + 1] / cpu[lo]:.2f}")
    if args.plot:
        plot_curve(rows, "n (K = n^4 cells, floors over (2n)^3-bit numbers)",
                   "certify run nestnet-height-s-rate -p s=3 -p d=1 -p p=2", args.plot)

if __name__ == "__main__":
    main()
