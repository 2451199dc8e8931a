"""Certified sup error of a trained ReLU network against a target formula on a box.

The network is imported exactly (``constructive.network_files``: every float weight is a dyadic
rational), so the function certified is the one the weights define in exact arithmetic.

1-D (``method = "pl1d-exact"``)
    :func:`certify.analysis.pl1d.enumerate_1d` gives the network *exactly* as a continuous
    piecewise-linear function on [lo, hi]: its kinks and exact values there.  On a piece [a, b]
    the network is an affine L, so e = f − L has e'' = f'' and

        sup_[a,b] |e| ≤ max(|e(a)|, |e(b)|) + (b − a)²/8 · sup_[a,b] |f''|

    (linear interpolation error of e; needs f ∈ C² there: only for formulas without Abs, Min,
    Max, Piecewise, sign, and with f'' finite on the ball).  Otherwise the mean-value form
    |e(m)| + (b − a)/2 · sup |f' − L'| (f Lipschitz: Abs, Min, Max allowed; Clarke gradient as in
    :mod:`constructive.targets.user`), otherwise plain ball enclosures of f and L.  f, f' and f''
    are arb ball evaluations of the sympy formula; pieces whose bound exceeds the goal are
    bisected at short dyadic points (L stays exact there).
d-D (``method = "boxes"``)
    Branch and bound over sub-boxes with :func:`certify.analysis.boxes.analyse_boxes` (exact
    vertex values where the network is affine on the box, exact interval enclosures otherwise)
    and the mean-value form of f − (affine) from the box centre when f is Lipschitz there.

Verdicts: HOLDS when the certified upper bound is ≤ tol; VIOLATED when at an exact rational
point the ball of |f(x) − N(x)| lies entirely above tol; INCONCLUSIVE otherwise (budget spent).
"""

from __future__ import annotations

import bisect
import heapq
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
import sympy as sp
from flint import arb, fmpq

from certify.analysis.boxes import analyse_boxes, bisect_widest
from certify.analysis.pl1d import enumerate_1d
from certify.progress import advance
from constructive.errors import UserError
from constructive.ir import Activation, Affine, Network, walk
from constructive.numbers import as_fmpq, precision
from constructive.targets.compile import compile_expr
from constructive.targets.contexts import ArbContext, Flags, Unsupported
from constructive.targets.parse import parse, symbols_for
from constructive.targets.rationals import arb_to_fmpq_bounds

PREC = 128
_NOT_C2 = (sp.Abs, sp.Min, sp.Max, sp.Piecewise, sp.sign, sp.Heaviside)


# ---------------------------------------------------------------------------------------------
# the target: f, ∇f and (1-D) f'' as ball functions


@dataclass
class ErrorTarget:
    """A target formula in x1..xd, evaluated in arb balls on any box (not only [0, 1]^d)."""

    text: str
    dim: int
    expr: sp.Expr = field(init=False)
    f: Callable = field(init=False)
    grad: Optional[list] = field(init=False)    # ball gradient where f is Lipschitz, else None
    second: Optional[Callable] = field(init=False)  # f'' (1-D, f ∈ C² formulas only)

    def __post_init__(self) -> None:
        self.expr = parse(self.text, self.dim, "--target")
        syms = symbols_for(self.dim)

        def comp(e: sp.Expr) -> Optional[Callable]:
            try:
                return compile_expr(e, self.dim, ArbContext(strict=True, flags=Flags()))
            except Unsupported:
                return None

        f = comp(self.expr)
        if f is None:
            raise UserError(f"--target {self.text!r} cannot be evaluated in ball arithmetic")
        self.f = f
        self.grad = None
        self.second = None
        if not self.expr.has(sp.Piecewise):  # Piecewise may jump: no derivative bounds then
            grads = [comp(sp.diff(self.expr, s)) for s in syms]
            self.grad = grads if all(g is not None for g in grads) else None
        if self.dim == 1 and not self.expr.has(*_NOT_C2):
            self.second = comp(sp.diff(self.expr, syms[0], 2))

    def at(self, point: Sequence[fmpq]) -> arb:
        with precision(PREC):
            return self.f([arb(p) for p in point])

    def on(self, fn: Callable, box: Sequence[tuple[fmpq, fmpq]]) -> arb:
        with precision(PREC):
            return fn([_ball(a, b) for a, b in box])


