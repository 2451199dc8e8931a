"""Certification of NestNet constructions (Shen, Yang, Zhang, NeurIPS 2022).

Architecture (:func:`measure_nestnet`, the methods' ``measure`` hook): the paper's parameter
count ``nest_params`` (every distinct activation network counted once, identity and ReLU free),
the height, and the top level's plain measurements.

Error (:class:`GapEvaluator`), exact and compositional.  Inputs are groups of V exact points
(the 2^d corners of a closed cell, the two ends of an interval, or one point):

* a ReLU whose pre-activation has the same weak sign at every point of a group is affine on the
  group's hull (the pre-activation is affine there by induction), otherwise the analysis fails;
* a nested floor activation (``nestnet-floor``, claimed ⌊u⌋ on ∪_{ℓ<count} [ℓ, ℓ+1−gap]) whose input
  hull lies in one [ℓ, ℓ+1−gap] outputs the constant ℓ: the *gap condition*, checked exactly, and
  an obligation "the floor network is ≡ ℓ on [ℓ, ℓ+1−gap]" is recorded;
* a nested bit sum (``nestnet-bitsum``, claimed p + bin0.ξ ↦ Σ_{ℓ≤p} ξ_ℓ on a finite set) whose
  input is one point of that set outputs the claimed sum, with an obligation for that point.

Obligations are then discharged from the highest height down by running each activation network
on its intervals (V = 2) with the same rules, which creates obligations only for lower heights;
height-1 networks are plain ReLU networks and create none.  So every nested value the analysis
used is proved, and each activation network is run only on the distinct intervals/points it is
used on.  A floor (or step) whose weights are exactly Lemma C.2's / C.3's (Prop B.1's) is read off
the lemma instead of run (:mod:`proofs.nestnet.floor_lemmas`; any other weights: run as above).  A group whose outputs agree is therefore one on which the network is constant.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, fields, replace
from typing import Any, Optional

import numpy as np
import sympy
from flint import arb, fmpq

from certify import evidence
from certify.analysis.boxes import analyse_boxes
from certify.analysis.gadget_certs import certify_gadgets
from certify.analysis.mid_repair import MidRepairShape, distinct_copies, median_interval, mid_repair_structure
from certify.analysis.ranges import output_range
from certify.analysis.trifling import (box_error, constant_cell_errors, lp_bounds, shifted_grid, strip_sup,
                                       trifling_cells, trifling_lp)
from certify.evidence import PIECES
from certify.method import ErrorReport, Method, methods
from constructive import architecture as arch
from constructive.activations import IDENTITY, RELU
from constructive.errors import UserError
from constructive.evaluate import Interpreter
from constructive.ir import Activation, Affine, Gadget, Network, Node, Parallel
from constructive.numbers import Exact, QMatrix, as_fmpq, precision
from proofs.nestnet import gadgets as G
from proofs.nestnet.build import check_instance, grid_K, linf_delta, lp_delta, nest_params, nested_activations
from proofs.nestnet.collapse import run_gadget
from proofs.nestnet.floor_lemmas import discharge_by_lemma, step_by_lemma
from proofs.nestnet.lemma_d6 import method_lemma_d6

PREC = 192


# ------------------------------------------------------------------------------------------------
# architecture


@dataclass(frozen=True)
class NestArchitecture(arch.Architecture):
    nest_params: int = 0  # the paper's count (§2.1)
    outer_params: int = 0  # Σ #L of the top level only (distinct activations not included)
    activations: int = 0  # distinct activation networks at all levels

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(nest_params=self.nest_params, outer_params=self.outer_params,
                   activations=self.activations)
        return out


def _all_activations(net: Node) -> set:

    seen: dict[int, Network] = {}
    todo = [net]
    while todo:
        cur = todo.pop()
        for f in nested_activations(cur):
            if id(f) not in seen:
                seen[id(f)] = f
                todo.append(f)
    return set(seen)


def measure_nestnet(net: Node) -> NestArchitecture:
    base = arch.measure(net)
    kw = {f.name: getattr(base, f.name) for f in fields(arch.Architecture)}
    outer = sum(layer.dense() for layer in arch.layers(net))
    return NestArchitecture(**kw, nest_params=nest_params(net), outer_params=outer,
                            activations=len(_all_activations(net)))


# ------------------------------------------------------------------------------------------------
# the gap evaluator


class GapFailure(Exception):
    pass


@dataclass
class Obligations:
    """Per activation network: {key: (a, b, claimed value)} and the keys already proved."""

    nets: dict
    items: dict
    done: dict

    @staticmethod
    def new() -> "Obligations":
        return Obligations({}, {}, {})

    def add(self, net: Network, a: fmpq, b: fmpq, value: fmpq) -> None:
        k = id(net)
        if k not in self.nets:
            self.nets[k] = net
            self.items[k] = {}
            self.done[k] = set()
        key = (int(a.p), int(a.q), int(b.p), int(b.q))
        if key not in self.items[k]:
            self.items[k][key] = (a, b, value)

    def pending(self) -> Optional[int]:
        best, hb = None, -1
        for k, items in self.items.items():
            if len(items) > len(self.done[k]):
                h = dict(self.nets[k].nodes[0].params)["height"]
                if h > hb:
                    best, hb = k, h
        return best


class GapEvaluator(Interpreter):
    """Exact group-wise evaluation with ReLU sign checks and nested gadget substitution."""

    def __init__(self, V: int, obligations: Obligations, tolerant: bool = False) -> None:
        # big integer batches: reduce by powers of two and small odd parts, never periodically
        super().__init__(Exact(reduce_every=0, cheap=True))
        self.V = V
        self.ob = obligations
        # tolerant: a failing group is marked in ``bad`` (and records no obligations) instead of
        # aborting the whole batch; its outputs are then meaningless
        self.tolerant = tolerant
        self.bad: Optional[np.ndarray] = None

    def _fail(self, mask: np.ndarray, why: str) -> None:
        """``mask``: per group, True where the group failed."""
        if not mask.any():
            return
        if not self.tolerant:
            raise GapFailure(why)
        self.bad = mask if self.bad is None else (self.bad | mask)

    def _good(self, groups: int) -> np.ndarray:
        return np.ones(groups, dtype=bool) if self.bad is None else ~self.bad

    def parallel(self, node: Parallel, X: QMatrix) -> QMatrix:
        # part by part: batching copies side by side would change the group count of ``bad``
        out, s = [], 0
        for p in node.parts:
            out.append(self.run(p, QMatrix(X.num[s:s + p.in_dim], X.den)))
            s += p.in_dim
        return self.ctx.vstack(out)
    def gadget(self, node: Gadget, X: QMatrix) -> QMatrix:
        by_lemma = step_by_lemma(self, node, X)  # Prop B.1 on whole groups, weights checked
        return by_lemma if by_lemma is not None else run_gadget(self, node, X)

    def _groups(self, row: np.ndarray) -> np.ndarray:
        return row.reshape(-1, self.V)

    def activation(self, node: Activation, X: QMatrix) -> QMatrix:
        pieces = []
        for a, b, f in node.groups():
            part = QMatrix(X.num[a:b], X.den)
            if f is RELU:
                if self.V > 1:
                    cube = part.num.reshape(b - a, -1, self.V)
                    ok = (cube >= 0).all(axis=2) | (cube <= 0).all(axis=2)
                    self._fail(~ok.all(axis=0), "a ReLU changes sign inside a group")
                pieces.append(QMatrix(np.maximum(part.num, 0), part.den))
            elif f is IDENTITY:
                pieces.append(part)
            elif isinstance(f, Network) and G.nested_kind(f) == G.FLOOR:
                pieces.append(self.floor(f, part))
            elif isinstance(f, Network) and G.nested_kind(f) == G.BITSUM:
                pieces.append(self.bitsum(f, part))
            else:
                raise GapFailure(f"unsupported activation {getattr(f, 'name', f)!r}")
        return pieces[0] if len(pieces) == 1 else self.ctx.vstack(pieces)

    def floor(self, f: Network, X: QMatrix) -> QMatrix:
        p = dict(f.nodes[0].params)
        gap, count = p["gap"], p["count"]
        r = X.shape[0]
        cube = X.num.reshape(r, -1, self.V)
        if self.V > 1:
            lo, hi = cube.min(axis=2), cube.max(axis=2)
        else:
            lo = hi = cube[:, :, 0]
        den = X.den
        ell = lo // den  # exact floor of the group minimum
        # hi ≤ ℓ + 1 − gap  ⇔  hi − ℓ·den ≤ den − ⌈gap·den⌉ (all integers), for all groups at once
        thr = den - (-((-int(gap.p) * den) // int(gap.q)))
        ok = (hi - ell * den <= thr) & (ell >= 0) & (ell < count)
        self._fail(~ok.all(axis=0), "a floor input leaves its gap interval")
        good = self._good(ell.shape[1])
        for L in set(int(v) for v in ell[:, good].flat):
            self.ob.add(f, fmpq(L), fmpq(L + 1) - gap, fmpq(L))
        return QMatrix(np.repeat(ell, self.V, axis=1), 1)

    def bitsum(self, f: Network, X: QMatrix) -> QMatrix:
        m = dict(f.nodes[0].params)["bits"]
        r = X.shape[0]
        cube = X.num.reshape(r, -1, self.V)
        first = cube[:, :, 0]
        if self.V > 1:
            self._fail(~(cube == first[:, :, None]).all(axis=2).all(axis=0),
                       "a bit-sum input is not constant on a group")
        known: dict = {}
        vals = np.zeros(first.shape, dtype=object)
        for idx, v in np.ndenumerate(first):
            if not self._good(first.shape[1])[idx[1]]:
                continue
            v = int(v)
            ref = known.get(v)
            if ref is None:
                x = fmpq(v, X.den)
                ref = G.bitsum_reference(x, m)
                if ref is None:
                    mask = np.zeros(first.shape[1], dtype=bool)
                    mask[idx[1]] = True
                    self._fail(mask, f"a bit-sum input {x} is not of the form p + bin0.ξ (m = {m})")
                    continue
                known[v] = ref
                self.ob.add(f, x, x, fmpq(ref))
            vals[idx] = ref
        return QMatrix(np.repeat(vals, self.V, axis=1), 1)


def discharge(ob: Obligations, chunk: int = 4096, use_lemmas: bool = True) -> dict:
    """Prove every recorded obligation (highest height first); returns per-network statistics.
    A floor whose body is exactly Lemma C.2's / C.3's is proved by the lemma (floor_lemmas)."""
    stats: dict = {}
    while True:
        k = ob.pending()
        if k is None:
            return stats
        net = ob.nets[k]
        todo = [key for key in ob.items[k] if key not in ob.done[k]]
        gname = net.nodes[0].name
        prm = dict(net.nodes[0].params)
        label = f"{gname}(height {prm['height']}, " + \
            (f"count {prm['count']})" if gname == G.FLOOR else f"bits {prm['bits']})")
        if use_lemmas and discharge_by_lemma(ob, k, todo):  # weights checked to be the lemma's
            stats[label + " by its lemma"] = stats.get(label + " by its lemma", 0) + len(todo)
            continue
        for start in range(0, len(todo), chunk):
            part = todo[start:start + chunk]
            cols = [[v] for key in part for v in ob.items[k][key][:2]]
            ev = GapEvaluator(2, ob)
            X = ev.ctx.points(cols)
            Y = ev.run(net.nodes[0].body, X)
            den = Y.den
            for idx, key in enumerate(part):
                a, b, want = ob.items[k][key]
                ya, yb = Y.num[0, 2 * idx], Y.num[0, 2 * idx + 1]
                if ya != yb or fmpq(int(ya), den) != want:
                    raise GapFailure(f"{label} is not {want} on [{a}, {b}]")
                ob.done[k].add(key)
        stats[label] = stats.get(label, 0) + len(todo)


def group_values(net: Node, groups: list[list[list[fmpq]]], ob: Optional[Obligations] = None,
                 discharge_now: bool = True, tolerant: bool = False
                 ) -> tuple[list[Optional[fmpq]], Obligations, dict]:
    """Exact constant value of ``net`` on each group's hull (None where the outputs differ or,
    with ``tolerant``, where the analysis failed for that group)."""
    ob = ob or Obligations.new()
    V = len(groups[0])
    cols = [pt for grp in groups for pt in grp]
    ev = GapEvaluator(V, ob, tolerant)
    X = ev.ctx.points(cols)
    Y = ev.run(net, X)
    good = ev._good(len(groups))
    out: list[Optional[fmpq]] = []
    for g in range(len(groups)):
        vals = {int(v) for v in Y.num[0, g * V:(g + 1) * V]}
        out.append(fmpq(vals.pop(), Y.den) if len(vals) == 1 and good[g] else None)
    stats = discharge(ob) if discharge_now else {}
    return out, ob, stats


def _corners(box: list) -> list[list[fmpq]]:
    return [list(c) for c in itertools.product(*[(a, b) for a, b in box])]


# ------------------------------------------------------------------------------------------------
# theorem methods


def _cells(params: dict, delta: fmpq) -> tuple[int, list]:
    d, s, n = int(params["d"]), int(params["s"]), int(params["n"])
    K = grid_K(d, s, n)
    return K, trifling_cells(d, K, delta)


def _cell_analysis(net: Node, cells: list) -> tuple[list, dict, int]:
    try:
        vals, _, stats = group_values(net, [_corners(c) for c in cells])
    except GapFailure as exc:
        return [], {"failure": str(exc)}, len(cells)
    bad = sum(1 for v in vals if v is None)
    return vals, stats, bad


def _cell_ends(K: int, delta: fmpq) -> list[fmpq]:
    """The cut points of one axis: 0, 1 and both ends of every cell [k/K, (k+1)/K − δ]."""
    return sorted({a for iv in trifling_cells(1, K, delta) for a in iv[0]} | {fmpq(0), fmpq(1)})


def _inconclusive(why: str, details: dict) -> ErrorReport:
    with precision(PREC):
        return ErrorReport(fmpq(0), arb("inf"), [], set(), dict(details, failure=why))


def method_offtrifling(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    d = int(params["d"])
    values = thm.values(params)  # K and δ are the statement's (the kernel reads the same)
    delta = fmpq(str(values[sympy.Symbol("delta")]))
    K, cells = _cells(params, delta)
    vals, stats, bad = _cell_analysis(net, cells)
    details = {"cells": len(cells), "K": K, "delta": str(delta), "obligations": stats}
    if bad:
        return _inconclusive(f"{bad} cell(s) not shown constant", details)
    upper, lower, worst = fmpq(0), fmpq(0), None
    for box, v in zip(cells, vals):
        lo_e, hi_e = box_error(target, box, v, v)
        if lo_e > lower:
            worst = (box, v)
        upper, lower = max(upper, hi_e), max(lower, lo_e)
    # the kernel re-derives the bound on the grid of cell ends (K and δ are the statement's)
    axis = _cell_ends(K, delta)
    wit, at_point = _corner_witness(target, *worst) if worst else ([], None)
    if at_point is not None and at_point > lower:
        lower = at_point  # the exact point can say more than the cell's enclosure
    return ErrorReport(lower, upper, wit, set(), details, evidence=evidence.grid([axis] * d))


def _corner_witness(target: Any, box: list, value: fmpq) -> tuple[list, arb]:
    """An exact point of the worst cell (φ = ``value`` there) and a rigorous lower bound of
    |f − φ| there."""
    with precision(PREC):
        best = max(_corners(box), key=lambda x: abs(target.ball(x, prec=PREC) - value).lower())
        err = arb(abs(target.ball(best, prec=PREC) - value).lower())
    return [{"x": [str(c) for c in best], "value": str(value), "error_lower": err.str(20)}], err


def _clip_range(net: Node) -> Optional[tuple[fmpq, fmpq]]:
    """The output range from the final clip gadget: φ = clip + c (structure of aux_network)."""
    def top(node: Node):  # the gadgets of this level (not inside nested activations)
        yield node
        if not isinstance(node, Activation):
            for c in node.children():
                yield from top(c)

    clips = [g for g in top(net) if isinstance(g, Gadget) and g.name == "nestnet-clip"]
    last = net.nodes[-1] if isinstance(net, Network) else None
    if len(clips) != 1 or not isinstance(last, Affine) or last.W.nrows() != 1 or last.W[0, 0] != 1:
        return None
    # the clip must be the last operation before the output map (through enclosing gadgets)
    node = net.nodes[-2] if len(net.nodes) > 1 else None
    while isinstance(node, Gadget) and node is not clips[0]:
        node = node.body.nodes[-1]
    if node is not clips[0] or last.W.ncols() != 1:
        return None
    lo, hi = clips[0].spec.range
    c = last.b[0, 0]
    return lo + c, hi + c


def method_lp(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    d, s, n = int(params["d"]), int(params["s"]), int(params["n"])
    p = as_fmpq(params.get("p", 2))
    K = grid_K(d, s, n)
    delta = lp_delta(target, d, s, n, p, K)
    K, cells = _cells(params, delta)
    vals, stats, bad = _cell_analysis(net, cells)
    details = {"cells": len(cells), "K": K, "delta": str(delta), "p": str(p), "obligations": stats}
    grid = evidence.grid([_cell_ends(K, delta)] * d)
    rng = _clip_range(net)
    if bad or rng is None:
        # the compositional analysis does not apply (a nested gadget off its lemma, no final
        # clip): the flat analysis of the grid that the kernel also runs still bounds the error
        why = f"{bad} cell(s) not shown constant" if bad else "no final clip gadget"
        lower, upper, used = _flat_grid_lp(net, target, _cell_ends(K, delta), d, p)
        return ErrorReport(lower, upper, [], used, dict(details, flat_grid=why), evidence=grid)
    # on Ω: |φ − f| ≤ sup over the cube, with φ ∈ [lo, hi] everywhere (clip gadget range)
    sup_omega = strip_sup(target, [([(fmpq(0), fmpq(1))] * d, rng[0], rng[1])])
    lower, upper, meas = trifling_lp(constant_cell_errors(target, cells, vals), d, K, delta,
                                     sup_omega, p)
    details.update(trifling_measure=str(meas), trifling_sup=str(sup_omega),
                   output_range=[str(rng[0]), str(rng[1])])
    # the kernel re-derives the L^p bound on the grid of cell ends: φ is affine on each cell, and
    # on the strips between them interval propagation meets the clip, so φ ∈ [lo, hi] there too
    return ErrorReport(lower, upper, [], {"nestnet-clip"}, details, evidence=grid)


def _flat_grid_lp(net: Node, target: Any, axis: list, d: int, p: fmpq) -> tuple[arb, arb, set]:
    """‖f − φ‖_p from every box of the grid axis^d: exact where φ is affine on the box, else
    interval propagation (the clip's specification trusted, so its certificate must hold)."""
    edges = list(zip(axis, axis[1:]))
    boxes = [list(b) for b in itertools.product(edges, repeat=d)]
    results, used = analyse_boxes(net, boxes, trusted={CLIP})
    if any(r.lo[0] is None or r.hi[0] is None for r in results):
        with precision(PREC):
            return arb(0), arb("inf"), used
    errors = [(r.box, *box_error(target, r.box, r.lo[0], r.hi[0])) for r in results]
    lower, upper = lp_bounds(errors, fmpq(0), fmpq(0), p)
    return lower, upper, used


def method_linf(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Thm 2.1, p = ∞, d ≤ 2: φ = d levels of mid over g_m(x + t_m), m < 3^d (Theorem A.2).

    The shifts t_m and the 3^d copies g_m are read from the network (its first affine map and
    its Parallel); every distinct copy is analysed on its own shifted boxes.  [0, 1]^d is cut
    into boxes at every cell and strip end of the planned shifted grids (any cover is sound: the
    plan only decides where values are determined); on each box every shifted copy is certified
    constant (gap evaluator, tolerant mode) or left unknown.  The mid levels are then followed
    with :func:`~certify.analysis.mid_repair.median_interval`: along each axis at most one of three shifted points is in a
    strip (δ ≤ 1/(3K)), so each median has two known arguments; mid itself is certified by
    region enumeration of each mid gadget in the network.
    """

    d, s, n = int(params["d"]), int(params["s"]), int(params["n"])
    K = grid_K(d, s, n)
    delta = linf_delta(d, s, n, K, target.alpha)
    details: dict = {"K": K, "delta": str(delta)}
    # the kernel re-derives the bound on the same boxes (grid-sup): where one shifted copy is in
    # its strip it cuts the network after the copies and walks the median exactly
    axis = sorted({a for box in shifted_grid(1, K, delta) for a in box[0]} | {fmpq(0), fmpq(1)})
    grid = evidence.grid([axis] * d)
    try:
        shifts, copies, out_affine = mid_repair_structure(net, d)
    except MidRepairShape as exc:
        return replace(_inconclusive(str(exc), details), evidence=grid)
    details["shifts"] = [[str(c) for c in t] for t in shifts]
    boxes = shifted_grid(d, K, delta)
    details["boxes"] = len(boxes)
    S = len(shifts)
    vals: list[Optional[fmpq]] = [None] * (len(boxes) * S)
    stats: dict = {}
    distinct = distinct_copies(copies)
    details["distinct_copies"] = len(distinct)
    for g, ms in distinct:
        groups = [_corners([(a + ti, b + ti) for (a, b), ti in zip(box, shifts[m])])
                  for box in boxes for m in ms]
        try:
            got, _, st = group_values(g, groups, tolerant=True)
        except GapFailure as exc:  # an obligation on a nested network failed
            return replace(_inconclusive(str(exc), dict(details, obligations=stats)),
                           evidence=grid)
        for k, v in enumerate(got):
            vals[(k // len(ms)) * S + ms[k % len(ms)]] = v
        for key, c in st.items():
            stats[key] = stats.get(key, 0) + c
    details["obligations"] = stats
    scale, shift = out_affine.W[0, 0], out_affine.b[0, 0]
    upper, lower, unknown = fmpq(0), fmpq(0), 0
    for i, box in enumerate(boxes):
        level = [None if v is None else (v, v) for v in vals[S * i:S * (i + 1)]]
        while len(level) > 1:
            level = [median_interval(level[k:k + 3]) for k in range(0, len(level), 3)]
        iv = level[0]
        if iv is None:
            unknown += 1
            continue
        lo, hi = sorted((scale * iv[0] + shift, scale * iv[1] + shift))
        lo_e, hi_e = box_error(target, box, lo, hi)
        upper, lower = max(upper, hi_e), max(lower, lo_e)
    details["unknown_boxes"] = unknown
    if unknown:
        # no upper bound; the determined boxes still give a rigorous lower bound
        with precision(PREC):
            return ErrorReport(lower, arb("inf"), [], {"mid"},
                               dict(details, failure=f"{unknown} box(es) where the median is not "
                                                     "determined"), evidence=grid)
    return ErrorReport(lower, upper, [], {"mid"}, details, evidence=grid)


# ------------------------------------------------------------------------------------------------
# gadget methods


def _floor_error(net: Node, intervals: list, want: list) -> tuple[fmpq, list, dict]:
    try:
        vals, _, stats = group_values(net, [[[a], [b]] for a, b in intervals])
    except GapFailure as exc:
        raise UserError(f"the floor could not be shown constant on its intervals: {exc}") from None
    worst, wit = fmpq(0), []
    for (a, b), v, w in zip(intervals, vals, want):
        if v is None:
            # not constant: an exact witness at one end
            raise UserError(f"the floor is not constant on [{a}, {b}]")
        if abs(v - w) > worst:
            worst = abs(v - w)
            wit = [{"x": [str(a)], "error": str(worst)}]
    return worst, wit, stats


def method_floor(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma C.1 / C.2 / C.3: the floor on every one of its gapped intervals, exactly; the
    intervals and values are the statement's (claim.pieces), never read from the network."""
    intervals, values = _statement_intervals(thm, params)
    worst, wit, stats = _floor_error(net, intervals, values)
    return ErrorReport(worst, worst, wit, set(), {"intervals": len(intervals), "gap": str(params["gap"]),
                                                 "obligations": stats}, evidence=PIECES)


def _statement_intervals(thm: Any, params: dict) -> tuple[list, list]:
    pieces = thm.pieces(params)
    return [(lo[0], hi[0]) for lo, hi, _ in pieces], [value[0] for _, _, value in pieces]


def method_step(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Prop B.1: ⌊x⌋ on [j, j+1−δ] for j < J and J on [J, J+1], on every interval, exactly."""
    intervals, values = _statement_intervals(thm, params)
    worst, wit, stats = _floor_error(net, intervals, values)
    return ErrorReport(worst, worst, wit, set(), {"intervals": len(intervals), "obligations": stats},
                       evidence=PIECES)


def random_bits(count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(0, 1) for _ in range(count)]


def method_bitsum(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma D.2: k + bin0.θ ↦ Σ_{ℓ≤k} θ_ℓ for k = 0..n^s, exactly (random θ from the seed)."""
    n, s = int(params["n"]), int(params["s"])
    m = n ** s
    theta = random_bits(m, int(params["seed"]))
    x0 = G.bin0(theta)
    pts = [[[fmpq(k) + x0]] for k in range(m + 1)]
    try:
        vals, _, stats = group_values(net, pts)
    except GapFailure as exc:
        raise UserError(f"bit-sum analysis failed: {exc}") from None
    worst, wit = fmpq(0), []
    for k, v in enumerate(vals):
        e = abs(v - sum(theta[:k]))
        if e > worst:
            worst, wit = e, [{"x": [str(fmpq(k) + x0)], "error": str(e)}]
    # θ is the instance's data: the kernel evaluates the statement's points and sums over it
    return ErrorReport(worst, worst, wit, set(), {"bits": m, "theta": theta, "obligations": stats},
                       evidence=PIECES)


def method_point_fit(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Prop B.2: |φ(j) − y_j| ≤ ε at every j < J, exactly; output range from the clip gadget."""
    ys, eps = G.point_fit_samples(params)
    try:
        vals, _, stats = group_values(net, [[[fmpq(j)]] for j in range(len(ys))])
    except GapFailure as exc:
        raise UserError(f"point-fit analysis failed: {exc}") from None
    worst, wit = fmpq(0), []
    for j, (v, y) in enumerate(zip(vals, ys)):
        e = abs(v - y)
        if e > worst:
            worst, wit = e, [{"x": [str(j)], "error": str(e)}]
    # y is the instance's data: the kernel compares φ(j) with y[j] at the statement's points
    return ErrorReport(worst, worst, wit, {"nestnet-clip"},
                       {"points": len(ys), "eps": str(eps), "y": [str(y) for y in ys],
                        "obligations": stats}, evidence=PIECES)


# ------------------------------------------------------------------------------------------------
# the range parts of the statements, certified as claims of their own
#
# Prop B.2 (ii): 0 <= φ <= max y on R (quantity: the distance of φ's range from [0, max y], claimed
# 0); Thm A.1: ‖φ‖_{L∞(R^d)} <= |f(0)| + ω(√d) (quantity: sup |φ| − |f(0)|, claimed <= ω(√d)).
# Upper bounds from interval propagation over R^d trusting only the final clip min{σ(t), M}, whose
# spec (range [0, M] on R) the gadget certificates check, so it holds whatever the nested blocks
# before it compute; lower bounds from exact values at points (VIOLATED comes with a witness).


CLIP = "nestnet-clip"


def _range(net: Any) -> tuple[Optional[fmpq], Optional[fmpq], set]:
    """The output range over R^d, or (None, None) when a clip specification it rests on does
    not hold for its body (then nothing is shown, and exact witnesses decide alone)."""
    ivs, used = output_range(net, trusted={CLIP})
    if not all(c["holds"] for c in certify_gadgets(net, used)):
        return None, None, used
    lo, hi = ivs[0]
    return lo, hi, used


def method_point_fit_range(thm: Any, params: dict, target: Any, net: Any) -> ErrorReport:
    ys, _ = G.point_fit_samples(params)
    top = max(ys)
    lo, hi, used = _range(net)
    upper: Any = arb("inf") if lo is None or hi is None else max(fmpq(0), -lo, hi - top)
    vals, _, _ = group_values(net, [[[fmpq(j)]] for j in range(len(ys))], tolerant=True)
    lower, wit = fmpq(0), []
    for j, v in enumerate(vals):
        excess = None if v is None else max(-v, v - top)
        if excess is not None and excess > lower:
            lower, wit = excess, [{"x": [str(j)], "error": str(excess), "value": str(v)}]
    return ErrorReport(lower, upper, wit, used,
                       {"output_range": [str(lo), str(hi)], "max_y": str(top), "points": len(ys),
                        "y": [str(v) for v in ys]},
                       evidence=evidence.split(net, fmpq(0), top))


def method_offtrifling_range(thm: Any, params: dict, target: Any, net: Any) -> ErrorReport:
    d, s, n = int(params["d"]), int(params["s"]), int(params["n"])
    K = grid_K(d, s, n)
    lo, hi, used = _range(net)
    pts = [[fmpq(b, K) for b in beta] for beta in itertools.product(range(K), repeat=d)]
    vals, _, _ = group_values(net, [[p] for p in pts], tolerant=True)
    with precision(PREC):
        # |f(0)| exactly when the target is rational there: a constant target's φ is exactly
        # f(0), and a ball around |f(0)| would leave sup|φ| − |f(0)| a hair above 0
        exact = getattr(target, "rational_valued", False)
        f0q = abs(target.exact([fmpq(0)] * d)) if exact else None
        f0 = arb(f0q) if exact else abs(target.ball([fmpq(0)] * d, prec=PREC))

        def minus_f0(x: fmpq, side: str) -> arb:
            # x − |f(0)|: exact for a rational f(0), else the ball end that keeps the bound sound
            return arb(x - f0q) if exact else arb(x) - arb(f0.lower() if side == "upper" else f0.upper())

        sup_phi = None if lo is None or hi is None else max(abs(lo), abs(hi))
        upper = arb("inf") if sup_phi is None else minus_f0(sup_phi, "upper")
        lower, wit = minus_f0(fmpq(0), "lower"), []
        for p, v in zip(pts, vals):
            if v is None:
                continue
            cand = minus_f0(abs(v), "lower")
            if cand > lower:
                lower, wit = cand, [{"x": [str(c) for c in p], "value": str(v),
                                     "error_lower": cand.str(20, radius=True)}]
    return ErrorReport(lower, upper, wit, used,
                       {"output_range": [str(lo), str(hi)], "abs_f0": f0.str(20, radius=True),
                        "points": len(pts)}, evidence=evidence.split(net, *((lo, hi) if lo is not None else (fmpq(0), fmpq(0)))))


def precheck(params: dict) -> None:
    """Raise UserError before any work when an instance is out of its domain or would need more
    than the memory budget (NESTNET_MEMORY_MB).  Exposed as ``method.precheck`` so that a sweep
    can validate every instance before it starts (the builders call the same check)."""

    d, s, n = int(params.get("d", 1)), int(params.get("s", 1)), int(params.get("n", 1))
    check_instance(d, s, n)


METHODS = methods(
    Method("nestnet-offtrifling", method_offtrifling, measure=measure_nestnet, precheck=precheck),
    Method("nestnet-lp", method_lp, measure=measure_nestnet, precheck=precheck),
    Method("nestnet-linf", method_linf, measure=measure_nestnet, precheck=precheck),
    Method("nestnet-floor", method_floor, measure=measure_nestnet),
    Method("nestnet-step", method_step, measure=measure_nestnet),
    Method("nestnet-bitsum", method_bitsum, measure=measure_nestnet),
    Method("nestnet-point-fit", method_point_fit, measure=measure_nestnet),
    Method("nestnet-point-fit-range", method_point_fit_range, measure=measure_nestnet),
    Method("nestnet-offtrifling-range", method_offtrifling_range, measure=measure_nestnet,
           precheck=precheck),
    Method("nestnet-lemma-d6", method_lemma_d6),
)
