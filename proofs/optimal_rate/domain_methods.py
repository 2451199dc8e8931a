"""Certification of Theorem 2.5 on a bounded domain E (a union of boxes) (:mod:`proofs.optimal_rate.domain`).

Both methods first read the change of variables x ↦ (x + R)/(2R) back from the network (exactly,
as ``syz-cells-mid-bounded``), so that sup_E |f − φ| = sup_U |t − ψ| and
‖f − φ‖_{L^p(E)} = (2R)^{d/p} ‖t − ψ‖_{L^p(U)}, ψ the rest of the network, t the target, U the
domain in the cube's coordinates.  Only points of U count; the extension the builder used plays
no part in the verdict (it fixes nothing but the δ of the L^p cells, and any δ gives a sound
cover).

* ``syz-cells-mid-domain`` (p = ∞): the boxes of ``mid_boxes`` (a cover of the cube) are cut by
  the boxes of U; on each piece ψ lies in the interval the shifted copies and the medians give
  on the whole mid box (as ``syz-cells-mid``), and |t − ψ| is bounded by the target's enclosure
  on the piece.  Witnesses are corners of pieces, so points of U.
* ``syz-cells-lp-domain`` (p < ∞): the cells Q_β, shown constant as in ``syz-cells-lp``, are cut
  by the boxes of U (pieces of positive volume); the rest of U has the exact measure
  vol(U) − Σ vol(pieces) (the boxes of U have disjoint interiors: ``domain_boxes`` resolves
  overlaps of a user's union), on which |t − ψ| is at most
  the target's enclosure on U's boxes against the network's whole output range.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flint import arb, fmpq

from certify import evidence
from certify.analysis.mid_repair import MidRepairShape
from certify.analysis.trifling import constant_cell_errors, lp_bounds, strip_sup, trifling_cells
from certify.method import ErrorReport, Method
from constructive.ir import Node
from constructive.numbers import as_fmpq, precision
from proofs.optimal_rate.cells import (PREC, _cell_values, _inconclusive, _sup_over, cell_end_grid,
                                       median_intervals, mid_axis, mid_boxes, tail_range)
from proofs.optimal_rate.domain import domain_boxes, domain_in_E, extension, extension_kind, intersect, volume
from proofs.optimal_rate.rate import delta_linf, delta_lp, to_cube
from proofs.optimal_rate.rate_methods import _split_first
from proofs.optimal_rate.stepfn import step_counts


def _setup(params: dict, net: Node) -> tuple[int, list, Any, dict]:
    d = int(params["d"])
    boxes = domain_boxes(str(params["E"]), d)
    _, rest = _split_first(net, to_cube(d, as_fmpq(params["R"])))
    details = {"E": str(params["E"]), "E_boxes": domain_in_E(boxes, as_fmpq(params["R"])),
               "E_volume_in_cube": str(sum((volume(b) for b in boxes), fmpq(0))),
               "extension": extension_kind(d)}
    return d, boxes, rest, details


def _given(params: dict) -> list:
    """U's boxes as the parameter gives them (overlaps kept): the kernel cuts at their ends."""
    return domain_boxes(str(params["E"]), int(params["d"]), disjoint=False)


def _grid_on_E(axes: list, boxes: list, R: fmpq) -> dict:
    """Grid evidence for the kernel (``grid-sup``/``grid-lp`` with ``within = "E"``): the cube's
    cuts plus every end of U's boxes, moved to x = 2Ru − R (the kernel runs the whole network)."""
    cuts = [{fmpq(c) for c in axis} | {end for box in boxes for end in box[i]} for i, axis in enumerate(axes)]
    return evidence.grid([[2 * R * c - R for c in axis] for axis in cuts])


def _witness_in_E(w: dict, R: fmpq) -> dict:
    """A witness of the cube's coordinates u (a corner of a piece of U) moved to x = 2Ru − R, a
    point of E, the input of the whole network."""
    def to_E(v: str) -> str:
        return str(2 * R * as_fmpq(v) - R)

    out = dict(w, x=[to_E(v) for v in w["x"]])
    if "box" in w:
        out["box"] = [[to_E(a), to_E(b)] for a, b in w["box"]]
    return out