def _ball(a: fmpq, b: fmpq) -> arb:
    return arb((a + b) / 2, (b - a) / 2) if a != b else arb(a)


def _upper(x: arb) -> Optional[fmpq]:
    """An exact rational ≥ every point of the ball (None when not finite)."""
    if not x.is_finite():
        return None
    return arb_to_fmpq_bounds(x, PREC)[1]


# ---------------------------------------------------------------------------------------------
# input checks


def parse_box(spec: Sequence[str], dim: int) -> list[tuple[fmpq, fmpq]]:
    """``["-1,1"]`` (repeated for every input) or one ``lo,hi`` per input, exact rationals."""
    if not spec:
        raise UserError("--box is missing; give lo,hi (once for all inputs or once per input)")
    sides = []
    for s in spec:
        parts = str(s).split(",")
        if len(parts) != 2:
            raise UserError(f"--box {s!r} is not lo,hi (two exact rationals separated by a comma)")
        try:
            lo, hi = (as_fmpq(p.strip()) for p in parts)
        except (TypeError, ValueError, ZeroDivisionError):
            raise UserError(f"--box {s!r}: ends must be exact rationals like -1, 1/2 or 0.25") from None
        if not lo < hi:
            raise UserError(f"--box {s!r}: need lo < hi")
        if max(abs(lo), abs(hi)) > 10**6:
            raise UserError(f"--box {s!r}: ends must lie in [-10^6, 10^6]")
        sides.append((lo, hi))
    if len(sides) == 1:
        sides = sides * dim
    if len(sides) != dim:
        raise UserError(f"--box has {len(sides)} sides but the network has {dim} inputs")
    return sides


def check_relu_network(net: Network) -> None:
    for node in walk(net):
        if isinstance(node, Activation) and any(getattr(f, "name", None) != "relu" for f in node.functions):
            raise UserError("the network has a non-ReLU activation; only ReLU networks are certified here")
        if not isinstance(node, (Activation, Affine, Network)):
            raise UserError(f"the network contains a {type(node).__name__}; only Linear/ReLU chains")
    if net.out_dim != 1:
        raise UserError(f"the network has {net.out_dim} outputs; the sup error needs one")


# ---------------------------------------------------------------------------------------------
# result


@dataclass
class TrainedResult:
    verdict: str
    method: str
    tol: fmpq
    upper: Optional[fmpq]                 # certified sup |f − N| ≤ upper (None: not bounded)
    lower: fmpq                           # certified sup |f − N| ≥ lower
    witness: Optional[list]               # exact point where |f − N| ≥ lower
    pieces: int                           # exact linear pieces (1-D) or boxes at the start
    cells: int                            # pieces / boxes examined in all
    seconds: float
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "method": self.method, "tol": str(self.tol),
                "certified_upper": None if self.upper is None else str(self.upper),
                "certified_upper_float": None if self.upper is None else float(self.upper),
                "certified_lower": str(self.lower), "certified_lower_float": float(self.lower),
                "witness": None if self.witness is None else [str(v) for v in self.witness],
                "pieces": self.pieces, "cells_examined": self.cells, "seconds": round(self.seconds, 3),
                "notes": self.notes}


def _verdict(upper: Optional[fmpq], lower_ball: arb, tol: fmpq) -> str:
    if upper is not None and upper <= tol:
        return "HOLDS"
    if lower_ball > arb(tol):
        return "VIOLATED"
    return "INCONCLUSIVE"


