"""Cell-wise exact analysis of piecewise-linear networks on boxes, batched.

A box is tracked *exactly* by the network's values at its 2^d vertices as long as every ReLU
pre-activation has one weak sign on all vertices: an affine function on a box attains its
extremes at vertices, so the ReLU is then the identity or zero on the whole box, and by
induction the network is affine on the box, determined by the vertex values.  When a sign
pattern breaks, the box is *demoted* to exact rational interval arithmetic (sound, looser);
at gadgets with a specification (a claimed range on all of R^d, or a declared monotone interval
extension such as the median of ``mid``, enclosed by exact evaluation of the body at the box
corners) demoted boxes use the specification instead of the body, and the gadget is recorded as
relied on; ``certify.analysis.gadget_certs`` then certifies it.

This is a number context in the sense of ``constructive.numbers``: the interpreter is the same,
only the numbers (:class:`BoxBatch`) change.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
from flint import fmpq, fmpq_mat

from certify.analysis.interpolants import INTERPOLANT, certified_interpolant
from certify.analysis.ranges import monotone_enclosure, range_domain
from certify.progress import advance
from constructive.evaluate import Interpreter
from constructive.gadgets.bits import is_tent_block, tent_repeats
from constructive.ir import Gadget, Node
from constructive.numbers import Exact, NumberContext, QMatrix, _common, as_fmpq


@dataclass
class BoxBatch:
    """Boxes 0..n−1; exact ones by vertex values ``V`` (rows × len(ids_e)·nv), the rest by
    interval end points ``LO``/``HI`` (rows × len(ids_i))."""

    n: int
    nv: int
    rows: int
    V: QMatrix
    ids_e: np.ndarray
    LO: QMatrix
    HI: QMatrix
    ids_i: np.ndarray


def bisect_widest(box: Sequence[tuple[fmpq, fmpq]]) -> list[list[tuple[fmpq, fmpq]]]:
    """The two halves of a box, split across its widest side."""
    box = list(box)
    i = max(range(len(box)), key=lambda k: box[k][1] - box[k][0])
    a, b = box[i]
    m = (a + b) / 2
    return [box[:i] + [(a, m)] + box[i + 1:], box[:i] + [(m, b)] + box[i + 1:]]


def _clip(M: QMatrix, bound: fmpq, op: Any) -> QMatrix:
    """``op`` (np.maximum or np.minimum) of every entry with the rational ``bound``, exactly."""
    den = M.den * int(bound.q) // math.gcd(M.den, int(bound.q))
    scaled = M.with_den(den)
    return QMatrix(op(scaled.num, int(bound.p) * (den // int(bound.q))), den)


def _same(A: QMatrix, B: QMatrix) -> bool:
    (a, b), _ = _common([A, B])
    return bool((a == b).all())


def _empty(rows: int) -> QMatrix:
    return QMatrix(np.empty((rows, 0), dtype=object), 1)


def _split_pos_neg(W: fmpq_mat) -> tuple[fmpq_mat, fmpq_mat]:
    r, c = W.nrows(), W.ncols()
    pos = [v if v > 0 else fmpq(0) for v in W.entries()]
    neg = [v if v < 0 else fmpq(0) for v in W.entries()]
    return fmpq_mat(r, c, pos), fmpq_mat(r, c, neg)


class BoxContext(NumberContext):
    """Numbers are boxes: exact affine pieces while possible, rational intervals after."""

    name = "boxes"
    rigorous = True

    def __init__(self) -> None:
        super().__init__()
        self.exact = Exact()
        self._splits: dict[int, tuple] = {}

    # construction --------------------------------------------------------------------------
    def boxes(self, boxes: Sequence[Sequence[tuple[fmpq, fmpq]]]) -> BoxBatch:
        d = len(boxes[0])
        corners = list(itertools.product((0, 1), repeat=d))
        cols = [[box[i][c[i]] for i in range(d)] for box in boxes for c in corners]
        V = self.exact.points(cols)
        n = len(boxes)
        return BoxBatch(n, len(corners), d, V, np.arange(n), _empty(d), _empty(d),
                        np.arange(0))

    def points(self, columns: Sequence[Sequence[Any]]) -> BoxBatch:
        """Points as degenerate boxes (every vertex is the point itself)."""
        return self.boxes([[(as_fmpq(v), as_fmpq(v)) for v in col] for col in columns])

    def _convert(self, m: fmpq_mat) -> QMatrix:
        return self.exact.convert(m)

    def entries(self, X: BoxBatch) -> list[list[tuple[fmpq, fmpq]]]:
        """Per output row and box, an exact enclosure (lo, hi) of the values on the box."""
        lo_v, hi_v = self._vertex_bounds(X.V, X.nv)
        out: list[list] = [[None] * X.n for _ in range(X.rows)]
        for k, i in enumerate(X.ids_e):
            for r in range(X.rows):
                out[r][int(i)] = (fmpq(lo_v.num[r, k], lo_v.den), fmpq(hi_v.num[r, k], hi_v.den))
        for k, i in enumerate(X.ids_i):
            for r in range(X.rows):
                out[r][int(i)] = (fmpq(X.LO.num[r, k], X.LO.den), fmpq(X.HI.num[r, k], X.HI.den))
        return out

    # helpers --------------------------------------------------------------------------------
    def _vertex_bounds(self, V: QMatrix, nv: int) -> tuple[QMatrix, QMatrix]:
        r = V.num.shape[0]
        cube = V.num.reshape(r, -1, nv)
        lo = np.empty(cube.shape[:2], dtype=object)
        hi = np.empty(cube.shape[:2], dtype=object)
        if cube.size:
            lo[...] = cube.min(axis=2)
            hi[...] = cube.max(axis=2)
        return QMatrix(lo, V.den), QMatrix(hi, V.den)

    def demote(self, X: BoxBatch, mask: np.ndarray) -> BoxBatch:
        """Move the exact boxes selected by ``mask`` (over ids_e order) to interval mode."""
        if not mask.any():
            return X
        lo, hi = self._vertex_bounds(X.V, X.nv)
        keep = ~mask
        cols_keep = np.repeat(keep, X.nv)
        V = QMatrix(X.V.num[:, cols_keep], X.V.den)
        LO = self.exact.hstack([X.LO, QMatrix(lo.num[:, mask], lo.den)])
        HI = self.exact.hstack([X.HI, QMatrix(hi.num[:, mask], hi.den)])
        return BoxBatch(X.n, X.nv, X.rows, V, X.ids_e[keep], LO, HI,
                        np.concatenate([X.ids_i, X.ids_e[mask]]))

    def collapse(self, X: BoxBatch) -> BoxBatch:
        """One vertex per box once every exact box is constant (its vertices agree)."""
        if X.nv == 1 or not len(X.ids_e) or len(X.ids_i):
            return X
        cube = X.V.num.reshape(X.rows, -1, X.nv)
        if not (cube == cube[:, :, :1]).all():
            return X
        return BoxBatch(X.n, 1, X.rows, QMatrix(np.ascontiguousarray(cube[:, :, 0]), X.V.den), X.ids_e,
                        X.LO, X.HI, X.ids_i)

    def expand(self, X: BoxBatch, nv: int) -> BoxBatch:
        """Back to ``nv`` vertices per box (a collapsed box has equal values at every vertex)."""
        if X.nv == nv:
            return X
        return BoxBatch(X.n, nv, X.rows, QMatrix(np.repeat(X.V.num, nv, axis=1), X.V.den), X.ids_e,
                        X.LO, X.HI, X.ids_i)

    # the context protocol --------------------------------------------------------------------
    def affine(self, W: fmpq_mat, b: fmpq_mat, X: BoxBatch) -> BoxBatch:
        V = self.exact.affine(W, b, X.V)
        key = id(W)
        if key not in self._splits or self._splits[key][0] is not W:
            self._splits[key] = (W, *_split_pos_neg(W))
        _, Wp, Wn = self._splits[key]
        zero = fmpq_mat(b.nrows(), 1)
        if len(X.ids_i):
            LO = self.exact.affine(Wp, b, X.LO)
            LO = self._add(LO, self.exact.affine(Wn, zero, X.HI))
            HI = self.exact.affine(Wp, b, X.HI)
            HI = self._add(HI, self.exact.affine(Wn, zero, X.LO))
        else:
            LO = HI = _empty(W.nrows())
        return BoxBatch(X.n, X.nv, W.nrows(), V, X.ids_e, LO, HI, X.ids_i)

    def _add(self, A: QMatrix, B: QMatrix) -> QMatrix:
        (a, b), den = _common([A, B])
        return QMatrix(a + b, den)

    def relu(self, X: BoxBatch) -> BoxBatch:
        if len(X.ids_e):
            cube = X.V.num.reshape(X.rows, -1, X.nv)
            consistent = (cube >= 0).all(axis=2) | (cube <= 0).all(axis=2)
            broken = ~consistent.all(axis=0)
            X = self.demote(X, broken)
        V = QMatrix(np.maximum(X.V.num, 0), X.V.den)
        LO = QMatrix(np.maximum(X.LO.num, 0), X.LO.den)
        HI = QMatrix(np.maximum(X.HI.num, 0), X.HI.den)
        return BoxBatch(X.n, X.nv, X.rows, V, X.ids_e, LO, HI, X.ids_i)

    def elementwise(self, kernel: Any, X: BoxBatch) -> BoxBatch:
        raise ValueError("the box analysis follows piecewise-linear ReLU/identity networks only; "
                         "certify other activations with the ball branch and bound (ball-bnb)")

    def kernel_of(self, activation: Any) -> Any:
        raise ValueError(f"the box analysis does not follow {activation!r}; certify such "
                         "networks with the ball branch and bound (ball-bnb)")

    def shape(self, X: BoxBatch) -> tuple[int, int]:
        return X.rows, X.n

    def rows(self, X: BoxBatch, start: int, stop: int) -> BoxBatch:
        return BoxBatch(X.n, X.nv, stop - start, QMatrix(X.V.num[start:stop], X.V.den), X.ids_e,
                        QMatrix(X.LO.num[start:stop], X.LO.den),
                        QMatrix(X.HI.num[start:stop], X.HI.den), X.ids_i)

    def _align(self, parts: Sequence[BoxBatch]) -> list[BoxBatch]:
        """Demote, in every part, the boxes that are inexact in some part."""
        nv = max(p.nv for p in parts)
        parts = [self.expand(p, nv) for p in parts]
        inexact = set()
        for p in parts:
            inexact.update(p.ids_i.tolist())
        return [self.demote(p, np.isin(p.ids_e, list(inexact))) if inexact else p for p in parts]

    def vstack(self, parts: Sequence[BoxBatch]) -> BoxBatch:
        parts = self._align(parts)
        ref = parts[0]
        order_e, order_i = ref.ids_e, ref.ids_i
        Vs, LOs, HIs = [], [], []
        for p in parts:
            Vs.append(self._reorder_exact(p, order_e))
            lo, hi = self._reorder_interval(p, order_i)
            LOs.append(lo)
            HIs.append(hi)
        return BoxBatch(ref.n, ref.nv, sum(p.rows for p in parts), self.exact.vstack(Vs), order_e,
                        self.exact.vstack(LOs), self.exact.vstack(HIs), order_i)

    def _reorder_exact(self, p: BoxBatch, order: np.ndarray) -> QMatrix:
        if np.array_equal(p.ids_e, order):
            return p.V
        pos = {int(i): k for k, i in enumerate(p.ids_e)}
        cols = np.concatenate([np.arange(pos[int(i)] * p.nv, (pos[int(i)] + 1) * p.nv) for i in order]) \
            if len(order) else np.arange(0)
        return QMatrix(p.V.num[:, cols], p.V.den)

    def _reorder_interval(self, p: BoxBatch, order: np.ndarray) -> tuple[QMatrix, QMatrix]:
        if np.array_equal(p.ids_i, order):
            return p.LO, p.HI
        pos = {int(i): k for k, i in enumerate(p.ids_i)}
        cols = np.array([pos[int(i)] for i in order], dtype=int)
        return QMatrix(p.LO.num[:, cols], p.LO.den), QMatrix(p.HI.num[:, cols], p.HI.den)

    def hstack(self, parts: Sequence[BoxBatch]) -> BoxBatch:
        nv = max(p.nv for p in parts)
        parts = [self.expand(p, nv) for p in parts]
        offset, ids_e, ids_i = 0, [], []
        for p in parts:
            ids_e.append(p.ids_e + offset)
            ids_i.append(p.ids_i + offset)
            offset += p.n
        return BoxBatch(offset, parts[0].nv, parts[0].rows, self.exact.hstack([p.V for p in parts]),
                        np.concatenate(ids_e), self.exact.hstack([p.LO for p in parts]),
                        self.exact.hstack([p.HI for p in parts]), np.concatenate(ids_i))

    def cols(self, X: BoxBatch, start: int, stop: int) -> BoxBatch:
        me = (X.ids_e >= start) & (X.ids_e < stop)
        mi = (X.ids_i >= start) & (X.ids_i < stop)
        return BoxBatch(stop - start, X.nv, X.rows, QMatrix(X.V.num[:, np.repeat(me, X.nv)], X.V.den),
                        X.ids_e[me] - start, QMatrix(X.LO.num[:, mi], X.LO.den),
                        QMatrix(X.HI.num[:, mi], X.HI.den), X.ids_i[mi] - start)


class _Frame:
    """A gadget being evaluated: boxes demoted inside it are dropped and get its spec at exit."""

    def __init__(self, node: Gadget) -> None:
        self.node = node
        self.dropped: list[np.ndarray] = []


class BoxInterpreter(Interpreter):
    """Uses gadget specifications for demoted boxes and records which gadgets it relied on.

    Inside a gadget with a range or an interval extension, a box that loses exactness within a
    ``Repeat`` is dropped at once (no point carrying a loose interval through, say, 2J tent
    maps) and receives the specification's enclosure when the gadget is left; elsewhere boxes
    keep their intervals, which later interval extensions (such as mid's) can still tighten.  A gadget whose spec lists
    ``cells`` is analysed once on those cells; a box whose input lies in a cell where the gadget
    is constant then gets that constant without re-running the body.
    """

    def __init__(self, context: BoxContext, trusted: Optional[set[str]] = None) -> None:
        super().__init__(context)
        self.trusted = trusted
        self.used: set[str] = set()
        self.frames: list[Optional[_Frame]] = []
        self._cells: dict[int, tuple] = {}

    def _usable(self, node: Gadget) -> bool:
        spec = node.spec
        return spec is not None and (self.trusted is None or node.name in self.trusted)

    @staticmethod
    def _range(node: Gadget) -> Optional[tuple]:
        """The claimed range when it is claimed on all of R^d (boxes here are not checked
        against a bounded domain)."""
        spec = node.spec
        if spec.range is None or any(a is not None or b is not None
                                     for a, b in range_domain(spec, node.in_dim)):
            return None
        return spec.range

    # pruning ------------------------------------------------------------------------------
    def _prune(self, X: BoxBatch) -> BoxBatch:
        frame = self.frames[-1] if self.frames else None
        if frame is None or not len(X.ids_i):
            return X
        frame.dropped.append(X.ids_i)
        return BoxBatch(X.n, X.nv, X.rows, X.V, X.ids_e, _empty(X.rows), _empty(X.rows), np.arange(0))

    def repeat(self, node: Any, X: BoxBatch) -> BoxBatch:
        if not len(X.ids_e) and not len(X.ids_i):
            return X  # no box left (all taken by specifications): R^k to R^k, nothing to push
        if node.times and len(X.ids_e) and is_tent_block(node.body):
            return self._tent_repeat(node, X)
        for _ in range(node.times):
            X = self._prune(self.run(node.body, X))
        return X

    def _tent_repeat(self, node: Any, X: BoxBatch) -> BoxBatch:
        """A chain of tent blocks (the sawtooth of bit extraction) in one step on the boxes where
        its input is constant: there the chain is constant too, so its value at one point is
        the box's exact (affine) value, and ``tent_repeats`` gives it in O(log times) steps
        instead of ``times`` layers of ever longer rationals.  Other boxes take the layers."""
        cube = X.V.num.reshape(X.rows, -1, X.nv)
        constant = (cube == cube[:, :, :1]).all(axis=(0, 2))
        if not constant.any():
            for _ in range(node.times):
                X = self._prune(self.run(node.body, X))
            return X
        rest = BoxBatch(X.n, X.nv, X.rows, QMatrix(X.V.num[:, np.repeat(~constant, X.nv)], X.V.den),
                        X.ids_e[~constant], X.LO, X.HI, X.ids_i)
        for _ in range(node.times if len(rest.ids_e) or len(rest.ids_i) else 0):
            rest = self._prune(self.run(node.body, rest))
        first, second, den = tent_repeats([int(v) for v in cube[0, constant, 0]],
                                          [int(v) for v in cube[1, constant, 0]], X.V.den, node.times)
        fast = np.empty((2, len(first) * X.nv), dtype=object)
        fast[0] = np.repeat(np.array(first, dtype=object), X.nv)
        fast[1] = np.repeat(np.array(second, dtype=object), X.nv)
        V = self.ctx.exact.hstack([rest.V, QMatrix(fast, den)])  # type: ignore[attr-defined]
        return BoxBatch(X.n, X.nv, 2, V, np.concatenate([rest.ids_e, X.ids_e[constant]]),
                        rest.LO, rest.HI, rest.ids_i)

    def parallel(self, node: Any, X: BoxBatch) -> BoxBatch:
        self.frames.append(None)  # batched copies change the box numbering: no pruning inside
        try:
            return super().parallel(node, X)
        finally:
            self.frames.pop()

    # gadgets --------------------------------------------------------------------------------
    def gadget(self, node: Gadget, X: BoxBatch) -> BoxBatch:
        X = self.ctx.collapse(X)  # type: ignore[attr-defined]
        if len(X.ids_e) > 1 and not len(X.ids_i) and (X.V.num == X.V.num[:, :1]).all():
            return self._broadcast(node, X)
        fast = None
        if self.trusted is None and node.spec is not None and node.spec.points is not None \
                and len(X.ids_e) and X.rows == 1:
            X, fast = self._from_interpolant(node, X)
            if fast is not None and not len(X.ids_e) and not len(X.ids_i):
                # every box read off the knots: the body has nothing left to evaluate
                empty = _empty(node.out_dim)
                return self._merge_exact(BoxBatch(X.n, X.nv, node.out_dim, QMatrix(empty.num, X.V.den),
                                                  X.ids_e, empty, empty, X.ids_i), fast)
        if not self._usable(node):
            return self._merge_exact(self.run(node.body, X), fast)
        spec = node.spec
        if spec.cells is not None and len(X.ids_e):
            X, known = self._from_cells(node, X)
        else:
            known = None
        rng = self._range(node)
        has_enclosure = rng is not None or spec.interval is not None
        if not has_enclosure:
            out = self.run(node.body, X)
            return self._merge_exact(self._merge_known(node, out, known), fast)
        bounds = self._input_bounds(X) if spec.interval is not None else None
        frame = _Frame(node)
        if spec.cells is not None and rng is not None and len(X.ids_e):
            # inputs outside every cell (e.g. on a trifling strip): the range is all we would
            # learn from the body, so take it without evaluating the body
            frame.dropped.append(X.ids_e)
            X = BoxBatch(X.n, X.nv, X.rows, QMatrix(X.V.num[:, :0], X.V.den), X.ids_e[:0], X.LO, X.HI,
                         X.ids_i)
        exact_part = BoxBatch(X.n, X.nv, X.rows, X.V, X.ids_e, _empty(X.rows), _empty(X.rows), np.arange(0))
        self.frames.append(frame)
        try:
            out = self.run(node.body, exact_part)
        finally:
            self.frames.pop()
        spec_ids = np.concatenate([X.ids_i] + frame.dropped).astype(int)
        if len(spec_ids):
            self.used.add(node.name)
        LO, HI = self._spec_enclosures(node, spec_ids, bounds)
        computed_lo, computed_hi = out.LO, out.HI
        if rng is not None and len(out.ids_i):  # both enclosures are sound: intersect
            lo_q, hi_q = rng
            computed_lo = _clip(computed_lo, lo_q, np.maximum)
            computed_hi = _clip(computed_hi, hi_q, np.minimum)
            if not (_same(computed_lo, out.LO) and _same(computed_hi, out.HI)):
                self.used.add(node.name)  # relied on only where it tightened the body's enclosure
        (lo_a, lo_b), den_lo = _common([computed_lo, LO])
        (hi_a, hi_b), den_hi = _common([computed_hi, HI])
        out = BoxBatch(X.n, out.nv, node.out_dim, out.V, out.ids_e,
                       QMatrix(np.hstack([lo_a, lo_b]), den_lo), QMatrix(np.hstack([hi_a, hi_b]), den_hi),
                       np.concatenate([out.ids_i, spec_ids]).astype(int))
        return self._merge_exact(self._merge_known(node, out, known), fast)

    def _broadcast(self, node: Gadget, X: BoxBatch) -> BoxBatch:
        """Every box feeds the gadget the same constant input: evaluate it once."""
        one = BoxBatch(1, 1, X.rows, QMatrix(X.V.num[:, :1], X.V.den), np.arange(1), X.LO, X.HI,
                       np.arange(0))
        out = self.gadget(node, one)
        if len(out.ids_e):
            V = QMatrix(np.repeat(out.V.num[:, :1], len(X.ids_e), axis=1), out.V.den)
            return BoxBatch(X.n, 1, node.out_dim, V, X.ids_e, out.LO, out.HI, np.arange(0))
        LO = QMatrix(np.repeat(out.LO.num[:, :1], len(X.ids_e), axis=1), out.LO.den)
        HI = QMatrix(np.repeat(out.HI.num[:, :1], len(X.ids_e), axis=1), out.HI.den)
        return BoxBatch(X.n, 1, node.out_dim, _empty(node.out_dim), X.ids_e[:0],
                        LO, HI, X.ids_e)

    def _input_bounds(self, X: BoxBatch) -> dict[int, tuple[list, list]]:
        ctx: BoxContext = self.ctx  # type: ignore[assignment]
        lo, hi = ctx._vertex_bounds(X.V, X.nv)
        out = {}
        for k, i in enumerate(X.ids_e):
            out[int(i)] = ([fmpq(v, lo.den) for v in lo.num[:, k]], [fmpq(v, hi.den) for v in hi.num[:, k]])
        for k, i in enumerate(X.ids_i):
            out[int(i)] = ([fmpq(v, X.LO.den) for v in X.LO.num[:, k]],
                           [fmpq(v, X.HI.den) for v in X.HI.num[:, k]])
        return out

    def _spec_enclosures(self, node: Gadget, ids: np.ndarray, bounds: Optional[dict]) -> tuple[QMatrix, QMatrix]:
        spec = node.spec
        if not len(ids):
            return _empty(node.out_dim), _empty(node.out_dim)
        exact = self.ctx.exact  # type: ignore[attr-defined]
        rng = self._range(node)
        if spec.interval is not None:
            # monotone body (certified): [body(lo), body(hi)], never the spec's own callable
            lo_cols, hi_cols = monotone_enclosure(node, [bounds[int(i)][0] for i in ids],
                                                  [bounds[int(i)][1] for i in ids])
            if rng is not None:  # both claims hold: intersect them
                lo_cols = [[max(v, rng[0]) for v in c] for c in lo_cols]
                hi_cols = [[min(v, rng[1]) for v in c] for c in hi_cols]
            return exact.points(lo_cols), exact.points(hi_cols)
        lo, hi = rng
        return exact.points([[lo] * node.out_dim] * len(ids)), exact.points([[hi] * node.out_dim] * len(ids))

    # interpolants ---------------------------------------------------------------------------
    def _from_interpolant(self, node: Gadget, X: BoxBatch) -> tuple[BoxBatch, Optional[tuple]]:
        """Exact boxes inside one piece of a certified one-layer interpolant, read off the two
        knots around them (the function is affine there, so vertex values stay exact)."""
        import bisect

        table = certified_interpolant(node)
        if table is None:
            return X, None
        xs, ys = table
        lo, hi = self.ctx._vertex_bounds(X.V, X.nv)  # type: ignore[attr-defined]
        take = np.zeros(len(X.ids_e), dtype=bool)
        values: list[fmpq] = []
        for k in range(len(X.ids_e)):
            a, b = fmpq(lo.num[0, k], lo.den), fmpq(hi.num[0, k], hi.den)
            j = min(bisect.bisect_right(xs, a) - 1, len(xs) - 2)
            if j < 0 or a < xs[j] or b > xs[j + 1]:
                continue
            take[k] = True
            slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j])
            values += [ys[j] + slope * (fmpq(v, X.V.den) - xs[j])
                       for v in X.V.num[0, k * X.nv:(k + 1) * X.nv]]
        if not take.any():
            return X, None
        self.used.add(node.name + INTERPOLANT)
        rest = BoxBatch(X.n, X.nv, X.rows, QMatrix(X.V.num[:, np.repeat(~take, X.nv)], X.V.den),
                        X.ids_e[~take], X.LO, X.HI, X.ids_i)
        return rest, (X.ids_e[take], QMatrix.from_rationals(1, len(values), values))

    def _merge_exact(self, out: BoxBatch, fast: Optional[tuple]) -> BoxBatch:
        if fast is None:
            return out
        ids, V = fast
        return BoxBatch(out.n, out.nv, out.rows, self.ctx.exact.hstack([out.V, V]),  # type: ignore[attr-defined]
                        np.concatenate([out.ids_e, ids]), out.LO, out.HI, out.ids_i)

    # cells ------------------------------------------------------------------------------------
    def _cell_table(self, node: Gadget) -> tuple:
        hit = self._cells.get(id(node))
        if hit is None or hit[0] is not node:
            axes = node.spec.cells
            boxes = [list(reversed(c)) for c in itertools.product(*reversed(axes))]
            # only exactly tracked (constant) cells enter the table, and exact tracking never
            # uses a specification: the constants derive from the body, nothing nested is relied on
            results, used = analyse_boxes(node.body, boxes, self.trusted)
            self.used |= {u for u in used if u.endswith(INTERPOLANT)}  # certified at use
            table = {tuple(b): r.vertex_values[0][0] if r.constant else None
                     for b, r in zip(boxes, results)}
            hit = (node, axes, table)
            self._cells[id(node)] = hit
        return hit

    def _from_cells(self, node: Gadget, X: BoxBatch) -> tuple[BoxBatch, Optional[dict]]:
        import bisect

        _, axes, table = self._cell_table(node)
        ctx: BoxContext = self.ctx  # type: ignore[assignment]
        lo, hi = ctx._vertex_bounds(X.V, X.nv)
        known: dict[int, fmpq] = {}
        starts = [[c[0] for c in axis] for axis in axes]
        for k, i in enumerate(X.ids_e):
            cell = []
            for r, axis in enumerate(axes):
                a, b = fmpq(lo.num[r, k], lo.den), fmpq(hi.num[r, k], hi.den)
                j = bisect.bisect_right(starts[r], a) - 1
                if j < 0 or b > axis[j][1]:
                    break
                cell.append(axis[j])
            else:
                value = table.get(tuple(cell))
                if value is not None:
                    known[int(i)] = value
        if not known:
            return X, None
        self.used.add(f"{node.name} (cells)")
        keep = np.array([int(i) not in known for i in X.ids_e], dtype=bool)
        rest = BoxBatch(X.n, X.nv, X.rows, QMatrix(X.V.num[:, np.repeat(keep, X.nv)], X.V.den),
                        X.ids_e[keep], X.LO, X.HI, X.ids_i)
        return rest, known

    def _merge_known(self, node: Gadget, out: BoxBatch, known: Optional[dict]) -> BoxBatch:
        if not known:
            return out
        exact = self.ctx.exact  # type: ignore[attr-defined]
        ids = np.array(sorted(known), dtype=int)
        consts = exact.points([[known[int(i)]] for i in ids for _ in range(out.nv)])
        V = exact.hstack([out.V, consts])
        return BoxBatch(out.n, out.nv, out.rows, V, np.concatenate([out.ids_e, ids]), out.LO, out.HI,
                        out.ids_i)


@dataclass(frozen=True)
class BoxResult:
    """Per box: ``exact`` (network affine on the box, ``vertex_values`` per output) or an
    enclosure ``(lo, hi)`` per output."""

    box: tuple
    exact: bool
    vertex_values: Optional[tuple]  # outputs × vertices
    lo: tuple
    hi: tuple

    @property
    def constant(self) -> bool:
        return self.exact and all(len(set(row)) == 1 for row in self.vertex_values)


def analyse_boxes(net: Node, boxes: Sequence[Sequence[tuple[fmpq, fmpq]]],
                  trusted: Optional[set[str]] = None, chunk: int = 256,
                  progress: Optional[Any] = None) -> tuple[list[BoxResult], set[str]]:
    """Run the box analysis of ``net`` on closed boxes; returns one result per box and the
    names of the gadget specifications relied on.

    Boxes are analysed in chunks: neighbouring boxes share similar denominators, so each chunk's
    common denominator stays close to its entries' own; ``progress(done, total)`` is called
    after each chunk.
    """
    ctx = BoxContext()
    interp = BoxInterpreter(ctx, trusted)
    results: list[BoxResult] = []
    for start in range(0, len(boxes), chunk):
        part = boxes[start:start + chunk]
        Y = interp.run(net, ctx.boxes(part))
        results.extend(_collect(Y, part))
        if progress is not None:
            progress(min(start + chunk, len(boxes)), len(boxes))
        advance("boxes", min(start + chunk, len(boxes)), len(boxes))
    return results, interp.used


def _collect(Y: BoxBatch, boxes: Sequence) -> list[BoxResult]:
    results: list[Optional[BoxResult]] = [None] * len(boxes)
    for k, i in enumerate(Y.ids_e):
        verts = tuple(tuple(fmpq(v, Y.V.den) for v in Y.V.num[r, k * Y.nv:(k + 1) * Y.nv])
                      for r in range(Y.rows))
        results[int(i)] = BoxResult(tuple(boxes[int(i)]), True, verts,
                                    tuple(min(row) for row in verts), tuple(max(row) for row in verts))
    for k, i in enumerate(Y.ids_i):
        results[int(i)] = BoxResult(tuple(boxes[int(i)]), False, None,
                                    tuple(fmpq(v, Y.LO.den) for v in Y.LO.num[:, k]),
                                    tuple(fmpq(v, Y.HI.den) for v in Y.HI.num[:, k]))
    return results  # type: ignore[return-value]
