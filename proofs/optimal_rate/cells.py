"""Cell-wise exact certification of Theorems 2.1 and 1.1 of the optimal-rate paper.

* ``syz-cells`` (sup off the trifling region): the network is shown constant on every closed
  cell Q_β by exact group evaluation of the cell's corners (:mod:`proofs.optimal_rate.fastexact`:
  one weak ReLU sign on all corners ⇒ affine on the cell; equal corner values ⇒ constant), and
  |f − c_β| is bounded on the cell by the target's rigorous enclosure (``box_error``).
* ``syz-cells-lp``: the same cells, plus the trifling region Ω of exact measure
  1 − (1 − (K−1)δ)^d (≤ K·d·δ, reported) on which |f − φ| ≤ sup over the cube of |f| plus the
  output range of φ; that range is the exact range over all of R of the network's tail after its
  last width-1 layer (the point fit's clip), by 1-D enumeration — so it holds for every input.
* ``syz-cells-mid`` (p = ∞): the structure fan-out x ↦ (x + t_m), 3^d copies, d levels of mid,
  scalar output map is read from the network; [0, 1]^d is cut at every cell and strip end of
  the three shifted grids per axis, every distinct copy is evaluated on the shifted boxes
  (constant or unknown), and the medians are followed with the rule "two known arguments bound
  the median whatever the third is" (mid is monotone).  The mid gadgets are certified by the
  gadget certificates (relied on: ``mid``).
A box whose value is not determined makes the upper bound infinite (never a guess).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any, Optional, Sequence

import sympy
from flint import arb, fmpq

from certify import evidence
from certify.analysis.mid_repair import MidRepairShape, distinct_copies, median_interval, mid_repair_structure
from certify.analysis.pl1d import enumerate_1d
from certify.analysis.trifling import (box_error, constant_cell_errors, shifted_grid, strip_sup,
                                       trifling_cells, trifling_lp)
from certify.method import ErrorReport, bound_value
from constructive import architecture as arch
from constructive.ir import Affine, Node, affine_from, network
from constructive.numbers import as_fmpq, precision
from proofs.optimal_rate.fastexact import group_constants
from proofs.optimal_rate.rate import delta_linf, delta_lp, delta_offtrifling
from proofs.optimal_rate.stepfn import step_counts

PREC = 192


def corners(box: list) -> list[list[fmpq]]:
    return [list(c) for c in itertools.product(*[(a, b) for a, b in box])]


def _inconclusive(why: str, details: dict, lower: Any = fmpq(0), used: Optional[set] = None) -> ErrorReport:
    with precision(PREC):
        return ErrorReport(lower, arb("inf"), [], used or set(), dict(details, failure=why))


def _cell_values(net: Node, cells: list) -> list[Optional[fmpq]]:
    vals = group_constants(net, [corners(c) for c in cells])
    return [None if v is None else v[0] for v in vals]


def _sup_over(target: Any, boxes: list, vals: list) -> tuple[fmpq, fmpq, list]:
    upper, lower, wit = fmpq(0), fmpq(0), []
    for box, v in zip(boxes, vals):
        lo, hi = box_error(target, box, v, v) if not isinstance(v, tuple) else box_error(target, box, *v)
        upper = max(upper, hi)
        if lo > lower:
            lower, wit = lo, [{"x": [str(a) for a, _ in box], "error_lower": str(lo),
                               "box": [[str(a), str(b)] for a, b in box]}]
    return upper, lower, wit


def method_cells_offtrifling(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    d, N, L = int(params["d"]), int(params["N"]), int(params["L"])
    K = step_counts(N, L, d)["K"]
    delta = delta_offtrifling(d, N, L, int(params["q"]))
    cells = trifling_cells(d, K, delta)
    vals = _cell_values(net, cells)
    details = {"K": K, "delta": str(delta), "cells": len(cells),
               "trifling_measure": str(1 - (1 - (K - 1) * delta) ** d), "K_d_delta": str(K * d * delta)}
    bad = sum(1 for v in vals if v is None)
    if bad:  # the kernel, given the same cuts, finds no bound either
        return replace(_inconclusive(f"{bad} cell(s) not shown constant", details),
                       evidence=cell_end_grid(d, K, delta))
    errors = constant_cell_errors(target, cells, vals)
    upper = max(hi for _, _, hi in errors)
    box, lower, _ = max(errors, key=lambda e: e[1])
    wit = [{"x": [str(a) for a, _ in box], "error_lower": str(lower),
            "box": [[str(a), str(b)] for a, b in box]}] if lower > 0 else []
    close = _close_to_bound(thm, params, target, errors)
    details["cells_cut_finer"] = len(close)
    return ErrorReport(lower, upper, wit, set(), details, evidence=cell_end_grid(d, K, delta, close))


def cell_end_grid(d: int, K: int, delta: fmpq, finer: Sequence = ()) -> dict:
    """Grid evidence for the kernel's check over the cells (``grid-offtrifling``): every axis cut
    at every cell end, so each grid box lies in a cell or in a strip; the kernel shows φ affine
    (here constant) on each cell box by the sign test at its corners, as ``group_constants`` did.
    ``finer``: (cell, slack) pairs, cells cut further by ``end_cuts``."""
    axes = [{end for cell in trifling_cells(1, K, delta) for end in cell[0]} for _ in range(d)]
    for box, slack in finer:
        for axis, (a, b) in zip(axes, box):
            axis.update(end_cuts(a, b, slack))
    return evidence.grid(axes)


def end_cuts(a: fmpq, b: fmpq, slack: Any) -> list[fmpq]:
    """Cuts at a + (b − a)2^-t and b − (b − a)2^-t, t = 1..T: boxes shrinking geometrically
    toward both ends of [a, b].  Why: the kernel encloses f on a box as a ball whose radius arb
    rounds up by about 2^-30 of itself, more than a near-sharp bound's slack on a wide box; a
    monotone f takes its extremes on a cell at the ends, where the boxes are now below
    slack·2^28, and a box at distance D from an end loses about D·2^-30 but gains f's change over D."""
    width = b - a
    T = 1
    while T < MAX_HALVINGS and sympy.Rational(int(width.p), int(width.q)) / 2 ** T >= slack * 2 ** 28:
        T += 1
    return sorted({c for t in range(1, T + 1) for c in (a + width / 2 ** t, b - width / 2 ** t)})


