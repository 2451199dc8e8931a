"""Exact 1-D enumeration of a flat Affine/Activation chain, layer by layer.

:func:`certify.analysis.pl1d.enumerate_1d` refines a point set by evaluating the whole network
at every point and keeping every layer's pre-activations of every point, all points of a round
over one common denominator.  Kink points have unrelated denominators, so that denominator (the
lcm of all of them) and the stored integers explode: the (666, 36, 6) MMNN ran out of memory.

This module computes the same point set (see below) with

* one pass per activation layer: when layer k is processed every kink of the layers before it is
  already a point, so each pre-activation of layer k is affine between consecutive points and its
  crossings of the activation's breakpoints are exact rationals (the argument of
  :mod:`certify.analysis.pl1d`, applied to all pairs at once);
* one denominator *per point* (a column of integers over its own denominator), so a point with
  a large denominator never enlarges another point's numbers;
* only one stored vector per point: the state at the narrowest cut between two activation
  layers (the 36-wide output of an MMNN layer, not its 666-wide pre-activations); the wide
  values exist only for a chunk of columns at a time;
* ``python-flint``'s ``fmpz_mat`` products for the affine maps.

An infinite end is a ray: a probe point one beyond the extreme point carries the state there;
up to the layer being processed the state is affine on the whole ray, so the layer's crossings
on it (beyond the probe too) are found by exact extrapolation, added as points, and the probe
moves beyond them.  The end slopes come from the output at the probe.

The points found are exactly the finite ends plus every x at which some neuron's pre-activation
strictly crosses a breakpoint of its activation (takes values on both strict sides arbitrarily
close to x) -- the set the refinement of :func:`~certify.analysis.pl1d.enumerate_1d` ends with,
whatever order it finds them in.  Values are exact rationals; no step uses floating point.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from flint import fmpq, fmpz_mat

from certify.analysis.activation_pieces import activation_pieces
from certify.progress import advance
from constructive.activations import ActivationFunction
from constructive.errors import UserError
from constructive.ir import Activation, Affine, Network, Node
from constructive.numbers import as_fmpq

__all__ = ["flat_chain", "enumerate_chain"]

CHUNK = 2048  # columns whose wide (pre-)activations exist at one time


def flat_chain(net: Node) -> Optional[list]:
    """The Affine/Activation nodes of ``net`` in order (nested Networks flattened), or None when
    it holds anything else (Repeat, Parallel, Gadget, a nested activation network)."""
    out: list = []

    def visit(node: Node) -> bool:
        if isinstance(node, Network):
            return all(visit(n) for n in node.nodes)
        if isinstance(node, Affine):
            out.append(node)
            return True
        if isinstance(node, Activation) and all(isinstance(f, ActivationFunction) for f in node.functions):
            out.append(node)
            return True
        return False

    return out if visit(net) else None


# ---------------------------------------------------------------------------------------------
# columns: num (rows × points, integers) over den (one positive integer per point)


class _AffineMap:
    """W x + b as integers: [W | b]·[num; den] over L·den, L the common denominator of W, b."""

    def __init__(self, node: Affine) -> None:
        W, b = node.W, node.b
        L = math.lcm(1, *(int(q.q) for q in W.entries()), *(int(q.q) for q in b.entries()))
        r, c = W.nrows(), W.ncols()
        ext = []
        for i in range(r):
            ext.extend(int(W[i, j].p) * (L // int(W[i, j].q)) for j in range(c))
            ext.append(int(b[i, 0].p) * (L // int(b[i, 0].q)))
        self.ext = fmpz_mat(r, c + 1, ext)
        self.L = L
        self.out_dim = r
        # a widening map's output only feeds signs and the next (narrowing) map, which reduces:
        # gcds over all its rows would cost more than the smaller numbers save
        self.reduce = r <= c

    def __call__(self, num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = num.shape[1]
        if c == 0:
            return np.empty((self.out_dim, 0), dtype=object), den
        x = fmpz_mat(num.shape[0] + 1, c, np.vstack([num, den[None, :]]).ravel().tolist())
        out = np.array((self.ext * x).entries(), dtype=object).reshape(self.out_dim, c)
        return _reduced(out, den * self.L) if self.reduce else (out, den * self.L)


def _reduced(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column divided by the gcd of its entries and its denominator."""
    g = np.gcd.reduce(np.vstack([num, den[None, :]]), axis=0)
    if all(v == 1 for v in g):
        return num, den
    return num // g[None, :], den // g


