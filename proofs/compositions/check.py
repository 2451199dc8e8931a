"""Certification of the repeated-composition networks L2 ∘ g^{∘R} ∘ L1 (ZLZ, ICML 2023): the
methods of the registry and their table (``METHODS``, at the end).

Architecture: :func:`measure_composition` reports the repeated block g (width, depth, input
dimension, parameters counted once) and the composition count R, without unrolling the Repeat.

Error.  Every cell's output is an exact rational, compared with f on the cell by ``box_error``;
nothing is sampled.  Two analyses give those values:

* Part 1 — per cell (:mod:`proofs.compositions.cells`): every closed cell Q_β evaluated at its
  2^d vertices, K^d · 2^d · R evaluations of g; kept as ``method_*_cells`` (the benchmark's
  baseline);
* Part 2 — compositional (used by the registry: ``method_offtrifling``, ``method_lp``), O(R)
  small exact steps: affine forms on parameter boxes and the clock specification certified once
  per instance (:mod:`proofs.compositions.engine`), stepped along the proofs' state classes
  (:mod:`proofs.compositions.states`).

For L^p the trifling region is bounded by sup|f| + sup|φ| over [0,1]^d (one interval run with
the clamp gadget's certified range), and the norm is
:func:`certify.analysis.trifling.trifling_lp`.  Thm 1.3 (uniform error) runs interval boxes
through the whole network (:func:`method_uniform`); the gadget entries (Props 3.1–3.3, Lemmas
D.1, E.2) are certified exactly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Optional

from flint import fmpq, fmpq_mat

from certify import evidence
from certify.analysis.pl1d import enumerate_1d
from certify.analysis.trifling import (box_error, constant_cell_errors, lp_bounds, trifling_cells,
                                       trifling_lp, trifling_measure)
from certify.evidence import PIECES
from certify.method import ErrorReport, Method, methods
from constructive import architecture as arch
from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.ir import Affine, Network, Node
from constructive.ir import Repeat
from constructive.ir import Repeat as Rep
from constructive.ir import affine, network
from constructive.numbers import as_fmpq
from proofs.compositions.build import (clamp_level, iroot, lp_delta, merge_instance, offtrifling_delta, pack,
                                       pointfit_data, sup_abs, uniform_delta)
from proofs.compositions.cells import cell_values, global_sup
from proofs.compositions.engine import Engine, Forms, StepFailure, form_row
from proofs.compositions.kinks import kinks_and_values, relu_kinks
from proofs.compositions.states import cell_boxes, run_compositional

PREC = 192


# ------------------------------------------------------------------------------------------------
# kernel evidence: cut points per axis (certify.evidence.grid)


def cell_grid(net: Node, d: int, K: int, delta: fmpq) -> dict:
    """Cuts at every end of the cells Q_β and at every sign change of a ReLU inside a cell (a
    few, in the first cell, where the step map's pre-scaling turns), so the kernel finds the
    network affine (constant) on every grid box of a cell (grid-offtrifling measures only
    those).  In d dimensions the kinks of axis i are those of the line through the middle of
    the first cell along axis i (the step maps work per coordinate; the kernel re-checks)."""
    cells = [iv for (iv,) in trifling_cells(1, K, delta)]
    ends = sorted({fmpq(0), fmpq(1)} | {a for iv in cells for a in iv})

    def in_cell(a: fmpq, b: fmpq) -> bool:
        return any(lo <= a and b <= hi for lo, hi in cells)

    if not _storable(net):
        return evidence.grid([ends] * d)
    mid = (cells[0][0] + cells[0][1]) / 2
    axes = []
    for i in range(d):
        W = [[fmpq(1) if j == i else fmpq(0)] for j in range(d)]
        line = network(affine(W, [fmpq(0) if j == i else mid for j in range(d)]), net) if d > 1 else net
        axes.append(relu_kinks(line, ends, in_cell))
    return evidence.grid(axes)


def kink_grid(net: Node, d: int, ends: list) -> dict:
    """Cuts at the ends of the uniform pieces and, in one dimension, at every sign change of a
    ReLU between them, so the kernel finds the network affine on every grid box (the ends
    alone where the network is too large to be stored in the certificate anyway)."""
    if d == 1 and _storable(net):
        return evidence.grid([relu_kinks(net, ends)])
    return evidence.grid([ends] * d)


def _storable(net: Node) -> bool:
    """Can the certificate store the network for the kernel (else the kinks would go unused)?"""
    return sum(layer.rows * layer.cols for layer in arch.layers(net)) <= evidence.MAX_STORED_ENTRIES


# ------------------------------------------------------------------------------------------------
# architecture


@dataclass(frozen=True)
class CompositionArchitecture(arch.Architecture):
    g_width: int = 0
    g_depth: int = 0
    g_dim: int = 0
    g_params: int = 0
    compositions: int = 0

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(g_width=self.g_width, g_depth=self.g_depth, g_dim=self.g_dim,
                   g_params=self.g_params, compositions=self.compositions)
        return out


def find_repeat(net: Node) -> Repeat:
    reps = [n for n in net.nodes if isinstance(n, Repeat)] if isinstance(net, Network) else []
    if len(reps) != 1:
        raise ValueError("not a network L2 ∘ g^{∘R} ∘ L1 with one repeated block")
    return reps[0]


def measure_composition(net: Node) -> CompositionArchitecture:
    """The composition paper's architecture: g measured once, R counted, nothing unrolled."""
    rep = find_repeat(net)
    g = rep.body
    g_params = arch.count_params(g)
    outer = [Network((n,)) for n in net.nodes if n is not rep and isinstance(n, Affine)]
    outer_params = sum(arch.count_params(n) for n in outer)
    dense = sum(layer.dense() for part in [g, *outer] for layer in arch.layers(part))
    return CompositionArchitecture(
        input_dim=net.in_dim, output_dim=net.out_dim, depth=net.depth, width=net.width,
        widthvec=tuple(g.widthvec), params=g_params + outer_params, dense_params=dense,
        intrinsic_tagged=0, height=net.height, gadgets={},
        g_width=g.width, g_depth=g.depth, g_dim=g.in_dim, g_params=g_params, compositions=rep.times)


# ------------------------------------------------------------------------------------------------
# Thm A.1 (off the trifling region) and Thm 2.1 (L^p): per cell and compositionally


def _K_delta_offtrifling(params: dict) -> tuple[int, fmpq]:

    K = iroot(params["r"], params["d"])
    return K, offtrifling_delta(K, params.get("delta_fraction", 0))


def _K_delta_lp(params: dict, target: Any) -> tuple[fmpq, int, fmpq]:
    """(p, K, δ) of the L^p construction (Thm 2.1)."""

    d, r = params["d"], params["r"]
    p = as_fmpq(params["p"])
    K = iroot(r, d)
    Mc = clamp_level(target, d)
    return p, K, lp_delta(target, d, r, K, p, Mc)


def _lp_report(target: Any, d: int, K: int, delta: fmpq, p: fmpq, boxes: list, vals: list,
               glo: fmpq, ghi: fmpq, used: set, details: dict, grid: Optional[dict] = None) -> ErrorReport:
    """The L^p bound from the exact cell values and the network's range [glo, ghi] on the cube:
    on the trifling region |f − φ| ≤ sup|f| + sup|φ|."""

    sup_phi = max(abs(glo), abs(ghi))
    lower, upper, meas = trifling_lp(constant_cell_errors(target, boxes, vals), d, K, delta,
                                     sup_abs(target) + sup_phi, p)
    return ErrorReport(lower, upper, [], used,
                       {"cells": len(boxes), "K": K, "delta": str(delta), "trifling_measure": str(meas),
                        "sup_phi_on_cube": str(sup_phi), "p": str(p), **details},
                       evidence=grid)


def method_offtrifling_cells(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    d = params["d"]
    K, delta = _K_delta_offtrifling(params)
    cells = trifling_cells(d, K, delta)
    vals, bad = cell_values(net, cells)
    upper, lower = fmpq(0), fmpq(0)
    for box, v in zip(cells, vals):
        if v is None:
            continue
        lo_e, hi_e = box_error(target, box, v, v)
        upper, lower = max(upper, hi_e), max(lower, lo_e)
    if bad:
        raise UserError(f"{bad} cell(s) are not constant: no certified bound")
    return ErrorReport(lower, upper, [], set(), {"cells": len(cells), "K": K, "delta": str(delta)})


def method_lp_cells(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    d = params["d"]
    p, K, delta = _K_delta_lp(params, target)
    cells = trifling_cells(d, K, delta)
    vals, bad = cell_values(net, cells)
    if bad:
        raise UserError(f"{bad} cell(s) are not constant: no certified bound")
    glo, ghi, used = global_sup(net, d)
    return _lp_report(target, d, K, delta, p, cells, vals, glo, ghi, used, {})


def method_offtrifling(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    d, r = params["d"], params["r"]
    K, delta = _K_delta_offtrifling(params)
    vals, _, stats, used = run_compositional(net, d, r, K, delta, False)
    upper, lower = fmpq(0), fmpq(0)
    for box, v in zip(cell_boxes(d, K, delta), vals):
        lo_e, hi_e = box_error(target, box, v, v)
        upper, lower = max(upper, hi_e), max(lower, lo_e)
    return ErrorReport(lower, upper, [], used, {"cells": K ** d, "K": K, "delta": str(delta),
                                                "method": "compositional", **stats},
                       evidence=cell_grid(net, d, K, delta))


KINK_EVIDENCE_MAX_R = 32  # relu_kinks takes 1 s at r = 16 and 17 s at r = 64 (the clock's bits grow with r)


def method_lp(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Thm 1.1: the cells' exact values from the compositional run; on the strips between them
    the clamp's certified range, or, in one dimension up to r = 32, the network itself: affine
    between its kinks, which are exact and go to the kernel as cuts (grid-lp follows them)."""
    d, r = params["d"], params["r"]
    p, K, delta = _K_delta_lp(params, target)
    vals, (glo, ghi), stats, used = run_compositional(net, d, r, K, delta, True)
    boxes = cell_boxes(d, K, delta)
    cells = [iv for (iv,) in trifling_cells(1, K, delta)]
    ends = sorted({a for iv in cells for a in iv} | {fmpq(0), fmpq(1)})
    details = {"method": "compositional", **stats}
    if d > 1 or r > KINK_EVIDENCE_MAX_R or not _storable(net):
        # interval propagation does not see the clamp (it bounds |φ| on a strip by ~7500, not
        # 2 Mc): the kernel's bound from the cell ends alone decides only where the strips are
        # thin enough (d = 2, r = 16, p = 2 in 11 s), and stays trusted elsewhere
        return _lp_report(target, d, K, delta, p, boxes, vals, glo, ghi, used, details,
                          evidence.grid([ends] * d))
    xs, ys = kinks_and_values(net, ends)
    strips = [([(a, b)], *box_error(target, [(a, b)], min(ya[0], yb[0]), max(ya[0], yb[0])))
              for (a, ya), (b, yb) in zip(zip(xs, ys), zip(xs[1:], ys[1:]))
              if not any(lo <= a and b <= hi for lo, hi in cells)]
    lower, upper = lp_bounds(constant_cell_errors(target, boxes, vals) + strips, fmpq(0), fmpq(0), p)
    return ErrorReport(lower, upper, [], used,
                       {"cells": len(boxes), "K": K, "delta": str(delta), "p": str(p),
                        "trifling_measure": str(trifling_measure(d, K, delta)),
                        "strip_pieces": len(strips), "strips": "exact, between the network's kinks",
                        **details}, evidence=evidence.grid([xs]))


# ================================================================================================
# Thm 1.3 (uniform error), d = 1: interval pieces of [0, 1] through the whole network


def uniform_pieces(K: int, delta: fmpq) -> list[tuple[fmpq, fmpq]]:
    """Closed pieces of [0, 1] on which each of x − δ, x, x + δ stays in the closure of one cell
    Q_k, one strip (k/K − δ, k/K), or one side outside [0, 1]."""
    base = {fmpq(0), fmpq(1)}
    for k in range(1, K):
        base |= {fmpq(k, K) - delta, fmpq(k, K)}
    pts = {b - s for b in base for s in (-delta, fmpq(0), delta)}
    pts = sorted(p for p in pts if 0 <= p <= 1)
    return [(a, b) for a, b in zip(pts, pts[1:]) if a < b]


def uniform_values(net: Network, boxes: list, engine: Engine) -> list[tuple[fmpq, fmpq]]:
    """A rigorous enclosure of the network on every box: affine forms in x through every step
    (exact where the ReLU signs are determined, an interval remainder where not), the clock
    specifications for the repeated block and the mid gadget's interval extension."""
    L1, rep, L2 = net.nodes
    zero, one = fmpq(0), fmpq(1)
    engine.T = 2 * rep.times + 8
    d = len(boxes[0])
    eye = [one if j == i else zero for i in range(d) for j in range(d + 1)]
    out = []
    for box in boxes:
        X = Forms(fmpq_mat(d, d + 1, eye), [a for a, _ in box], [b for _, b in box])
        X = engine.affine(L1, X)
        for _ in range(rep.times):
            X = engine.apply(rep.body, X, False)
        Y = engine.affine(L2, X)
        los, his = Y.bounds()
        out.append((los[0], his[0]))
    return out


def method_uniform(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Sup error over all of [0, 1]^d of the Thm 1.3 network (no trifling region): [0,1]^d is
    cut into the product of the per-axis pieces of :func:`uniform_pieces`, and every box runs
    through the whole network (:func:`uniform_values`)."""

    d, r = params["d"], params["r"]
    if d > 2:
        raise UserError(f"d = {d}: the uniform (Thm 1.3) certifier handles d ≤ 2")
    K = iroot(r, d)
    delta = uniform_delta(target, d, r, K)
    pieces = uniform_pieces(K, delta)
    boxes = [list(b) for b in itertools.product(pieces, repeat=d)]
    engine = Engine()
    try:
        encl = uniform_values(net, boxes, engine)
        checks = engine.check_discarded()
    except StepFailure as exc:
        raise UserError(f"uniform certification failed: {exc}") from None
    upper, lower = fmpq(0), fmpq(0)
    loose = 0
    for box, (lo, hi) in zip(boxes, encl):
        lo_e, hi_e = box_error(target, box, lo, hi)
        upper, lower = max(upper, hi_e), max(lower, lo_e)
        loose += lo != hi
    ends = sorted({a for piece in pieces for a in piece})
    return ErrorReport(lower, upper, [], engine.used,
                       {"boxes": len(boxes), "boxes_not_constant": loose, "K": K,
                        "delta": str(delta), "clock_specs": len(engine.clocks),
                        "discarded_branch_checks": checks, "method": "interval boxes"},
                       evidence=kink_grid(net, d, ends))


# ================================================================================================
# Gadget entries (Prop 3.1, Lemma D.1, Prop 3.2, Prop 3.3), certified exactly


def method_step_iteration(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Prop 3.1: exact 1-D enumeration (certify.analysis.pl1d) of L2 ∘ g^{∘(m−1)} ∘ L1 on every closed
    interval [k, k+1−δ·1{k ≤ n−2}] of the statement (claim.pieces); the error is the exact
    max |φ − k| over them."""
    worst, pieces, wit = fmpq(0), 0, []
    boxes = thm.pieces(params)
    for (a,), (b,), (k,) in boxes:
        pl = enumerate_1d(net, a, b)
        pieces += len(pl.points) - 1
        for x, v in zip(pl.points, pl.values):
            e = abs(v[0] - k)
            if e > worst:
                worst, wit = e, [{"x": [str(x)], "error": str(e)}]
    return ErrorReport(worst, worst, wit, set(), {"intervals": len(boxes), "linear_pieces": pieces,
                                                  "method": "exact 1-D enumeration"}, evidence=PIECES)


def method_bitsum_iteration(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma D.1: exact evaluation on the whole finite set it claims, k = 0..r and every
    θ ∈ {0,1}^r (one batched exact run)."""

    r = params["r"]
    ks, bs, want = [], [], []
    for bits in itertools.product((0, 1), repeat=r):
        b = pack(bits)
        for k in range(r + 1):
            ks.append(fmpq(k))
            bs.append(b)
            want.append(sum(bits[:k]))
    out = evaluate(net, [ks, bs])[0]
    worst, wit = fmpq(0), []
    for k, b, v, w in zip(ks, bs, out, want):
        if abs(v - w) > worst:
            worst, wit = abs(v - w), [{"x": [str(k), str(b)], "error": str(abs(v - w))}]
    return ErrorReport(worst, worst, wit, set(), {"points": len(ks), "method": "exact evaluation"},
                       evidence=PIECES)


def method_pointfit_iteration(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Prop 3.2: exact values φ(k), k = 0..n−1, against f(k/(n−1)) (rigorous enclosure).

    The proposition speaks of the samples y_k it is given (here y_k = f(k/(n−1)), a dyadic of
    f where f is not rational there): they go into the details, and the kernel re-derives
    max |φ(k) − y_k| from the statement's pieces.  The bounds reported stay sound for f and
    bracket that exact error too (lower: the smaller, upper: the larger of the two), so
    the certificate and the kernel agree on the same numbers."""

    n = params["n"]
    ys, _ = pointfit_data(params, target)
    out = evaluate(net, [[fmpq(k) for k in range(n)]])[0]
    upper, lower, wit = fmpq(0), fmpq(0), []
    for k, v in enumerate(out):
        x = fmpq(k, n - 1)
        lo_e, hi_e = box_error(target, [(x, x)], v, v)
        if hi_e > upper:
            upper, wit = hi_e, [{"x": [str(k)], "error_upper": str(hi_e)}]
        lower = max(lower, lo_e)
    on_samples = max(abs(v - y) for v, y in zip(out, ys))
    return ErrorReport(min(lower, on_samples), max(upper, on_samples), wit, set(),
                       {"points": n, "method": "exact evaluation", "y": [str(y) for y in ys]},
                       evidence=PIECES)


def method_merge_iterations(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Prop 3.3: L̃3 ∘ g2^{∘r2} ∘ L̃2 ∘ g1^{∘r1} ∘ L̃1 = L2 ∘ g^{∘(r1+r2+1)} ∘ L1 on [−A, A], by
    exact 1-D enumeration of both sides (clock gadgets evaluated as plain networks: no
    specification is trusted) and exact comparison at every breakpoint of either side (both
    are linear between consecutive points of the union, so this proves the identity)."""

    ins = merge_instance(params)
    A = ins["A"]
    lhs = network(affine(*ins["L1"]), Rep(ins["g1"], ins["r1"]), affine(*ins["L2"]),
                  Rep(ins["g2"], ins["r2"]), affine(*ins["L3"]))
    pl_l = enumerate_1d(lhs, -A, A)
    pl_r = enumerate_1d(net, -A, A)
    pts = sorted(set(pl_l.points) | set(pl_r.points))
    a = evaluate(lhs, [pts])[0]
    b = evaluate(net, [pts])[0]
    worst, wit = fmpq(0), []
    for x, u, v in zip(pts, a, b):
        if abs(u - v) > worst:
            worst, wit = abs(u - v), [{"x": [str(x)], "error": str(abs(u - v))}]
    # the kernel's line-identity: the left side as a network, cut at every neuron's kink of
    # either side (its sign test needs them all, not only where the slope changes)
    kinks = set(enumerate_1d(lhs, -A, A, minimal=False).points) | set(enumerate_1d(net, -A, A, minimal=False).points)
    ev = dict(evidence.line(kinks | set(pts)), network=evidence.stored_network(lhs)[0])
    return ErrorReport(worst, worst, wit, set(),
                       {"A": str(A), "breakpoints_lhs": len(pl_l.points), "breakpoints_rhs": len(pl_r.points),
                        "compared_points": len(pts), "method": "exact 1-D enumeration of both sides"},
                       evidence=ev)


def method_selector(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma E.2: ψ(u, v, t) = (u, t) on [−M, M]^{2d} × [1, T] and (v, t) on [−M, M]^{2d} × [−T, −1],
    by exact affine analysis on the two boxes (every ReLU has one weak sign there, so ψ is
    affine on each box and its exact affine form is compared with the claim; a differing form
    gives its exact worst corner as the error)."""
    d = params["d"]
    M, T = as_fmpq(params["M"]), as_fmpq(params["T"])
    n = 2 * d + 1
    zero, one = fmpq(0), fmpq(1)
    eye = [[one if j == i else zero for j in range(n)] + [zero] for i in range(n)]
    worst, wit, boxes = fmpq(0), [], []
    for t_lo, t_hi, pick in ((one, T, 0), (-T, -one, d)):
        blo, bhi = [-M] * (2 * d) + [t_lo], [M] * (2 * d) + [t_hi]
        X = Forms(fmpq_mat(n, n + 1, [v for r in eye for v in r]), blo, bhi)
        try:
            Y = Engine().apply(net, X, True, True)
        except StepFailure as exc:
            return ErrorReport(fmpq(0), fmpq(1), [], set(),
                               {"method": "exact affine analysis", "failure": str(exc)},
                               evidence=evidence.PIECES)
        want = [eye[pick + i] for i in range(d)] + [eye[2 * d]]
        for i in range(d + 1):
            diff = [a - b for a, b in zip(form_row(Y, i), want[i])]
            # exact max of |affine difference| over the box: at one of two opposite corners
            for sgn in (1, -1):
                corner = [bhi[j] if sgn * diff[j] > 0 else blo[j] for j in range(n)]
                val = abs(sum(c * x for c, x in zip(diff, corner)) + diff[-1])
                if val > worst:
                    worst, wit = val, [{"x": [str(v) for v in corner], "error": str(val)}]
        boxes.append(f"[-M, M]^{2 * d} x [{t_lo}, {t_hi}]")
    return ErrorReport(worst, worst, wit, set(), {"boxes": boxes, "method": "exact affine analysis"},
                       evidence=evidence.PIECES)


METHODS = methods(
    Method("composition-offtrifling", method_offtrifling, measure=measure_composition),
    Method("composition-lp", method_lp, measure=measure_composition),
    Method("composition-uniform", method_uniform, measure=measure_composition),
    Method("composition-step-iteration", method_step_iteration, measure=measure_composition),
    Method("composition-bitsum-iteration", method_bitsum_iteration, measure=measure_composition),
    Method("composition-pointfit-iteration", method_pointfit_iteration, measure=measure_composition),
    Method("composition-merge-iterations", method_merge_iterations, measure=measure_composition),
    Method("composition-selector", method_selector),
)
