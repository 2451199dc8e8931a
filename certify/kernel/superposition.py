"""Networks of Kolmogorov's superposition shape, checked one one-input part at a time.

Hidden layer k (the evidence names it) is the middle.  Before it, every neuron must depend on one
input at most, after it on one neuron of layer k at most, up to a layer m whose weights are of
rank one, u·v, or the output: the kernel reads this off the weights' non-zeros.  The network is
then, exactly, φ(x) = T(y), y = Σ_i Φ_i(ψ_i(x)), with ψ_i(x) = Σ_j ψ_ij(x_j) the pre-activation of
neuron i of layer k, ψ_ij the neurons reading x_j (with their weights into neuron i), Φ_i that
neuron's activation followed by the neurons reading it (with the weights v, or the output's) and
T the rest of the network after layer m's weights u (T = id without such a layer).  A neuron
that reads nothing is a constant, computed in every part and counted in the first.

superposition-sup (T = id): the evidence gives the functions the parts approximate, g_i and h_ij
(formulas in x1); the kernel expands f and Σ_i g_i(Σ_j h_ij(x_j)) over their atoms and needs
them equal (:mod:`certify.kernel.expand`).  With δ_ij ≥ sup |h_ij − ψ_ij| over the region's side
j, R_i the exact range of ψ_i, e_i ≥ sup |g_i − Φ_i| over R_i (cell by cell as sigma-sup) and
g_i's modulus ω_i on [0, 1] from its expression (:mod:`certify.kernel.modulus`):

    |f − φ| ≤ Σ_i |g_i(h_i) − g_i(ψ_i)| + |g_i(ψ_i) − Φ_i(ψ_i)| ≤ Σ_i ω_i(Σ_j δ_ij) + e_i,

where h_i = Σ_j h_ij(x_j) and ψ_i both lie in R_i ± Σ_j δ_ij, which must lie inside [0, 1].
superposition-pieces: φ is a claimed number on each box, see :func:`superposition_pieces`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Optional

from flint import arb, fmpq, fmpq_mat, fmpq_poly

from certify.kernel import sigma
from certify.kernel.claims import Statement
from certify.kernel.errors import KernelError, Undecided
from certify.kernel.evidence import (Bounds, cut, largest_gap, need_kind, real_cuts, region, sigma_error,
                                     statement_boxes, witness_points)
from certify.kernel.expand import expand, plus, variable
from certify.kernel.grid import TargetExpression
from certify.kernel.modulus import holder
from certify.kernel.network import Layer, StoredNetwork, plain_layer, rank_one

MAX_PARTS = 64


@dataclass(frozen=True)
class Shape:
    """φ = T(Σ_i Φ_i(Σ_j ψ_ij(x_j))): the layers of each part, and of T (none: T = id)."""
    inner: list  # [i][j]: ψ_ij
    outer: list  # [i]: Φ_i
    tail: tuple
    cuts: tuple  # per ψ_ij (i·d + j), then per Φ_i: the certifier's cuts of its domain

    def ranges(self, box: list) -> list[tuple[fmpq, fmpq]]:
        """Per middle neuron i, ψ_i's range on the box (exact, or a superset where a part is
        enclosed), from its parts' ranges on the box's sides."""
        d = len(box)
        out = []
        for i, row in enumerate(self.inner):
            parts = [_range(p, cut(*box[j], self.cuts[i * d + j])) for j, p in enumerate(row)]
            out.append((sum((a for a, _ in parts), fmpq(0)), sum((b for _, b in parts), fmpq(0))))
        return out

    def at(self, x: list) -> fmpq:
        """φ(x) exactly, part by part."""
        y = sum((sigma.at(p, sum((sigma.at(q, v) for q, v in zip(row, x)), fmpq(0)))
                 for p, row in zip(self.outer, self.inner)), fmpq(0))
        return sigma.at(self.tail, y) if self.tail else y


def split(net: StoredNetwork, evidence: dict) -> Shape:
    """The parts of the network about its middle layer (see the module's docstring)."""
    need_kind(evidence, "superposition")
    k, d, hidden = evidence.get("middle"), net.input_dim, len(net.layers) - 1
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < hidden:
        raise KernelError(f"superposition: the middle layer {k!r} is not a hidden layer of {hidden}")
    n = net.layers[k].rows
    if net.layers[-1].rows != 1 or n > MAX_PARTS:
        raise KernelError(f"superposition: one output and at most {MAX_PARTS} middle neurons")
    before, _ = _sources(net.layers[:k], list(range(d)))
    after, m = _sources(net.layers[k + 1:-1], list(range(n)), mixed_ok=True)
    m += k + 1  # the first layer whose neurons read several parts: y ↦ its pre-activations is T's
    y, tail = _rank_one(net.layers[m], net.layers[m + 1:]) if m < hidden else (net.layers[-1], ())
    layers = net.layers[:m] + (y,)
    psi = [[_inner(layers, k, before, i, j) for j in range(d)] for i in range(n)]
    phi = [_outer(layers, k, after, i) for i in range(n)]
    raw = evidence.get("cuts") or {}
    return Shape(psi, phi, tail, tuple(_cuts(raw.get("inner"), n * d) + _cuts(raw.get("outer"), n)))


def superposition_sup(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                      evidence: dict, cert: dict) -> Bounds:
    shape = split(net, evidence)
    if shape.tail:
        raise KernelError("superposition-sup: φ must be the sum of its outer parts")
    n, d = len(shape.outer), net.input_dim
    outer, inner = evidence.get("outer"), evidence.get("inner")
    if not (isinstance(outer, list) and len(outer) == n and isinstance(inner, list) and len(inner) == n
            and all(isinstance(row, list) and len(row) == d for row in inner)):
        raise KernelError(f"superposition: {n} outer functions and {n} rows of {d} inner ones")
    if target.frame is not None:
        raise KernelError("superposition-sup: the target is read on the unit cube, unframed")
    g = [TargetExpression(t, 1) for t in outer]
    h = [[TargetExpression(t, 1) for t in row] for row in inner]
    _same(target, g, h)
    box = region(stmt, env, d)
    upper, cells = arb(0), 0
    for i in range(n):
        errs = [sigma_error(p, cut(*box[j], shape.cuts[i * d + j]), h[i][j])
                for j, p in enumerate(shape.inner[i])]
        delta = sum((e.sup for e in errs), arb(0))
        lo, hi = sum((e.lo for e in errs), fmpq(0)), sum((e.hi for e in errs), fmpq(0))
        if not (arb(lo) - delta >= 0 and arb(hi) + delta <= 1):
            raise Undecided(f"ψ_{i} ± δ_{i} ⊆ [{lo}, {hi}] ± {delta.upper()} leaves [0, 1], where "
                            f"g_{i}'s modulus is shown")
        mod = holder(g[i].tree, 1)
        if mod is None:
            raise Undecided(f"no modulus shown for g_{i} = {outer[i]}")
        omega = mod.lam * delta ** arb(mod.alpha) if delta > 0 else arb(0)
        upper += sigma_error(shape.outer[i], cut(lo, hi, shape.cuts[n * d + i]), g[i]).sup + omega
        cells += sum(e.cells for e in errs)
    inside = lambda x: all(a <= v <= b for v, (a, b) in zip(x, box))  # noqa: E731
    return Bounds(arb(upper.upper()), _witnesses(shape, target, cert, inside),
                  f"Σ_i ω_i(Σ_j δ_ij) + e_i of the {n} × {d} inner and {n} outer one-input "
                  f"parts, exact cells of each ({cells} inner), f = Σ g_i(Σ h_ij) by expansion")


def superposition_pieces(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                         evidence: dict, cert: dict) -> Bounds:
    """φ = the claimed number on every box of claim.pieces: y = Σ_i Φ_i(ψ_i) ranges over an
    exact superset Y on the box (each part's exact range over its argument's), and T, one
    input, is that number on all of Y (exact rational functions on its cells, as
    sigma-identity).  Where that is not shown the bound stays the certifier's."""
    shape = split(net, evidence)
    n, d = len(shape.outer), net.input_dim
    pieces = statement_boxes(stmt, env, d)
    for lo, hi, value in pieces:
        if len(value) != 1:
            raise KernelError("superposition-pieces: one value per box")
        ys = [_range(p, cut(a, b, shape.cuts[n * d + i]))
              for i, (p, (a, b)) in enumerate(zip(shape.outer, shape.ranges(list(zip(lo, hi)))))]
        a, b = sum((u for u, _ in ys), fmpq(0)), sum((v for _, v in ys), fmpq(0))
        if a < b:
            same = bool(shape.tail) and sigma.difference(shape.tail, cut(a, b, []), fmpq_poly([value[0]])) == 0
        else:
            same = (sigma.at(shape.tail, a) if shape.tail else a) == value[0]
        if not same:  # an exact point of the box where φ differs, or not shown either way
            points = [list(p) for p in itertools.product(*zip(lo, hi))] + [[(u + v) / 2 for u, v in zip(lo, hi)]]
            gap = max(abs(shape.at(x) - value[0]) for x in points)
            if gap > 0:
                return Bounds(arb("inf"), arb(gap), "an exact point where φ differs from the claim")
            raise Undecided(f"φ = {value[0]} on the box [{lo}, {hi}] is not shown (y there within "
                            f"[{a}, {b}])")
    return Bounds(arb(0), arb(0), f"exact ranges of the one-input parts on the {len(pieces)} "
                  "claimed boxes, the rest of the network constant on each range")


def _range(layers: tuple, cells: list) -> tuple[fmpq, fmpq]:
    got = [(lo, hi) for _, _, lo, hi, _ in sigma.enclosed_cells(layers, cells)]
    return min(lo for lo, _ in got), max(hi for _, hi in got)


def _rank_one(layer: Layer, rest: tuple) -> tuple[Layer, tuple]:
    """W = u·v: the row v (as a last layer, y = v·h) and T's layers (u as its first weights)."""
    uv = rank_one(layer)
    if uv is None:
        raise KernelError("superposition: the first layer reading several parts is not of rank one")
    return plain_layer(fmpq_mat(1, len(uv[1]), uv[1]), fmpq_mat(1, 1, [0]), ()), (uv[2],) + rest


def _witnesses(shape: Shape, target: TargetExpression, cert: dict, inside: Any) -> Optional[arb]:
    """The largest |f(x) − φ(x)| at the certificate's witnesses, φ evaluated exactly."""
    points = witness_points(cert.get("witnesses"), target.dim, inside)
    return largest_gap(target, points, [shape.at(x) for x in points])


def _cuts(raw: Any, parts: int) -> list[list]:
    """Per part, where the certifier cut its domain (none: the kernel finds every cell itself)."""
    if raw is None:
        return [[]] * parts
    if not isinstance(raw, list) or len(raw) != parts:
        raise KernelError(f"superposition: cuts for {parts} parts")
    return [real_cuts({"cuts": c}) for c in raw]


def _same(target: TargetExpression, g: list, h: list) -> None:
    xs = {f"x{j + 1}": variable(f"x{j + 1}") for j in range(target.dim)}
    total: dict = {}
    for gi, row in zip(g, h):
        inner: dict = {}
        for j, hij in enumerate(row):
            inner = plus(inner, expand(hij.tree, {"x1": xs[f"x{j + 1}"]}))
        total = plus(total, expand(gi.tree, {"x1": inner}))
    if expand(target.tree, xs) != total:
        raise Undecided("f and Σ_i g_i(Σ_j h_ij(x_j)) expand differently (equal or not: not shown)")


def _sources(layers: tuple, first: list, mixed_ok: bool = False
             ) -> tuple[list[list[Optional[int]]], int]:
    """Per layer and neuron, the one source (an entry of ``first``) it depends on (None: none),
    up to the first layer with a neuron that depends on several, and that layer's index
    (``mixed_ok``; else such a layer is an error)."""
    out, prev = [], first
    for t, layer in enumerate(layers):
        row = []
        for i, weights in enumerate(layer.W.tolist()):
            got = {prev[j] for j, w in enumerate(weights) if w != 0} - {None}
            if len(got) > 1 and mixed_ok:
                return out, t
            if len(got) > 1:
                raise KernelError(f"superposition: neuron {i} of a layer depends on {sorted(got)}, "
                                  "more than one part")
            row.append(got.pop() if got else None)
        out.append(row)
        prev = row
    return out, len(layers)


def _rows(layer: Layer, rows: list, cols: list, acts: bool = True) -> Layer:
    W = fmpq_mat(len(rows), len(cols), [layer.W[r, c] for r in rows for c in cols])
    b = fmpq_mat(len(rows), 1, [layer.b[r, 0] for r in rows])
    return plain_layer(W, b, tuple(layer.acts[r] for r in rows) if acts else ())


def _part(layers: tuple, sources: list, s: int, col: int) -> tuple[list[Layer], list]:
    """The layers of the neurons of part s (and the constants), reading column ``col``."""
    out, cols = [], [col]
    for layer, src in zip(layers, sources):
        rows = [r for r, v in enumerate(src) if v in (s, None)]
        out.append(_rows(layer, rows, cols))
        cols = rows
    return out, cols


def _last(layer: Layer, row: int, cols: list, kept: list, first: bool) -> Layer:
    """Row ``row`` of ``layer`` on ``cols``, as a last layer; the constants' weights and the bias
    only in the first part."""
    w = [layer.W[row, c] if first or kept[c] is not None else 0 for c in cols]
    return plain_layer(fmpq_mat(1, len(cols), w), fmpq_mat(1, 1, [layer.b[row, 0] if first else 0]), ())


def _inner(layers: tuple, k: int, sources: list, i: int, j: int) -> tuple:
    """ψ_ij: the neurons before layer k that read x_j, into neuron i of layer k."""
    part, cols = _part(layers[:k], sources, j, j)
    kept = sources[-1] if sources else list(range(layers[0].W.ncols()))
    return _trim(tuple(part) + (_last(layers[k], i, cols, kept, j == 0),))


def _outer(layers: tuple, k: int, sources: list, i: int) -> tuple:
    """Φ_i: neuron i of layer k's activation, then the neurons that read it, to the row y."""
    first = plain_layer(fmpq_mat(1, 1, [1]), fmpq_mat(1, 1, [0]), (layers[k].acts[i],))
    part, cols = _part(layers[k + 1:-1], sources, i, i)
    kept = sources[-1] if sources else list(range(layers[k].rows))
    return _trim((first,) + tuple(part) + (_last(layers[-1], 0, cols, kept, i == 0),))


def _trim(layers: tuple) -> tuple:
    """The same function without the hidden neurons whose outputs reach nothing (other parts'
    neurons reading the same source, weighted 0 here); a layer keeps one neuron at least."""
    keep = [list(range(layers[-1].rows))]
    for layer in reversed(layers[1:]):
        used = [c for c in range(layer.W.ncols()) if any(layer.W[r, c] != 0 for r in keep[0])]
        keep.insert(0, used or [0])
    cols = list(range(layers[0].W.ncols()))
    out = []
    for layer, rows in zip(layers, keep):
        out.append(_rows(layer, rows, cols, acts=bool(layer.acts)))
        cols = rows
    return tuple(out)
