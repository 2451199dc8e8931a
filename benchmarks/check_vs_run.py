"""Certify every theorem at its default instance, then check every certificate with the kernel.

    python benchmarks/check_vs_run.py [ID ...]

Prints, per theorem, the run and check times and what the kernel re-derived, then the counts:
certificates whose error upper bound the kernel re-derived from evidence, those with nothing
trusted at all, and the check/run time ratio (both measured here, in this run).
"""

from __future__ import annotations

import json
import sys
import time

from certify.certificate import run_theorem
from certify.kernel import check_certificate_data
from certify.registry import default_registry


def main(ids: list[str]) -> None:
    reg = default_registry()
    ids = ids or list(reg.theorems)
    run_total = check_total = 0.0
    bound_rederived = full = agree = 0
    for tid in ids:
        t0 = time.perf_counter()
        cert = json.loads(json.dumps(run_theorem(tid, {})))
        t1 = time.perf_counter()
        report = check_certificate_data(cert)
        t2 = time.perf_counter()
        run_total += t1 - t0
        check_total += t2 - t1
        bound = report.ok and report.upper is not None
        bound_rederived += bound
        full += report.ok and not [t for t in report.trusted if "digest" not in t]
        agree += report.ok and report.verdict == cert["verdict"]
        print(f"{tid:40s} {cert['verdict']:12s} run {t1 - t0:7.2f}s  check {t2 - t1:6.2f}s  "
              f"upper {'re-derived' if bound else 'trusted   '}  "
              f"{'; '.join(report.problems) if report.problems else ''}")
    n = len(ids)
    print(f"\n{n} certificates: kernel accepts {agree}; upper bound re-derived from evidence: "
          f"{bound_rederived}; nothing trusted but the digest: {full}")
    print(f"run {run_total:.1f} s, check {check_total:.1f} s, check/run = {check_total / run_total:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