MAX_HALVINGS = 200


def _close_to_bound(thm: Any, params: dict, target: Any, errors: list) -> list:
    """(cell, slack) for the cells whose error bound is within 2^-20 of the cell's width of the
    claimed bound, the slack (bound − the cell's error bound, 40 digits) choosing how fine
    ``end_cuts`` cuts; only the cuts depend on it, never a verdict."""
    bound = bound_value(thm, params, target)
    rough = float(sympy.N(bound, 20))
    out = []
    for box, _, hi in errors:
        width = max(b - a for a, b in box)
        if rough - float(hi) > float(width) * 2.0 ** -20 + 1e-12 * abs(rough):
            continue  # clearly far from the bound (floats suffice to see it)
        slack = sympy.N(bound - sympy.Rational(int(hi.p), int(hi.q)), 40)
        if slack < sympy.Rational(int(width.p), int(width.q)) / 2 ** 20:
            out.append((box, max(slack, sympy.Float(2) ** -600)))
    return out


def tail_range(net: Node) -> Optional[tuple[fmpq, fmpq]]:
    """Exact range over all of R of the layered network's tail after its last width-1 layer
    (a bound on the whole network's output range on R^d), or None when unbounded."""
    items = arch.plain_form(net)
    cut = None
    for k, it in enumerate(items):
        if not isinstance(it, Affine) and not hasattr(it, "parts"):
            continue
        if arch.as_affine(it).W.nrows() == 1 and k < len(items) - 1:
            cut = k
    if cut is None:
        return None
    nodes = []
    for it in items[cut + 1:]:
        if hasattr(it, "parts") or isinstance(it, Affine):
            a = arch.as_affine(it)
            nodes.append(affine_from(a.W, a.b))
        else:
            nodes.append(it)
    tail = network(*nodes)
    lo, hi = enumerate_1d(tail).range()
    if lo is None or hi is None:
        return None
    return lo, hi


