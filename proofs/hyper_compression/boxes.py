"""k ≥ 3: a certified upper bound of the covering radius of [0, 1]^k by box branch-and-bound.

A box B is certified for radius r by one codeword p when the corner of B farthest from p is
within r: then every point of B is within r of p.  Boxes are dyadic (integer corners over the
points' common denominator), so that test is an exact integer comparison.  The search itself
(which codeword to try, which boxes to split) runs in float64 with numpy/scipy and only
proposes; every accepted leaf is re-checked in exact integers before it counts, and a leaf that
fails the exact test is split like any other.

The radius tried is r = (1 + tol)·ℓ, where ℓ is an exact lower bound: the exact nearest distance
of the best candidate point (Voronoi vertices of the points and their mirror images in the faces,
from scipy, rounded to binary fractions and re-evaluated exactly).  So the certificate brackets
the covering radius in [ℓ, (1 + tol)·ℓ].  Domain: the closed cube without wrap-around (the
codec's encoder compares plain Euclidean distances of block-normalised weights).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from flint import fmpq

from certify.method import AnalysisFailed
from proofs.hyper_compression.points import PointSet

_CANDIDATES = 8  # nearest codewords tried per box
_EXACT_CHECKED = 16  # best float candidates of the lower bound re-evaluated exactly
_DYADIC_LEVELS = 32  # box halvings available in exact integers


@dataclass
class BoxBound:
    lower_sq: fmpq  # exact: nearest distance² of ``worst`` to every codeword
    upper_sq: fmpq  # every box certified at this radius²
    worst: tuple  # the lower bound's point (fmpq coordinates in [0, 1])
    leaves: int  # certified boxes
    boxes: int  # boxes examined
    levels: list = field(default_factory=list)  # boxes examined per level
    deepest: int = 0  # the finest level used (box side den / 2^level)
    exact_rejections: int = 0  # float proposals the exact test refused
    certified: list = field(default_factory=list)  # per leaf [level, i_1, ..., i_k, owner]

    def evidence(self) -> dict:
        """The checker kernel's evidence: the dyadic leaves (box ∏ [i/2^level, (i+1)/2^level])
        with the codeword that covers each."""
        return {"kind": "boxes", "leaves": self.certified}


def _exact_nearest_sq(points: PointSet, x: tuple) -> Fraction:
    """min_θ |x − p_θ|² exactly, x in integer units (Fractions)."""
    best = None
    for q in points.coords:
        d = sum((xi - qi) ** 2 for xi, qi in zip(x, q))
        if best is None or d < best:
            best = d
    assert best is not None
    return best


def lower_bound(points: PointSet) -> tuple[Fraction, tuple]:
    """An exact lower bound of the covering radius² (integer units) and the point attaining it."""
    import numpy as np
    from scipy.spatial import Voronoi, cKDTree

    k, den = points.k, points.den
    base = np.array(points.coords, dtype=np.float64) / den
    cloud = [base]
    for axis in range(k):  # mirror images in the faces x_axis = 0 and x_axis = 1
        for wall in (0.0, 1.0):
            m = base.copy()
            m[:, axis] = 2 * wall - m[:, axis]
            cloud.append(m)
    corners = np.array([[(c >> i) & 1 for i in range(k)] for c in range(1 << k)], dtype=np.float64)
    cand = corners
    if points.n > k + 1:
        verts = Voronoi(np.concatenate(cloud)).vertices
        verts = np.clip(verts[np.all((verts > -1e-9) & (verts < 1 + 1e-9), axis=1)], 0.0, 1.0)
        cand = np.concatenate([verts, corners])
    dist, _ = cKDTree(base).query(cand)
    best = None
    for idx in np.argsort(-dist)[:_EXACT_CHECKED]:
        x = tuple(Fraction(float(v)) * den for v in cand[idx])  # a float is an exact binary fraction
        d = _exact_nearest_sq(points, x)
        if best is None or d > best[0]:
            best = (d, x)
    assert best is not None
    return best


def covering_upper_bound(points: PointSet, tol: Fraction, max_boxes: int, progress=None) -> BoxBound:
    """Certify every point of [0, 1]^k within (1 + tol)·ℓ of a codeword; raise when over budget."""
    import numpy as np
    from scipy.spatial import cKDTree

    twos = (points.den & -points.den).bit_length() - 1
    if twos < _DYADIC_LEVELS:  # rescale so that boxes can be halved _DYADIC_LEVELS times exactly
        shift = _DYADIC_LEVELS - twos
        points = PointSet(tuple(tuple(c << shift for c in p) for p in points.coords), points.den << shift)
    k, den = points.k, points.den
    lower, worst = lower_bound(points)
    radius_sq = lower * (1 + tol) ** 2  # integer units²
    limit = float(radius_sq) * (1 - 1e-9)  # float proposals keep a margin; the exact test decides
    base = np.array(points.coords, dtype=np.float64)
    tree = cKDTree(base)
    npts = min(_CANDIDATES, points.n)
    level = max(0, min(20, (points.n.bit_length() - 1) // k))
    side = den >> level
    grid = np.arange(1 << level, dtype=np.int64) * side
    lo = np.stack(np.meshgrid(*([grid] * k), indexing="ij"), axis=-1).reshape(-1, k)
    result = BoxBound(fmpq(0), fmpq(0), (), 0, 0)
    while len(lo):
        result.boxes += len(lo)
        result.levels.append(len(lo))
        result.deepest = level
        if result.boxes > max_boxes:
            raise AnalysisFailed(f"box branch-and-bound exceeded {max_boxes} boxes at level {level}")
        if progress is not None:
            progress(result.boxes, level)
        centre = lo.astype(np.float64) + side / 2
        _, idx = tree.query(centre, k=npts)
        idx = idx.reshape(len(lo), npts)
        far = np.zeros(idx.shape)
        for axis in range(k):
            p = base[idx, axis]
            a = np.abs(lo[:, axis : axis + 1] - p)
            b = np.abs(lo[:, axis : axis + 1] + side - p)
            far += np.maximum(a, b) ** 2
        choice = far.argmin(axis=1)
        accept = far[np.arange(len(lo)), choice] <= limit
        refused = []
        for row in np.nonzero(accept)[0]:
            q = points.coords[int(idx[row, choice[row]])]
            corner = [int(c) for c in lo[row]]
            d = sum(max(abs(c - qi), abs(c + side - qi)) ** 2 for c, qi in zip(corner, q))
            if d <= radius_sq:
                result.leaves += 1
                result.certified.append([level] + [c // side for c in corner]
                                        + [int(idx[row, choice[row]])])
            else:
                result.exact_rejections += 1
                refused.append(row)
        split = np.concatenate([np.nonzero(~accept)[0], np.array(refused, dtype=np.int64)])
        if len(split) and side == 1:
            raise AnalysisFailed("box branch-and-bound reached unit boxes without certifying them")
        if not len(split):
            break
        side //= 2
        level += 1
        offsets = np.array([[(c >> i) & 1 for i in range(k)] for c in range(1 << k)], dtype=np.int64) * side
        lo = (lo[split][:, None, :] + offsets[None, :, :]).reshape(-1, k)
    den2 = den * den
    result.lower_sq = fmpq(lower.numerator, lower.denominator * den2)
    result.upper_sq = fmpq(radius_sq.numerator, radius_sq.denominator * den2)
    result.worst = tuple(fmpq(v.numerator, v.denominator * den) for v in worst)
    return result
