"""The trifling-region picture shared by the width/depth proofs: the cells Q_β, the strips of
width δ between them, the cell-wise error, and the L^p norm from cells plus a small region.

One routine for every paper that uses it (intrinsic parameters, NestNet, compositions): the L^p
bound off the trifling region is :func:`trifling_lp` (cell errors, the region's exact measure
:func:`trifling_measure`, and a sup bound on it, e.g. :func:`strip_sup`).
"""

from __future__ import annotations

import itertools
from typing import Any, Optional, Sequence

from flint import arb, fmpq

from certify.analysis.boxes import analyse_boxes
from certify.analysis.ranges import output_range
from certify.method import PREC
from constructive.ir import Node
from constructive.numbers import as_fmpq, precision


def trifling_cells(d: int, K: int, delta: fmpq) -> list[list[tuple[fmpq, fmpq]]]:
    """The closed cells Q_β (with the indicator 1{β_i ≤ K−2}: erratum E5)."""
    axis = [(fmpq(k, K), fmpq(k + 1, K) - (delta if k <= K - 2 else 0)) for k in range(K)]
    return [list(reversed(c)) for c in itertools.product(axis, repeat=d)]


def trifling_slabs(d: int, K: int, delta: fmpq) -> list[list[tuple[fmpq, fmpq]]]:
    """Closed boxes covering Ω: coordinate i in a strip [k/K − δ, k/K], the others in [0, 1]."""
    out = []
    for i in range(d):
        for k in range(1, K):
            box = [(fmpq(0), fmpq(1))] * d
            box[i] = (fmpq(k, K) - delta, fmpq(k, K))
            out.append(box)
    return out


def shifted_grid(d: int, K: int, delta: fmpq) -> list[list[tuple[fmpq, fmpq]]]:
    """Boxes between all cell and strip ends of the 3 shifted grids, per axis, inside [0, 1]."""
    pts = {fmpq(0), fmpq(1)}
    for k in range(1, K):
        for end in (fmpq(k, K) - delta, fmpq(k, K)):
            for t in (-delta, fmpq(0), delta):
                v = end + t
                if 0 < v < 1:
                    pts.add(v)
    axis = sorted(pts)
    segs = list(zip(axis, axis[1:]))
    return [list(reversed(c)) for c in itertools.product(segs, repeat=d)]


def box_error(target: Any, box: Sequence[tuple[fmpq, fmpq]], lo: fmpq, hi: fmpq) -> tuple[fmpq, fmpq]:
    """Rigorous (inf, sup) of |f − φ| over the box when φ(box) ⊆ [lo, hi] and f(box) ⊆ enclosure."""
    flo, fhi = target.enclose(box)
    upper = max(abs(fhi - lo), abs(hi - flo))
    if hi < flo:
        lower = flo - hi
    elif fhi < lo:
        lower = lo - fhi
    else:
        lower = fmpq(0)
    return lower, upper


def cells_analysis(net: Node, target: Any, boxes: list) -> tuple[list, set]:
    results, used = analyse_boxes(net, boxes)
    errs = [box_error(target, r.box, r.lo[0], r.hi[0]) for r in results]
    return list(zip(results, errs)), used


def range_check(net: Node, claim_range: Optional[Sequence[str]]) -> tuple[Optional[bool], set, list]:
    if not claim_range:
        return None, set(), []
    ivs, used = output_range(net)
    lo, hi = as_fmpq(claim_range[0]), as_fmpq(claim_range[1])
    ok = all(a is not None and b is not None and a >= lo and b <= hi for a, b in ivs)
    return ok, used, [[str(a), str(b)] for a, b in ivs]


