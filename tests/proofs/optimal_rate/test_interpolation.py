"""Lemma 4.1 of the optimal-rate paper: the widthvec [2N1, 2N2+1] network interpolates every
sample exactly, is linear where the lemma says, and a broken network never HOLDS."""

from flint import fmpq, fmpq_mat
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.analysis.pl1d import enumerate_1d
from certify.certificate import certify_network, make_target_for, run_theorem
from certify.registry import default_registry
from constructive.evaluate import evaluate
from constructive.ir import Affine, Network
from proofs.optimal_rate.interpolation import interpolation_network, interpolation_samples

rationals = st.fractions(min_value=0, max_value=100, max_denominator=50)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.data())
def test_arbitrary_samples_are_interpolated_exactly_with_the_stated_widthvec(N1, N2, data):
    count = N1 * (N2 + 1) + 1
    xs = sorted(data.draw(st.sets(st.fractions(-50, 50, max_denominator=30), min_size=count,
                                  max_size=count)))
    ys = data.draw(st.lists(rationals, min_size=count, max_size=count))
    xs = [fmpq(x.numerator, x.denominator) for x in xs]
    ys = [fmpq(y.numerator, y.denominator) for y in ys]
    net = interpolation_network(xs, ys, N1, N2)
    assert net.widthvec == (2 * N1, 2 * N2 + 1)
    assert evaluate(net, [xs])[0] == ys
    kinks = enumerate_1d(net).points
    for i in range(1, count):
        if i % (N2 + 1):
            assert not any(xs[i - 1] < t < xs[i] for t in kinks), (i, kinks)


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 10 ** 6))
def test_every_registry_instance_holds(N1, N2, seed):
    cert = run_theorem("syz-two-layer-interp", {"N1": str(N1), "N2": str(N2), "seed": str(seed)})
    assert cert["verdict"] == "HOLDS"
    assert cert["architecture"]["measured"]["widthvec"] == [2 * N1, 2 * N2 + 1]
    assert cert["details"]["kinks_inside_linear_intervals"] == 0


def test_the_sample_law_is_reproducible_and_has_zero_values():
    xs, ys = interpolation_samples(3, 4, 0)
    assert (xs, ys) == interpolation_samples(3, 4, 0) and len(xs) == 16
    assert xs[0] == 0 and all(b > a for a, b in zip(xs, xs[1:])) and min(ys) >= 0


def test_a_weight_moved_by_2_to_the_minus_40_never_holds():
    thm = default_registry().get("syz-two-layer-interp")
    params = thm.parse_params({"N1": "2", "N2": "3", "seed": "1"})
    target = make_target_for(thm, params, None)
    xs, ys = interpolation_samples(2, 3, 1)
    nodes = list(interpolation_network(xs, ys, 2, 3).nodes)
    for at in (0, 2, 4):  # first-layer weight, second-layer weight, output weight
        node = nodes[at]
        W = fmpq_mat(node.W)
        W[0, 0] += fmpq(1, 2 ** 40)
        broken = Network(tuple(nodes[:at] + [Affine(W, node.b, node.intrinsic)] + nodes[at + 1:]))
        cert = certify_network(thm, params, target, broken, lambda p, t: broken)
        assert cert["verdict"] != "HOLDS", at
