"""Exact linear-region enumeration and identity checks (certify.analysis.regions)."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from flint import fmpq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certify.analysis.regions import check_identity, enumerate_regions
from constructive.activations import ActivationFunction
from constructive.evaluate import evaluate
from constructive.ir import Activation, activation, affine, network, relu_network, repeat, stack
from constructive.numbers import as_fmpq

H = Fraction(1, 2)
# max(x, y) = ½[σ(x+y) − σ(−x−y) + σ(x−y) + σ(y−x)]
MAX2 = relu_network([([[1, 1], [-1, -1], [1, -1], [-1, 1]], [0, 0, 0, 0]), ([[H, -H, H, H]], [0])])
# deliberately wrong: the last sign flipped
MAX2_WRONG = relu_network([([[1, 1], [-1, -1], [1, -1], [-1, 1]], [0, 0, 0, 0]),
                           ([[H, -H, H, -H]], [0])])
# max(x, y) = y + σ(x − y): a second, different realisation
MAX2_ALT = relu_network([([[1, -1], [0, 1], [0, -1]], [0, 0, 0]), ([[1, 1, -1]], [0])])
ABS = relu_network([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])


def exact_at(net, x):
    """Exact outputs of ``net`` at one point ``x``."""
    return [row[0] for row in evaluate(net, [[as_fmpq(v)] for v in x])]


def mid_net():
    """mid(x1, x2, x3) = s − max3 − min3 as a ReLU net with hidden widths (14, 10).

    Hidden 1: σ(±x1), σ(±x2), σ(±x3), σ(±(x1−x2)), σ(±s), σ(±(x2−x3)), σ(±(x1−x3)) where
    s = x1+x2+x3.  Hidden 2: A = σ(m12 − x3) with m12 = max(x1, x2) (so max3 = x3 + A),
    B = σ(x1 − n23) with n23 = min(x2, x3) (so min3 = x1 − B), and σ(±·) copies of s, x1, x2, x3.
    Output: s − max3 − min3 = s − x3 − A − x1 + B.
    """
    def row(**kw):
        r = [0] * 14
        for k, v in kw.items():
            r[int(k[1:])] = v
        return r

    W1 = [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1],
          [1, -1, 0], [-1, 1, 0], [1, 1, 1], [-1, -1, -1], [0, 1, -1], [0, -1, 1],
          [1, 0, -1], [-1, 0, 1]]
    A = row(n0=H, n1=-H, n2=H, n3=-H, n6=H, n7=H, n4=-1, n5=1)
    B = row(n0=1, n1=-1, n2=-H, n3=H, n4=-H, n5=H, n10=H, n11=H)
    copies = [row(n8=1, n9=-1), row(n8=-1, n9=1), row(n0=1, n1=-1), row(n0=-1, n1=1),
              row(n2=1, n3=-1), row(n2=-1, n3=1), row(n4=1, n5=-1), row(n4=-1, n5=1)]
    W2 = [A, B] + copies
    # s − x3 − A − x1 + B with s = σ(s)−σ(−s), x1 = σ(x1)−σ(−x1), x3 = σ(x3)−σ(−x3)
    W3 = [[-1, 1, 1, -1, -1, 1, 0, 0, -1, 1]]
    return relu_network([(W1, [0] * 14), (W2, [0] * 10), (W3, [0])])


MEDIAN_KINKS = [((1, -1, 0), 0), ((0, 1, -1), 0), ((1, 0, -1), 0)]


def median(x):
    return sorted(x)[1]


# --- identities ------------------------------------------------------------------------------

def test_max_identity_holds():
    r = check_identity(MAX2, lambda x: max(x), kinks=[((1, -1), 0)])
    assert r.holds and r.witness is None and r.regions >= 4
    assert check_identity(MAX2, MAX2_ALT).holds          # network reference
    assert check_identity(MAX2, (lambda x: max(x), [((1, -1), 0)]),
                          box=((0, 1), (-5, None))).holds


def test_wrong_identity_gives_exact_witness():
    for ref in [(lambda x: max(x), [((1, -1), 0)]), MAX2]:
        r = check_identity(MAX2_WRONG, ref)
        assert not r.holds and r.witness is not None and r.difference != 0
        got = exact_at(MAX2_WRONG, r.witness)[0]
        assert got - max(r.witness) == r.difference != 0
    # a difference only on a small far-away part of the plane is still found
    bump = relu_network([([[1, 1], [-1, -1], [1, -1], [-1, 1], [1, 0]], [0, 0, 0, 0, -100]),
                         ([[H, -H, H, H, fmpq(1, 1000)]], [0])])
    r = check_identity(bump, MAX2)
    assert not r.holds and r.witness[0] > 100
    assert exact_at(bump, r.witness)[0] - exact_at(MAX2, r.witness)[0] == r.difference != 0
    assert check_identity(bump, MAX2, box=((-50, 50), (-50, 50))).holds


def test_mid_network_is_the_median():
    net = mid_net()
    assert net.widthvec == (14, 10)
    t = time.perf_counter()
    r = check_identity(net, median, kinks=MEDIAN_KINKS)
    assert time.perf_counter() - t < 5
    assert r.holds, r
    # without the kink list the reference is not affine on the network's regions: a refined
    # check must not pass a reference with an extra kink that the network does not have
    wrong = lambda x: median(x) + max(fmpq(0), x[0] - 5) / 100  # noqa: E731
    r = check_identity(net, wrong, kinks=MEDIAN_KINKS + [((1, 0, 0), -5)])
    assert not r.holds and r.witness[0] > 5
    assert exact_at(net, r.witness)[0] - wrong(r.witness) == r.difference != 0


def sorting_median_net():
    """median = max(min(x1, x2), min(max(x1, x2), x3)) from ReLU comparisons, 3 hidden layers:
    max(a, b) = b + σ(a − b), min(a, b) = a − σ(a − b), values carried as σ(t) − σ(−t)."""
    W1 = [[1, -1, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]
    # h1 = (u = σ(x1−x2), σ(±x1), σ(±x2), σ(±x3)); m = max(x1,x2) = x2 + u; n = x1 − u
    W2 = [[1, 0, 0, 1, -1, -1, 1],          # v = σ(m − x3)
          [-1, 1, -1, 0, 0, 0, 0], [1, -1, 1, 0, 0, 0, 0],      # σ(±n)
          [1, 0, 0, 1, -1, 0, 0], [-1, 0, 0, -1, 1, 0, 0]]      # σ(±m)
    # q = min(m, x3) = m − v; median = max(n, q) = q + σ(n − q)
    W3 = [[1, 1, -1, -1, 1], [-1, 0, 0, 1, -1], [1, 0, 0, -1, 1]]
    return relu_network([(W1, [0] * 7), (W2, [0] * 5), (W3, [0] * 3), ([[1, 1, -1]], [0])])


def test_mid_network_against_sorting_network_reference():
    net, ref = mid_net(), sorting_median_net()
    assert check_identity(ref, median, kinks=MEDIAN_KINKS).holds
    r = check_identity(net, ref)
    assert r.holds and r.regions > 0
    regions = enumerate_regions(net)
    for reg in regions:
        assert reg.contains(reg.interior_point)
        assert reg(reg.interior_point)[0] == median(reg.interior_point)
    # a wrong sorting network (min and max swapped in the last step) is caught
    bad = relu_network([(W, b) for W, b in [
        ([[1, -1, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], [0] * 7),
        ([[1, 0, 0, 1, -1, -1, 1], [-1, 1, -1, 0, 0, 0, 0], [1, -1, 1, 0, 0, 0, 0],
          [1, 0, 0, 1, -1, 0, 0], [-1, 0, 0, -1, 1, 0, 0]], [0] * 5),
        ([[1, 1, -1, -1, 1], [-1, 0, 0, 1, -1], [1, 0, 0, -1, 1]], [0] * 3),
        ([[-1, 1, -1]], [0])]])
    r = check_identity(net, bad)
    assert not r.holds
    assert exact_at(net, r.witness)[0] - exact_at(bad, r.witness)[0] == r.difference != 0


def test_abs_in_one_dimension():
    regions = enumerate_regions(ABS)
    assert len(regions) == 2
    maps = sorted((r.A[0, 0], r.c[0, 0]) for r in regions)
    assert maps == [(-1, 0), (1, 0)]
    assert check_identity(ABS, lambda x: abs(x[0]), kinks=[((1,), 0)]).holds
    r = check_identity(ABS, lambda x: x[0], kinks=[])
    assert not r.holds and r.witness[0] < 0 and r.difference == -2 * r.witness[0]
    box = enumerate_regions(ABS, box=((1, 3),))
    assert len(box) == 1 and box[0].inequalities and box[0].contains((2,))
    assert not box[0].contains((4,))


def test_other_activations_and_structure():
    leaky = ActivationFunction("leaky_test", lambda x: x if x > 0 else x / 4, lambda x: x,
                               lambda x: x, lambda x: x, piecewise_linear=True,
                               breakpoints=(fmpq(0),))
    hardtanh = ActivationFunction("hardtanh_test", lambda x: max(fmpq(-1), min(fmpq(1), x)),
                                  lambda x: x, lambda x: x, lambda x: x, piecewise_linear=True,
                                  breakpoints=(fmpq(-1), fmpq(1)))
    # leaky(x − y) + hardtanh(x + y) + |y| (nested activation), repeated clamp, parallel parts
    net = network(affine([[1, -1], [1, 1], [0, 1]], [0, 0, 0]),
                  Activation((leaky, hardtanh, ABS)), affine([[1, 1, 1]], [0]))
    regions = enumerate_regions(net)
    # cells: (x−y ≷ 0) × (x+y: 3 pieces) × (y ≷ 0) with non-empty interior
    assert len(regions) == 10
    for r in regions:
        assert r(r.interior_point) == tuple(exact_at(net, r.interior_point))
    ref = lambda x: (leaky.exact(x[0] - x[1]) + hardtanh.exact(x[0] + x[1]) + abs(x[1]))  # noqa
    kinks = [((1, -1), 0), ((1, 1), -1), ((1, 1), 1), ((0, 1), 0)]
    assert check_identity(net, ref, kinks=kinks).holds
    clamp = network(affine([[1], [1]], [0, -1]), activation(2), affine([[1, -1]], [0]))
    twice = network(stack(repeat(clamp, 3), clamp, pad=True), affine([[1, -1]], [0]))   # ≡ 0
    assert len(enumerate_regions(twice)) == 3
    assert check_identity(twice, lambda x: 0, kinks=[]).holds


def test_refusals():
    soft = ActivationFunction("soft_test", lambda x: x / (1 + abs(x)), lambda x: x,
                              lambda x: x, lambda x: x)
    with pytest.raises(ValueError, match="not piecewise linear"):
        enumerate_regions(network(affine([[1, 1]], [0]), activation(1, soft)))
    with pytest.raises(ValueError, match="inputs"):
        enumerate_regions(relu_network([([[1] * 5], [0]), ([[1]], [0])]))
    with pytest.raises(ValueError, match="max_regions"):
        enumerate_regions(mid_net(), max_regions=10)
    with pytest.raises(ValueError, match="kink"):
        check_identity(MAX2, lambda x: max(x))
    with pytest.raises(ValueError):
        check_identity(MAX2, ABS)
    with pytest.raises(ValueError, match="empty interior"):
        enumerate_regions(MAX2, box=((0, 0), (0, 1)))


# --- random networks (hypothesis) ------------------------------------------------------------

WEIGHT = st.integers(-24, 24)          # weights k/8 in [-3, 3]
WIDTHS = st.lists(st.integers(1, 4), min_size=1, max_size=3)
_LISTS: dict[int, st.SearchStrategy] = {}


@st.composite
def relu_nets_2d(draw):
    dims = [2] + draw(WIDTHS) + [1]
    n = sum((a + 1) * b for a, b in zip(dims, dims[1:]))
    if n not in _LISTS:
        _LISTS[n] = st.lists(WEIGHT, min_size=n, max_size=n)
    vals = iter(Fraction(k, 8) for k in draw(_LISTS[n]))
    return relu_network([([[next(vals) for _ in range(a)] for _ in range(b)],
                          [next(vals) for _ in range(b)]) for a, b in zip(dims, dims[1:])])


COORD = st.integers(-240, 240).map(lambda k: Fraction(k, 12))
POINTS = st.lists(st.tuples(COORD, COORD), min_size=1, max_size=10)


def _closure_contains(region, x):
    return all(sum((a * as_fmpq(v) for a, v in zip(w, x)), fmpq(0)) + c >= 0
               for w, c in region.inequalities)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(relu_nets_2d(), POINTS)
def test_random_regions_partition_and_maps(net, points):
    regions = enumerate_regions(net)
    for r in regions:
        assert r.contains(r.interior_point)
        assert r(r.interior_point) == tuple(exact_at(net, r.interior_point))
    # regions are disjoint: no interior point lies in another region
    for i, r in enumerate(regions):
        assert sum(s.contains(r.interior_point) for s in regions) == 1, i
    for x in points:
        y = tuple(exact_at(net, x))
        inside = [r for r in regions if r.contains(x)]
        assert len(inside) <= 1
        closures = [r for r in regions if _closure_contains(r, x)]
        assert closures, "the closures of the regions must cover the plane"
        assert all(r(x) == y for r in closures)      # continuity: every adjacent map agrees


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(relu_nets_2d(), st.integers(-3, 3).filter(bool))
def test_random_identity_against_itself_and_perturbation(net, k):
    assert check_identity(net, net).holds
    shifted = network(net, affine([[1]], [Fraction(k, 7)]))
    r = check_identity(shifted, net)
    assert not r.holds and r.difference == fmpq(k, 7)
    assert exact_at(shifted, r.witness)[0] - exact_at(net, r.witness)[0] == r.difference
