"""The covering-radius entries over a sweep of n: every row HOLDS and the fitted exponent of the
certified radius is the covering law −1/k (what `certify table ... --sweep n=...` prints)."""

from __future__ import annotations

import math

import pytest

from certify.api import sweep_row
from certify.report import _approx, plot


def rows_for(theorem: str, ns, **extra):
    return [sweep_row({"theorem": theorem, "params": {"n": str(n), **extra}, "target": None}) for n in ns]


def fitted(rows) -> float:
    xs = [math.log(float(r["params"]["n"])) for r in rows]
    ys = [math.log(_approx(r["error_upper"])) for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


@pytest.mark.parametrize("theorem,k,ns", [
    ("hc-winding-gaps-k1", 1, [16, 64, 256, 1024, 2048]),
    ("hc-winding-covering-k2", 2, [16, 32, 64, 128, 256, 512]),
])
def test_sweep_holds_with_the_covering_exponent(theorem, k, ns, tmp_path):
    rows = rows_for(theorem, ns)
    assert [r["verdict"] for r in rows] == ["HOLDS"] * len(ns)
    assert abs(fitted(rows) + 1 / k) < 0.06
    slopes = plot(rows, "n", str(tmp_path / "law.png"), title=theorem)
    assert (tmp_path / "law.png").stat().st_size > 0
    assert abs(slopes["all"] - fitted(rows)) < 1e-9


@pytest.mark.slow
def test_k3_sweep_holds_with_the_covering_exponent():
    rows = rows_for("hc-winding-covering-k3", [8, 64, 512, 4096])
    assert [r["verdict"] for r in rows] == ["HOLDS"] * 4
    assert abs(fitted(rows) + 1 / 3) < 0.05
