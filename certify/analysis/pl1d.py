"""Exact piecewise-linear enumeration of networks from R to R^m.

A network built from affine maps (rational weights) and continuous piecewise-linear (PL)
activations is a continuous PL function.  :func:`enumerate_1d` computes it *exactly* on an
interval ``[lo, hi]`` (either end may be infinite) as a :class:`PiecewiseLinear1D`: the sorted
breakpoints, the exact output vector at each of them and the exact slopes of the two end rays.

Why the result is exact
-----------------------
The algorithm refines a finite set ``P`` of rational points.  All points of ``P`` are evaluated
at once in the :class:`~constructive.numbers.Exact` context, and the pre-activations of every
activation layer are recorded (in execution order, which is a topological order of the data
flow: nested activations, ``Repeat``, ``Parallel`` and ``Gadget`` nodes are simply evaluated).
For two consecutive points ``a < b`` of ``P`` let ``k`` be the first recorded layer in which some
neuron's pre-activation takes values at ``a`` and ``b`` lying *strictly* on opposite sides of one of
the activation's breakpoints.  Every earlier layer has, for each neuron, both values in one closed
piece of its activation; by induction its input is affine on ``[a, b]``, hence so is its
pre-activation, so the pre-activation stays in that closed piece on the whole interval and the
layer's output is affine on ``[a, b]``.  So the pre-activations of layer ``k`` are affine on
``[a, b]`` and each crossing ``x = a + (β − z(a))(b − a)/(z(b) − z(a))`` is an exact rational
strictly inside ``(a, b)``; all of them are added to ``P``.  On every resulting sub-interval the
first crossing layer is strictly later, so the refinement stops after at most (number of recorded
layers) rounds.  The end rays are handled identically with a probe point 1 beyond the extreme
point: up to the first crossing layer the pre-activations are affine on the whole ray, so a
crossing is located by exact linear extrapolation.  When no pair and no ray has a crossing, every
layer is affine between consecutive points and on the rays, hence so is the network: linear
interpolation of the exact values (and the exact ray slopes) *is* the network.  No step uses
floating point or interval enclosures.

Activations must be flagged ``piecewise_linear`` with their kinks listed in ``breakpoints``; a few
sample points check that the kernel is exact, continuous and affine between the listed kinks (a
wrong catalogue entry is refused, not silently mis-enumerated).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
from flint import fmpq

from certify.analysis.activation_pieces import activation_pieces
from constructive.activations import ActivationFunction
from constructive.errors import UserError
from constructive.evaluate import Interpreter
from constructive.ir import Activation, Node, walk
from constructive.numbers import Exact, QMatrix, as_fmpq

__all__ = [
    "PiecewiseLinear1D", "Piece", "enumerate_1d", "pl_from_points", "activation_pieces",
    "check_piecewise_linear",
]


def check_piecewise_linear(net: Node) -> None:
    """Raise ValueError unless every activation in ``net`` (nested ones included) is an exact,
    continuous piecewise-linear catalogue activation."""
    for node in walk(net):
        if isinstance(node, Activation):
            for f in node.functions:
                if isinstance(f, ActivationFunction):
                    activation_pieces(f)


# ---------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True)
class Piece:
    """``f(x) = slope·x + intercept`` (one entry per output) for ``lo ≤ x ≤ hi``; ``None`` ends
    are infinite."""

    lo: Optional[fmpq]
    hi: Optional[fmpq]
    slope: tuple
    intercept: tuple


@dataclass(frozen=True)
class PiecewiseLinear1D:
    """A continuous piecewise-linear map from ``[lo, hi] ⊆ R`` to R^m, stored exactly.

    ``points`` are sorted and include the finite ends; ``values[i]`` is the output vector at
    ``points[i]``; the function is linear between consecutive points.  ``left_slope`` /
    ``right_slope`` are the slopes on the ray left of ``points[0]`` / right of ``points[-1]`` and
    are ``None`` exactly when that end (``lo`` / ``hi``) is finite.
    """

    points: tuple
    values: tuple
    left_slope: Optional[tuple]
    right_slope: Optional[tuple]
    lo: Optional[fmpq]
    hi: Optional[fmpq]

    def __post_init__(self) -> None:
        if not self.points or len(self.points) != len(self.values):
            raise UserError("a PiecewiseLinear1D needs at least one point and one value per point")
        if (self.left_slope is None) != (self.lo is not None) or \
                (self.right_slope is None) != (self.hi is not None):
            raise UserError("an end slope must be given exactly when that end is infinite")
        if self.lo is not None and self.points[0] != self.lo:
            raise UserError("the first point must be lo")
        if self.hi is not None and self.points[-1] != self.hi:
            raise UserError("the last point must be hi")

    @property
    def out_dim(self) -> int:
        return len(self.values[0])

    def __len__(self) -> int:
        return len(self.points)

    def __call__(self, x: Any) -> tuple:
        """The exact output vector at ``x``."""
        x = as_fmpq(x)
        if (self.lo is not None and x < self.lo) or (self.hi is not None and x > self.hi):
            raise UserError(f"{x} is outside the domain [{self.lo}, {self.hi}]")
        pts = self.points
        if x < pts[0]:
            return tuple(v + s * (x - pts[0]) for v, s in zip(self.values[0], self.left_slope))
        if x > pts[-1]:
            return tuple(v + s * (x - pts[-1]) for v, s in zip(self.values[-1], self.right_slope))
        i = bisect.bisect_right(pts, x) - 1
        if pts[i] == x:
            return self.values[i]
        a, b = pts[i], pts[i + 1]
        t = (x - a) / (b - a)
        return tuple(u + t * (v - u) for u, v in zip(self.values[i], self.values[i + 1]))

    def pieces(self) -> list[Piece]:
        """The affine pieces from left to right (rays first/last when an end is infinite)."""
        out: list[Piece] = []

        def line(x0: fmpq, v0: tuple, s: tuple) -> tuple:
            return tuple(b - m * x0 for b, m in zip(v0, s))

        pts, vals = self.points, self.values
        if self.left_slope is not None:
            out.append(Piece(None, pts[0], self.left_slope, line(pts[0], vals[0], self.left_slope)))
        for i in range(len(pts) - 1):
            s = tuple((v - u) / (pts[i + 1] - pts[i]) for u, v in zip(vals[i], vals[i + 1]))
            out.append(Piece(pts[i], pts[i + 1], s, line(pts[i], vals[i], s)))
        if self.right_slope is not None:
            out.append(Piece(pts[-1], None, self.right_slope,
                             line(pts[-1], vals[-1], self.right_slope)))
        if not out:  # a single point lo == hi
            zero = tuple(fmpq(0) for _ in vals[0])
            out.append(Piece(pts[0], pts[0], zero, vals[0]))
        return out

    def range(self, output: int = 0) -> tuple[Optional[fmpq], Optional[fmpq]]:
        """Exact ``(inf, sup)`` of one output over the domain; ``None`` where unbounded.

        A PL function attains its extrema over a compact piece at a breakpoint, and on a ray it
        is bounded on one side exactly when the slope has that sign (or is zero).
        """
        ys = [v[output] for v in self.values]
        lo, hi = min(ys), max(ys)
        if self.left_slope is not None:
            s = self.left_slope[output]
            if s > 0:
                lo = None
            elif s < 0:
                hi = None
        if self.right_slope is not None:
            s = self.right_slope[output]
            if s > 0:
                hi = None
            elif s < 0:
                lo = None
        return lo, hi

    def max_abs_difference(self, other: "PiecewiseLinear1D",
                           output: int = 0) -> tuple[Optional[fmpq], Optional[fmpq]]:
        """Exact ``sup |self − other|`` (one output) over the common domain, with a witness.

        The difference of two PL functions is PL with breakpoints among the union of both point
        sets, so on the compact part its |·| is maximal at one of those points; beyond all of them
        both are on their end rays and the difference is unbounded iff the ray slopes differ.
        Returns ``(sup, x)`` with ``|self(x) − other(x)| = sup``, or ``(None, None)`` when the
        difference is unbounded.  Raises ValueError when the domains do not meet.
        """
        lo = _max_none_low(self.lo, other.lo)
        hi = _min_none_high(self.hi, other.hi)
        if lo is not None and hi is not None and lo > hi:
            raise UserError("the two functions have disjoint domains")
        cand = set(p for p in self.points + other.points
                   if (lo is None or p >= lo) and (hi is None or p <= hi))
        if lo is not None:
            cand.add(lo)
        if hi is not None:
            cand.add(hi)
        xs = sorted(cand)
        if lo is None and self.left_slope[output] != other.left_slope[output]:
            return None, None
        if hi is None and self.right_slope[output] != other.right_slope[output]:
            return None, None
        best, arg = None, None
        for x in xs:
            d = abs(self(x)[output] - other(x)[output])
            if best is None or d > best:
                best, arg = d, x
        return best, arg

    def simplified(self) -> "PiecewiseLinear1D":
        """The same function with every point removed at which no output has a kink (finite ends
        are kept; at least one point is kept)."""
        pts, vals = list(self.points), list(self.values)
        n = len(pts)
        if n == 1:
            return self
        seg = [tuple((v - u) / (pts[i + 1] - pts[i]) for u, v in zip(vals[i], vals[i + 1]))
               for i in range(n - 1)]
        left = [self.left_slope] + seg       # slope left of point i
        right = seg + [self.right_slope]     # slope right of point i
        keep = []
        for i in range(n):
            if (i == 0 and self.lo is not None) or (i == n - 1 and self.hi is not None):
                keep.append(i)
            elif left[i] != right[i]:
                keep.append(i)
        if not keep:
            keep = [0]
        return PiecewiseLinear1D(tuple(pts[i] for i in keep), tuple(vals[i] for i in keep),
                                 self.left_slope, self.right_slope, self.lo, self.hi)


def _max_none_low(a: Optional[fmpq], b: Optional[fmpq]) -> Optional[fmpq]:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _min_none_high(a: Optional[fmpq], b: Optional[fmpq]) -> Optional[fmpq]:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _vector(v: Any) -> tuple:
    if isinstance(v, (list, tuple)):
        return tuple(as_fmpq(u) for u in v)
    return (as_fmpq(v),)


def pl_from_points(xs: Sequence[Any], ys: Sequence[Any], left_slope: Any = 0,
                   right_slope: Any = 0) -> PiecewiseLinear1D:
    """The PL interpolant of ``(xs[i], ys[i])`` (a reference target given by points).

    ``ys[i]`` is a scalar or a vector.  A slope (scalar or vector) continues the function beyond
    the extreme point on a ray; a slope of ``None`` makes that end finite (``lo = xs[0]`` or
    ``hi = xs[-1]``).  The default continues constantly on both sides, i.e. the domain is R.
    """
    px = [as_fmpq(x) for x in xs]
    if not px or len(px) != len(ys):
        raise UserError("pl_from_points needs as many values as points, and at least one")
    if any(a >= b for a, b in zip(px, px[1:])):
        raise UserError("pl_from_points needs strictly increasing xs")
    vals = tuple(_vector(y) for y in ys)
    m = len(vals[0])
    if any(len(v) != m for v in vals):
        raise UserError("all values must have the same length")

    def slope(s: Any) -> Optional[tuple]:
        if s is None:
            return None
        v = _vector(s)
        return v * m if len(v) == 1 and m > 1 else v

    ls, rs = slope(left_slope), slope(right_slope)
    return PiecewiseLinear1D(tuple(px), vals, ls, rs,
                             px[0] if ls is None else None, px[-1] if rs is None else None)


# ---------------------------------------------------------------------------------------------
# Enumeration


class _Recorder(Interpreter):
    """Exact interpreter that records every PL activation group's pre-activations."""

    # each part on its own slice, so that every record keeps one column per point
    batch_copies = False

    def __init__(self) -> None:
        super().__init__(Exact())
        self.records: list[tuple[QMatrix, tuple]] = []

    def activation(self, node: Activation, X: Any) -> Any:
        for a, b, f in node.groups():
            if isinstance(f, ActivationFunction):
                activation_pieces(f)  # refuses non-PL / discontinuous activations
                if f.breakpoints:
                    z = X if (a, b) == (0, X.shape[0]) else self.ctx.rows(X, a, b)
                    self.records.append((z, tuple(as_fmpq(q) for q in f.breakpoints)))
        return super().activation(node, X)  # nested networks are recorded by recursion