def method_cells_lp(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    d, N, L = int(params["d"]), int(params["N"]), int(params["L"])
    p = as_fmpq(params["p"])
    K = step_counts(N, L, d)["K"]
    delta = delta_lp(target, d, N, L, p)
    cells = trifling_cells(d, K, delta)
    vals = _cell_values(net, cells)
    details = {"K": K, "delta": str(delta), "cells": len(cells), "p": str(p), "K_d_delta": str(K * d * delta)}
    grid = cell_end_grid(d, K, delta)
    bad = sum(1 for v in vals if v is None)
    if bad:
        return _inconclusive(f"{bad} cell(s) not shown constant", details)  # no upper bound shown
    rng = tail_range(net)
    if rng is None:
        return _inconclusive("no bounded output range for the trifling region", details)
    sup_omega = strip_sup(target, [([(fmpq(0), fmpq(1))] * d, rng[0], rng[1])])
    lower, upper, meas = trifling_lp(constant_cell_errors(target, cells, vals), d, K, delta, sup_omega, p)
    details.update(trifling_measure=str(meas), trifling_sup=str(sup_omega),
                   output_range=[str(rng[0]), str(rng[1])])
    return ErrorReport(lower, upper, [], set(), details, evidence=grid)


def mid_axis(K: int, delta: fmpq) -> list:
    """The cuts of one axis: cell and strip ends of the three shifted grids, also δ and 1 − δ,
    so that a shifted box never straddles an end of [0, 1] (matters when K is small: K = 1 has
    no strips at all)."""
    pts = {a for box in shifted_grid(1, K, delta) for a in box[0]}
    pts |= {v for v in (delta, 1 - delta) if 0 < v < 1}
    return sorted(pts)


def mid_boxes(d: int, K: int, delta: fmpq) -> list:
    """The boxes of the grid of :func:`mid_axis` cuts.  Any cover of [0, 1]^d is sound."""
    axis = mid_axis(K, delta)
    segs = list(zip(axis, axis[1:]))
    return [list(reversed(c)) for c in itertools.product(segs, repeat=d)]


def median_intervals(net: Node, d: int, boxes: list, details: dict) -> list:
    """The interval of ψ on each of the ``boxes`` (None where a median is not determined), read
    through the mid-repair structure of Theorem 2.2 (raises MidRepairShape)."""
    shifts, copies, out = mid_repair_structure(net, d)
    S = len(shifts)
    vals: list = [None] * (len(boxes) * S)
    groups_all = distinct_copies(copies)
    details["distinct_copies"] = len(groups_all)
    for g, ms in groups_all:
        groups = [corners([(a + t, b + t) for (a, b), t in zip(box, shifts[m])])
                  for box in boxes for m in ms]
        for k, v in enumerate(group_constants(g, groups)):
            vals[(k // len(ms)) * S + ms[k % len(ms)]] = None if v is None else v[0]
    scale, shift = out.W[0, 0], out.b[0, 0]
    ivs: list = []
    for i in range(len(boxes)):
        level = [None if v is None else (v, v) for v in vals[S * i:S * (i + 1)]]
        while len(level) > 1:
            level = [median_interval(level[k:k + 3]) for k in range(0, len(level), 3)]
        ivs.append(None if level[0] is None else
                   tuple(sorted((scale * level[0][0] + shift, scale * level[0][1] + shift))))
    return ivs



def method_cells_linf(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    d, N, L = int(params["d"]), int(params["N"]), int(params["L"])
    K = step_counts(N, L, d)["K"]
    delta = delta_linf(target, d, N, L)
    details: dict = {"K": K, "delta": str(delta)}
    # the kernel re-derives the bound on the same grid (grid-sup): on a box where one shifted
    # copy is in its strip it cuts the network after the copies and walks the median exactly
    grid = evidence.grid([mid_axis(K, delta)] * d)
    try:
        shifts, copies, out = mid_repair_structure(net, d)
    except MidRepairShape as exc:
        return replace(_inconclusive(str(exc), details), evidence=grid)
    boxes = mid_boxes(d, K, delta)
    details.update(boxes=len(boxes), shifts=[[str(c) for c in t] for t in shifts])
    ivs = median_intervals(net, d, boxes, details)
    unknown = sum(iv is None for iv in ivs)
    details["unknown_boxes"] = unknown
    known = [(b, iv) for b, iv in zip(boxes, ivs) if iv is not None]
    upper, lower, wit = _sup_over(target, [b for b, _ in known], [iv for _, iv in known])
    if unknown:
        return replace(_inconclusive(f"{unknown} box(es) where the median is not determined",
                                     details, lower, {"mid"}), evidence=grid)
    return ErrorReport(lower, upper, wit, {"mid"}, details, evidence=grid)