def method_cells_mid_domain(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Theorem 2.5 (p = ∞) on E: sup over the pieces (mid box ∩ box of U) of |t − ψ|."""
    d, boxes, rest, details = _setup(params, net)
    if rest is None:
        return _inconclusive("the first map is not x -> (x + R)/(2R)", details)
    N, L = int(params["N"]), int(params["L"])
    K = step_counts(N, L, d)["K"]
    delta = delta_linf(target, d, N, L)
    details.update(K=K, delta=str(delta))
    grid = _grid_on_E([mid_axis(K, delta)] * d, _given(params), as_fmpq(params["R"]))
    try:
        ivs = median_intervals(rest, d, mid_boxes(d, K, delta), details)
    except MidRepairShape as exc:
        return replace(_inconclusive(str(exc), details), evidence=grid)
    pieces, values, unknown = [], [], 0
    for mbox, iv in zip(mid_boxes(d, K, delta), ivs):
        cut = [p for p in (intersect(mbox, ubox) for ubox in boxes) if p is not None]
        if cut and iv is None:
            unknown += 1
        elif iv is not None:
            pieces += cut
            values += [iv] * len(cut)
    details.update(pieces=len(pieces), unknown_boxes_meeting_E=unknown)
    upper, lower, wit = _sup_over(target, pieces, values)
    wit = [_witness_in_E(w, as_fmpq(params["R"])) for w in wit]
    if unknown:
        return replace(_inconclusive(f"{unknown} box(es) meeting E where the median is not determined",
                                     details, lower, {"mid"}), evidence=grid)
    return ErrorReport(lower, upper, wit, {"mid"}, details, evidence=grid)


def method_cells_lp_domain(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Theorem 2.5 (p < ∞) on E: the cells cut by U, the rest of U by the output range, and the
    volume factor (2R)^{d/p}."""
    d, boxes, rest, details = _setup(params, net)
    if rest is None:
        return _inconclusive("the first map is not x -> (x + R)/(2R)", details)
    N, L, p, R = int(params["N"]), int(params["L"]), as_fmpq(params["p"]), as_fmpq(params["R"])
    K = step_counts(N, L, d)["K"]
    delta = delta_lp(extension(target, params), d, N, L, p)  # the δ the builder used
    cells = trifling_cells(d, K, delta)
    vals = _cell_values(rest, cells)
    details.update(K=K, delta=str(delta), cells=len(cells), p=str(p))
    grid = _grid_on_E(cell_end_grid(d, K, delta)["cuts"], _given(params), R)
    bad = sum(1 for v in vals if v is None)
    if bad:
        return _inconclusive(f"{bad} cell(s) not shown constant", details)  # no upper bound shown
    pieces, piece_vals = [], []
    for cell, v in zip(cells, vals):
        for ubox in boxes:
            cut = intersect(cell, ubox)
            if cut is not None and volume(cut) > 0:
                pieces.append(cut)
                piece_vals.append(v)
    rng = tail_range(rest)
    if rng is None:
        return _inconclusive("no bounded output range for the trifling region", details)
    rest_measure = sum((volume(b) for b in boxes), fmpq(0)) - sum((volume(c) for c in pieces), fmpq(0))
    sup_rest = strip_sup(target, [(ubox, rng[0], rng[1]) for ubox in boxes])
    lower, upper = lp_bounds(constant_cell_errors(target, pieces, piece_vals), rest_measure,
                             sup_rest, p)
    details.update(pieces=len(pieces), rest_measure=str(rest_measure), rest_sup=str(sup_rest),
                   output_range=[str(rng[0]), str(rng[1])])
    with precision(PREC):
        scale = arb(2 * R) ** (arb(d) / arb(p))
        details["volume_factor"] = f"(2R)^(d/p) = {scale.str(12)}"
        return ErrorReport(arb(lower) * scale, arb(upper) * scale, [], set(), details, evidence=grid)


DOMAIN_METHODS = (
    Method("syz-cells-mid-domain", method_cells_mid_domain),
    Method("syz-cells-lp-domain", method_cells_lp_domain),
)