# ---------------------------------------------------------------------------------------------
# 1-D: exact pieces, then interpolation bounds


def _short_between(a: fmpq, b: fmpq) -> fmpq:
    """A short dyadic rational in the middle half of (a, b): keeps witnesses readable."""
    h = (b - a) / 4
    # 2^-k ≤ h/2 guarantees a multiple of 2^-k in [a + h, b − h]; start near that k
    k = max(0, int(h.q).bit_length() - int(h.p).bit_length() - 1)
    while True:
        scale = fmpq(2) ** k
        x = fmpq(((a + h) * scale).ceil()) / scale
        if x <= b - h:
            return x
        k += 1


def _piece_bound(t: ErrorTarget, a: fmpq, b: fmpq, ea: arb, eb: arb, na: fmpq, nb: fmpq) -> arb:
    """A ball containing sup_[a,b] |f − L| (L the affine function with L(a)=na, L(b)=nb)."""
    h = b - a
    ends = abs(ea).union(abs(eb)).upper()
    with precision(PREC):
        if t.second is not None:
            f2 = t.on(t.second, [(a, b)])
            if f2.is_finite():
                return ends + arb(h * h / 8) * abs(f2).upper()
        slope = (nb - na) / h
        if t.grad is not None:
            g = t.on(t.grad[0], [(a, b)])
            if g.is_finite():
                m = (a + b) / 2
                em = t.at([m]) - arb(na + (m - a) * slope)
                return abs(em).upper() + arb(h / 2) * abs(g - arb(slope)).upper()
        fr = t.on(t.f, [(a, b)])
        lo, hi = (na, nb) if na <= nb else (nb, na)
        return abs(fr - _ball(lo, hi)).upper()


def certify_1d(net: Network, target: ErrorTarget, box: Sequence[tuple[fmpq, fmpq]], tol: fmpq,
               max_cells: int = 400000, tighten: fmpq = fmpq(1, 100),
               hints: Sequence[fmpq] = ()) -> TrainedResult:
    """Certify sup_[lo,hi] |f − N| against ``tol``; with HOLDS, refine further until the upper
    bound is within (1 + tighten) of the best lower bound (or the budget is spent)."""
    t0 = time.perf_counter()
    lo, hi = box[0]
    pl = enumerate_1d(net, lo, hi, max_points=max_cells)
    xs = list(pl.points)
    ns = [v[0] for v in pl.values]
    # hint points (e.g. where the float64 error peaks) become piece ends: a better witness early
    for x in sorted({h for h in hints if lo < h < hi} - set(xs)):
        i = bisect.bisect_left(xs, x)
        a, b = xs[i - 1], xs[i]
        xs.insert(i, x)
        ns.insert(i, ns[i - 1] + (x - a) * (ns[i] - ns[i - 1]) / (b - a))
    errs = [target.at([x]) - arb(n) for x, n in zip(xs, ns)]
    best_i = max(range(len(xs)), key=lambda i: abs(errs[i]).lower())
    best = (abs(errs[best_i]), [xs[best_i]])
    heap: list = []
    for i in range(len(xs) - 1):
        u = _piece_bound(target, xs[i], xs[i + 1], errs[i], errs[i + 1], ns[i], ns[i + 1])
        heap.append((-_sort_key(u), i, xs[i], xs[i + 1], errs[i], errs[i + 1], ns[i], ns[i + 1], u))
    heapq.heapify(heap)
    counter = len(heap)
    cells = len(heap)
    goal = arb(tol)
    notes: list = []
    phase = "certify"
    while heap:
        if best[0] > arb(tol):
            break  # VIOLATED: an exact witness already exceeds tol
        worst = heap[0][8]
        if not (worst > goal):  # every bound ≤ goal, or not certainly above it
            if phase == "certify" and _upper_of(heap) is not None and _upper_of(heap) <= tol:
                # HOLDS: narrow [lower, upper] a little more, within a bounded extra budget
                phase = "tighten"
                goal = best[0].lower() * arb(1 + tighten)
                max_cells = min(max_cells, cells + max(2000, 2 * cells))
                if not (worst > goal):
                    break
                continue
            break
        if cells >= max_cells:
            if phase == "certify":
                notes.append(f"budget of {max_cells} pieces spent")
            break
        _, _, a, b, ea, eb, na, nb, _ = heapq.heappop(heap)
        m = _short_between(a, b)
        nm = na + (m - a) * (nb - na) / (b - a)
        em = target.at([m]) - arb(nm)
        if abs(em).lower() > best[0].lower():
            best = (abs(em), [m])
        for (p, q, ep, eq, np_, nq) in ((a, m, ea, em, na, nm), (m, b, em, eb, nm, nb)):
            u = _piece_bound(target, p, q, ep, eq, np_, nq)
            counter += 1
            heapq.heappush(heap, (-_sort_key(u), counter, p, q, ep, eq, np_, nq, u))
        cells += 2
        if cells % 2000 == 0:
            advance("refine pieces", cells, max_cells)
    upper = _upper_of(heap)
    lower = arb_to_fmpq_bounds(best[0], PREC)[0]
    return TrainedResult(_verdict(upper, best[0], tol), "pl1d-exact", tol, upper, max(lower, fmpq(0)),
                         best[1], len(xs) - 1, cells, time.perf_counter() - t0, notes)


