"""Certification of the repeated-composition networks L2 ∘ g^{∘R} ∘ L1 (ZLZ, ICML 2023).

Architecture: :func:`measure_composition` reports the repeated block g (width, depth, input
dimension, parameters counted once) and the composition count R, without unrolling the Repeat.

Error, cell by cell and exact (:class:`CellEvaluator`): every closed cell Q_β is evaluated at its
2^d vertices in exact rationals.  A ReLU whose pre-activation has the same weak sign at all
vertices of a cell is affine on the cell (the pre-activation is affine there by induction), so if
every neuron passes, the network is affine on the cell and equal to the interpolation of its
vertex values; equal vertex values prove it constant.  The clock gadget of Lemma E.1 runs both
blocks but the selector of Lemma E.2 keeps one: the kept block is evaluated exactly, the discarded
one with exact interval arithmetic on the cell's hull, and the selector neurons are then checked
for a sign that is determined on the whole cell (so the discarded value provably drops out).
The supremum over all of [0,1]^d (needed for the trifling region in L^p) comes from one interval
run, in which the clamp gadget's certified range [−M, M] is used.  That per-cell method costs
K^d · 2^d · R evaluations of g and is kept as ``method_*_cells`` (the benchmark's baseline).

Part 2 — the compositional method used by the registry (``method_offtrifling``, ``method_lp``),
O(R) small exact steps instead of K^d · R:

1. *Engine.* States are exact affine forms A·p + c over a parameter box (plus, in loose mode, an
   interval remainder).  In strict mode every ReLU must have one weak sign on the box; then the
   network is affine on the box and the output form is exact (the forms are compared after
   folding degenerate box directions into the constant, where forms are not unique).
2. *Clock specification, certified once per instance* (Lemmas E.1, E.2).  For the clock gadget
   Φ(x, t) = ψ(pad(b1(x)), pad(b2(x)), p0(t)), the fan-out is checked to be (x, x, t) exactly,
   and the shell (pads, counter, selector) is analysed as an exact affine map on the two boxes
   u1, u2 ∈ [−M, M]^d, t ∈ [3, T] and t ∈ [−T, 1] (M read from the selector's weights).  It
   returns (u1, t−2), resp. (u2, t−2).  Hence Φ(x, t) = (b1(x), t−2) for t ∈ [3, T] and
   (b2(x), t−2) for t ∈ [−T, 1], *provided* b1(x), b2(x) ∈ [−M, M]^d.
3. *Counters are exact constants*, the same for every input (L1 sets them; Φ maps t to t−2), so
   at each of the R steps one path of branches is active for all cells at once.  Only the
   active leaf (floor block, ĝ, bit-sum pair, ĝ′, clamp) is evaluated; its output is checked
   within [−M, M].  For every discarded branch the hull of its inputs is accumulated (keyed by
   the exact counters inside that branch); at the end one interval run per key bounds it by M.
   All side conditions of step 2 are therefore verified for every state that occurs.
4. *State classes follow the proofs' invariants*, so a step costs O(3^d) engine calls, not K^d:
   * Lemma C.1 (steps k = 1..r−1): per axis the state is (k y, k², k, y, S) with y the L1 form
     (checked on L1) and S a per-cell register.  Classes ℓ < k, ℓ = k, ℓ > k (cells by index ℓ)
     with boxes y ∈ hull of the class's y-ranges and S ∈ hull of its registers.  The output
     must be ((k+1)y, (k+1)², k+1, y, S + Δ) with Δ = 0 off the class ℓ = k; Δ is recorded as
     S(ℓ = k).  Induction over k gives every cell's exact state s_r.
   * transition ĝ: one class; the output must be (j−1, C, 0, j−1, D, 0) with j−1 affine in the
     registers and free of y; j is read off per cell.
   * Lemma D.1 (steps t = 0..2r−2): state (z, C_t, P, z, D_t, Q) with z = j−1−t; classes z ≥ 1,
     z = 0, z ≤ −1; P, Q in the hull of prefix sums (monotone: increments checked ≥ 0).  The
     output must be (z−1, C_{t+1}, P + θ_t, z−1, D_{t+1}, Q + φ_t) with θ_t = φ_t = 0 for z ≤ −1
     and equal increments on the other two classes.  So P(j) = Σ_{t < min(2r−1, j)} θ_t.
   * ĝ′ (one class in (z, P, Q)) and the clamp (classes of output values, split until the
     step is affine; memoised by value).  Coordinates outside the registers must be one exact
     constant for all classes (counters, C_t, D_t, padding zeros).
   Every cell's output is then an exact rational, compared with f on the cell by
   ``box_error``; nothing is sampled.  For L^p the trifling region uses one loose run over
   [0,1]^d with affine forms in x through the same active leaves (counters stay exact), giving
   a rigorous range of φ on the whole cube.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from flint import fmpq, fmpq_mat

from constructive import architecture as arch
from certify.method import ErrorReport, Method, methods
from certify.analysis.trifling import box_error, lp_bounds, trifling_cells
from constructive.errors import UserError
from constructive.activations import IDENTITY, RELU
from constructive.ir import Activation, Affine, Gadget, Network, Node, Parallel, Repeat
from constructive.numbers import Exact, QMatrix, as_fmpq

PREC = 192


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
    outer = [n for n in net.nodes if n is not rep]
    outer_params = sum(arch.count_params(Network((n,))) for n in outer if isinstance(n, Affine))
    return CompositionArchitecture(
        input_dim=net.in_dim, output_dim=net.out_dim, depth=net.depth, width=net.width,
        widthvec=tuple(g.widthvec), params=g_params + outer_params, dense_params=0,
        intrinsic_tagged=0, height=net.height, gadgets={},
        g_width=g.width, g_depth=g.depth, g_dim=g.in_dim, g_params=g_params, compositions=rep.times)


# ------------------------------------------------------------------------------------------------
# exact helpers on QMatrix


def _add(a: QMatrix, b: QMatrix) -> QMatrix:
    den = math.lcm(a.den, b.den)
    return QMatrix(a.with_den(den).num + b.with_den(den).num, den)


def _le(a: QMatrix, b: QMatrix) -> np.ndarray:
    """Elementwise a <= b."""
    return a.num * b.den <= b.num * a.den


def _const(rows: int, cols: int, value: fmpq) -> QMatrix:
    arr = np.empty((rows, cols), dtype=object)
    arr.fill(int(value.p))
    return QMatrix(arr, int(value.q))


class CellFailure(Exception):
    pass


class CellEvaluator:
    """Exact cell-wise evaluation (see the module docstring).  Columns: cell-major, V per cell."""

    def __init__(self, V: int) -> None:
        self.ctx = Exact()
        self.V = V
        self._split: dict[int, tuple] = {}

    # strict (exact, affinity-checked) -----------------------------------------------------------
    def run(self, node: Node, X: QMatrix) -> QMatrix:
        if isinstance(node, Affine):
            return self.ctx.affine(node.W, node.b, X)
        if isinstance(node, Activation):
            for f in node.functions:
                if isinstance(f, Network) or f.name not in ("relu", "identity"):
                    raise CellFailure("only ReLU/identity activations are supported")
            relu_rows = [i for i, f in enumerate(node.functions) if f.name == "relu"]
            self._consistent(X, relu_rows)
            if len(relu_rows) == len(node.functions):
                return self.ctx.relu(X)
            num = X.num.copy()
            num[relu_rows] = np.maximum(num[relu_rows], 0)
            return QMatrix(num, X.den)
        if isinstance(node, Gadget):
            if node.name == "zlz-clock-step":
                return self.clock(node, X)
            return self.run(node.body, X)
        if isinstance(node, Repeat):
            for _ in range(node.times):
                X = self.run(node.body, X)
            return X
        if isinstance(node, Parallel):
            out, s = [], 0
            for p in node.parts:
                out.append(self.run(p, QMatrix(X.num[s:s + p.in_dim], X.den)))
                s += p.in_dim
            return self.ctx.vstack(out)
        if isinstance(node, Network):
            for c in node.nodes:
                X = self.run(c, X)
            return X
        raise TypeError(type(node).__name__)

    def _consistent(self, X: QMatrix, rows: list[int]) -> None:
        if self.V == 1 or not rows:
            return
        num = X.num[rows]
        r, c = num.shape
        cube = num.reshape(r, c // self.V, self.V)
        ok = (cube >= 0).all(axis=2) | (cube <= 0).all(axis=2)
        if not ok.all():
            raise CellFailure("a ReLU changes sign inside a cell")

    # the clock gadget (Lemma E.1 with the selector of Lemma E.2) ---------------------------------
    def clock(self, node: Gadget, X: QMatrix) -> QMatrix:
        body = node.body.nodes
        fan, par, psi = body[0], body[1], body[2:]
        Y = self.ctx.affine(fan.W, fan.b, X)
        p1, p2, p0 = par.parts
        d = p1.in_dim
        T = self.run(p0, QMatrix(Y.num[2 * d:], Y.den))
        tnum = T.num[0]
        if all(v >= T.den for v in tnum):
            active, disc, a0, b0 = p1, p2, 0, d
        elif all(v <= -T.den for v in tnum):
            active, disc, a0, b0 = p2, p1, d, 0
        else:
            raise CellFailure("clock counter not in (−∞, −1] ∪ [1, ∞)")
        U = self.run(active, QMatrix(Y.num[a0:a0 + d], Y.den))
        vin = QMatrix(Y.num[b0:b0 + d], Y.den)
        lo, hi = self._hull(vin)
        vlo, vhi = self.loose(disc, lo, hi)
        vlo, vhi = self._spread(vlo), self._spread(vhi)
        parts_lo = [U, vlo] if a0 == 0 else [vlo, U]
        parts_hi = [U, vhi] if a0 == 0 else [vhi, U]
        lo = self.ctx.vstack(parts_lo + [T])
        hi = self.ctx.vstack(parts_hi + [T])
        for n in psi:
            if isinstance(n, Affine):
                lo, hi = self._iaffine(n, lo, hi)
            else:
                if not all(f is RELU for f in n.functions):
                    raise CellFailure("unexpected selector activation")
                pos = _le(_const(*lo.shape, fmpq(0)), lo)
                neg = _le(hi, _const(*hi.shape, fmpq(0)))
                r, c = pos.shape
                okp = pos.reshape(r, c // self.V, self.V).all(axis=2)
                okn = neg.reshape(r, c // self.V, self.V).all(axis=2)
                if not (okp | okn).all():
                    raise CellFailure("selector neuron sign not determined on a cell")
                lo, hi = self.ctx.relu(lo), self.ctx.relu(hi)
        if not (lo.num * hi.den == hi.num * lo.den).all():
            raise CellFailure("selector output depends on the discarded block")
        return lo

    def _hull(self, X: QMatrix) -> tuple[QMatrix, QMatrix]:
        r, c = X.shape
        cube = X.num.reshape(r, c // self.V, self.V)
        return QMatrix(cube.min(axis=2), X.den), QMatrix(cube.max(axis=2), X.den)

    def _spread(self, X: QMatrix) -> QMatrix:
        return QMatrix(np.repeat(X.num, self.V, axis=1), X.den)

    # loose interval evaluation -------------------------------------------------------------------
    def _iaffine(self, node: Affine, lo: QMatrix, hi: QMatrix) -> tuple[QMatrix, QMatrix]:
        key = id(node)
        if key not in self._split:
            W = node.W
            r, c = W.nrows(), W.ncols()
            pos = fmpq_mat(r, c, [v if v > 0 else 0 for v in W.entries()])
            neg = fmpq_mat(r, c, [v if v < 0 else 0 for v in W.entries()])
            self._split[key] = (pos, neg, fmpq_mat(r, 1), node)
        pos, neg, zero, _ = self._split[key]
        nlo = _add(self.ctx.affine(pos, node.b, lo), self.ctx.affine(neg, zero, hi))
        nhi = _add(self.ctx.affine(pos, node.b, hi), self.ctx.affine(neg, zero, lo))
        return nlo, nhi

    def loose(self, node: Node, lo: QMatrix, hi: QMatrix) -> tuple[QMatrix, QMatrix]:
        if isinstance(node, Affine):
            return self._iaffine(node, lo, hi)
        if isinstance(node, Activation):
            rows = [i for i, f in enumerate(node.functions) if f is not IDENTITY]
            if any(isinstance(f, Network) or f.name not in ("relu", "identity") for f in node.functions):
                raise CellFailure("only ReLU/identity activations are supported")
            a, b = lo.num.copy(), hi.num.copy()
            a[rows] = np.maximum(a[rows], 0)
            b[rows] = np.maximum(b[rows], 0)
            return QMatrix(a, lo.den), QMatrix(b, hi.den)
        if isinstance(node, Gadget):
            lo, hi = self.loose(node.body, lo, hi)
            if node.name == "zlz-clamp" and node.spec is not None and node.spec.range is not None:
                self.used.add(node.name)
                m_lo, m_hi = node.spec.range
                lo = _qmax(lo, m_lo)
                hi = _qmin(hi, m_hi)
            return lo, hi
        if isinstance(node, Repeat):
            for _ in range(node.times):
                lo, hi = self.loose(node.body, lo, hi)
            return lo, hi
        if isinstance(node, Parallel):
            outs_lo, outs_hi, s = [], [], 0
            for p in node.parts:
                a, b = self.loose(p, QMatrix(lo.num[s:s + p.in_dim], lo.den),
                                  QMatrix(hi.num[s:s + p.in_dim], hi.den))
                outs_lo.append(a)
                outs_hi.append(b)
                s += p.in_dim
            return self.ctx.vstack(outs_lo), self.ctx.vstack(outs_hi)
        if isinstance(node, Network):
            for c in node.nodes:
                lo, hi = self.loose(c, lo, hi)
            return lo, hi
        raise TypeError(type(node).__name__)

    used: set = set()


def _qmax(X: QMatrix, v: fmpq) -> QMatrix:
    C = _const(*X.shape, v)
    den = math.lcm(X.den, C.den)
    a, b = X.with_den(den).num, C.with_den(den).num
    return QMatrix(np.maximum(a, b), den)


def _qmin(X: QMatrix, v: fmpq) -> QMatrix:
    C = _const(*X.shape, v)
    den = math.lcm(X.den, C.den)
    a, b = X.with_den(den).num, C.with_den(den).num
    return QMatrix(np.minimum(a, b), den)


# ------------------------------------------------------------------------------------------------
# cell values


def cell_values(net: Node, cells: list) -> tuple[list, int]:
    """Exact constant value of ``net`` on every cell (None where not shown), and failures."""
    d = len(cells[0])
    V = 2 ** d
    cols = []
    for box in cells:
        for corner in itertools.product(*[(a, b) for a, b in reversed(box)]):
            cols.append(list(reversed(corner)))
    ev = CellEvaluator(V)
    ev.used = set()
    X = ev.ctx.points(cols)
    try:
        Y = ev.run(net, X)
    except CellFailure as exc:
        raise UserError(f"cell analysis failed: {exc}") from None
    out = []
    bad = 0
    for k in range(len(cells)):
        vals = {fmpq(int(Y.num[0, k * V + v]), Y.den) for v in range(V)}
        if len(vals) == 1:
            out.append(vals.pop())
        else:
            out.append(None)
            bad += 1
    return out, bad


def global_sup(net: Node, d: int) -> tuple[fmpq, fmpq, set]:
    """Rigorous [lo, hi] of the network over [0,1]^d by one interval run."""
    ev = CellEvaluator(1)
    ev.used = set()
    lo = ev.ctx.points([[fmpq(0)] * d])
    hi = ev.ctx.points([[fmpq(1)] * d])
    a, b = ev.loose(net, lo, hi)
    return fmpq(int(a.num[0, 0]), a.den), fmpq(int(b.num[0, 0]), b.den), ev.used


# ------------------------------------------------------------------------------------------------
# methods


def _K_delta_offtrifling(params: dict) -> tuple[int, fmpq]:
    from proofs.compositions.build import _pow2_below, iroot

    K = iroot(params["r"], params["d"])
    return K, _pow2_below(fmpq(1, 3 * K))


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
    from proofs.compositions.build import clamp_level, iroot, lp_delta, sup_abs

    d, r = params["d"], params["r"]
    p = as_fmpq(params["p"])
    K = iroot(r, d)
    Mc = clamp_level(target, d)
    delta = lp_delta(target, d, r, K, p, Mc)
    cells = trifling_cells(d, K, delta)
    vals, bad = cell_values(net, cells)
    if bad:
        raise UserError(f"{bad} cell(s) are not constant: no certified bound")
    glo, ghi, used = global_sup(net, d)
    sup_phi = max(abs(glo), abs(ghi))
    fsup = sup_abs(target)
    meas = 1 - (1 - (K - 1) * delta) ** d
    lower, upper = lp_bounds([(box, *box_error(target, box, v, v)) for box, v in zip(cells, vals)],
                             meas, fsup + sup_phi, p)
    return ErrorReport(lower, upper, [], used,
                       {"cells": len(cells), "K": K, "delta": str(delta), "trifling_measure": str(meas),
                        "sup_phi_on_cube": str(sup_phi), "p": str(p)})




# ================================================================================================
# Compositional certification (scales to r = 4096): see the module docstring, part 2.


class StepFailure(Exception):
    pass


_SPLIT: dict = {}


def _wsplit(node: Affine) -> tuple:
    key = id(node)
    hit = _SPLIT.get(key)
    if hit is None or hit[2] is not node:
        W = node.W
        r, c = W.nrows(), W.ncols()
        ent = W.entries()
        pos = fmpq_mat(r, c, [v if v > 0 else 0 for v in ent])
        neg = fmpq_mat(r, c, [v if v < 0 else 0 for v in ent])
        hit = _SPLIT[key] = (pos, neg, node)
    return hit


@dataclass
class Forms:
    """States A·p + c + [lo, hi] for p in a box: F = [A | c] (n × (np+1)); rem = (lo, hi) or None."""
    F: fmpq_mat
    blo: list
    bhi: list
    rem: Any = None
    cached: Any = None  # (lo list, hi list) once computed or derived

    @property
    def n(self) -> int:
        return self.F.nrows()

    @property
    def np(self) -> int:
        return self.F.ncols() - 1

    def rows(self, a: int, b: int) -> "Forms":
        m = self.np + 1
        ent = self.F.entries()[a * m:b * m]
        rem = None
        if self.rem is not None:
            lo, hi = self.rem
            rem = (fmpq_mat(b - a, 1, lo.entries()[a:b]), fmpq_mat(b - a, 1, hi.entries()[a:b]))
        out = Forms(fmpq_mat(b - a, m, ent), self.blo, self.bhi, rem)
        if self.cached is not None:
            out.cached = (self.cached[0][a:b], self.cached[1][a:b])
        return out

    def bounds(self) -> tuple[list, list]:
        """Exact min and max of every row over the box (remainder included)."""
        if self.cached is None:
            self.cached = self._bounds()
        return self.cached

    def _bounds(self) -> tuple[list, list]:
        m = self.np + 1
        ent = self.F.entries()
        lo_r = self.rem[0].entries() if self.rem is not None else None
        hi_r = self.rem[1].entries() if self.rem is not None else None
        los, his = [], []
        for i in range(self.n):
            row = ent[i * m:(i + 1) * m]
            lo = hi = row[-1]
            for a, pl, ph in zip(row, self.blo, self.bhi):
                if a > 0:
                    lo += a * pl
                    hi += a * ph
                elif a < 0:
                    lo += a * ph
                    hi += a * pl
            if lo_r is not None:
                lo += lo_r[i]
                hi += hi_r[i]
            los.append(lo)
            his.append(hi)
        return los, his

    def exact_const(self, i: int) -> Optional[fmpq]:
        m = self.np + 1
        row = self.F.entries()[i * m:(i + 1) * m]
        if any(a != 0 for a in row[:-1]):
            return None
        if self.rem is not None and (self.rem[0][i, 0] != 0 or self.rem[1][i, 0] != 0):
            return None
        return row[-1]


def _vstack(parts: list[Forms]) -> Forms:
    m = parts[0].np + 1
    ent: list = []
    for p in parts:
        ent += p.F.entries()
    n = sum(p.n for p in parts)
    rem = None
    if any(p.rem is not None for p in parts):
        lo: list = []
        hi: list = []
        for p in parts:
            if p.rem is None:
                lo += [fmpq(0)] * p.n
                hi += [fmpq(0)] * p.n
            else:
                lo += p.rem[0].entries()
                hi += p.rem[1].entries()
        rem = (fmpq_mat(n, 1, lo), fmpq_mat(n, 1, hi))
    out = Forms(fmpq_mat(n, m, ent), parts[0].blo, parts[0].bhi, rem)
    if all(p.cached is not None for p in parts):
        out.cached = ([v for p in parts for v in p.cached[0]], [v for p in parts for v in p.cached[1]])
    return out


def _const_forms(values: list, like: Forms) -> Forms:
    m = like.np + 1
    ent = []
    for v in values:
        ent += [fmpq(0)] * (m - 1) + [v]
    return Forms(fmpq_mat(len(values), m, ent), like.blo, like.bhi, None, (list(values), list(values)))


class Engine:
    """Exact affine-form evaluation of the IR on parameter boxes.

    ``strict``: every ReLU must have one weak sign on the whole box (then the network is affine
    there and the result is exact); otherwise a ``StepFailure``.  Loose mode turns an undecided
    ReLU into the remainder interval [0, max] (sound interval arithmetic).  ``plain`` evaluates
    clock gadgets as ordinary networks; otherwise their specification (Lemma E.1, certified per
    instance by :meth:`certify_clock`) is used: only the branch chosen by the (exact) counter is
    evaluated, the other one's input hull is recorded for a bound check at the end.
    """

    def __init__(self) -> None:
        self.clocks: dict = {}      # id -> (gadget, M, T)
        self.hulls: dict = {}       # (clock id, branch, counter key) -> (lo list, hi list)
        self.used: set = set()
        self.T = 0
        self.steps = 0
        self._cc: dict = {}

    # primitive nodes ---------------------------------------------------------------------------
    def affine(self, node: Affine, X: Forms) -> Forms:
        m = X.np + 1
        F = node.W * X.F
        if node.b.nrows():
            bcol = node.b.entries()
            ent = F.entries()
            for i, v in enumerate(bcol):
                if v != 0:
                    ent[i * m + m - 1] += v
            F = fmpq_mat(F.nrows(), m, ent)
        rem = None
        if X.rem is not None:
            pos, neg, _ = _wsplit(node)
            lo, hi = X.rem
            rem = (pos * lo + neg * hi, pos * hi + neg * lo)
        return Forms(F, X.blo, X.bhi, rem)

    def activation(self, node: Activation, X: Forms, strict: bool) -> Forms:
        for f in node.functions:
            if isinstance(f, Network) or f.name not in ("relu", "identity"):
                raise StepFailure("only ReLU/identity activations are supported")
        los, his = X.bounds()
        m = X.np + 1
        ent = X.F.entries()
        rlo = X.rem[0].entries() if X.rem is not None else None
        rhi = X.rem[1].entries() if X.rem is not None else None
        out_lo, out_hi = [], []
        loose = False
        zero = fmpq(0)
        for i, f in enumerate(node.functions):
            a, b = (rlo[i], rhi[i]) if rlo is not None else (zero, zero)
            if f is IDENTITY or los[i] >= 0:
                out_lo.append(a)
                out_hi.append(b)
                continue
            if his[i] <= 0:
                ent[i * m:(i + 1) * m] = [zero] * m
                out_lo.append(zero)
                out_hi.append(zero)
                continue
            if strict:
                raise StepFailure("a ReLU changes sign on a parameter box")
            ent[i * m:(i + 1) * m] = [zero] * m
            out_lo.append(zero)
            out_hi.append(his[i])
            loose = True
        rem = None
        if rlo is not None or loose:
            rem = (fmpq_mat(len(out_lo), 1, out_lo), fmpq_mat(len(out_hi), 1, out_hi))
        return Forms(fmpq_mat(X.n, m, ent), X.blo, X.bhi, rem)

    def apply(self, node: Node, X: Forms, strict: bool, plain: bool = False) -> Forms:
        if isinstance(node, Affine):
            return self.affine(node, X)
        if isinstance(node, Activation):
            return self.activation(node, X, strict)
        if isinstance(node, Network):
            for c in node.nodes:
                X = self.apply(c, X, strict, plain)
            return X
        if isinstance(node, Parallel):
            out, s = [], 0
            for p in node.parts:
                out.append(self.apply(p, X.rows(s, s + p.in_dim), strict, plain))
                s += p.in_dim
            return _vstack(out)
        if isinstance(node, Gadget):
            if node.name == "zlz-clock-step" and not plain:
                return self.clock(node, X, strict)
            Y = self.apply(node.body, X, strict, plain)
            if node.name == "zlz-clamp" and not strict and node.spec is not None:
                Y = self._clip(Y, *node.spec.range)
                self.used.add(node.name)
            elif node.name == "mid" and not strict and node.spec is not None and \
                    node.spec.interval is not None and Y.rem is not None:
                # the median is monotone: its certified interval extension (Lemma 3.1 of Lu et
                # al., checked by region enumeration in the certificate) keeps the enclosure
                # between the two good copies of Thm 1.3 instead of the loose one of the body
                from certify.analysis.ranges import monotone_enclosure

                los, his = X.bounds()
                a, b = monotone_enclosure(node, [list(los)], [list(his)])
                Y = self._clip(Y, a[0][0], b[0][0])
                self.used.add(node.name)
            return Y
        if isinstance(node, Repeat):
            for _ in range(node.times):
                X = self.apply(node.body, X, strict, plain)
            return X
        raise TypeError(type(node).__name__)

    def _clip(self, Y: Forms, a: fmpq, b: fmpq) -> Forms:
        los, his = Y.bounds()
        if all(lo >= a and hi <= b for lo, hi in zip(los, his)):
            return Y
        lo = [max(v, a) for v in los]
        hi = [min(v, b) for v in his]
        Z = _const_forms([fmpq(0)] * Y.n, Y)
        Z.rem = (fmpq_mat(Y.n, 1, lo), fmpq_mat(Y.n, 1, hi))
        return Z

    # the clock (Lemma E.1 with the selector of Lemma E.2) ---------------------------------------
    @staticmethod
    def parts(node: Gadget) -> tuple:
        body = node.body.nodes
        fan, par = body[0], body[1]
        p1, p2, p0 = par.parts
        b1, b2 = p1.nodes[0], p2.nodes[0]
        if not (isinstance(b1, Gadget) and b1.name == "zlz-branch" and isinstance(b2, Gadget)
                and b2.name == "zlz-branch"):
            raise StepFailure("clock gadget without marked branches")
        return fan, b1, p1.nodes[1:], b2, p2.nodes[1:], p0, body[2:]

    def certify_clock(self, node: Gadget) -> None:
        """Φ(x, t) = (b1(x), t−2) for t ∈ [3, T] and (b2(x), t−2) for t ∈ [−T, 1] whenever
        b1(x), b2(x) ∈ [−M, M]^d: exact affine analysis of pads, counter and selector on the
        boxes u1, u2 ∈ [−M, M]^d, t in either range, and an exact check of the fan-out."""
        if id(node) in self.clocks:
            return
        fan, b1, tail1, b2, tail2, p0, psi = self.parts(node)
        d = b1.in_dim
        M = psi[0].W[0, 2 * d]  # the selector's level, read from its weights (Lemma E.2)
        if not M > 0:
            raise StepFailure("selector level is not positive")
        want = [[1 if j == i else 0 for j in range(d + 1)] for i in range(d)] * 2 + \
               [[0] * d + [1]]
        if fan.W != fmpq_mat(2 * d + 1, d + 1, [v for r in want for v in r]) or \
                any(v != 0 for v in fan.b.entries()):
            raise StepFailure("clock fan-out is not (x, x, t)")
        T = self.T
        np_ = 2 * d + 1
        eye = [[fmpq(1) if j == i else fmpq(0) for j in range(np_)] + [fmpq(0)] for i in range(np_)]
        for t_lo, t_hi, pick in ((fmpq(3), fmpq(T), 0), (fmpq(-T), fmpq(1), 1)):
            blo = [-M] * (2 * d) + [t_lo]
            bhi = [M] * (2 * d) + [t_hi]
            X = Forms(fmpq_mat(np_, np_ + 1, [v for r in eye for v in r]), blo, bhi)
            U1 = X.rows(0, d)
            U2 = X.rows(d, 2 * d)
            for n in tail1:
                U1 = self.apply(n, U1, True, True)
            for n in tail2:
                U2 = self.apply(n, U2, True, True)
            Tt = self.apply(p0, X.rows(2 * d, 2 * d + 1), True, True)
            Y = _vstack([U1, U2, Tt])
            for n in psi:
                Y = self.apply(n, Y, True, True)
            expect = [list(r) for r in eye[pick * d:(pick + 1) * d]] + \
                     [eye[2 * d][:-1] + [fmpq(-2)]]
            if Y.F != fmpq_mat(d + 1, np_ + 1, [v for r in expect for v in r]) or Y.rem is not None:
                raise StepFailure("clock shell does not select its branch exactly")
        self.clocks[id(node)] = (node, M, T)

    def clock(self, node: Gadget, X: Forms, strict: bool) -> Forms:
        self.certify_clock(node)
        _, M, T = self.clocks[id(node)]
        _, b1, _, b2, _, _, _ = self.parts(node)
        d = b1.in_dim
        t = X.exact_const(d)
        if t is None:
            raise StepFailure("clock counter is not an exact constant")
        if 3 <= t <= T:
            active, other, which = b1, b2, 1
        elif -T <= t <= 1:
            active, other, which = b2, b1, 0
        else:
            raise StepFailure(f"clock counter {t} outside the certified range")
        x = X.rows(0, d)
        Y = self.apply(active.body, x, strict)
        los, his = Y.bounds()
        if any(v < -M for v in los) or any(v > M for v in his):
            raise StepFailure("active branch leaves [−M, M]")
        # the discarded branch: record the input hull, keyed by the exact counters inside it
        xl, xh = x.bounds()
        cc = self._cc.get(id(other))
        if cc is None:
            cc = self._cc[id(other)] = counter_coords(other.body)
        key = (id(node), which, tuple(xl[i] for i in cc if xl[i] == xh[i]))
        old = self.hulls.get(key)
        if old is None:
            self.hulls[key] = (other, M, list(xl), list(xh))
        elif old[2] != xl or old[3] != xh:
            self.hulls[key] = (other, M, [min(a, b) for a, b in zip(old[2], xl)],
                               [max(a, b) for a, b in zip(old[3], xh)])
        return _vstack([Y, _const_forms([t - 2], Y)])

    def check_discarded(self) -> int:
        """Interval bound of every discarded branch over the hull of its inputs: ⊆ [−M, M]."""
        for key, (branch, M, xl, xh) in self.hulls.items():
            X = Forms(fmpq_mat(len(xl), 1, [fmpq(0)] * len(xl)), [], [],
                      (fmpq_mat(len(xl), 1, xl), fmpq_mat(len(xh), 1, xh)))
            Y = self.apply(branch.body, X, False, True)
            los, his = Y.bounds()
            if any(v < -M for v in los) or any(v > M for v in his):
                raise StepFailure("a discarded clock branch may leave [−M, M]")
        return len(self.hulls)


def counter_coords(node: Node) -> list[int]:
    """Input coordinates of ``node`` that are counters of the clock gadgets it is made of."""
    inner = node.nodes if isinstance(node, Network) and len(node.nodes) == 1 else (node,)
    g = inner[0]
    if len(inner) == 1 and isinstance(g, Gadget) and g.name == "zlz-clock-step":
        fan, b1, _, b2, _, _, _ = Engine.parts(g)
        d = b1.in_dim
        return sorted({d} | set(counter_coords(b1.body)) | set(counter_coords(b2.body)))
    return []


def _fold(row: list, blo: list, bhi: list) -> list:
    """A form on a box is unique only up to its degenerate directions: fold those into the
    constant (p_j = blo_j = bhi_j there)."""
    row = [as_fmpq(v) for v in row]
    for j, (a, b) in enumerate(zip(blo, bhi)):
        if a == b and row[j] != 0:
            row[-1] += row[j] * a
            row[j] = fmpq(0)
    return row


def _forms(rows: list[list], blo: list, bhi: list) -> Forms:
    m = len(rows[0])
    rows = [_fold(r, blo, bhi) for r in rows]
    return Forms(fmpq_mat(len(rows), m, [v for r in rows for v in r]), list(blo), list(bhi))


def _row(F: Forms, i: int) -> list:
    m = F.np + 1
    return _fold(F.F.entries()[i * m:(i + 1) * m], F.blo, F.bhi)


def _shared(outs: list[Forms], rows: list[int]) -> list:
    vals = []
    for i in rows:
        v = {o.exact_const(i) for o in outs}
        if len(v) != 1 or None in v:
            raise StepFailure(f"state coordinate {i} is not one exact constant for all cells")
        vals.append(v.pop())
    return vals


def compositional_values(net: Network, d: int, r: int, K: int, delta: fmpq, tail: bool,
                         engine: Engine) -> tuple[list, dict]:
    """Exact constant value of ``net`` = L2 ∘ g^{∘R} ∘ L1 on every cell Q_β (β in product order
    with the last coordinate fastest, as :func:`certify.analysis.trifling.trifling_cells`), following the
    state classes of the proof (see the module docstring)."""
    L1, rep, L2 = net.nodes
    g = rep.body
    n = g.in_dim
    R = rep.times
    R_expect = 3 * r + 1 if tail else 3 * r - 1
    if R != R_expect:
        raise StepFailure(f"{R} compositions, the construction has {R_expect}")
    engine.T = 2 * R + 8
    one, zero = fmpq(1), fmpq(0)
    # --- L1 on the cube: rows 5i, 5i+3 = y_i(x_i) increasing; 5i+1 = 5i+2 = 1; 5i+4 = 0
    X0 = _forms([[one if j == i else zero for j in range(d)] + [zero] for i in range(d)],
                [zero] * d, [one] * d)
    S0 = engine.affine(L1, X0)
    ya, yb = [], []
    for i in range(d):
        r0, r3 = _row(S0, 5 * i), _row(S0, 5 * i + 3)
        if r0 != r3 or any(r0[j] != 0 for j in range(d) if j != i) or not r0[i] > 0 or \
                _row(S0, 5 * i + 1) != [zero] * d + [one] or _row(S0, 5 * i + 2) != [zero] * d + [one] \
                or _row(S0, 5 * i + 4) != [zero] * (d + 1):
            raise StepFailure("L1 is not x ↦ (y, 1, 1, y, 0) per coordinate")
        ya.append(r0[i])
        yb.append(r0[d])
    shared_rows = list(range(5 * d, n))
    shared = _shared([S0], shared_rows)
    axis = [(fmpq(k, K), fmpq(k + 1, K) - (delta if k <= K - 2 else 0)) for k in range(K)]
    ylo = [[ya[i] * a + yb[i] for a, _ in axis] for i in range(d)]
    yhi = [[ya[i] * b + yb[i] for _, b in axis] for i in range(d)]
    S = [[zero] * K for _ in range(d)]          # S_i(ℓ) once recorded (Lemma C.1 register)
    Smin = [[zero] * K for _ in range(d)]       # prefix hulls of S_i over ℓ' ≤ ℓ
    Smax = [[zero] * K for _ in range(d)]
    stats = {"classes": 0, "steps": 0}

    def floor_forms(k: int, cls: tuple, ext: list) -> Forms:
        np_ = 2 * d
        rows = [[zero] * (np_ + 1) for _ in range(n)]
        blo, bhi = [], []
        for i in range(d):
            rows[5 * i][i] = fmpq(k)
            rows[5 * i + 1][np_] = fmpq(k * k)
            rows[5 * i + 2][np_] = fmpq(k)
            rows[5 * i + 3][i] = one
            rows[5 * i + 4][d + i] = one
        for j, v in zip(shared_rows, ext):
            rows[j][np_] = v
        for i in range(d):
            a, b = cls[i][1], cls[i][2]
            blo.append(ylo[i][a])
            bhi.append(yhi[i][b])
        for i in range(d):
            kind, a, b = cls[i]
            blo.append(Smin[i][b] if kind == "lt" else zero)
            bhi.append(Smax[i][b] if kind == "lt" else zero)
        return _forms(rows, blo, bhi)

    # --- phase 1: the iterated floor, k = 1 .. r−1 (Lemma C.1 invariant, three classes per axis)
    for k in range(1, r):
        per_axis = []
        if min(k, K) >= 1:
            per_axis.append(("lt", 0, min(k, K) - 1))
        if k <= K - 1:
            per_axis.append(("eq", k, k))
        if k + 1 <= K - 1:
            per_axis.append(("gt", k + 1, K - 1))
        outs = []
        deltas: dict = {}
        for cls in itertools.product(per_axis, repeat=d):
            X = floor_forms(k, cls, shared)
            Y = engine.apply(g, X, True)
            outs.append(Y)
            expect = floor_forms(k + 1, cls, shared)
            for i in range(d):
                dlt = _row(Y, 5 * i + 4)[-1] - _row(X, 5 * i + 4)[-1]
                if cls[i][0] != "eq" and dlt != 0:
                    raise StepFailure("floor register changes off its own cell")
                if cls[i][0] == "eq" and deltas.setdefault(i, dlt) != dlt:
                    raise StepFailure("floor register update depends on the other axes")
                for j in range(5):
                    want = _row(expect, 5 * i + j)
                    if j == 4:
                        want = want[:-1] + [want[-1] + dlt]
                    if _row(Y, 5 * i + j) != want:
                        raise StepFailure(f"floor step {k} does not match Lemma C.1 (row {5 * i + j})")
        shared = _shared(outs, shared_rows)
        stats["classes"] += len(outs)
        if k <= K - 1:
            for i in range(d):
                S[i][k] = deltas[i]
        # prefix hulls for the next step
        for i in range(d):
            if k <= K - 1:
                Smin[i][k] = min(Smin[i][k - 1], S[i][k])
                Smax[i][k] = max(Smax[i][k - 1], S[i][k])
    for i in range(d):
        for l in range(1, K):
            Smin[i][l] = min(Smin[i][l - 1], S[i][l])
            Smax[i][l] = max(Smax[i][l - 1], S[i][l])
    # --- transition ĝ: one class over all cells
    X = floor_forms(r, tuple(("lt", 0, K - 1) for _ in range(d)), shared)
    Y = engine.apply(g, X, True)
    r0 = _row(Y, 0)
    if r0 != _row(Y, 3) or any(r0[j] != 0 for j in range(d)) or Y.exact_const(2) != 0 or \
            Y.exact_const(5) != 0:
        raise StepFailure("the transition is not floor registers ↦ (j−1, C, 0, j−1, D, 0)")
    pf_shared_rows = [1, 4] + list(range(6, n))
    pf_shared = _shared([Y], pf_shared_rows)
    cells = list(itertools.product(range(K), repeat=d))
    z0 = [sum(r0[d + i] * S[i][b[i]] for i in range(d)) + r0[-1] for b in cells]
    if any(v.q != 1 for v in z0):
        raise StepFailure("counter registers are not integers")
    z0i = [int(v.p) for v in z0]
    zs = sorted(set(z0i))
    # --- phase 2: the two iterated bit sums, t = 0 .. 2r−2 (Lemma D.1, classes by the sign of z)
    theta = [[], []]
    pref = [[zero], [zero]]

    def pf_forms(cls: tuple, ext: list) -> Forms:
        rows = [[zero] * 4 for _ in range(n)]
        rows[0][0] = rows[3][0] = one
        rows[2][1] = one
        rows[5][2] = one
        for j, v in zip(pf_shared_rows, ext):
            rows[j][3] = v
        return _forms(rows, cls[0], cls[1])

    steps2 = 2 * r - 1
    for t in range(steps2):
        lo_i = bisect.bisect_left(zs, t)
        hi_i = bisect.bisect_right(zs, t)
        groups = []  # (name, z0 min, z0 max)
        if lo_i > 0:
            groups.append(("neg", zs[0], zs[lo_i - 1]))
        if hi_i > lo_i:
            groups.append(("zero", t, t))
        if hi_i < len(zs):
            groups.append(("pos", zs[hi_i], zs[-1]))
        outs, dl = [], {}
        for name, a, b in groups:
            blo = [fmpq(a - t)]
            bhi = [fmpq(b - t)]
            for c in range(2):
                blo.append(pref[c][min(t, a + 1)])
                bhi.append(pref[c][min(t, b + 1)])
            X = pf_forms((blo, bhi), pf_shared)
            Y = engine.apply(g, X, True)
            outs.append(Y)
            want0 = _fold([one, zero, zero, fmpq(-1)], X.blo, X.bhi)
            if _row(Y, 0) != want0 or _row(Y, 3) != want0:
                raise StepFailure(f"bit-sum step {t}: counter is not z − 1")
            for c, (row, col) in enumerate(((2, 1), (5, 2))):
                got = _row(Y, row)
                base = [zero] * 4
                base[col] = one
                base = _fold(base, X.blo, X.bhi)
                got = [g_ - b_ if k_ < 3 else g_ - base[3] for k_, (g_, b_) in enumerate(zip(got, base))]
                if any(got[:3]):
                    raise StepFailure(f"bit-sum step {t}: sum register is not S + const")
                if name == "neg":
                    if got[3] != 0:
                        raise StepFailure(f"bit-sum step {t}: finished counter still adds")
                elif dl.setdefault(c, got[3]) != got[3]:
                    raise StepFailure(f"bit-sum step {t}: the added bit depends on the cell")
        pf_shared = _shared(outs, pf_shared_rows)
        for c in range(2):
            th = dl.get(c, zero)
            if th < 0:
                raise StepFailure("negative bit")
            theta[c].append(th)
            pref[c].append(pref[c][-1] + th)
        stats["classes"] += len(outs)
    # per-cell registers after phase 2
    Pc = [[pref[c][min(steps2, z + 1)] for z in z0i] for c in range(2)]
    zend = [z - steps2 for z in z0i]
    if not tail:
        state_rows = lambda j: [zend[j], pf_shared[0], Pc[0][j], zend[j], pf_shared[1], Pc[1][j]] + \
            list(pf_shared[2:])
        W, b = L2.W.entries(), L2.b.entries()[0]
        vals = [sum((w * s for w, s in zip(W, state_rows(j)) if w != 0), zero) + b
                for j in range(len(cells))]
        stats["steps"] = R
        return vals, stats
    # --- tail 1: ĝ' (core output map), one class over all cells
    blo = [fmpq(min(zend)), min(Pc[0]), min(Pc[1])]
    bhi = [fmpq(max(zend)), max(Pc[0]), max(Pc[1])]
    rows = [[zero] * 4 for _ in range(n)]
    rows[0][0] = rows[3][0] = one
    rows[2][1] = one
    rows[5][2] = one
    for j, v in zip(pf_shared_rows, pf_shared):
        rows[j][3] = v
    Y = engine.apply(g, _forms(rows, blo, bhi), True)
    vrow = _row(Y, 0)
    if vrow[0] != 0:
        raise StepFailure("core output depends on the counter register")
    tail_rows = list(range(1, n))
    ext = _shared([Y], tail_rows)
    v = [vrow[1] * Pc[0][j] + vrow[2] * Pc[1][j] + vrow[3] for j in range(len(cells))]
    # --- tail 2: the clamp, on classes of output values split until the step is affine
    memo: dict = {}
    uniq = sorted(set(v))

    def solve(vals: list) -> None:
        rows = [[one, zero]] + [[zero, e] for e in ext]
        try:
            Y = engine.apply(g, _forms(rows, [vals[0]], [vals[-1]]), True)
        except StepFailure:
            if len(vals) == 1:
                raise
            solve(vals[:len(vals) // 2])
            solve(vals[len(vals) // 2:])
            return
        w = _row(Y, 0)
        for u in vals:
            memo[u] = w[0] * u + w[1]
        outs.append(Y)

    outs = []
    solve(uniq)
    fin = _shared(outs, tail_rows)
    W, b = L2.W.entries(), L2.b.entries()[0]
    vals = [sum((w * s for w, s in zip(W, [memo[u]] + fin) if w != 0), zero) + b for u in v]
    stats["classes"] += 1 + len(outs)
    stats["steps"] = R
    return vals, stats


def global_range(net: Network, d: int, engine: Engine) -> tuple[fmpq, fmpq]:
    """Rigorous range of the network over [0,1]^d: loose affine forms in x through every step,
    with the clock specification (counters are exact constants for every x)."""
    L1, rep, L2 = net.nodes
    zero, one = fmpq(0), fmpq(1)
    X = _forms([[one if j == i else zero for j in range(d)] + [zero] for i in range(d)],
               [zero] * d, [one] * d)
    X = engine.affine(L1, X)
    for _ in range(rep.times):
        X = engine.apply(rep.body, X, False)
    Y = engine.affine(L2, X)
    los, his = Y.bounds()
    return los[0], his[0]


def _cell_boxes(d: int, K: int, delta: fmpq) -> list:
    axis = [(fmpq(k, K), fmpq(k + 1, K) - (delta if k <= K - 2 else 0)) for k in range(K)]
    return [[axis[b] for b in beta] for beta in itertools.product(range(K), repeat=d)]


def _run_compositional(net: Node, d: int, r: int, K: int, delta: fmpq, tail: bool) -> tuple:
    engine = Engine()
    try:
        vals, stats = compositional_values(net, d, r, K, delta, tail, engine)
        rng = global_range(net, d, engine) if tail else None
        stats["discarded_branch_checks"] = engine.check_discarded()
    except StepFailure as exc:
        raise UserError(f"compositional certification failed: {exc}") from None
    stats["clock_specs"] = len(engine.clocks)
    return vals, rng, stats, engine.used


def method_offtrifling(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    d, r = params["d"], params["r"]
    K, delta = _K_delta_offtrifling(params)
    vals, _, stats, used = _run_compositional(net, d, r, K, delta, False)
    upper, lower = fmpq(0), fmpq(0)
    for box, v in zip(_cell_boxes(d, K, delta), vals):
        lo_e, hi_e = box_error(target, box, v, v)
        upper, lower = max(upper, hi_e), max(lower, lo_e)
    return ErrorReport(lower, upper, [], used, {"cells": K ** d, "K": K, "delta": str(delta),
                                                "method": "compositional", **stats})


def method_lp(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    from proofs.compositions.build import clamp_level, iroot, lp_delta, sup_abs

    d, r = params["d"], params["r"]
    p = as_fmpq(params["p"])
    K = iroot(r, d)
    Mc = clamp_level(target, d)
    delta = lp_delta(target, d, r, K, p, Mc)
    vals, (glo, ghi), stats, used = _run_compositional(net, d, r, K, delta, True)
    sup_phi = max(abs(glo), abs(ghi))
    fsup = sup_abs(target)
    meas = 1 - (1 - (K - 1) * delta) ** d
    lower, upper = lp_bounds([(box, *box_error(target, box, v, v))
                              for box, v in zip(_cell_boxes(d, K, delta), vals)],
                             meas, fsup + sup_phi, p)
    return ErrorReport(lower, upper, [], used,
                       {"cells": K ** d, "K": K, "delta": str(delta), "trifling_measure": str(meas),
                        "sup_phi_on_cube": str(sup_phi), "p": str(p), "method": "compositional",
                        **stats})




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
    from proofs.compositions.build import iroot, uniform_delta

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
    return ErrorReport(lower, upper, [], engine.used,
                       {"boxes": len(boxes), "boxes_not_constant": loose, "K": K,
                        "delta": str(delta), "clock_specs": len(engine.clocks),
                        "discarded_branch_checks": checks, "method": "interval boxes"})




# ================================================================================================
# Gadget entries (Prop 3.1, Lemma D.1, Prop 3.2, Prop 3.3), certified exactly


def method_step_iteration(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Prop 3.1: exact 1-D enumeration (certify.analysis.pl1d) of L2 ∘ g^{∘(m−1)} ∘ L1 on every closed
    interval [k, k+1−δ·1{k ≤ n−2}]; the error is the exact max |φ − k| over them."""
    from certify.analysis.pl1d import enumerate_1d

    n = params["n"]
    delta = as_fmpq(params.get("delta", "1/10"))
    worst, pieces, wit = fmpq(0), 0, []
    for k in range(n):
        a, b = fmpq(k), fmpq(k + 1) - (delta if k <= n - 2 else 0)
        pl = enumerate_1d(net, a, b)
        pieces += len(pl.points) - 1
        for x, v in zip(pl.points, pl.values):
            e = abs(v[0] - k)
            if e > worst:
                worst, wit = e, [{"x": [str(x)], "error": str(e)}]
    return ErrorReport(worst, worst, wit, set(), {"intervals": n, "linear_pieces": pieces,
                                                  "method": "exact 1-D enumeration"})