def _codes(z: QMatrix, bps: tuple) -> tuple[np.ndarray, np.ndarray]:
    """``lt[i, j] = #{β : β < z_ij}``, ``le[i, j] = #{β : β ≤ z_ij}`` (exact comparisons)."""
    num, den = z.num, z.den
    lt = np.zeros(num.shape, dtype=np.int32)
    le = np.zeros(num.shape, dtype=np.int32)
    for b in bps:
        p, q = int(b.p), int(b.q)
        if p == 0:
            lhs, rhs = num, 0
        else:
            lhs, rhs = num * q, p * den
        lt += (lhs > rhs).astype(np.int32)
        le += (lhs >= rhs).astype(np.int32)
    return lt, le


class _Store:
    """All evaluated points (global index = insertion order) with their records."""

    def __init__(self, net: Node) -> None:
        self.net = net
        self.xs: list[fmpq] = []
        self.batch_of: list[np.ndarray] = []
        self.col_of: list[np.ndarray] = []
        self.batches: list[tuple[list, QMatrix]] = []   # (records, outputs)
        self.lt: list[list[np.ndarray]] = []            # per layer, per batch
        self.le: list[list[np.ndarray]] = []
        self.bps: list[tuple] = []

    def evaluate(self, xs: list[fmpq]) -> tuple[list, QMatrix]:
        rec = _Recorder()
        out = rec.run(self.net, rec.ctx.points([[x] for x in xs]))
        return rec.records, out

    def add(self, xs: list[fmpq], records: list, out: QMatrix) -> None:
        b = len(self.batches)
        n = len(xs)
        if not self.batches:
            self.bps = [bp for _, bp in records]
            self.lt = [[] for _ in records]
            self.le = [[] for _ in records]
        elif len(records) != len(self.bps):
            raise RuntimeError("the network recorded a different number of layers")  # pragma: no cover
        self.batches.append(([z for z, _ in records], out))
        for k, (z, bps) in enumerate(records):
            lt, le = _codes(z, bps)
            self.lt[k].append(lt)
            self.le[k].append(le)
        self.xs.extend(xs)
        self.batch_of.append(np.full(n, b, dtype=np.int64))
        self.col_of.append(np.arange(n, dtype=np.int64))

    def z(self, k: int, i: int, rows: Any = None) -> list[fmpq]:
        """Pre-activations of layer ``k`` at point ``i`` (all neurons, or those in ``rows``)."""
        b, j = self._where[i]
        z = self.batches[b][0][k]
        col = z.num[:, j] if rows is None else z.num[rows, j]
        return [fmpq(int(v), z.den) for v in col]

    def output(self, i: int) -> tuple:
        b, j = self._where[i]
        out = self.batches[b][1]
        return tuple(fmpq(int(v), out.den) for v in out.num[:, j])

    def finalize_index(self) -> None:
        bo = np.concatenate(self.batch_of)
        co = np.concatenate(self.col_of)
        self._where = list(zip(bo.tolist(), co.tolist()))
        self.LT = [np.concatenate(parts, axis=1) for parts in self.lt]
        self.LE = [np.concatenate(parts, axis=1) for parts in self.le]