def _sort_key(u: arb) -> float:
    return float(u.upper().mid()) if u.is_finite() else float("inf")


def _upper_of(heap: list) -> Optional[fmpq]:
    """The exact maximum of the pieces' upper ends (floats only order the heap)."""
    if not heap:
        return None
    uppers = [_upper(item[-1]) for item in heap]
    return None if any(u is None for u in uppers) else max(uppers)


# ---------------------------------------------------------------------------------------------
# d-D: box branch and bound


def _box_bound(t: ErrorTarget, r: Any) -> tuple[arb, list, arb]:
    """(ball ⊇ sup over the box of |f − N|, its centre, |e(centre)| ball or None)."""
    box = list(r.box)
    c = [(a + b) / 2 for a, b in box]
    with precision(PREC):
        fr = t.on(t.f, box)
        if r.exact:
            verts = r.vertex_values[0]
            d = len(box)
            nc = sum(verts, fmpq(0)) / len(verts)  # affine: the centre value is the vertex mean
            ec = t.at(c) - arb(nc)
            if t.grad is not None:
                # gradient of the affine network from the vertices (itertools.product order)
                slopes = []
                for i in range(d):
                    step = 2 ** (d - 1 - i)
                    slopes.append((verts[step] - verts[0]) / (box[i][1] - box[i][0]))
                gs = [t.on(g, box) for g in t.grad]
                if all(g.is_finite() for g in gs):
                    u = abs(ec).upper() + sum((arb((b - a) / 2) * abs(g - arb(s)).upper()
                                               for (a, b), g, s in zip(box, gs, slopes)), arb(0))
                    return u, c, ec
            lo, hi = min(verts), max(verts)
            return abs(fr - _ball(lo, hi)).upper(), c, ec
        return abs(fr - _ball(r.lo[0], r.hi[0])).upper(), c, None


