"""Covering radii of finite codebooks, exactly: sup over the domain of the distance to the
nearest codeword, on [0, 1]^k (the codec's cube) or the torus R^k/Z^k, k = 1 or 2.

k = 1: the sorted gaps.  k = 2: for a point p and ANY set of other points (and their lattice
copies on the torus) the polygon domain ∩ {x : |x − p| ≤ |x − q|} contains p's Voronoi cell, and
|x − p| is convex, so its largest value on the polygon is at a vertex: the evidence's
neighbours only decide how tight the bound is, never whether it holds.  The exact distance of the
worst vertex to its nearest codeword is the matching lower bound.  k ≥ 3 (the cube): the
evidence's dyadic boxes, each with the codeword that covers it (its farthest corner is within
the bound); the kernel checks that they tile the cube (no box inside another, volumes summing to
1) and re-evaluates the witness points exactly for the lower bound.
"""

from __future__ import annotations

from typing import Any

from flint import fmpq

from certify.kernel.errors import KernelError

MAX_NEIGHBOURS = 2 ** 18  # (index, translation) entries of all cells together
MAX_LEAVES = 2 ** 20
MAX_LEVEL = 64


def radius_1d(code: list, torus: bool) -> fmpq:
    """The exact covering radius of points of [0, 1) on [0, 1] or on the circle."""
    xs = sorted(code)
    gaps = [b - a for a, b in zip(xs, xs[1:])]
    if torus:
        return max(gaps + [1 + xs[0] - xs[-1]]) / 2
    return max([xs[0], 1 - xs[-1]] + [g / 2 for g in gaps])


def _clip(poly: list, a: tuple, c: fmpq) -> list:
    """The part of a convex polygon where a·x ≤ c."""
    out = []
    for p, q in zip(poly, poly[1:] + poly[:1]):
        sp, sq = a[0] * p[0] + a[1] * p[1] - c, a[0] * q[0] + a[1] * q[1] - c
        if sp <= 0:
            out.append(p)
        if sp * sq < 0:
            t = sp / (sp - sq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def nearest_sq(code: list, x: tuple, torus: bool) -> fmpq:
    """The exact squared distance of x to its nearest codeword (on the torus: nearest copy)."""
    best = None
    for q in code:
        d = [abs(u - v) for u, v in zip(x, q)]
        d = [min(t - t.floor(), 1 - t + t.floor()) for t in d] if torus else d
        s = sum(t * t for t in d)
        best = s if best is None or s < best else best
    return best


def radius_2d_sq(code: list, neighbours: Any, torus: bool) -> tuple[fmpq, fmpq]:
    """Upper and lower bounds of the squared covering radius from clipped cells."""
    if not isinstance(neighbours, list) or len(neighbours) != len(code) or \
            sum(len(c) if isinstance(c, list) else MAX_NEIGHBOURS for c in neighbours) > MAX_NEIGHBOURS:
        raise KernelError(f"cell evidence needs one neighbour list per codeword, at most "
                          f"{MAX_NEIGHBOURS} entries in all")
    half = fmpq(1, 2)
    upper, worst = fmpq(-1), None
    for p, cell in zip(code, neighbours):
        lo = [v - half for v in p] if torus else [fmpq(0), fmpq(0)]  # the torus cell lies in p ± 1/2
        hi = [v + half for v in p] if torus else [fmpq(1), fmpq(1)]
        poly = [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])]
        for entry in cell:
            if not (isinstance(entry, list) and len(entry) == 3 and all(
                    isinstance(v, int) and not isinstance(v, bool) for v in entry)
                    and 0 <= entry[0] < len(code) and all(-1 <= t <= 1 for t in entry[1:])
                    and (torus or entry[1:] == [0, 0])):
                raise KernelError(f"cell evidence entry {entry!r} is not [index, tx, ty]")
            q = (code[entry[0]][0] + entry[1], code[entry[0]][1] + entry[2])
            if q != p:
                poly = _clip(poly, (2 * (q[0] - p[0]), 2 * (q[1] - p[1])),
                             q[0] ** 2 + q[1] ** 2 - p[0] ** 2 - p[1] ** 2)
        for v in poly:
            d = (v[0] - p[0]) ** 2 + (v[1] - p[1]) ** 2
            if d > upper:
                upper, worst = d, v
    return upper, nearest_sq(code, worst, torus)


def boxes_upper_sq(code: list, leaves: Any) -> fmpq:
    """The squared radius within which the evidence's dyadic boxes lie of their codewords, once
    they are shown to tile [0, 1]^k."""
    k = len(code[0])
    if not isinstance(leaves, list) or not 0 < len(leaves) <= MAX_LEAVES:
        raise KernelError(f"box evidence needs 1 to {MAX_LEAVES} leaves")
    seen, volume, upper = set(), fmpq(0), fmpq(0)
    for leaf in leaves:
        if not (isinstance(leaf, list) and len(leaf) == k + 2 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in leaf)
                and 0 <= leaf[0] <= MAX_LEVEL and all(0 <= i < 2 ** leaf[0] for i in leaf[1:-1])
                and 0 <= leaf[-1] < len(code)) or tuple(leaf[:-1]) in seen:
            raise KernelError(f"box evidence leaf {str(leaf)[:80]} is not a new [level, i_1..i_k, owner]")
        seen.add(tuple(leaf[:-1]))
        level, index, p = leaf[0], leaf[1:-1], code[leaf[-1]]
        volume += fmpq(1, 2 ** (level * k))
        side = fmpq(1, 2 ** level)
        upper = max(upper, sum(max(abs(i * side - v), abs((i + 1) * side - v)) ** 2
                               for i, v in zip(index, p)))
    for level, *index in seen:  # dyadic boxes overlap only when one lies inside the other
        if any((up, *(i >> (level - up) for i in index)) in seen for up in range(level)):
            raise KernelError(f"box evidence: the leaf {[level] + index} lies inside another leaf")
    if volume != 1:
        raise KernelError(f"box evidence: the leaves' volumes sum to {volume}, not 1")
    return upper
