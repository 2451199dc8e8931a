"""Certification methods of the intrinsic-parameters paper (Shen, Yang, Zhang, ICML 2022):
the cell-wise sup and L^p bounds off the trifling region, the mid repair on shifted boxes, bit
extraction on its 2^n inputs, and the stored parameters read back exactly."""

from __future__ import annotations

import os
from typing import Any

import sympy
from flint import arb, fmpq

from certify import evidence
from certify.analysis.ranges import output_range
from certify.analysis.trifling import (cells_analysis, range_check, shifted_grid, strip_sup, trifling_cells,
                                       trifling_lp, trifling_slabs)
from certify.analysis.witnesses import falsify, lower_from, witness_errors
from certify.method import ErrorReport, Method, methods
from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.gadgets.bits import pack_bits, theta_for
from constructive.ir import Node
from constructive.numbers import Exact
from proofs.intrinsic.three_params import store_params_values


def cell_grid(net: Node, d: int, K: int, delta: fmpq, strips: bool) -> dict:
    """Grid evidence at the cell ends: the kernel finds the network affine on the cells and
    bounds it by exact interval propagation on the strips (kinks there can number 4^n)."""
    axis = sorted({a for iv in trifling_cells(1, K, delta) for a in iv[0]} | {fmpq(0), fmpq(1)})
    return evidence.grid([axis] * d)