def _sorted_unique(xs: list) -> list:
    xs = sorted(xs)
    return [x for i, x in enumerate(xs) if i == 0 or x != xs[i - 1]]


def _ray_crossings(x0: fmpq, xp: fmpq, z0: Sequence[list], zp: Sequence[list],
                   bps: Sequence[tuple]) -> list[fmpq]:
    """Crossings beyond ``x0`` (towards the probe ``xp``) in the first layer that has any."""
    for k in range(len(bps)):
        found = []
        for a, b in zip(z0[k], zp[k]):
            if a == b:
                continue
            for beta in bps[k]:
                t = (beta - a) / (b - a)
                if t > 0:
                    found.append(x0 + t * (xp - x0))
        if found:
            return found
    return []


def enumerate_1d(net: Node, lo: Any = None, hi: Any = None, max_points: int = 10**6,
                 minimal: bool = True, algorithm: str = "auto") -> PiecewiseLinear1D:
    """The exact continuous PL function ``net`` computes on ``[lo, hi]`` (``None`` = infinite).

    See the module docstring for why the result is exact.  With ``minimal`` (default) only
    points where some output really has a kink are kept (plus the finite ends); otherwise every
    neuron-level breakpoint found by the refinement is kept.  Raises ValueError when the input
    dimension is not 1, an activation is not piecewise linear, or more than ``max_points`` points
    would be evaluated.

    ``algorithm``: ``"layers"`` (:mod:`certify.analysis.pl1d_layers`: one pass per layer, one
    denominator per point; flat Affine/Activation chains), ``"refine"`` (the refinement
    described above; any network) or ``"auto"`` (layers where they apply).  Both give the same
    points, values and ray slopes.
    """
    from certify.analysis.pl1d_layers import enumerate_chain, flat_chain

    if algorithm not in ("auto", "layers", "refine"):
        raise UserError(f"enumerate_1d: algorithm {algorithm!r} is not one of auto, layers, refine")
    if net.in_dim != 1:
        raise UserError(f"enumerate_1d needs a network with one input, got {net.in_dim}")
    check_piecewise_linear(net)
    lo = None if lo is None else as_fmpq(lo)
    hi = None if hi is None else as_fmpq(hi)
    if lo is not None and hi is not None and lo > hi:
        raise UserError(f"empty interval [{lo}, {hi}]")
    chain = flat_chain(net) if algorithm != "refine" else None
    if algorithm == "layers" and chain is None:
        raise UserError("enumerate_1d: algorithm 'layers' needs a flat Affine/Activation chain")
    if chain is not None:
        xs, ys, left, right = enumerate_chain(chain, lo, hi, max_points, repr(net))
        result = PiecewiseLinear1D(tuple(xs), tuple(ys), left, right, lo, hi)
        return result.simplified() if minimal else result
    if lo is None and hi is None:
        initial = [fmpq(0)]
    else:
        initial = sorted({v for v in (lo, hi) if v is not None})

    store = _Store(net)
    order = np.zeros(0, dtype=np.int64)      # global indices sorted by x
    # pending insertions: list of (position in `order`, sorted list of new xs)
    pending: list[tuple[int, list[fmpq]]] = [(0, initial)]
    probes: dict[str, tuple[fmpq, list, tuple]] = {}
    while True:
        new_xs = [x for _, group in pending for x in group]
        if len(store.xs) + len(new_xs) > max_points:
            raise UserError(f"enumerate_1d: more than max_points={max_points} points needed "
                            f"(network {net!r} on [{lo}, {hi}]); raise max_points")
        # new sorted order
        start = len(store.xs)
        positions, idx, c = [], [], start
        for pos, group in pending:
            for _ in group:
                positions.append(pos)
                idx.append(c)
                c += 1
        order = np.insert(order, np.array(positions, dtype=np.int64), np.array(idx, dtype=np.int64))
        # extreme points after insertion
        all_x = lambda i: new_xs[i - start] if i >= start else store.xs[i]  # noqa: E731
        xmin, xmax = all_x(int(order[0])), all_x(int(order[-1]))
        probe_xs = []
        if lo is None:
            probe_xs.append(xmin - 1)
        if hi is None:
            probe_xs.append(xmax + 1)
        records, out = store.evaluate(new_xs + probe_xs)
        n_new = len(new_xs)
        store.add(new_xs, [(QMatrix(z.num[:, :n_new], z.den), bp) for z, bp in records],
                  QMatrix(out.num[:, :n_new], out.den))
        for j, name in enumerate((["left"] if lo is None else []) + (["right"] if hi is None else [])):
            col = n_new + j
            zs = [[fmpq(int(v), z.den) for v in z.num[:, col]] for z, _ in records]
            y = tuple(fmpq(int(v), out.den) for v in out.num[:, col])
            probes[name] = (probe_xs[j], zs, y)
        store.finalize_index()
        is_new = np.zeros(len(store.xs), dtype=bool)
        is_new[start:] = True

        pending = []
        # interior pairs: only pairs touching a new point can have a crossing
        if len(order) > 1 and store.bps:
            pair_mask = is_new[order[:-1]] | is_new[order[1:]]
            cand = np.nonzero(pair_mask)[0]
            ia, ib = order[cand], order[cand + 1]
            unassigned = np.ones(len(cand), dtype=bool)
            found: dict[int, set] = {}
            for k in range(len(store.bps)):
                if not unassigned.any():
                    break
                LT, LE = store.LT[k], store.LE[k]
                cross = np.maximum(LT[:, ia], LT[:, ib]) > np.minimum(LE[:, ia], LE[:, ib])
                hit = cross.any(axis=0) & unassigned
                unassigned &= ~hit
                for p in np.nonzero(hit)[0].tolist():
                    a, b = int(ia[p]), int(ib[p])
                    xa, xb = store.xs[a], store.xs[b]
                    rows = np.nonzero(cross[:, p])[0]
                    za, zb = store.z(k, a, rows), store.z(k, b, rows)
                    pts = found.setdefault(int(cand[p]), [])
                    for u, v in zip(za, zb):
                        for beta in store.bps[k]:
                            if (u < beta < v) or (v < beta < u):
                                pts.append(xa + (beta - u) * (xb - xa) / (v - u))
            for p in sorted(found):
                pending.append((p + 1, _sorted_unique(found[p])))
        # rays
        if lo is None:
            i0 = int(order[0])
            xp, zp, _ = probes["left"]
            z0 = [store.z(k, i0) for k in range(len(store.bps))]
            got = _ray_crossings(store.xs[i0], xp, z0, zp, store.bps)
            if got:
                pending.insert(0, (0, _sorted_unique(got)))
        if hi is None:
            i0 = int(order[-1])
            xp, zp, _ = probes["right"]
            z0 = [store.z(k, i0) for k in range(len(store.bps))]
            got = _ray_crossings(store.xs[i0], xp, z0, zp, store.bps)
            if got:
                pending.append((len(order), _sorted_unique(got)))
        if not pending:
            break

    idx = order.tolist()
    points = tuple(store.xs[i] for i in idx)
    values = tuple(store.output(i) for i in idx)
    left = right = None
    if lo is None:
        xp, _, y = probes["left"]
        left = tuple((v - u) / (points[0] - xp) for u, v in zip(y, values[0]))
    if hi is None:
        xp, _, y = probes["right"]
        right = tuple((u - v) / (xp - points[-1]) for u, v in zip(y, values[-1]))
    result = PiecewiseLinear1D(points, values, left, right, lo, hi)
    return result.simplified() if minimal else result
