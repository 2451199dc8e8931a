"""Exact cell-wise evaluation of L2 ∘ g^{∘R} ∘ L1 (the per-cell baseline of the composition
certifier, ``method_*_cells`` in :mod:`proofs.compositions.check`).

Every closed cell Q_β is evaluated at its 2^d vertices in exact rationals (:class:`CellEvaluator`).
A ReLU whose pre-activation has the same weak sign at all vertices of a cell is affine on the
cell (the pre-activation is affine there by induction), so if every neuron passes, the network is
affine on the cell and equal to the interpolation of its vertex values; equal vertex values prove
it constant.  The clock gadget of Lemma E.1 runs both blocks but the selector of Lemma E.2 keeps
one: the kept block is evaluated exactly, the discarded one with exact interval arithmetic on the
cell's hull, and the selector neurons are then checked for a sign that is determined on the whole
cell (so the discarded value provably drops out).  The supremum over all of [0,1]^d (needed for
the trifling region in L^p) comes from one interval run (:func:`global_sup`), in which the clamp
gadget's certified range [−M, M] is used.  This costs K^d · 2^d · R evaluations of g.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from flint import fmpq, fmpq_mat

from constructive.activations import IDENTITY, RELU
from constructive.errors import UserError
from constructive.evaluate import NodeInterpreter
from constructive.ir import Activation, Affine, Gadget, Network, Node
from constructive.numbers import Exact, QMatrix

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
    """A cell on which the exact cell-wise evaluation cannot show the network affine."""


class CellEvaluator(NodeInterpreter):
    """Exact cell-wise evaluation (see the module docstring).  Columns: cell-major, V per cell.

    ``run(node, X)`` is the strict walk (exact values, every ReLU checked for one sign per
    cell); :meth:`loose` is the interval walk (:class:`_Loose`).  ``used`` holds the gadget
    specifications the interval walk relied on, per evaluator.
    """

    def __init__(self, V: int) -> None:
        self.ctx = Exact()
        self.V = V
        self._split: dict[int, tuple] = {}
        self.used: set[str] = set()

    # strict (exact, affinity-checked); networks and repeats are NodeInterpreter's ----------------
    def affine(self, node: Affine, X: QMatrix) -> QMatrix:
        return self.ctx.affine(node.W, node.b, X)

    def activation(self, node: Activation, X: QMatrix) -> QMatrix:
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

    def gadget(self, node: Gadget, X: QMatrix) -> QMatrix:
        if node.name == "zlz-clock-step":
            return self.clock(node, X)
        return self.run(node.body, X)

    def slice(self, X: QMatrix, start: int, stop: int) -> QMatrix:
        return QMatrix(X.num[start:stop], X.den)

    def join(self, parts: list) -> QMatrix:
        return self.ctx.vstack(parts)

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
        return _Loose(self).run(node, (lo, hi))


class _Loose(NodeInterpreter):
    """Interval evaluation of a node on (lo, hi) pairs of matrices, with the clamp gadget's
    certified range; networks and repeats are NodeInterpreter's."""

    def __init__(self, ev: CellEvaluator) -> None:
        self.ev = ev

    def affine(self, node: Affine, X: tuple) -> tuple[QMatrix, QMatrix]:
        return self.ev._iaffine(node, *X)

    def activation(self, node: Activation, X: tuple) -> tuple[QMatrix, QMatrix]:
        lo, hi = X
        rows = [i for i, f in enumerate(node.functions) if f is not IDENTITY]
        if any(isinstance(f, Network) or f.name not in ("relu", "identity") for f in node.functions):
            raise CellFailure("only ReLU/identity activations are supported")
        a, b = lo.num.copy(), hi.num.copy()
        a[rows] = np.maximum(a[rows], 0)
        b[rows] = np.maximum(b[rows], 0)
        return QMatrix(a, lo.den), QMatrix(b, hi.den)

    def gadget(self, node: Gadget, X: tuple) -> tuple[QMatrix, QMatrix]:
        lo, hi = self.run(node.body, X)
        if node.name == "zlz-clamp" and node.spec is not None and node.spec.range is not None:
            self.ev.used.add(node.name)
            m_lo, m_hi = node.spec.range
            lo = _qmax(lo, m_lo)
            hi = _qmin(hi, m_hi)
        return lo, hi

    def slice(self, X: tuple, start: int, stop: int) -> tuple[QMatrix, QMatrix]:
        lo, hi = X
        return QMatrix(lo.num[start:stop], lo.den), QMatrix(hi.num[start:stop], hi.den)

    def join(self, parts: list) -> tuple[QMatrix, QMatrix]:
        return self.ev.ctx.vstack([p[0] for p in parts]), self.ev.ctx.vstack([p[1] for p in parts])


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
    lo = ev.ctx.points([[fmpq(0)] * d])
    hi = ev.ctx.points([[fmpq(1)] * d])
    a, b = ev.loose(net, lo, hi)
    return fmpq(int(a.num[0, 0]), a.den), fmpq(int(b.num[0, 0]), b.den), ev.used