def method_bitsum_iteration(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma D.1: exact evaluation on the whole finite set it claims, k = 0..r and every
    θ ∈ {0,1}^r (one batched exact run)."""
    from proofs.compositions.build import pack
    from constructive.evaluate import evaluate

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
    return ErrorReport(worst, worst, wit, set(), {"points": len(ks), "method": "exact evaluation"})


def method_pointfit_iteration(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Prop 3.2: exact values φ(k), k = 0..n−1, against f(k/(n−1)) (rigorous enclosure)."""
    from constructive.evaluate import evaluate

    n = params["n"]
    out = evaluate(net, [[fmpq(k) for k in range(n)]])[0]
    upper, lower, wit = fmpq(0), fmpq(0), []
    for k, v in enumerate(out):
        x = fmpq(k, n - 1)
        lo_e, hi_e = box_error(target, [(x, x)], v, v)
        if hi_e > upper:
            upper, wit = hi_e, [{"x": [str(k)], "error_upper": str(hi_e)}]
        lower = max(lower, lo_e)
    return ErrorReport(lower, upper, wit, set(), {"points": n, "method": "exact evaluation"})


def method_merge_iterations(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Prop 3.3: L̃3 ∘ g2^{∘r2} ∘ L̃2 ∘ g1^{∘r1} ∘ L̃1 = L2 ∘ g^{∘(r1+r2+1)} ∘ L1 on [−A, A], by
    exact 1-D enumeration of both sides (clock gadgets evaluated as plain networks: no
    specification is trusted) and exact comparison at every breakpoint of either side (both
    are linear between consecutive points of the union, so this proves the identity)."""
    from certify.analysis.pl1d import enumerate_1d
    from proofs.compositions.build import merge_instance
    from constructive.evaluate import evaluate
    from constructive.ir import Repeat as Rep, affine, network

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
    return ErrorReport(worst, worst, wit, set(),
                       {"A": str(A), "breakpoints_lhs": len(pl_l.points), "breakpoints_rhs": len(pl_r.points),
                        "compared_points": len(pts), "method": "exact 1-D enumeration of both sides"})




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
                               {"method": "exact affine analysis", "failure": str(exc)})
        want = [eye[pick + i] for i in range(d)] + [eye[2 * d]]
        for i in range(d + 1):
            diff = [a - b for a, b in zip(_row(Y, i), want[i])]
            # exact max of |affine difference| over the box: at one of two opposite corners
            for sgn in (1, -1):
                corner = [bhi[j] if sgn * diff[j] > 0 else blo[j] for j in range(n)]
                val = abs(sum(c * x for c, x in zip(diff, corner)) + diff[-1])
                if val > worst:
                    worst, wit = val, [{"x": [str(v) for v in corner], "error": str(val)}]
        boxes.append(f"[-M, M]^{2 * d} x [{t_lo}, {t_hi}]")
    return ErrorReport(worst, worst, wit, set(), {"boxes": boxes, "method": "exact affine analysis"})


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
