"""Exact witnesses of a large error: lower bounds only, never an upper bound.

φ is evaluated exactly at rational points, f as an arb ball; the search is a grid, random
rationals and a Hypothesis search steered toward large |f − φ|.
"""

from __future__ import annotations

import itertools
import random
import sys
from typing import Any, Optional, Sequence

from flint import arb, fmpq

from certify.method import PREC
from constructive.evaluate import evaluate
from constructive.ir import Node
from constructive.numbers import Exact, precision


def witness_errors(net: Node, target: Any, points: list[list[fmpq]]) -> list[tuple[list[fmpq], arb]]:
    """|f(x) − φ(x)| at exact points: φ exactly, f as a ball."""
    if not points:
        return []
    out = evaluate(net, [list(c) for c in zip(*points)], Exact())[0]
    res = []
    with precision(PREC):
        for x, y in zip(points, out):
            fx = arb(target.exact(x)) if getattr(target, "rational_valued", False) else target.ball(x, PREC)
            res.append((x, abs(fx - arb(y))))
    return res


def falsify(net: Node, target: Any, d: int, budget: int = 64, seed: int = 0,
            extra: Sequence[Sequence[fmpq]] = (), steered: int = 24) -> tuple[Optional[list], arb]:
    """Search exact witnesses of large |f − φ|: a grid, random rationals, given points and a
    ``hypothesis.target``-steered search (``steered`` examples).

    Returns the best point and a ball for its error; only ever a lower bound.
    """
    rng = random.Random(seed)
    m = max(2, int(round(budget ** (1 / d))))
    grid = [list(reversed(c)) for c in itertools.product([fmpq(2 * i + 1, 2 * m) for i in range(m)], repeat=d)]
    rand = [[fmpq(rng.randrange(0, 2 ** 20), 2 ** 20) for _ in range(d)] for _ in range(budget)]
    pts = grid[:budget] + rand + [list(p) for p in extra]
    best, best_err = None, arb(0)
    for x, e in witness_errors(net, target, pts):
        if best is None or e.lower() > best_err.lower():
            best, best_err = x, e
    if steered:
        x, e = steer(net, target, d, examples=steered, seed=seed)
        if x is not None and e.lower() > best_err.lower():
            best, best_err = x, e
    return best, best_err


def steer(net: Node, target: Any, d: int, examples: int = 40, seed: int = 0) -> tuple[Optional[list], arb]:
    """A hypothesis search steered by ``hypothesis.target`` toward large |f − φ| (lower bound)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from hypothesis import target as steer_to

    found: dict = {"x": None, "e": arb(0)}
    coord = st.integers(min_value=0, max_value=2 ** 24).map(lambda k: fmpq(k, 2 ** 24))

    @settings(max_examples=examples, database=None, derandomize=True, deadline=None,
              phases=[Phase.generate, Phase.target], suppress_health_check=list(HealthCheck))
    @given(st.lists(coord, min_size=d, max_size=d))
    def search(x: list) -> None:
        (_, e), = witness_errors(net, target, [x])
        lo = e.lower()
        # guidance only, never a verdict; an error past the float range (a target of 10^1000)
        # is steered as the largest float, which hypothesis accepts
        steer_to(min(float(lo.mid()), sys.float_info.max) if lo > 0 else 0.0)
        if lo > found["e"].lower():
            found["x"], found["e"] = x, e

    search()
    return found["x"], found["e"]


def lower_from(best: Optional[list], err: arb) -> tuple[fmpq, list]:
    if best is None:
        return fmpq(0), []
    lo = max(err.lower(), arb(0))
    low = fmpq(int((lo * 2 ** 64).floor().unique_fmpz()), 2 ** 64)
    return max(low, fmpq(0)), [{"x": [str(v) for v in best], "error": err.str(10, radius=True)}]