def method_cells_offtrifling(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    v = thm.values(params, target)
    d, K = params["d"], int(v[sympy.Symbol("K")])
    delta = _q(v[sympy.Symbol("delta")])
    cells = trifling_cells(d, K, delta)
    pairs, used = cells_analysis(net, target, cells)
    upper = max(e[1] for _, e in pairs)
    constant = sum(1 for r, _ in pairs if r.constant)
    # witnesses only where the claim is made: in the cells, not in the trifling region
    best, err = None, arb(0)
    for x, e in witness_errors(net, target, [[(a + b) / 2 for a, b in c] for c in cells[:4096]]):
        if best is None or e.lower() > err.lower():
            best, err = x, e
    lower, wit = lower_from(best, err)
    lower = max(lower, max(e[0] for _, e in pairs))
    ok, used_r, ranges = range_check(net, thm.claim.get("range"))
    return ErrorReport(lower, upper, wit, used | used_r,
                       {"cells": len(cells), "constant_cells": constant, "output_range": ranges}, ok,
                       evidence=cell_grid(net, d, K, delta, strips=False))


def method_cells_lp(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    v = thm.values(params, target)
    d, K = params["d"], int(v[sympy.Symbol("K")])
    delta = _q(v[sympy.Symbol("delta")])
    p = _q(thm.substitute(thm.claim.get("p", "p"), params, target))
    cells = trifling_cells(d, K, delta)
    slabs = trifling_slabs(d, K, delta)
    cell_pairs, used = cells_analysis(net, target, cells)
    # on the strips only a sup bound is needed: plain interval propagation with gadget specs
    slab_ranges = []
    for box in slabs:
        (iv,), used_s = output_range(net, [(a, b) for a, b in box])
        used |= used_s
        if iv[0] is None or iv[1] is None:
            raise ValueError("the network is not provably bounded on the trifling region")
        slab_ranges.append((box, iv[0], iv[1]))
    sup_omega = strip_sup(target, slab_ranges)
    lower, upper, measure_omega = trifling_lp([(r.box, lo, hi) for r, (lo, hi) in cell_pairs],
                                              d, K, delta, sup_omega, p)
    constant = sum(1 for r, _ in cell_pairs if r.constant)
    return ErrorReport(lower, upper, [], used,
                       {"cells": len(cells), "constant_cells": constant,
                        "trifling_measure": str(measure_omega), "trifling_sup": str(sup_omega),
                        "p": str(p)}, evidence=cell_grid(net, d, K, delta, strips=True))


def method_boxes_sup(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    v = thm.values(params, target)
    d = target.dim
    K = int(v[sympy.Symbol("K")])
    delta = _q(v[sympy.Symbol("delta")])
    boxes = shifted_grid(d, K, delta)
    pairs, used = cells_analysis(net, target, boxes)
    upper = max(e[1] for _, e in pairs)
    best, err = falsify(net, target, d, extra=[[(a + b) / 2 for a, b in c] for c in boxes[:256]])
    lower, wit = lower_from(best, err)
    lower = max(lower, max(e[0] for _, e in pairs))
    exact_boxes = sum(1 for r, _ in pairs if r.exact)
    # the kernel re-derives the bound on the same boxes (grid-sup): where one shifted copy is in
    # its strip it cuts the network after the copies and walks the median exactly
    axis = sorted({a for box in shifted_grid(1, K, delta) for a in box[0]} | {fmpq(0), fmpq(1)})
    return ErrorReport(lower, upper, wit, used, {"boxes": len(boxes), "exact_boxes": exact_boxes},
                       evidence=evidence.grid([axis] * d))


def method_bit_extraction(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:

    J = params["J"]
    theta = theta_for(J, params["seed"])
    a = pack_bits(theta)
    out = evaluate(net, [[4 ** j * a for j in range(1, J + 1)]], Exact())[0]
    diffs = [abs(o - t) for o, t in zip(out, theta)]
    worst = max(diffs)
    wit = []
    if worst > 0:
        j = diffs.index(worst) + 1
        wit = [{"x": [str(4 ** j * a)], "error": str(worst), "j": j}]
    ok, used, ranges = range_check(net, thm.claim.get("range"))
    return ErrorReport(worst, worst, wit, used, {"J": J, "theta": "".join(map(str, theta)),
                                                 "output_range": ranges}, ok,
                       evidence=evidence.PIECES)


def method_store_params(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:

    v, a = store_params_values(params)
    out = [row[0] for row in evaluate(net, [[fmpq(0)]], Exact())]
    diffs = [abs(o - t) for o, t in zip(out, a)]
    worst = max(diffs) if diffs else fmpq(0)
    if len(out) != len(a):
        worst = fmpq(1)
    return ErrorReport(worst, worst, [], set(), {"v": str(v), "a": [str(x) for x in a]},
                       evidence=evidence.PIECES)


CELL_BUDGET_ENV = "CERTIFY_MAX_CELLS"
CELL_BUDGET = 2 ** 12  # K^d cells, K = 2^n: syz-intrinsic-lp n = 12, d = 1 takes ~10 s of CPU, n = 14 ~1 min


def cells_precheck(params: dict) -> None:
    """Refuse, before any work, an instance of the SYZ cell methods over the cell budget."""
    if "n" not in params:  # n derived from eps and the target: checked when the target is known
        return
    budget = int(os.environ.get(CELL_BUDGET_ENV, CELL_BUDGET))
    cells = 2 ** (params["n"] * params["d"])
    if cells > budget:
        raise UserError(f"n={params['n']}, d={params['d']} means {cells} cells (2^(n d)), over the "
                        f"work budget of {budget} (cost grows about 3x per cell doubling); set "
                        f"{CELL_BUDGET_ENV} to allow more")


def _q(expr: Any) -> fmpq:
    e = sympy.nsimplify(expr) if not isinstance(expr, sympy.Basic) else sympy.simplify(expr)
    if not e.is_Rational:
        raise ValueError(f"expected an exact rational, got {expr}")
    return fmpq(int(e.p), int(e.q))


METHODS = methods(
    Method("cells-offtrifling", method_cells_offtrifling, precheck=cells_precheck),
    Method("cells-lp", method_cells_lp, precheck=cells_precheck),
    Method("boxes-sup", method_boxes_sup, precheck=cells_precheck),
    Method("bit-extraction", method_bit_extraction),
    Method("store-params", method_store_params),
)
