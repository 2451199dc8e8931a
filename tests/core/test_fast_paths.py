"""The box analysis's two shortcuts for deep chains, and the reduction they lean on: each must
agree with the layers it skips, and must refuse a block that is not exactly what it assumes."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from flint import fmpq, fmpq_mat
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.analysis.interpolants import certified_interpolant
from constructive.evaluate import evaluate
from constructive.gadgets.bits import is_tent_block, tent_layer, tent_power, tent_repeat
from constructive.gadgets.cpwl import cpwl_network
from constructive.ir import Gadget, affine_from, network, repeat, walk
from constructive.numbers import Exact, QMatrix

rationals = st.builds(lambda p, q: (p, q), st.integers(-400, 400), st.one_of(
    st.integers(1, 60), st.integers(0, 12).map(lambda e: 2 ** e)))


def _tent(x: fmpq) -> fmpq:
    return 1 - 2 * abs(x - fmpq(1, 2))


@settings(max_examples=300, deadline=None)
@given(rationals, st.integers(0, 40))
def test_tent_power_is_k_tent_steps(pq, k):
    p, q = pq
    x = fmpq(p, q)
    for _ in range(k):
        x = _tent(x)
    num, den = tent_power(p, q, k)
    assert fmpq(num, den) == x


@settings(max_examples=100, deadline=None)
@given(st.integers(-60, 60), st.integers(-60, 60), st.integers(1, 64), st.integers(1, 12))
def test_tent_repeat_is_the_repeated_block(r1, r2, den, times):
    out = evaluate(repeat(tent_layer(), times), [[fmpq(r1, den)], [fmpq(r2, den)]], Exact())
    s1, s2, d = tent_repeat(r1, r2, den, times)
    assert [out[0][0], out[1][0]] == [fmpq(s1, d), fmpq(s2, d)]


def test_a_moved_tent_weight_is_not_a_tent_block():
    block = tent_layer()
    assert is_tent_block(block)
    first = block.nodes[0]
    for row, col in [(0, 0), (1, 1)]:
        W = fmpq_mat(first.W)
        W[row, col] += fmpq(1, 2 ** 40)
        assert not is_tent_block(network(affine_from(W, first.b), block.nodes[1]))
    b = fmpq_mat(first.b)
    b[0, 0] += fmpq(1, 2 ** 40)
    assert not is_tent_block(network(affine_from(first.W, b), block.nodes[1]))


def _gadget(net):
    return next(g for g in walk(net) if isinstance(g, Gadget))


knots = st.lists(st.fractions(-20, 20, max_denominator=6), min_size=2, max_size=9, unique=True).map(sorted)


@settings(max_examples=150, deadline=None)
@given(knots, st.data())
def test_every_built_interpolant_certifies_and_moved_weights_are_caught(xs, data):
    ys = data.draw(st.lists(st.integers(-5, 5), min_size=len(xs), max_size=len(xs)))
    left, right = data.draw(st.sampled_from([0, 1, -2])), data.draw(st.sampled_from([0, 3]))
    g = _gadget(cpwl_network(xs, ys, left, right))
    assert certified_interpolant(g) is not None
    nodes = g.body.nodes
    if len(nodes) != 3:
        return
    i = data.draw(st.integers(0, nodes[0].W.nrows() - 1))
    W = fmpq_mat(nodes[2].W)
    W[0, i] += fmpq(1, 2 ** 40)
    mutant = dataclasses.replace(g, body=network(nodes[0], nodes[1], affine_from(W, nodes[2].b)))
    if certified_interpolant(mutant) is None:
        return
    # accepted only when the moved neuron is silent on [x_0, x_n]: then the body there is
    # unchanged, which exact evaluation at the knots and between them confirms
    lo, hi = fmpq(xs[0].numerator, xs[0].denominator), fmpq(xs[-1].numerator, xs[-1].denominator)
    probes = [lo + (hi - lo) * fmpq(k, 16) for k in range(17)]
    assert evaluate(mutant.body, [probes]) == evaluate(g.body, [probes])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-10 ** 6, 10 ** 6), min_size=6, max_size=6),
       st.integers(0, 30), st.sampled_from([1, 3, 5, 15, 7 * 9]))
def test_reduced_matrices_are_fully_reduced(nums, e, odd):
    den = odd << e
    M = QMatrix(np.array(nums, dtype=object).reshape(2, 3), den)
    R = M.reduced()
    assert R.den == den // math.gcd(den, *nums)
    assert [fmpq(a, M.den) for a in M.num.flat] == [fmpq(b, R.den) for b in R.num.flat]