def certify_boxes(net: Network, target: ErrorTarget, box: Sequence[tuple[fmpq, fmpq]], tol: fmpq,
                  max_cells: int = 20000, initial_split: int = 0) -> TrainedResult:
    t0 = time.perf_counter()
    boxes = [list(box)]
    for _ in range(initial_split):
        boxes = [h for bx in boxes for h in bisect_widest(bx)]
    best: tuple = (arb(0), [(a + b) / 2 for a, b in box])
    heap: list = []
    counter = 0
    cells = 0
    notes: list = []

    def push(batch: list) -> None:
        nonlocal counter, cells, best
        results, _ = analyse_boxes(net, batch)
        for r in results:
            u, c, ec = _box_bound(target, r)
            if ec is None:
                ec = target.at(c) - _exact_at(net, c)
            if abs(ec).lower() > best[0].lower():
                best = (abs(ec), c)
            counter += 1
            heapq.heappush(heap, (-_sort_key(u), counter, list(r.box), u))
        cells += len(batch)
        advance("boxes", cells, max_cells)

    push(boxes)
    n0 = len(boxes)
    goal = arb(tol)
    while heap and heap[0][3] > goal and not best[0] > goal:
        if cells >= max_cells:
            notes.append(f"budget of {max_cells} boxes spent")
            break
        batch = []
        while heap and len(batch) < 32 and heap[0][3] > goal:
            batch.extend(bisect_widest(heapq.heappop(heap)[2]))
        push(batch)
    upper = _upper_of(heap) if heap else fmpq(0)
    lower = arb_to_fmpq_bounds(best[0], PREC)[0]
    return TrainedResult(_verdict(upper, best[0], tol), "boxes", tol, upper, max(lower, fmpq(0)),
                         best[1], n0, cells, time.perf_counter() - t0, notes)


def _exact_at(net: Network, point: list) -> arb:
    from constructive.evaluate import evaluate

    return arb(evaluate(net, [[p] for p in point])[0][0])


def certify_network(net: Network, target: ErrorTarget, box: Sequence[tuple[fmpq, fmpq]], tol: fmpq,
                    max_cells: Optional[int] = None, hints: Sequence[Sequence[fmpq]] = ()) -> TrainedResult:
    check_relu_network(net)
    if target.dim != net.in_dim:
        raise UserError(f"--target is a formula in {target.dim} variables but the network has "
                        f"{net.in_dim} inputs")
    if net.in_dim == 1:
        return certify_1d(net, target, box, tol, max_cells or 400000, hints=[h[0] for h in hints])
    return certify_boxes(net, target, box, tol, max_cells or 20000)


# ---------------------------------------------------------------------------------------------
# the float64 error, as a training loop would report it (never part of a verdict)


def float64_error(net: Network, target: ErrorTarget, box: Sequence[tuple[fmpq, fmpq]],
                  samples: int = 1234, seed: int = 0) -> tuple[float, int, list]:
    """max |f − N| in float64 over ``samples`` uniform random points plus a grid of the box, the
    number of points, and the point where it peaks (exact rationals: floats are dyadic)."""
    rng = np.random.default_rng(seed)
    d = len(box)
    lo = np.array([float(a) for a, _ in box])
    hi = np.array([float(b) for _, b in box])
    pts = lo + (hi - lo) * rng.random((samples, d))
    per_axis = {1: 20001, 2: 201, 3: 31}.get(d, 9)
    axes = [np.linspace(a, b, per_axis) for a, b in zip(lo, hi)]
    mesh = np.stack([m.reshape(-1) for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    pts = np.concatenate([pts, mesh])
    Y = pts.T.copy()
    for node in net.nodes:
        if isinstance(node, Affine):
            W = np.array([[float(node.W[i, j]) for j in range(node.W.ncols())] for i in range(node.W.nrows())])
            b = np.array([float(node.b[i, 0]) for i in range(node.b.nrows())])
            Y = W @ Y + b[:, None]
        else:
            Y = np.maximum(Y, 0.0)
    fn = sp.lambdify(symbols_for(d), target.expr, modules="numpy")
    with np.errstate(all="ignore"):
        fv = np.broadcast_to(np.asarray(fn(*pts.T), dtype=float), (len(pts),))
    err = np.abs(fv - Y[0])
    k = int(np.nanargmax(err))
    return float(err[k]), len(pts), [fmpq(*float(v).as_integer_ratio()) for v in pts[k]]
