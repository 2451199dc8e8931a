"""k = 1: the exact gap structure of {frac(θ·a)}_{θ<n} and its covering radius.

The three-distance theorem (Sós, Świerczkowski, Surányi): the n points frac(θa), θ = 0 … n − 1,
cut the circle into gaps of at most three lengths.  In the explicit form used here, let u be
the θ ∈ [1, n) with the smallest frac(θa) and v the one with the largest; then the gaps are

    frac(ua)          (n − u times),   1 − frac(va)     (n − v times),
    frac(ua) + 1 − frac(va)            (u + v − n times),

so the lengths are read off two points.  The certifier computes the gaps of the actual points
directly (sorted exact integers) and compares the multiset with this prediction: an equality of
two exact multisets, not an inequality.

Covering radius: on the circle (torus) half the largest gap; on the closed interval [0, 1] —
what the codec's per-block normalisation uses, with no wrap-around — the largest of the first
point, half of every inner gap and the distance from the last point to 1.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flint import fmpq

from proofs.hyper_compression.points import PointSet


@dataclass(frozen=True)
class GapStructure:
    gaps: dict  # exact length (fmpq) -> count, the points' own circle gaps
    predicted: dict  # the three-distance prediction, same form
    u: int
    v: int

    @property
    def agrees(self) -> bool:
        return self.gaps == self.predicted


def circle_gaps(points: PointSet) -> list[int]:
    """Gaps between circularly consecutive points, as integers over ``points.den``."""
    xs = sorted(c[0] for c in points.coords)
    return [b - a for a, b in zip(xs, xs[1:])] + [points.den - xs[-1] + xs[0]]


def three_distance(points: PointSet) -> GapStructure:
    """The measured gap multiset and the theorem's prediction from the two extreme points."""
    if points.k != 1 or points.n < 2:
        raise ValueError("the gap structure needs n >= 2 points on the circle")
    den = points.den
    xs = [c[0] for c in points.coords]
    u = min(range(1, points.n), key=lambda j: (xs[j], j))
    v = max(range(1, points.n), key=lambda j: (xs[j], -j))
    short, long_ = xs[u], den - xs[v]
    predicted: Counter = Counter()
    for length, count in ((short, points.n - u), (long_, points.n - v), (short + long_, u + v - points.n)):
        if count > 0:
            predicted[fmpq(length, den)] += count
    measured = Counter(fmpq(g, den) for g in circle_gaps(points))
    return GapStructure(dict(measured), dict(predicted), u, v)


@dataclass(frozen=True)
class Radius1D:
    radius: fmpq
    worst: fmpq  # a point of the domain at that distance from every codeword
    domain: str


def covering_radius_1d(points: PointSet, domain: str) -> Radius1D:
    """Exact covering radius of the points in the circle ('torus') or in [0, 1] ('cube')."""
    den = points.den
    xs = sorted(c[0] for c in points.coords)
    best = (0, 0)  # (twice the distance over den, twice the point)
    for a, b in zip(xs, xs[1:]):
        best = max(best, (b - a, a + b))
    if domain == "torus":
        wrap = den - xs[-1] + xs[0]
        best = max(best, (wrap, (xs[-1] + den + xs[0]) % (2 * den)))
    elif domain == "cube":
        best = max(best, (2 * xs[0], 0), (2 * (den - xs[-1]), 2 * den))
    else:
        raise ValueError(f"unknown domain {domain!r}")
    return Radius1D(fmpq(best[0], 2 * den), fmpq(best[1], 2 * den), domain)


def nearest_distance_1d(points: PointSet, x: fmpq, domain: str) -> fmpq:
    """min_θ |x − p_θ| exactly (circle distance on the torus): the lower-bound re-check."""
    best = None
    for (c,) in points.coords:
        d = abs(x - fmpq(c, points.den))
        if domain == "torus":
            d = min(d, 1 - d)
        best = d if best is None else min(best, d)
    return best
