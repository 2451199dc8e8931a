"""Shared by the cost-curve benchmarks: run one ``certify`` command as a child process and report
its wall and CPU seconds (CPU of the child: on a shared machine wall time measures the
neighbours too), and plot a curve of both against the swept parameter."""

from __future__ import annotations

import resource
import subprocess
import time
from typing import Optional, Sequence


def timed_run(cmd: Sequence[str], env: Optional[dict] = None) -> tuple[subprocess.CompletedProcess, float, float]:
    """(finished process, wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    res = subprocess.run(list(cmd), capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return res, wall, cpu


def plot_curve(rows: Sequence[tuple], xlabel: str, title: str, path: str) -> None:
    """rows: (x, verdict, wall s, CPU s); both times on a log scale against x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy([r[0] for r in rows], [r[3] for r in rows], "o-", label="CPU seconds")
    ax.semilogy([r[0] for r in rows], [r[2] for r in rows], "s--", label="wall seconds")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("seconds")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")