def oscillation_hypothesis(target: Any, h: fmpq, bound: fmpq, steps: int = 4) -> tuple[Optional[bool], str]:
    """Is |f(x) − f(y)| < ``bound`` whenever |x − y| < h, on [0, 1]?

    True when the certified modulus gives λ h^α < bound; False with an exact witness pair at
    distance < h whose difference is provably ≥ bound (searched on a grid of step h/steps);
    None when neither is shown.
    """
    with precision(PREC):
        if arb(target.lam) * arb(h) ** arb(target.alpha) < arb(bound):
            return True, f"λ h^α < {bound} by the certified modulus"
        n = int((1 / h).ceil()) * steps
        xs = [fmpq(i, n) for i in range(n + 1)]
        vals = [target.ball([x], PREC) for x in xs]
        for i in range(n + 1):
            for j in range(i + 1, min(i + steps, n + 1)):  # |x_j − x_i| < h
                if abs(vals[j] - vals[i]) >= arb(bound):
                    return False, (f"|f({xs[j]}) − f({xs[i]})| ≥ {bound} at distance "
                                   f"{xs[j] - xs[i]} < {h}")
    return None, "not decided"


def lp_bounds(cell_errors: Sequence[tuple[Sequence[tuple[fmpq, fmpq]], fmpq, fmpq]],
              measure_omega: fmpq, sup_omega: fmpq, p: fmpq) -> tuple[arb, arb]:
    """Rigorous (lower, upper) of ‖f − φ‖_{L^p([0,1]^d)} from cells and a trifling region.

    ``cell_errors`` lists (box, inf, sup) of |f − φ| on disjoint cells; the rest of the cube,
    of measure ``measure_omega``, contributes at most measure · ``sup_omega``^p.
    """
    with precision(PREC):
        pp = arb(p)
        upper_p, lower_p = arb(0), arb(0)
        for box, lo, hi in cell_errors:
            vol = fmpq(1)
            for a, b in box:
                vol *= b - a
            if hi > 0:
                upper_p += arb(vol) * arb(hi) ** pp
            if lo > 0:
                lower_p += arb(vol) * arb(lo) ** pp
        if measure_omega > 0 and sup_omega > 0:
            upper_p += arb(measure_omega) * arb(sup_omega) ** pp
        upper = upper_p ** (1 / pp) if upper_p > 0 else arb(0)
        lower = lower_p ** (1 / pp) if lower_p > 0 else arb(0)
        return (arb(lower.lower()) if lower > 0 else arb(0)), upper


def trifling_measure(d: int, K: int, delta: fmpq) -> fmpq:
    """Exact Lebesgue measure of the trifling region: [0, 1]^d minus the K^d cells Q_β of
    :func:`trifling_cells` (each axis loses K − 1 strips of width δ)."""
    return 1 - (1 - (K - 1) * delta) ** d


def constant_cell_errors(target: Any, cells: Sequence[Sequence[tuple[fmpq, fmpq]]],
                         values: Sequence[fmpq]) -> list[tuple[Sequence[tuple[fmpq, fmpq]], fmpq, fmpq]]:
    """(box, inf, sup) of |f − φ| on every cell on which φ is the exact constant ``values[k]``."""
    return [(box, *box_error(target, box, v, v)) for box, v in zip(cells, values)]


def strip_sup(target: Any, ranges: Sequence[tuple[Sequence[tuple[fmpq, fmpq]], fmpq, fmpq]]) -> fmpq:
    """sup of |f − φ| over boxes covering the trifling region, given (box, lo, hi) with
    φ(box) ⊆ [lo, hi]; 0 when there are none."""
    return max((box_error(target, box, lo, hi)[1] for box, lo, hi in ranges), default=fmpq(0))


def trifling_lp(cell_errors: Sequence[tuple[Sequence[tuple[fmpq, fmpq]], fmpq, fmpq]], d: int, K: int,
                delta: fmpq, sup_omega: fmpq, p: fmpq) -> tuple[arb, arb, fmpq]:
    """Rigorous (lower, upper) of ‖f − φ‖_{L^p([0,1]^d)} and the trifling measure used.

    ``cell_errors``: (box, inf, sup) of |f − φ| on the cells Q_β of ``trifling_cells(d, K, δ)``;
    the trifling region between them (measure :func:`trifling_measure`) contributes at most
    measure · ``sup_omega``^p (:func:`lp_bounds`).
    """
    meas = trifling_measure(d, K, delta)
    lower, upper = lp_bounds(cell_errors, meas, sup_omega, p)
    return lower, upper, meas
