"""Benchmark: certification cost of ``syz-intrinsic-lp`` (d = 1, p = 2) as n grows.

The network has 2^n cells and n bit extractors of depth 2^(n+1) fed numbers of 2^(n+1) bits, so
pushing every cell through every layer costs about 8^n.  The box analysis instead runs a chain
of tent blocks in one step per constant cell (all cells of a batch in one pass, over numbers
stripped of the power of two the chain makes common) and reads the one-layer step and
exponential gadgets off their certified knots; the packing products a_ℓ · 4^ϱ are shifts, not
multiplications.  What is left grows with the cells times the length of their numbers, about
4^n, plus the passes over the network itself (layers, digests, the probe builds of the
intrinsic count), about 2^n.  Each n runs as a subprocess of the real command line (the cell
budget raised through ``CERTIFY_MAX_CELLS``); CPU seconds of the child are reported beside wall
time, because wall time on a shared machine measures the neighbours too.  Goals (issue 14):
n = 12 under 60 s, n = 16 under 10 minutes, CPU(n=12) / CPU(n=10) below 4; verdicts HOLDS
throughout.

``--check`` also times ``certify check`` of each certificate: the kernel evaluates the flat
network exactly at every grid vertex (2^(n+1) vertices through about 2^(n+1) layers), about 4^n
times the length of the numbers, with no gadget certificates to lean on; its CPU seconds and the
check/run ratio are reported beside the run's, and its last line (verified, or accepted when the
evaluation is over the kernel's budget or the network was too large to store).

Usage: ``PYTHONPATH=. python benchmarks/intrinsic_scaling.py [--n 6..16] [--check] [--plot FILE.png]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from curves import plot_curve, timed_run


def run_one(n: int, cert: str = "") -> tuple[str, float, float]:
    env = dict(os.environ, CERTIFY_MAX_CELLS=str(2 ** n))
    cmd = [sys.executable, "-m", "certify.cli", "run", "syz-intrinsic-lp",
           "-p", f"n={n}", "-p", "d=1", "-p", "p=2"] + (["--json", cert] if cert else [])
    res, wall, cpu = timed_run(cmd, env)
    verdict = next((ln.split(":", 1)[1].strip() for ln in res.stdout.splitlines()
                    if ln.strip().startswith("verdict")), f"exit {res.returncode}: {res.stderr[-120:]}")
    return verdict, wall, cpu


def check_one(cert: str) -> tuple[str, float]:
    """The last line of ``certify check`` and its CPU seconds."""
    res, _, cpu = timed_run([sys.executable, "-m", "certify.cli", "check", cert])
    lines = [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
    return (lines[-1] if lines else f"exit {res.returncode}: {res.stderr[-120:]}"), cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", default="6..14", help="range A..B of n (default 6..14)")
    ap.add_argument("--check", action="store_true", help="also time certify check of each certificate")
    ap.add_argument("--plot", help="write CPU seconds against n (log scale) to this PNG")
    args = ap.parse_args()
    a, b = (int(v) for v in args.n.split(".."))
    rows = []
    extra = " check CPU s | check/run | check says |" if args.check else ""
    print(f"| n | cells | verdict | wall s | CPU s |{extra}\n|---|---|---|---|---|" + "---|" * (3 * args.check))
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(a, b + 1):
            cert = os.path.join(tmp, f"n{n}.json") if args.check else ""
            verdict, wall, cpu = run_one(n, cert)
            rows.append((n, verdict, wall, cpu))
            line = f"| {n} | {2 ** n} | {verdict} | {wall:.1f} | {cpu:.1f} |"
            if args.check:
                said, check_cpu = check_one(cert)
                line += f" {check_cpu:.1f} | {check_cpu / cpu:.2f} | {said} |"
            print(line, flush=True)
    cpu = {n: c for n, _, _, c in rows}
    if 10 in cpu and 12 in cpu:
        print(f"CPU(n=12)/CPU(n=10) = {cpu[12] / cpu[10]:.2f} (goal < 4)")
    if args.plot:
        plot_curve(rows, "n (2^n cells, bit extractors of depth 2^(n+1))",
                   "certify run syz-intrinsic-lp -p d=1 -p p=2", args.plot)

if __name__ == "__main__":
    main()