class _ActivationMap:
    """One activation node: its breakpoints and pieces per group of neurons, as integers."""

    def __init__(self, node: Activation) -> None:
        self.groups = []
        dens = [1]
        for a, b, f in node.groups():
            pieces = activation_pieces(f)
            bps = tuple(as_fmpq(q) for q in f.breakpoints)
            self.groups.append((a, b, bps, pieces))
            dens += [int(q.q) for piece in pieces for q in piece]
        self.G = math.lcm(*dens)  # values are (α·num + β·den)·… over G·den
        self.width = node.out_dim
        self.relu_only = self.G == 1 and all(
            bps == (fmpq(0),) and pieces == ((fmpq(0), fmpq(0)), (fmpq(1), fmpq(0)))
            for _, _, bps, pieces in self.groups)

    def codes(self, num: np.ndarray, den: np.ndarray) -> list:
        """Per group: (rows, breakpoints, lt, le) with lt/le = #{β < z} / #{β ≤ z} (exact)."""
        out = []
        for a, b, bps, _ in self.groups:
            z = num[a:b]
            lt = np.zeros(z.shape, dtype=np.int32)
            le = np.zeros(z.shape, dtype=np.int32)
            for beta in bps:
                p, q = int(beta.p), int(beta.q)
                lhs, rhs = (z, 0) if p == 0 else (z * q, den[None, :] * p)
                lt += (lhs > rhs).astype(np.int32)
                le += (lhs >= rhs).astype(np.int32)
            out.append((a, b, bps, lt, le))
        return out

    def __call__(self, num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.relu_only:
            return np.maximum(num, 0), den
        out = np.empty(num.shape, dtype=object)
        G = self.G
        for (a, b, bps, lt, _), (_, _, _, pieces) in zip(self.codes(num, den), self.groups):
            z = num[a:b]
            vals = np.empty(z.shape, dtype=object)
            # lt = #{β < z}: z lies in the closed piece number lt (either neighbour at a kink)
            for k, (alpha, beta) in enumerate(pieces):
                mask = lt == k
                if mask.any():
                    an = int(alpha.p) * (G // int(alpha.q))
                    bn = int(beta.p) * (G // int(beta.q))
                    dd = np.broadcast_to(den[None, :], z.shape)[mask]
                    vals[mask] = z[mask] * an + dd * bn
            out[a:b] = vals
        return _reduced(out, den * G)


def _column(values: list) -> tuple[list, int]:
    """Exact rationals as integers over their least common denominator."""
    d = math.lcm(1, *(int(v.q) for v in values))
    return [int(v.p) * (d // int(v.q)) for v in values], d


# ---------------------------------------------------------------------------------------------
# the enumeration


def _split(nodes: list) -> tuple[list, list, list]:
    """(chains, activations, cuts): chains[k] are the affine maps before activation k
    (chains[-1] after the last), cuts[k] the number of them applied before a state is stored."""
    chains: list = [[]]
    acts: list = []
    for node in nodes:
        if isinstance(node, Activation):
            acts.append(_ActivationMap(node))
            chains.append([])
        else:
            chains[-1].append(_AffineMap(node))
    cuts = []
    for k, chain in enumerate(chains):
        dims = [1 if k == 0 else acts[k - 1].width] + [m.out_dim for m in chain]
        # the narrowest place to keep one vector per point (the last one of equal width)
        cuts.append(max(i for i, d in enumerate(dims) if d == min(dims)))
    return chains, acts, cuts


def _apply(chain: list, num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    for m in chain:
        num, den = m(num, den)
    return num, den


def _crossings(act: _ActivationMap, xs: list, num: np.ndarray, den: np.ndarray) -> dict:
    """{interval i: crossing points in (xs[i], xs[i+1])} from pre-activations at the points."""
    found: dict = {}
    if num.shape[1] < 2:
        return found
    for a, _, bps, lt, le in act.codes(num, den):
        if not bps:
            continue
        cross = np.maximum(lt[:, :-1], lt[:, 1:]) > np.minimum(le[:, :-1], le[:, 1:])
        for j, i in zip(*np.nonzero(cross)):
            u = fmpq(int(num[a + j, i]), int(den[i]))
            v = fmpq(int(num[a + j, i + 1]), int(den[i + 1]))
            xa, xb = xs[i], xs[i + 1]
            pts = found.setdefault(int(i), set())
            for beta in bps:
                if (u < beta < v) or (v < beta < u):
                    pts.add(xa + (beta - u) * (xb - xa) / (v - u))
    return found


def _rationals(num: np.ndarray, den: np.ndarray, j: int) -> list:
    return [fmpq(int(v), int(den[j])) for v in num[:, j]]


def _on_line(ya: list, yb: list, a: fmpq, b: fmpq, xs: list) -> tuple[np.ndarray, np.ndarray]:
    """Columns of the affine map through (a, ya) and (b, yb) at the points ``xs``."""
    dy = [q - p for p, q in zip(ya, yb)]
    nums, dens = [], []
    for x in xs:
        t = (x - a) / (b - a)
        col, d = _column([p + t * q for p, q in zip(ya, dy)])
        nums.append(col)
        dens.append(d)
    return np.array(nums, dtype=object).T.reshape(len(ya), len(xs)), np.array(dens, dtype=object)


def _ray_crossings(act: _ActivationMap, x0: fmpq, xp: fmpq, z0: list, zp: list) -> list:
    """Crossings on the ray from x0 through xp (beyond xp too): the pre-activations are affine
    on the whole ray, so each is located by exact linear extrapolation."""
    found = set()
    for a, b, bps, _ in act.groups:
        for u, v in zip(z0[a:b], zp[a:b]):
            if u == v:
                continue
            for beta in bps:
                t = (beta - u) / (v - u)
                if t > 0:
                    found.add(x0 + t * (xp - x0))
    return sorted(found)


class _Probe:
    """A point one beyond the extreme point on a ray: its state and the ray's end."""

    def __init__(self, side: str, x: fmpq, num: np.ndarray, den: np.ndarray) -> None:
        self.side, self.x, self.num, self.den = side, x, num, den


def _extend_rays(probes: list, act: _ActivationMap, before: list, xs: list, num: np.ndarray,
                 den: np.ndarray) -> tuple[list, np.ndarray, np.ndarray]:
    """Add this layer's crossings on the rays as points, and move each probe beyond them (the
    state is affine on the whole ray, so new states lie on the line through end and probe)."""
    for pr in probes:
        j = 0 if pr.side == "left" else len(xs) - 1
        x0, end = xs[j], (num[:, j:j + 1], den[j:j + 1])
        z0 = _rationals(*_apply(before, *end), 0)
        zp = _rationals(*_apply(before, pr.num, pr.den), 0)
        new = _ray_crossings(act, x0, pr.x, z0, zp)
        y0, yp = _rationals(*end, 0), _rationals(pr.num, pr.den, 0)
        if new:
            nn, nd = _on_line(y0, yp, x0, pr.x, new)
            if pr.side == "left":
                xs, num, den = new + xs, np.hstack([nn, num]), np.concatenate([nd, den])
            else:
                xs, num, den = xs + new, np.hstack([num, nn]), np.concatenate([den, nd])
        far = xs[0] - 1 if pr.side == "left" else xs[-1] + 1
        pr.num, pr.den = _on_line(y0, yp, x0, pr.x, [far])
        pr.x = far
    return xs, num, den


def enumerate_chain(nodes: list, lo: Optional[fmpq], hi: Optional[fmpq], max_points: int,
                    describe: str = "") -> tuple[list, list, Optional[tuple], Optional[tuple]]:
    """Every point of [lo, hi] (``None``: infinite end) where some neuron of the chain crosses a
    breakpoint, with the finite ends (0 when both are infinite), sorted; the exact output vector
    at each; and the exact output slopes on the left / right ray (``None`` for a finite end)."""
    chains, acts, cuts = _split(nodes)
    xs = sorted({v for v in (lo, hi) if v is not None}) or [fmpq(0)]
    probes = ([_Probe("left", xs[0] - 1, None, None)] if lo is None else []) + \
        ([_Probe("right", xs[-1] + 1, None, None)] if hi is None else [])
    num = np.array([[int(x.p) for x in xs]], dtype=object)
    den = np.array([int(x.q) for x in xs], dtype=object)
    num, den = _apply(chains[0][:cuts[0]], num, den)
    for pr in probes:
        pr.num, pr.den = _apply(chains[0][:cuts[0]], np.array([[int(pr.x.p)]], dtype=object),
                                np.array([int(pr.x.q)], dtype=object))
    for k, act in enumerate(acts):
        before, after = chains[k][cuts[k]:], chains[k + 1][:cuts[k + 1]]
        xs, num, den = _extend_rays(probes, act, before, xs, num, den)
        if len(xs) > max_points:
            raise UserError(f"enumerate_1d: more than max_points={max_points} points needed "
                            f"({describe} on [{lo}, {hi}]); raise max_points")
        new_count = 0
        parts: list = []
        n = len(xs)
        start = 0
        while start < n:
            stop = min(start + CHUNK, n - 1)
            cols = slice(start, stop + 1)
            ynum, yden = num[:, cols], den[cols]
            zn, zd = _apply(before, ynum, yden)
            found = _crossings(act, xs[cols], zn, zd)
            last = stop == n - 1
            keep = stop - start + (1 if last else 0)  # the next chunk starts at column `stop`
            order_x, src = [], []   # the points in sorted order; src: their column in [old | new]
            ins_x, ins_num, ins_den = [], [], []
            for j in range(keep):
                order_x.append(xs[start + j])
                src.append(j)
                if j not in found:
                    continue
                # the stored state is affine on [a, b]: interpolate it at the new points
                new = sorted(found[j])
                inum, iden = _on_line(_rationals(ynum, yden, j), _rationals(ynum, yden, j + 1),
                                      xs[start + j], xs[start + j + 1], new)
                for x in new:
                    order_x.append(x)
                    src.append(keep + len(ins_x))
                    ins_x.append(x)
                ins_num.append(inum)
                ins_den.append(iden)
            if n + new_count + len(ins_x) > max_points:
                raise UserError(f"enumerate_1d: more than max_points={max_points} points needed "
                                f"({describe} on [{lo}, {hi}]); raise max_points")
            if ins_x:
                izn, izd = _apply(before, np.hstack(ins_num), np.concatenate(ins_den))
                zn = np.hstack([zn[:, :keep], izn])
                zd = np.concatenate([zd[:keep], izd])
                perm = np.array(src, dtype=np.int64)
                zn, zd = zn[:, perm], zd[perm]
            else:
                zn, zd = zn[:, :keep], zd[:keep]
            parts.append((order_x, *_apply(after, *act(zn, zd))))
            new_count += len(ins_x)
            advance(f"layer {k + 1}/{len(acts)}: points", min(stop + 1, n), n)
            if last:
                break
            start = stop
        xs = [x for p in parts for x in p[0]]
        num = np.hstack([p[1] for p in parts])
        den = np.concatenate([p[2] for p in parts])
        for pr in probes:
            pr.num, pr.den = _apply(after, *act(*_apply(before, pr.num, pr.den)))
    num, den = _apply(chains[-1][cuts[-1]:], num, den)
    values = [tuple(_rationals(num, den, j)) for j in range(len(xs))]
    slopes: dict = {"left": None, "right": None}
    for pr in probes:
        yp = _rationals(*_apply(chains[-1][cuts[-1]:], pr.num, pr.den), 0)
        j = 0 if pr.side == "left" else len(xs) - 1
        slopes[pr.side] = tuple((v - u) / (xs[j] - pr.x) for u, v in zip(yp, values[j]))
    return xs, values, slopes["left"], slopes["right"]
