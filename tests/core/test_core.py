"""The IR, the number contexts and the bit-extraction gadget."""

from fractions import Fraction

import pytest
from flint import arb, fmpq
from hypothesis import given
from hypothesis import strategies as st

from constructive.architecture import measure
from constructive.evaluate import evaluate
from constructive.gadgets.bits import bit_extractor, pack_bits
from constructive.gadgets.cpwl import cpwl_network
from constructive.ir import identity_layers, parallel, relu_network, repeat, stack
from constructive.numbers import MP, Ball, Exact, Float64, precision

rationals = st.fractions(min_value=-50, max_value=50, max_denominator=64)
ABS = relu_network([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])


def test_contexts_agree_on_a_small_network():
    xs = [[fmpq(-3), fmpq(1, 3), fmpq(7, 2)]]
    exact = evaluate(ABS, xs, Exact())[0]
    assert exact == [3, fmpq(1, 3), fmpq(7, 2)]
    with precision(128):
        balls = evaluate(ABS, xs, Ball(128))[0]
        assert all(b.contains(arb(e)) for b, e in zip(balls, exact))
    assert [float(v) for v in evaluate(ABS, xs, MP(80))[0]] == pytest.approx([3, 1 / 3, 3.5])
    assert evaluate(ABS, xs, Float64())[0] == pytest.approx([3, 1 / 3, 3.5])


def test_width_depth_bookkeeping_of_combinators():
    net = parallel(ABS, identity_layers(1, 1))
    assert net.widthvec == (4,)
    deep = parallel(ABS, identity_layers(1, 3), pad=True)
    assert deep.depth == 3 and deep.widthvec[0] == 4
    assert stack(ABS, ABS).widthvec == (4,)
    r = repeat(identity_layers(2, 1), 5)
    assert r.depth == 5 and r.width == 4
    assert evaluate(r, [[fmpq(-2)], [fmpq(5, 3)]]) == [[-2], [fmpq(5, 3)]]


@given(st.lists(rationals, min_size=1, max_size=5))
def test_identity_padding_is_exact(values):
    net = identity_layers(1, 3)
    out = evaluate(net, [[fmpq(v.numerator, v.denominator) for v in values]])[0]
    assert [Fraction(int(o.p), int(o.q)) for o in out] == values


def test_cpwl_one_layer_interpolates_and_counts_kinks():
    net = cpwl_network([0, 1, 2, 3], [0, 2, 2, -1])
    assert evaluate(net, [[0, 1, fmpq(3, 2), 2, 3, 10]])[0] == [0, 2, 2, 2, -1, -1]
    assert net.widthvec == (4,)  # kinks at 0, 1, 2 and 3 (flat right end)


@given(st.integers(1, 64).flatmap(lambda J: st.lists(st.integers(0, 1), min_size=J, max_size=J)))
def test_bit_extraction_recovers_every_bit(theta):
    J = len(theta)
    a = pack_bits(theta)
    out = evaluate(bit_extractor(J), [[4 ** j * a for j in range(1, J + 1)]])[0]
    assert [int(v) for v in out] == theta


@given(st.integers(1, 12), st.lists(st.one_of(rationals,
       st.integers(-10 ** 40, 10 ** 40).map(Fraction)), min_size=1, max_size=8))
def test_bit_extraction_stays_in_unit_interval(J, xs):
    out = evaluate(bit_extractor(J), [[fmpq(x.numerator, x.denominator) for x in xs]])[0]
    assert all(0 <= v <= 1 for v in out)


def test_bit_extraction_architecture():
    arch = measure(bit_extractor(10))
    assert (arch.width, arch.depth) == (2, 22)
