"""The layer-by-layer enumeration (one denominator per point, certify.analysis.pl1d_layers)
against the refinement it replaces for flat chains: same points, same exact values."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from flint import fmpq

from certify.analysis.pl1d import enumerate_1d
from constructive.activations import RELU, ActivationFunction
from constructive.evaluate import evaluate
from constructive.ir import Activation, affine, network, relu_network, repeat
from constructive.numbers import as_fmpq


def _act(name, kernel, breakpoints):
    return ActivationFunction(name=name, exact=kernel, ball=lambda x: x, mp=lambda x: x,
                              float=lambda x: x, piecewise_linear=True,
                              breakpoints=tuple(fmpq(b) for b in breakpoints))


HARDTANH = _act("hardtanh_batches", lambda x: max(fmpq(-1), min(fmpq(1), x)), [-1, 1])
LEAKY = _act("leaky_batches", lambda x: x if x > 0 else x / 3, [0])
# denominators with unrelated primes: one common denominator per batch multiplies them up
DENS = [1, 2, 3, 5, 7, 11, 13, 64, 1024, 3 * 2 ** 20]


def _random_chain(rng: random.Random, mixed_activations: bool):
    dims = [1] + [rng.randint(2, 7) for _ in range(rng.randint(1, 4))] + [rng.randint(1, 2)]
    nodes = []
    for k, (a, b) in enumerate(zip(dims, dims[1:])):
        def w():
            return Fraction(rng.randint(-40, 40), rng.choice(DENS))
        nodes.append(affine([[w() for _ in range(a)] for _ in range(b)], [w() for _ in range(b)]))
        if k < len(dims) - 2:
            if mixed_activations:
                fs = tuple(rng.choice([RELU, HARDTANH, LEAKY]) for _ in range(b))
            else:
                fs = (RELU,) * b
            nodes.append(Activation(fs))
    return network(*nodes)


def _same(net, lo, hi, minimal):
    new = enumerate_1d(net, lo, hi, minimal=minimal, algorithm="layers")
    old = enumerate_1d(net, lo, hi, minimal=minimal, algorithm="refine")
    assert new.points == old.points
    assert new.values == old.values
    assert (new.left_slope, new.right_slope) == (old.left_slope, old.right_slope)
    return new


@pytest.mark.parametrize("seed", range(40))
def test_layers_equal_refinement_on_random_chains(seed):
    rng = random.Random(seed)
    net = _random_chain(rng, mixed_activations=seed % 2 == 1)
    lo = Fraction(rng.randint(-30, 0), rng.choice(DENS))
    hi = lo + Fraction(rng.randint(1, 60), rng.choice(DENS))
    full = _same(net, lo, hi, minimal=False)
    _same(net, lo, hi, minimal=True)
    # rays: crossings beyond the probe points, exact end slopes
    for a, b in ((None, None), (lo, None), (None, hi)):
        _same(net, a, b, minimal=seed % 3 == 0)
    # every value is the network's exact value there
    pts = list(full.points)
    out = evaluate(net, [pts])
    assert [tuple(row[j] for row in out) for j in range(len(pts))] == list(full.values)


def test_small_mmnn_with_float32_weights_matches_refinement():
    """The certify-network case: a (24, 4, 3) MMNN, float32 weights as dyadic rationals."""
    from constructive.network_files import layers_from_module, to_network
    from gpu.mmnn import MMNN, size_triple, to_sequential

    net = to_network(layers_from_module(to_sequential(MMNN(*size_triple(1, 1, 24, 4, 3), seed=5))), "m")
    f = _same(net, -1, 1, minimal=False)
    assert len(f) > 10
    # per-point denominators stay those of single kinks, not an lcm over all of them
    assert max(int(x.q).bit_length() for x in f.points) < 200


def test_single_point_interval_and_affine_only():
    net = relu_network([([[2], [-1]], ["1/3", "1/7"]), ([[1, 1]], [0])])
    f = _same(net, "1/5", "1/5", minimal=True)
    assert f.points == (fmpq(1, 5),)
    lin = network(affine([["3/7"]], ["-2/9"]))
    g = _same(lin, -1, 2, minimal=False)
    assert g.points == (-1, 2) and g.values == ((fmpq(-3, 7) - fmpq(2, 9),), (fmpq(6, 7) - fmpq(2, 9),))


def test_auto_choice_and_refusals():
    net = relu_network([([[1], [1]], [0, "-1/3"]), ([[1, -2]], [0])])
    assert enumerate_1d(net, -1, 1).points == enumerate_1d(net, -1, 1, algorithm="refine").points
    f = enumerate_1d(net, algorithm="layers")
    assert f.points == (0, fmpq(1, 3)) and f.left_slope == (0,) and f.right_slope == (-1,)
    # non-flat networks stay with the refinement
    hat = network(affine([[1], [1]], [0, "-1/2"]), Activation((RELU, RELU)), affine([[2, -4]], [0]))
    with pytest.raises(ValueError, match="flat"):
        enumerate_1d(repeat(hat, 2), 0, 1, algorithm="layers")
    with pytest.raises(ValueError, match="algorithm"):
        enumerate_1d(net, 0, 1, algorithm="fast")
    # the point budget counts the same points as before
    saw = relu_network([([[1], [1]], [0, "-1/2"]), ([[2, -4]], [0])])
    for _ in range(5):
        saw = network(saw, affine([[1], [1]], [0, "-1/2"]), Activation((RELU, RELU)),
                      affine([[2, -4]], [0]))
    n = len(enumerate_1d(saw, 0, 1, minimal=False))
    for algorithm in ("layers", "refine"):
        assert len(enumerate_1d(saw, 0, 1, max_points=n, minimal=False, algorithm=algorithm)) == n
        with pytest.raises(ValueError, match="max_points"):
            enumerate_1d(saw, 0, 1, max_points=n - 1, algorithm=algorithm)


def test_values_are_exact_at_far_apart_denominators():
    """Kinks at 1/3, 1/7, …, 1/29: each point keeps its own small denominator."""
    primes = [3, 7, 11, 13, 17, 19, 23, 29]
    first = affine([[1]] * len(primes), [Fraction(-1, p) for p in primes])
    net = network(first, Activation((RELU,) * len(primes)),
                  affine([[(-1) ** i for i in range(len(primes))]], [0]))
    f = _same(net, 0, 1, minimal=True)
    assert f.points == (0,) + tuple(sorted(fmpq(1, p) for p in primes)) + (1,)
    assert list(f(as_fmpq("1/2"))) == evaluate(net, [[fmpq(1, 2)]])[0]


def test_frozen_weight_moved_by_2_to_the_minus_40_moves_the_exact_function():
    """A mutant of a frozen (W) entry of a small MMNN: the layer-by-layer enumeration sees it
    (exact values move, and both algorithms still agree on the mutant)."""
    from flint import fmpq_mat

    from constructive.network_files import layers_from_module, to_network
    from gpu.mmnn import MMNN, size_triple, to_sequential

    layers = layers_from_module(to_sequential(MMNN(*size_triple(1, 1, 12, 3, 3), seed=7)))
    base = enumerate_1d(to_network(layers, "m"), -1, 1, minimal=False)
    kind, W, b, name = layers[3]            # W of the second MMNN layer (frozen in training)
    W2 = fmpq_mat(W)
    W2[0, 0] = W[0, 0] + fmpq(1, 2 ** 40)
    moved_layers = list(layers)
    moved_layers[3] = (kind, W2, b, name)
    moved = _same(to_network(moved_layers, "m"), -1, 1, minimal=False)
    grid = [fmpq(k, 64) for k in range(-64, 65)] + list(base.points)
    diffs = [abs(base(x)[0] - moved(x)[0]) for x in grid]
    assert 0 < max(diffs) < fmpq(1, 2 ** 20)
