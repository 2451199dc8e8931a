"""k = 2: the exact Euclidean covering radius of a finite point set, by clipped Voronoi cells.

Why cells and not a triangulation: for every point p and ANY set Q of other points, the
polygon Π_p = domain ∩ {x : |x − p| ≤ |x − q| for q ∈ Q} contains p's true Voronoi cell, and
|x − p| is convex, so max over the domain of the nearest distance is at most
max_p max_{vertex v of Π_p} |v − p|.  That upper bound is sound whatever Q is; the neighbour
sets (from a float Delaunay triangulation, scipy) only make it tight.  The lower bound is the
exact nearest distance of the worst vertex to every point; when both agree the covering radius
is known exactly (otherwise the point that beat the vertex joins Q and the cell is clipped
again).  All clipping is exact rational arithmetic (python-flint) on integer coordinates.

Domains: 'cube' = [0, 1]^2 without wrap-around (the codec: its encoder compares plain
Euclidean distances of block-normalised weights), 'torus' = R^2/Z^2 (the paper's winding),
where the cell of p lives in the square p ± 1/2 and neighbours carry a lattice translation.
"""

from __future__ import annotations

from dataclasses import dataclass

from flint import fmpq

from proofs.hyper_compression.points import PointSet

_TRANSLATIONS = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]


@dataclass(frozen=True)
class Radius2D:
    radius_sq: fmpq  # the squared covering radius (exact, in units of the unit square)
    lower_sq: fmpq  # exact nearest distance² of the worst vertex to all points (= radius_sq when exact)
    worst: tuple  # the worst vertex (fmpq, fmpq)
    owner: int  # the point whose cell it is a vertex of
    vertices: int  # cell vertices examined
    clips: int  # half-plane clips made
    refinements: int  # cells clipped again because a neighbour was missing
    neighbours: tuple = ()  # per point, the (index, translation) pairs its cell was clipped by

    def evidence(self) -> dict:
        """The checker kernel's evidence: each cell's neighbours (any set is sound, it clips)."""
        return {"kind": "cells", "neighbours": [[[j, tx, ty] for j, (tx, ty) in cell]
                                                for cell in self.neighbours]}

    @property
    def exact(self) -> bool:
        return self.radius_sq == self.lower_sq


