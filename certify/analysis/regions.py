"""Exact linear-region enumeration of small networks on R^d (d ≤ 4) and exact identity checks.

A network of affine maps and continuous piecewise-linear (PL) activations is affine on each cell
of a polyhedral complex.  :func:`enumerate_regions` computes that complex exactly: every
:class:`Region` is an open polyhedron ``{x : a_k·x + c_k > 0 for all k}`` with non-empty interior,
the exact affine map ``x ↦ A x + c`` the network computes on it, and an exact interior point.
The regions are pairwise disjoint and their closures cover the domain (R^d or a box).

Algorithm
---------
The network is walked node by node (``Repeat``, ``Parallel``, ``Gadget``, nested ``Network``
nodes and nested activations included) on *symbolic* values: on a region the current layer is an
exact rational matrix ``M`` (rows = neurons, columns = ``d`` coefficients and a constant).  An
affine node maps ``M ↦ W M + [0 | b]``.  At an activation neuron with pre-activation
``z = M_i·(x, 1)`` and breakpoints ``β_1 < … < β_r`` the region is split by the hyperplanes
``z = β_j``; only parts with non-empty interior are kept, and on each part the activation is one
affine piece ``α z + β``, so row ``i`` becomes ``α M_i + β e_const``.

Polyhedra are held in *double description*: homogenised to the cone
``K = {(x, t) : a_k·x + c_k t ≥ 0, t ≥ 0}`` with both its inequalities and its generators
(extreme rays, lineality basis), all primitive integer vectors.  Splitting by a hyperplane is
one step of the double-description method (Motzkin et al.; Fukuda & Prodon 1996): the
generators are classified by the sign of the new form, and new rays are formed from pairs of
adjacent rays of opposite signs (combinatorial adjacency test on the sets of tight
inequalities, kept as bit masks).  This makes the feasibility question exact and free: a side of
the hyperplane has non-empty interior iff some generator lies strictly on that side.  Because
everything is integer arithmetic on a handful of generators in dimension ``d + 1 ≤ 5`` there is
no linear program, no tolerance, and no blow-up beyond the number of regions, which is bounded by
``max_regions`` (exceeding it raises ValueError).  The interior point reported for a region is
the centroid of its vertices plus the sum of its recession rays, which lies strictly inside.

Identities
----------
:func:`check_identity` refines the regions of the network by the kink hyperplanes of a reference
(a second network, or an exact Python function with its listed kink hyperplanes) and compares
the two affine maps exactly on every common region.  Both sides are continuous, so equality on
every open region of a complex whose closures cover the domain implies equality on the whole
(closed) domain.  A failure comes with an exact witness point, re-checked by direct exact
evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from flint import fmpq, fmpq_mat, fmpz_mat

from certify.analysis.activation_pieces import activation_pieces
from certify.analysis.pl1d import check_piecewise_linear
from constructive.activations import ActivationFunction
from constructive.errors import UserError
from constructive.evaluate import NodeInterpreter, evaluate
from constructive.ir import Activation, Affine, Gadget, Network, Node, Parallel
from constructive.numbers import Exact, as_fmpq

__all__ = ["Region", "IdentityResult", "enumerate_regions", "check_identity", "MAX_DIM"]

MAX_DIM = 4


# ---------------------------------------------------------------------------------------------
# Integer vectors


def _dot(u: Sequence[int], v: Sequence[int]) -> int:
    return sum(a * b for a, b in zip(u, v))


def _primitive(v: Sequence[int]) -> tuple:
    g = math.gcd(*v)
    return tuple(v) if g <= 1 else tuple(a // g for a in v)


def _int_form(coeffs: Sequence[fmpq]) -> tuple:
    """A primitive integer vector positively proportional to a rational vector."""
    den = math.lcm(1, *(int(q.q) for q in coeffs))
    return _primitive([int(q.p) * (den // int(q.q)) for q in coeffs])


# ---------------------------------------------------------------------------------------------
# Polyhedra in double description


@dataclass(frozen=True, eq=False)
class _Poly:
    """Cone ``{y ∈ R^{d+1} : H_k·y ≥ 0}`` with ``H[0] = e_t`` (t ≥ 0); generators ``rays`` (with
    ``masks[i]`` = bit set of the inequalities tight at ray i) and ``lines`` (tight at all)."""

    H: tuple
    rays: tuple
    masks: tuple
    lines: tuple

    @staticmethod
    def whole(d: int) -> "_Poly":
        D = d + 1
        unit = lambda i: tuple(1 if j == i else 0 for j in range(D))  # noqa: E731
        return _Poly((unit(d),), (unit(d),), (0,), tuple(unit(i) for i in range(d)))

    def split(self, h: tuple) -> tuple[Optional["_Poly"], Optional["_Poly"]]:
        """The parts with ``h·y > 0`` and ``h·y < 0`` (closures), ``None`` when a part has
        empty interior.  One double-description step."""
        k = len(self.H)
        bit = 1 << k
        hneg = tuple(-a for a in h)
        Hp, Hn = self.H + (h,), self.H + (hneg,)
        hl = [_dot(h, l) for l in self.lines]
        j = next((i for i, v in enumerate(hl) if v != 0), None)
        if j is not None:
            l0, s0 = self.lines[j], hl[j]
            if s0 < 0:
                l0, s0 = tuple(-a for a in l0), -s0
            lines = tuple(_primitive([s0 * a - v * b for a, b in zip(l, l0)])
                          for i, (l, v) in enumerate(zip(self.lines, hl)) if i != j)
            lines = tuple(l for l in lines if any(l))
            rays = tuple(_primitive([s0 * a - _dot(h, r) * b for a, b in zip(r, l0)])
                         for r in self.rays)
            masks = tuple(m | bit for m in self.masks)
            full = bit - 1
            pos = _Poly(Hp, rays + (l0,), masks + (full,), lines)
            neg = _Poly(Hn, rays + (tuple(-a for a in l0),), masks + (full,), lines)
            return pos, neg
        vals = [_dot(h, r) for r in self.rays]
        P = [i for i, v in enumerate(vals) if v > 0]
        N = [i for i, v in enumerate(vals) if v < 0]
        Z = [i for i, v in enumerate(vals) if v == 0]
        zr = tuple(self.rays[i] for i in Z)
        zm = tuple(self.masks[i] | bit for i in Z)
        if not N:
            if not P:
                raise UserError("splitting by a form that vanishes on a full-dimensional region")
            return _Poly(Hp, self.rays, tuple(m | bit if v == 0 else m
                                              for m, v in zip(self.masks, vals)), self.lines), None
        if not P:
            return None, _Poly(Hn, self.rays, tuple(m | bit if v == 0 else m
                                                    for m, v in zip(self.masks, vals)), self.lines)
        need = len(h) - len(self.lines) - 2
        masks = self.masks
        new_r, new_m = [], []
        for p in P:
            mp = masks[p]
            for n in N:
                common = mp & masks[n]
                if common.bit_count() < need:
                    continue
                if any(o != p and o != n and common & ~masks[o] == 0 for o in range(len(masks))):
                    continue
                w = [vals[p] * b - vals[n] * a for a, b in zip(self.rays[p], self.rays[n])]
                new_r.append(_primitive(w))
                new_m.append(common | bit)
        new_r, new_m = tuple(new_r), tuple(new_m)
        pos = _Poly(Hp, tuple(self.rays[i] for i in P) + zr + new_r,
                    tuple(masks[i] for i in P) + zm + new_m, self.lines)
        neg = _Poly(Hn, tuple(self.rays[i] for i in N) + zr + new_r,
                    tuple(masks[i] for i in N) + zm + new_m, self.lines)
        return pos, neg

    def interior_point(self) -> tuple:
        """Centroid of the vertices plus the sum of the recession rays: strictly inside."""
        d = len(self.H[0]) - 1
        verts = [r for r in self.rays if r[d] > 0]
        dirs = [r for r in self.rays if r[d] == 0]
        x = [fmpq(0)] * d
        for v in verts:
            for i in range(d):
                x[i] += fmpq(v[i], v[d])
        x = [xi / len(verts) for xi in x]
        for r in dirs:
            for i in range(d):
                x[i] += r[i]
        return tuple(x)

    def facets(self) -> list[tuple]:
        """The irredundant inequalities (without ``t ≥ 0``), each once."""
        D = len(self.H[0])
        out, seen = [], set()
        for k in range(1, len(self.H)):
            h = self.H[k]
            if h in seen:
                continue
            tight = [r for r, m in zip(self.rays, self.masks) if m >> k & 1] + list(self.lines)
            if len(tight) >= D - 1 and fmpz_mat([list(v) for v in tight]).rank() == D - 1:
                out.append(h)
                seen.add(h)
        return out


# ---------------------------------------------------------------------------------------------
# Public values


@dataclass(frozen=True, eq=False)
class Region:
    """An open polyhedron ``{x : a·x + c > 0 for (a, c) in inequalities}`` on which the network
    is the affine map ``x ↦ A x + c``; ``interior_point`` lies in it."""

    inequalities: tuple
    A: fmpq_mat
    c: fmpq_mat
    interior_point: tuple

    def contains(self, x: Sequence[Any]) -> bool:
        """Whether ``x`` lies in the open region."""
        x = [as_fmpq(v) for v in x]
        return all(sum((a * b for a, b in zip(w, x)), fmpq(0)) + c0 > 0
                   for w, c0 in self.inequalities)

    def __call__(self, x: Sequence[Any]) -> tuple:
        """The affine map of the region at ``x`` (anywhere; it is the network only on the
        region's closure)."""
        xm = fmpq_mat(len(x), 1, [as_fmpq(v) for v in x])
        y = self.A * xm + self.c
        return tuple(y[i, 0] for i in range(y.nrows()))


@dataclass(frozen=True)
class IdentityResult:
    """``holds``: the identity holds on the whole domain.  ``regions``: the number of common
    regions compared.  On failure ``witness`` is an exact point and ``difference`` the exact
    ``net(witness) − reference(witness)`` of the first differing output."""

    holds: bool
    regions: int
    witness: Optional[tuple] = None
    difference: Optional[fmpq] = None


# ---------------------------------------------------------------------------------------------
# Symbolic walk


@dataclass(frozen=True, eq=False)
class _Cell:
    poly: _Poly
    M: fmpq_mat  # rows × (d + 1): neuron i = M[i, :d]·x + M[i, d]


class _Walker(NodeInterpreter):
    def __init__(self, d: int, max_regions: int) -> None:
        self.d = d
        self.max_regions = max_regions

    def _budget(self, cells: list) -> None:
        if len(cells) > self.max_regions:
            raise UserError(f"region enumeration: more than max_regions={self.max_regions} "
                            "regions; raise max_regions or restrict the box")

    def walk(self, node: Node, cells: list[_Cell], start: int) -> list[_Cell]:
        """Apply ``node`` to rows ``[start, start + node.in_dim)`` of every cell's values."""
        return self.run(node, (cells, start))[0]

    # the walk carries (cells, start); networks, gadgets and repeats are NodeInterpreter's
    def affine(self, node: Affine, X: tuple) -> tuple:
        cells, start = X
        return [_Cell(c.poly, self._affine(node, c.M, start)) for c in cells], start

    def activation(self, node: Activation, X: tuple) -> tuple:
        cells, start = X
        return self._activation(node, cells, start), start

    def parallel(self, node: Parallel, X: tuple) -> tuple:
        cells, start = X
        offset = start  # the parts act in turn on consecutive rows of the same cells
        for part in node.parts:
            cells = self.walk(part, cells, offset)
            offset += part.out_dim
        return cells, start

    def _affine(self, node: Affine, M: fmpq_mat, start: int) -> fmpq_mat:
        d1 = self.d + 1
        n_in = node.in_dim
        rows = M.nrows()
        if start == 0 and n_in == rows:
            sub = M
        else:
            sub = fmpq_mat(n_in, d1, [M[i, j] for i in range(start, start + n_in) for j in range(d1)])
        out = node.W * sub if n_in else fmpq_mat(node.out_dim, d1)
        for i in range(node.out_dim):
            out[i, self.d] += node.b[i, 0]
        if start == 0 and n_in == rows:
            return out
        top = [M[i, j] for i in range(start) for j in range(d1)]
        bottom = [M[i, j] for i in range(start + n_in, rows) for j in range(d1)]
        return fmpq_mat(rows - n_in + node.out_dim, d1, top + out.entries() + bottom)

    def _activation(self, node: Activation, cells: list[_Cell], start: int) -> list[_Cell]:
        for a, b, f in node.groups():
            for i in range(start + a, start + b):
                if isinstance(f, Network):
                    cells = self.walk(f, cells, i)
                else:
                    cells = self._neuron(f, cells, i)
                self._budget(cells)
        return cells

    def _neuron(self, f: ActivationFunction, cells: list[_Cell], i: int) -> list[_Cell]:
        pieces = activation_pieces(f)
        bps = [as_fmpq(q) for q in f.breakpoints]
        d = self.d
        out = []
        for cell in cells:
            row = [cell.M[i, j] for j in range(d + 1)]
            if not bps:
                parts = [(cell.poly, 0)]
            elif all(v == 0 for v in row[:d]):
                z = row[d]
                parts = [(cell.poly, sum(1 for q in bps if q < z))]
            else:
                parts, rest = [], cell.poly
                for j, q in enumerate(bps):
                    above, below = rest.split(_int_form(row[:d] + [row[d] - q]))
                    if below is not None:
                        parts.append((below, j))
                    rest = above
                    if rest is None:
                        break
                if rest is not None:
                    parts.append((rest, len(bps)))
            for poly, j in parts:
                alpha, beta = pieces[j]
                if alpha == 1 and beta == 0:
                    M = cell.M
                else:
                    M = fmpq_mat(cell.M)
                    for col in range(d + 1):
                        M[i, col] = alpha * row[col]
                    M[i, d] += beta
                out.append(_Cell(poly, M))
        return out


def _initial_cells(d: int, n_copies: int, box: Any, extra_planes: Sequence[tuple],
                   max_regions: int) -> list[_Cell]:
    polys = [_Poly.whole(d)]
    forms = []
    if box is not None:
        if len(box) != d:
            raise UserError(f"box has {len(box)} sides, the network has {d} inputs")
        for i, (lo, hi) in enumerate(box):
            lo = None if lo is None else as_fmpq(lo)
            hi = None if hi is None else as_fmpq(hi)
            if lo is not None and hi is not None and lo >= hi:
                raise UserError(f"box side {i} [{lo}, {hi}] has empty interior")
            e = [fmpq(1 if j == i else 0) for j in range(d)]
            if lo is not None:
                forms.append(("keep", _int_form(e + [-lo])))
            if hi is not None:
                forms.append(("keep", _int_form([-v for v in e] + [hi])))
    for a, c in extra_planes:
        forms.append(("split", _int_form(list(a) + [c])))
    for how, h in forms:
        nxt = []
        for p in polys:
            pos, neg = p.split(h)
            if pos is not None:
                nxt.append(pos)
            if how == "split" and neg is not None:
                nxt.append(neg)
        polys = nxt
        if len(polys) > max_regions:
            raise UserError(f"region enumeration: more than max_regions={max_regions} regions")
    ident = [fmpq(1) if j == i else fmpq(0) for _ in range(n_copies)
             for i in range(d) for j in range(d + 1)]
    M0 = fmpq_mat(n_copies * d, d + 1, ident)
    return [_Cell(p, M0) for p in polys]


def _check_net(net: Node) -> int:
    d = net.in_dim
    if not 1 <= d <= MAX_DIM:
        raise UserError(f"region enumeration supports 1 ≤ d ≤ {MAX_DIM} inputs, got {d}")
    check_piecewise_linear(net)
    return d


def _region(cell: _Cell, d: int, rows: range) -> Region:
    facets = cell.poly.facets()
    ineq = tuple((tuple(fmpq(v) for v in h[:d]), fmpq(h[d])) for h in facets)
    A = fmpq_mat(len(rows), d, [cell.M[i, j] for i in rows for j in range(d)])
    c = fmpq_mat(len(rows), 1, [cell.M[i, d] for i in rows])
    return Region(ineq, A, c, cell.poly.interior_point())


def enumerate_regions(net: Node, box: Any = None, max_regions: int = 100000) -> list[Region]:
    """The linear regions of ``net`` on R^d or on the open ``box`` ``((lo, hi), …)`` (``None``
    for an unbounded side), exactly.  ``d = net.in_dim`` must be at most 4.

    Regions are the cells of the activation-pattern refinement, so adjacent regions may carry
    the same affine map (no merging).  Raises ValueError for a non-PL activation, ``d > 4``, or
    more than ``max_regions`` regions at any stage.
    """
    d = _check_net(net)
    walker = _Walker(d, max_regions)
    cells = walker.walk(net, _initial_cells(d, 1, box, (), max_regions), 0)
    return [_region(c, d, range(net.out_dim)) for c in cells]


# ---------------------------------------------------------------------------------------------
# Identities


def _nudge(poly: _Poly, p: tuple, directions: Sequence[Sequence[fmpq]]) -> fmpq:
    """A step ``ε ∈ (0, 1]`` with ``p + ε u`` strictly inside for every direction ``u``."""
    d = len(p)
    eps = fmpq(1)
    for h in poly.H[1:]:
        slack = sum((h[i] * p[i] for i in range(d)), fmpq(0)) + h[d]
        for u in directions:
            rate = sum((h[i] * u[i] for i in range(d)), fmpq(0))
            if rate < 0:
                eps = min(eps, slack / (-2 * rate))
    return eps


def _as_vector(v: Any) -> tuple:
    if isinstance(v, (list, tuple)):
        return tuple(as_fmpq(u) for u in v)
    return (as_fmpq(v),)


def check_identity(net: Node, reference: Any, box: Any = None, kinks: Optional[Sequence] = None,
                   max_regions: int = 100000) -> IdentityResult:
    """Decide exactly whether ``net`` equals a continuous PL ``reference`` on R^d (or the box).

    ``reference`` is either a network with the same input and output dimensions (a second
    realisation, e.g. a median built from sorting comparisons), or an exact Python function of
    a tuple of fmpq returning a rational or a sequence of rationals, together with ``kinks``:
    hyperplanes ``(a, c)`` meaning ``a·x + c = 0`` such that the reference is affine on every
    cell of their arrangement (a pair ``(function, kinks)`` is accepted as ``reference`` too).

    The regions of ``net`` are refined by the kinks (or by the reference network's own
    regions); on each common open region both sides are affine, and they are compared exactly:
    two networks by their affine maps, a function at ``d + 2`` interior points of which ``d + 1``
    are affinely independent.  Both sides are continuous and the closures of the regions cover
    the domain, so equality on every open region implies equality everywhere on the closed
    domain; ``holds=True`` is therefore a proof (for a function reference, relative to the
    stated kinks being complete).  Every failure carries an exact witness point at which exact
    evaluation of both sides differs.
    """
    d = _check_net(net)
    if isinstance(reference, tuple) and len(reference) == 2 and callable(reference[0]):
        reference, kinks = reference
    walker = _Walker(d, max_regions)
    m = net.out_dim
    if isinstance(reference, Node):
        if reference.in_dim != d or reference.out_dim != m:
            raise UserError(f"reference maps R^{reference.in_dim} → R^{reference.out_dim}, "
                            f"the network R^{d} → R^{m}")
        check_piecewise_linear(reference)
        cells = _initial_cells(d, 2, box, (), max_regions)
        cells = walker.walk(net, cells, 0)
        cells = walker.walk(reference, cells, m)
        for n_done, cell in enumerate(cells, 1):
            diff = [cell.M[i, j] - cell.M[m + i, j] for i in range(m) for j in range(d + 1)]
            if any(diff):
                w = _witness(cell.poly, diff, d, m)
                yn = evaluate(net, [[v] for v in w], Exact())
                yr = evaluate(reference, [[v] for v in w], Exact())
                for o in range(m):
                    if yn[o][0] != yr[o][0]:
                        return IdentityResult(False, n_done, w, yn[o][0] - yr[o][0])
                raise AssertionError("symbolic and direct evaluation disagree")  # pragma: no cover
        return IdentityResult(True, len(cells))
    if not callable(reference):
        raise UserError("reference must be a network or an exact function with its kinks")
    if kinks is None:
        raise UserError("a function reference needs its kink hyperplanes (kinks=[(a, c), ...])")
    planes = []
    for a, c in kinks:
        a = [as_fmpq(v) for v in a]
        if len(a) != d:
            raise UserError(f"kink hyperplane {a} does not have {d} coefficients")
        if any(a):
            planes.append((a, as_fmpq(c)))
    cells = _initial_cells(d, 1, box, planes, max_regions)
    cells = walker.walk(net, cells, 0)
    units = [[fmpq(1 if j == i else 0) for j in range(d)] for i in range(d)]
    dirs = units + [[fmpq(-1)] * d]
    for n_done, cell in enumerate(cells, 1):
        p = cell.poly.interior_point()
        eps = _nudge(cell.poly, p, dirs)
        pts = [p] + [tuple(pi + eps * ui for pi, ui in zip(p, u)) for u in dirs]
        for x in pts:
            yr = _as_vector(reference(x))
            if len(yr) != m:
                raise UserError(f"reference returned {len(yr)} values, the network has {m} outputs")
            yn = [sum((cell.M[o, j] * x[j] for j in range(d)), cell.M[o, d]) for o in range(m)]
            for o in range(m):
                if yn[o] != yr[o]:
                    direct = evaluate(net, [[v] for v in x], Exact())[o][0]
                    if direct != yn[o]:  # pragma: no cover
                        raise AssertionError("symbolic and direct evaluation disagree")
                    return IdentityResult(False, n_done, x, direct - yr[o])
    return IdentityResult(True, len(cells))


def _witness(poly: _Poly, diff: list, d: int, m: int) -> tuple:
    """A point of the open region where the nonzero affine difference is nonzero."""
    p = poly.interior_point()
    for o in range(m):
        u = diff[o * (d + 1): o * (d + 1) + d]
        w = diff[o * (d + 1) + d]
        val = sum((a * b for a, b in zip(u, p)), w)
        if val != 0:
            return p
        if any(u):
            eps = _nudge(poly, p, [u])
            return tuple(pi + eps * ui for pi, ui in zip(p, u))
    raise AssertionError("no difference")  # pragma: no cover


def certify_reference_identity(gadget: Gadget) -> Any:
    """Region enumeration: the gadget equals its exact reference on all of R^d."""
    d = gadget.in_dim
    # the median's kinks are the hyperplanes x_i = x_j
    kinks = [(tuple(fmpq(1) if k == i else (fmpq(-1) if k == j else fmpq(0)) for k in range(d)), fmpq(0))
             for i in range(d) for j in range(i + 1, d)]
    return check_identity(gadget.body, lambda x: gadget.spec.reference(list(x))[0], kinks=kinks)
