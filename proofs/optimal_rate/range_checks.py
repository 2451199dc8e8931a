"""Exact range claims 0 ≤ φ ≤ y_max on all of R^d, as an error: the distance of φ(x) from
[0, y_max], sup over x (claimed 0).

* One input (Proposition 3.2): φ is enumerated exactly as a 1-D piecewise-linear function
  (``certify.analysis.pl1d.enumerate_1d``), so the sup is exact, with a witness x where it is
  attained (or, on an unbounded ray, where it exceeds 1).
* Two inputs (Lemma 4.7): the network is split at its last layer of width 1 into
  φ = tail ∘ head with tail: R → R (the clip); range(φ) ⊆ range(tail), which is enumerated
  exactly, so the tail's excess is a rigorous upper bound.  The lower bound is the exact excess at
  probe points (the grid and half-integer points around it); without a width-1 split the upper
  bound is +∞.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from flint import arb, fmpq

from certify.analysis.pl1d import PiecewiseLinear1D, enumerate_1d
from constructive.evaluate import evaluate
from constructive.ir import Network, Node


def excess(value: fmpq, y_max: fmpq) -> fmpq:
    """The distance of ``value`` from [0, y_max]."""
    return max(fmpq(0), -value, value - y_max)


def _ray_witness(x0: fmpq, v0: fmpq, slope: fmpq, direction: int, y_max: fmpq) -> fmpq:
    """A point on the ray x0 + direction·t (t ≥ 0, value v0 + direction·slope·t) whose value is
    at least 1 outside [0, y_max]; slope·direction ≠ 0."""
    rate = slope * direction
    need = (y_max + 1 - v0) if rate > 0 else (v0 + 1)
    return x0 + direction * max(need, fmpq(0)) / abs(rate)


def range_excess_1d(net: Node, y_max: fmpq, max_points: int = 10**6) -> tuple[Any, fmpq, list, dict]:
    """(upper, lower, witnesses, details) for sup_{x ∈ R} dist(φ(x), [0, y_max]), exactly."""
    pl = enumerate_1d(net, max_points=max_points)
    lo, hi = pl.range()
    candidates = list(zip(pl.points, (v[0] for v in pl.values)))
    unbounded = lo is None or hi is None
    for slope, x0, v0, direction in ((pl.left_slope, pl.points[0], pl.values[0], -1),
                                     (pl.right_slope, pl.points[-1], pl.values[-1], 1)):
        if slope is not None and slope[0] != 0:
            x = _ray_witness(x0, v0[0], slope[0], direction, y_max)
            candidates.append((x, pl(x)[0]))
    x_w, v_w = max(candidates, key=lambda c: excess(c[1], y_max))
    # the witness value is re-evaluated on the network itself, not read from the enumeration
    value = evaluate(net, [[x_w]])[0][0]
    lower = excess(value, y_max)
    upper = arb("inf") if unbounded else max(excess(lo, y_max), excess(hi, y_max))
    wit = [{"x": [str(x_w)], "error": str(lower), "value": str(value),
            "claimed": f"[0, {y_max}]"}] if lower else []
    details = {"output_min": None if lo is None else str(lo),
               "output_max": None if hi is None else str(hi), "y_max": str(y_max),
               "breakpoints": len(pl.points)}
    return upper, lower, wit, details


def width_one_tail(net: Node) -> Optional[Network]:
    """The longest suffix of the top-level node list whose input has dimension 1 (None if the
    only such split is after the last node)."""
    if not isinstance(net, Network):
        return None
    for i in range(1, len(net.nodes)):
        if net.nodes[i - 1].out_dim == 1:
            return Network(tuple(net.nodes[i:]))
    return None


def range_excess_probed(net: Node, y_max: fmpq, probes: Sequence[Sequence[fmpq]],
                        ) -> tuple[Any, fmpq, list, dict]:
    """(upper, lower, witnesses, details) for sup over R^d of dist(φ(x), [0, y_max]): upper from
    the exact range of the width-1 tail, lower from exact values at ``probes``."""
    details: dict = {"y_max": str(y_max), "probes": len(probes)}
    tail = width_one_tail(net)
    if tail is None:
        upper: Any = arb("inf")
        details["tail"] = "none: the network has no width-1 split, the range is not bounded"
    else:
        pl: PiecewiseLinear1D = enumerate_1d(tail)
        lo, hi = pl.range()
        upper = arb("inf") if lo is None or hi is None else max(excess(lo, y_max),
                                                                excess(hi, y_max))
        details.update(tail_depth=tail.depth, tail_min=None if lo is None else str(lo),
                       tail_max=None if hi is None else str(hi))
    values = evaluate(net, [list(c) for c in zip(*probes)])[0]
    lower, wit = fmpq(0), []
    for x, v in zip(probes, values):
        if excess(v, y_max) > lower:
            lower = excess(v, y_max)
            wit = [{"x": [str(c) for c in x], "error": str(lower), "value": str(v),
                    "claimed": f"[0, {y_max}]"}]
    return upper, lower, wit, details