def _clip(poly: list, a: tuple, c: int) -> list:
    """Sutherland–Hodgman: the part of a convex polygon with a·x ≤ c (a, c integers)."""
    out = []
    m = len(poly)
    for i in range(m):
        p, q = poly[i], poly[(i + 1) % m]
        sp = a[0] * p[0] + a[1] * p[1] - c
        sq = a[0] * q[0] + a[1] * q[1] - c
        if sp <= 0:
            out.append(p)
        if (sp < 0 < sq) or (sq < 0 < sp):
            t = sp / (sp - sq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _neighbours(points: PointSet, domain: str) -> list[set]:
    """Delaunay neighbours (index, translation) of every point, from a float triangulation."""
    import numpy as np
    from scipy.spatial import Delaunay, QhullError

    base = np.array(points.coords, dtype=np.float64) / points.den
    n = points.n
    shifts = _TRANSLATIONS if domain == "torus" else [(0, 0)]
    cloud = np.concatenate([base + np.array(s, dtype=np.float64) for s in shifts])
    out: list[set] = [set() for _ in range(n)]
    try:
        tri = Delaunay(cloud) if n >= 3 else None
    except QhullError:  # all points on a line: no triangulation
        tri = None
    if tri is None:  # every other point (and copy) is a neighbour: exact, and cheap for such sets
        for i in range(n):
            out[i] = {(j, s) for j in range(n) for s in shifts if (j, s) != (i, (0, 0))}
        return out
    centre = shifts.index((0, 0))
    for simplex in tri.simplices:
        for a in simplex:
            if a // n != centre:
                continue
            for b in simplex:
                if b != a:
                    out[a % n].add((int(b % n), shifts[b // n]))
    return out


def _cell(points: PointSet, i: int, neigh: set, domain: str) -> tuple[list, int]:
    """The clipped polygon of point i (vertices in integer units over ``den``) and its clip count."""
    den = points.den
    px, py = points.coords[i]
    if domain == "cube":
        poly = [(fmpq(0), fmpq(0)), (fmpq(den), fmpq(0)), (fmpq(den), fmpq(den)), (fmpq(0), fmpq(den))]
    else:  # the torus cell lies in p ± 1/2: any point farther in one coordinate has a nearer copy of p
        lo_x, hi_x = fmpq(2 * px - den, 2), fmpq(2 * px + den, 2)
        lo_y, hi_y = fmpq(2 * py - den, 2), fmpq(2 * py + den, 2)
        poly = [(lo_x, lo_y), (hi_x, lo_y), (hi_x, hi_y), (lo_x, hi_y)]
    clips = 0
    for j, (tx, ty) in sorted(neigh):
        qx, qy = points.coords[j][0] + tx * den, points.coords[j][1] + ty * den
        a = (2 * (qx - px), 2 * (qy - py))
        c = qx * qx + qy * qy - px * px - py * py
        poly = _clip(poly, a, c)
        clips += 1
    return poly, clips


def _farthest(poly: list, p: tuple) -> tuple[fmpq, tuple]:
    best, where = fmpq(-1), None
    for v in poly:
        d = (v[0] - p[0]) ** 2 + (v[1] - p[1]) ** 2
        if d > best:
            best, where = d, v
    return best, where


def nearest_sq(points: PointSet, x: tuple, domain: str) -> tuple[fmpq, int, tuple]:
    """Exact min_θ |x − p_θ|² (x in integer units), the nearest index and its translation."""
    den = points.den
    best = None
    for j, (qx, qy) in enumerate(points.coords):
        dx, dy = x[0] - qx, x[1] - qy
        tx = ty = 0
        if domain == "torus":  # nearest copy: shift by a whole period when that is closer
            if 2 * dx > den:
                dx, tx = dx - den, 1
            elif 2 * dx < -den:
                dx, tx = dx + den, -1
            if 2 * dy > den:
                dy, ty = dy - den, 1
            elif 2 * dy < -den:
                dy, ty = dy + den, -1
        d = dx * dx + dy * dy
        if best is None or d < best[0]:
            best = (d, j, (tx, ty))
    assert best is not None
    return best


def covering_radius_2d(points: PointSet, domain: str, progress=None) -> Radius2D:
    """Exact covering radius (squared) of the points in the cube or the torus, Euclidean."""
    if domain not in ("cube", "torus"):
        raise ValueError(f"unknown domain {domain!r}")
    neigh = _neighbours(points, domain)
    den2 = points.den * points.den
    cells = []
    clips = vertices = 0
    for i in range(points.n):
        poly, c = _cell(points, i, neigh[i], domain)
        clips += c
        vertices += len(poly)
        cells.append(_farthest(poly, points.coords[i]))
        if progress is not None:
            progress(i + 1, points.n)
    refinements = 0
    while True:
        owner = max(range(points.n), key=lambda i: cells[i][0])
        upper, worst = cells[owner]
        lower, j, shift = nearest_sq(points, worst, domain)
        if lower == upper:
            break
        # a neighbour was missing from the float triangulation: add the point that beat the vertex
        neigh[owner].add((j, shift))
        poly, c = _cell(points, owner, neigh[owner], domain)
        clips += c
        cells[owner] = _farthest(poly, points.coords[owner])
        refinements += 1
    worst_unit = (worst[0] / points.den, worst[1] / points.den)
    return Radius2D(upper / den2, lower / den2, worst_unit, owner, vertices, clips, refinements,
                    tuple(tuple(sorted(cell)) for cell in neigh))
