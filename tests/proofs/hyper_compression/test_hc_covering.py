"""Covering radius of the winding codebook: the exact methods against independent brute force."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs.hyper_compression import boxes, gaps, voronoi
from proofs.hyper_compression.check import sqrt_bounds
from proofs.hyper_compression.points import PointSet, codec_direction, first_difference, winding_integers

DEN = 1 << 32


def winding(n: int, k: int, a=None) -> PointSet:
    return PointSet(tuple(winding_integers(n, a or codec_direction(k))), DEN)


# ------------------------------------------------------------------------------------------ k = 1


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 600), a=st.integers(1, DEN - 1))
def test_three_distance_prediction_matches_the_gaps_of_any_direction(n, a):
    s = gaps.three_distance(winding(n, 1, (a,)))
    assert s.agrees
    assert len(s.gaps) <= 3
    assert sum(s.gaps.values()) == n


def test_gap_multiset_notices_a_moved_point():
    pts = winding(100, 1)
    coords = list(pts.coords)
    coords[37] = (coords[37][0] + 1,)
    s = gaps.three_distance(PointSet(tuple(coords), DEN))
    assert not s.agrees and len(s.gaps) > 3


@settings(max_examples=60, deadline=None)
@given(xs=st.lists(st.integers(0, 63), min_size=1, max_size=9, unique=True),
       domain=st.sampled_from(["cube", "torus"]))
def test_1d_radius_against_a_fine_exact_grid(xs, domain):
    pts = PointSet(tuple((x,) for x in xs), 64)
    r = gaps.covering_radius_1d(pts, domain)
    # the nearest distance is piecewise linear with kinks at multiples of 1/128: its max is on that grid
    grid = max(gaps.nearest_distance_1d(pts, fmpq(j, 128), domain) for j in range(129))
    assert r.radius == grid == gaps.nearest_distance_1d(pts, r.worst, domain)


def test_golden_radius_law_k1():
    for n in (10, 100, 1000):
        r = gaps.covering_radius_1d(winding(n, 1), "cube").radius
        assert fmpq(1, 2 * n) <= r <= fmpq(13, 10 * n)


# ------------------------------------------------------------------------------------------ k = 2


def brute_force_cube_sq(pts: PointSet) -> Fraction:
    """max of the nearest distance² over every candidate vertex: circumcentres of triples, bisector
    ∩ boundary, corners (exact Fractions; independent of the clipping code)."""
    P = [tuple(Fraction(c, pts.den) for c in p) for p in pts.coords]
    cand = [(Fraction(a), Fraction(b)) for a in (0, 1) for b in (0, 1)]
    for p, q, r in itertools.combinations(P, 3):
        ax, ay = q[0] - p[0], q[1] - p[1]
        bx, by = r[0] - p[0], r[1] - p[1]
        det = 2 * (ax * by - ay * bx)
        if det:
            a2, b2 = ax * ax + ay * ay, bx * bx + by * by
            cand.append((p[0] + (by * a2 - ay * b2) / det, p[1] + (ax * b2 - bx * a2) / det))
    for p, q in itertools.combinations(P, 2):
        a, b = 2 * (q[0] - p[0]), 2 * (q[1] - p[1])
        c = q[0] ** 2 + q[1] ** 2 - p[0] ** 2 - p[1] ** 2
        for wall in (Fraction(0), Fraction(1)):
            if b:
                cand.append((wall, (c - a * wall) / b))
            if a:
                cand.append(((c - b * wall) / a, wall))
    best = Fraction(0)
    for x in cand:
        if 0 <= x[0] <= 1 and 0 <= x[1] <= 1:
            best = max(best, min((x[0] - p[0]) ** 2 + (x[1] - p[1]) ** 2 for p in P))
    return best


@settings(max_examples=25, deadline=None)
@given(xs=st.lists(st.tuples(st.integers(0, 31), st.integers(0, 31)), min_size=1, max_size=7, unique=True))
def test_2d_exact_radius_equals_brute_force(xs):
    pts = PointSet(tuple(xs), 32)
    r = voronoi.covering_radius_2d(pts, "cube")
    assert r.exact
    want = brute_force_cube_sq(pts)
    assert r.radius_sq == fmpq(want.numerator, want.denominator)


def test_2d_missing_neighbours_are_found_again(monkeypatch):
    """With no neighbours proposed at all, the bound stays sound and the refinement loop
    reaches the exact value (cells are clipped again with the point that beat the vertex)."""
    pts = winding(40, 2)
    exact = voronoi.covering_radius_2d(pts, "cube")
    monkeypatch.setattr(voronoi, "_neighbours", lambda p, d: [set() for _ in range(p.n)])
    again = voronoi.covering_radius_2d(pts, "cube")
    assert again.exact and again.radius_sq == exact.radius_sq and again.refinements > 0


def test_2d_torus_radius_is_below_the_cube_radius_and_a_sampled_lower_bound():
    import numpy as np

    pts = winding(200, 2)
    torus = voronoi.covering_radius_2d(pts, "torus")
    cube = voronoi.covering_radius_2d(pts, "cube")
    assert torus.exact and torus.radius_sq <= cube.radius_sq
    x = np.array(pts.coords, dtype=float) / DEN
    g = (np.stack(np.meshgrid(np.linspace(0, 1, 90), np.linspace(0, 1, 90)), -1).reshape(-1, 1, 2))
    d = np.abs(g - x[None])
    d = np.minimum(d, 1 - d)
    sampled = float(np.sqrt((d ** 2).sum(-1)).min(1).max())
    assert sampled ** 2 <= float(torus.radius_sq) < 1.3 * sampled ** 2


# ------------------------------------------------------------------------------------------ k >= 2 boxes


@pytest.mark.parametrize("n", [30, 200])
def test_box_bound_brackets_the_exact_2d_radius(n):
    pts = winding(n, 2)
    exact = voronoi.covering_radius_2d(pts, "cube").radius_sq
    b = boxes.covering_upper_bound(pts, Fraction(1, 32), 10**6)
    assert b.lower_sq <= exact <= b.upper_sq
    assert b.upper_sq == b.lower_sq * fmpq(33, 32) ** 2
    assert b.leaves > 0


def test_box_bound_k3_and_a_non_dyadic_codebook():
    pts = winding(64, 3)
    b = boxes.covering_upper_bound(pts, Fraction(1, 16), 10**6)
    assert 0 < b.lower_sq < b.upper_sq
    third = PointSet(tuple(tuple(3 * c for c in p) for p in pts.coords), 3 * DEN)  # same points, den 3·2^32
    assert boxes.covering_upper_bound(third, Fraction(1, 16), 10**6).upper_sq == b.upper_sq


def test_box_budget_is_refused_not_passed():
    from certify.method import AnalysisFailed

    with pytest.raises(AnalysisFailed):
        boxes.covering_upper_bound(winding(200, 3), Fraction(1, 10**6), 100)


# ------------------------------------------------------------------------------------------ helpers


@settings(max_examples=100, deadline=None)
@given(p=st.integers(0, 10**30), q=st.integers(1, 10**30))
def test_sqrt_bounds_enclose(p, q):
    lo, hi = sqrt_bounds(fmpq(p, q))
    assert lo * lo <= fmpq(p, q) <= hi * hi and hi - lo <= fmpq(1, 1 << 64)


def test_first_difference_finds_a_moved_codeword():
    pts = winding(50, 2)
    assert first_difference(pts, codec_direction(2)) is None
    coords = list(pts.coords)
    coords[13] = (coords[13][0], coords[13][1] + 1)
    assert first_difference(PointSet(tuple(coords), DEN), codec_direction(2)) == 13
