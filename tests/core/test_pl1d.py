"""Exact 1-D piecewise-linear enumeration (certify.analysis.pl1d)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from flint import fmpq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certify.analysis.pl1d import PiecewiseLinear1D, enumerate_1d, pl_from_points
from constructive.activations import RELU, ActivationFunction
from constructive.evaluate import evaluate
from constructive.ir import Activation, activation, affine, network, relu_network, repeat, stack
from constructive.numbers import as_fmpq


def _act(name, kernel, breakpoints, pl=True):
    return ActivationFunction(name=name, exact=kernel, ball=lambda x: x, mp=lambda x: x,
                              float=lambda x: x, piecewise_linear=pl,
                              breakpoints=tuple(fmpq(b) for b in breakpoints))


LEAKY = _act("leaky_test", lambda x: x if x > 0 else x / 10, [0])
HARDTANH = _act("hardtanh_test", lambda x: max(fmpq(-1), min(fmpq(1), x)), [-1, 1])
STEP = _act("step_test", lambda x: fmpq(1) if x > 0 else fmpq(0), [0])           # discontinuous
SOFT = _act("soft_test", lambda x: x / (1 + abs(x)), [], pl=False)                 # not PL
# a kink at 3/2 that the catalogue entry does not list (caught by the sample checks, which
# are finitely many: a wrong entry is only caught when a sample lands on the wrong side)
LYING = _act("lying_test", lambda x: max(fmpq(0), min(x, fmpq(3, 2))), [0])

ABS = relu_network([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])
CLAMP = relu_network([([[1], [1]], [0, -1]), ([[1, -1]], [0])])        # min(max(x, 0), 1)


def exact(net, xs):
    """Exact evaluation at scalar points, one output vector per point."""
    out = evaluate(net, [[as_fmpq(x) for x in xs]])
    return [tuple(row[j] for row in out) for j in range(len(xs))]


def hat_power(m):
    """g∘…∘g (m times) with the hat g(x) = 2σ(x) − 4σ(x − 1/2), as a Repeat."""
    g = network(affine([[1], [1]], [0, "-1/2"]), activation(2), affine([[2, -4]], [0]))
    return repeat(g, m)


# --- fixed examples ----------------------------------------------------------------------------

def test_abs_on_R():
    f = enumerate_1d(ABS)
    assert f.points == (0,) and f.values == ((0,),)
    assert f.left_slope == (-1,) and f.right_slope == (1,)
    assert f.range() == (0, None)
    assert f(-7) == (7,) and f("5/3") == (fmpq(5, 3),)


def test_clamp_range_is_exact():
    f = enumerate_1d(CLAMP)
    assert f.points == (0, 1)
    assert f.range() == (0, 1)
    assert enumerate_1d(CLAMP, "1/3", 5).range() == (fmpq(1, 3), 1)
    assert enumerate_1d(CLAMP, -4, "-1/2").range() == (0, 0)


def test_unbounded_range_detected():
    assert enumerate_1d(ABS).range() == (0, None)
    neg = relu_network([([[1]], [0]), ([[-3]], [2])])       # 2 − 3σ(x)
    assert enumerate_1d(neg).range() == (None, 2)
    assert enumerate_1d(neg, lo=None, hi=10).range() == (-28, 2)
    line = network(affine([[2]], [1]))                       # no activation at all
    f = enumerate_1d(line)
    assert f.range() == (None, None) and f.right_slope == (2,)


def test_sawtooth_has_all_pieces():
    m = 6
    f = enumerate_1d(hat_power(m), 0, 1)
    assert f.points == tuple(fmpq(k, 2**m) for k in range(2**m + 1))
    assert f.values == tuple((fmpq(k % 2),) for k in range(2**m + 1))
    assert f.range() == (0, 1)
    # on R the hat power is 0 outside [0, 1]
    g = enumerate_1d(hat_power(3))
    assert g.left_slope == (0,) and g.right_slope == (0,)
    assert g.points == tuple(fmpq(k, 8) for k in range(9))


def test_crossings_far_out_on_both_rays():
    # σ(σ(x − 1000) − 5) + σ(−x − 1000): kinks at 1005 and −1000, none near the start; the
    # neuron kink at 1000 is invisible in the output (the outer neuron is still off there)
    net = network(affine([[1], [-1]], [-1000, -1000]), activation(2),
                  affine([[1, 0], [0, 1]], [-5, 0]), activation(2), affine([[1, 1]], [0]))
    f = enumerate_1d(net)
    assert f.points == (-1000, 1005)
    assert enumerate_1d(net, minimal=False).points == (-1000, 0, 1000, 1005)
    assert f.left_slope == (-1,) and f.right_slope == (1,)
    xs = [-2000, -1000, "-999/2", 0, 1003, 1005, 3000]
    assert [f(x) for x in xs] == exact(net, xs)


def test_multi_output_and_nonminimal():
    net = stack(ABS, CLAMP)            # R → R², a Parallel of two different parts
    f = enumerate_1d(net, -2, 3)
    assert f.out_dim == 2
    assert f.points == (-2, 0, 1, 3)
    assert f(fmpq(1, 2)) == (fmpq(1, 2), fmpq(1, 2))
    # σ(x) − σ(−x) = x: the kink at 0 is a neuron kink but not a kink of the function
    ident = relu_network([([[1], [-1]], [0, 0]), ([[1, -1]], [0])])
    assert enumerate_1d(ident, minimal=False).points == (0,)
    assert enumerate_1d(ident, -1, 1).points == (-1, 1)
    assert enumerate_1d(ident, -1, 1, minimal=False).points == (-1, 0, 1)


def test_identical_parallel_parts():
    net = network(stack(ABS, ABS), affine([[1, -2]], [0]))    # |x| − 2|x| = −|x|
    f = enumerate_1d(net)
    assert f.points == (0,) and f.left_slope == (1,) and f.right_slope == (-1,)


def test_leaky_and_hardtanh_and_nested():
    leaky = network(affine([[1]], [-1]), activation(1, LEAKY), affine([[1]], [0]))
    f = enumerate_1d(leaky)
    assert f.points == (1,) and f.left_slope == (fmpq(1, 10),) and f.right_slope == (1,)
    ht = network(affine([[2]], [0]), activation(1, HARDTANH), affine([[1]], [0]))
    g = enumerate_1d(ht)
    assert g.points == (fmpq(-1, 2), fmpq(1, 2)) and g.range() == (-1, 1)
    # a nested activation: |·| used as the activation function of a neuron
    nested = network(affine([[1], [1]], [-3, 0]), Activation((ABS, RELU)), affine([[1, 1]], [0]))
    h = enumerate_1d(nested)
    assert h.points == (0, 3)
    xs = [-5, 0, 1, "7/2", 9]
    assert [h(x) for x in xs] == exact(nested, xs)


def test_refusals():
    with pytest.raises(ValueError, match="one input"):
        enumerate_1d(relu_network([([[1, 1]], [0]), ([[1]], [0])]))
    with pytest.raises(ValueError, match="not piecewise linear"):
        enumerate_1d(network(affine([[1]], [0]), activation(1, SOFT)))
    with pytest.raises(ValueError, match="continuous"):
        enumerate_1d(network(affine([[1]], [0]), activation(1, STEP)))
    with pytest.raises(ValueError, match="not affine"):
        enumerate_1d(network(affine([[1]], [0]), activation(1, LYING)))
    with pytest.raises(ValueError, match="max_points"):
        enumerate_1d(hat_power(8), 0, 1, max_points=100)
    with pytest.raises(ValueError, match="empty"):
        enumerate_1d(ABS, 2, 1)


def test_max_abs_difference():
    f, g = enumerate_1d(ABS), enumerate_1d(CLAMP)
    assert f.max_abs_difference(g) == (None, None)              # slopes differ on the rays
    sup, x = enumerate_1d(ABS, -1, 2).max_abs_difference(g)
    assert sup == 1 and x in (-1, 2) and abs(f(x)[0] - g(x)[0]) == 1
    # the tent interpolant of x ↦ |x − 1/3| at a few points vs the exact |x − 1/3|
    shifted = relu_network([([[1], [-1]], ["-1/3", "1/3"]), ([[1, 1]], [0])])
    ref = pl_from_points([-1, 0, 1], [fmpq(4, 3), fmpq(1, 3), fmpq(2, 3)],
                         left_slope=-1, right_slope=1)
    sup, x = enumerate_1d(shifted).max_abs_difference(ref)
    assert (sup, x) == (fmpq(4, 9), fmpq(1, 3))     # at 1/3 the interpolant is 1/3 + 1/9
    # same function: zero difference, bounded
    assert enumerate_1d(CLAMP).max_abs_difference(pl_from_points([0, 1], [0, 1]))[0] == 0


def test_pl_from_points_and_pieces():
    p = pl_from_points([0, 1, 3], [0, 2, 2], left_slope=None, right_slope=-1)
    assert p.lo == 0 and p.hi is None
    assert p(2) == (2,) and p(5) == (0,)
    with pytest.raises(ValueError):
        p(-1)
    pieces = p.pieces()
    assert [(q.lo, q.hi) for q in pieces] == [(0, 1), (1, 3), (3, None)]
    assert pieces[-1].slope == (-1,) and pieces[-1].intercept == (5,)
    with pytest.raises(ValueError):
        pl_from_points([0, 0], [1, 2])
    with pytest.raises(ValueError):
        PiecewiseLinear1D((fmpq(0),), ((fmpq(0),),), None, None, None, None)


# --- random networks (hypothesis) ------------------------------------------------------------

WEIGHT = st.integers(-36, 36)          # weights k/12 in [-3, 3]
WIDTHS = st.lists(st.integers(1, 4), min_size=1, max_size=3)
OUT = st.integers(1, 2)
_LISTS: dict[int, st.SearchStrategy] = {}


@st.composite
def relu_nets(draw, d_in=1):
    """Random rational ReLU nets: width ≤ 4, depth ≤ 3, one or two outputs."""
    dims = [d_in] + draw(WIDTHS) + [draw(OUT)]
    n = sum((a + 1) * b for a, b in zip(dims, dims[1:]))
    if n not in _LISTS:
        _LISTS[n] = st.lists(WEIGHT, min_size=n, max_size=n)
    vals = iter(Fraction(k, 12) for k in draw(_LISTS[n]))
    layers = []
    for a, b in zip(dims, dims[1:]):
        layers.append(([[next(vals) for _ in range(a)] for _ in range(b)],
                       [next(vals) for _ in range(b)]))
    return relu_network(layers)


POINT = st.integers(-288, 288).map(lambda k: Fraction(k, 24))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(relu_nets(), st.lists(POINT, min_size=1, max_size=8))
def test_random_nets_match_exact_evaluation(net, xs):
    f = enumerate_1d(net)
    xs = xs + [Fraction(-10**6), Fraction(10**6)]
    assert [f(x) for x in xs] == exact(net, xs)
    # every kept interior point is a genuine kink and the neuron-level enumeration agrees
    assert f.simplified() == f
    g = enumerate_1d(net, minimal=False)
    assert set(f.points) <= set(g.points)
    assert [g(x) for x in xs] == [f(x) for x in xs]
    assert [f(p) for p in g.points] == exact(net, g.points)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(relu_nets(), POINT, POINT, st.lists(POINT, min_size=1, max_size=6))
def test_random_nets_on_interval_and_range(net, a, b, xs):
    lo, hi = min(a, b), max(a, b)
    f = enumerate_1d(net, lo, hi)
    inside = [min(max(x, lo), hi) for x in xs]
    assert [f(x) for x in inside] == exact(net, inside)
    rmin, rmax = f.range()
    vals = [v[0] for v in exact(net, inside + list(f.points))]
    assert rmin == min(vals) and rmax == max(vals)     # attained at a breakpoint
