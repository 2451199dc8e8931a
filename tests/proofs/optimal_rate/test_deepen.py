"""Lemma 4.2 of the optimal-rate paper: the deepened network has width ≤ 2N+2, depth L+1 and
equals the widthvec [N, NL] network on all of R^d; a broken network never HOLDS."""

from flint import fmpq, fmpq_mat
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.analysis.regions import check_identity
from certify.certificate import certify_network, make_target_for, run_theorem
from certify.registry import default_registry
from constructive.evaluate import evaluate
from constructive.ir import Affine, Network
from proofs.optimal_rate.deepen import deepen, random_shallow, shallow_network

small = st.fractions(-7, 7, max_denominator=6).map(lambda q: fmpq(q.numerator, q.denominator))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.data())
def test_any_shallow_network_is_deepened_exactly(d, N, L, data):
    def mat(rows, cols):
        return data.draw(st.lists(st.lists(small, min_size=cols, max_size=cols), min_size=rows,
                                  max_size=rows))
    W1, W2, W3 = mat(N, d), mat(N * L, N), mat(1, N * L)
    b1, b2, b3 = mat(1, N)[0], mat(1, N * L)[0], mat(1, 1)[0]
    deep = deepen(W1, b1, W2, b2, W3, b3, L)
    shallow = shallow_network(W1, b1, W2, b2, W3, b3)
    assert deep.depth == L + 1 and deep.width <= 2 * N + 2
    assert check_identity(deep, shallow).holds
    xs = data.draw(st.lists(st.lists(small, min_size=d, max_size=d), min_size=1, max_size=5))
    cols = [[x[i] for x in xs] for i in range(d)]
    assert evaluate(deep, cols) == evaluate(shallow, cols)


@settings(max_examples=8, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 10 ** 6))
def test_registry_instances_hold(d, N, L, seed):
    cert = run_theorem("syz-deepen-two-layer", {"d": str(d), "N": str(N), "L": str(L),
                                                "seed": str(seed)})
    assert cert["verdict"] == "HOLDS"
    assert all(c["ok"] for c in cert["architecture"]["claims"])


def test_the_widths_layer_by_layer():
    net = deepen(*random_shallow(1, 3, 4, 0), 4)
    assert net.widthvec == (3, 6, 8, 8, 5)


def test_a_weight_moved_by_2_to_the_minus_40_never_holds():
    thm = default_registry().get("syz-deepen-two-layer")
    params = thm.parse_params({"d": "2", "N": "2", "L": "3", "seed": "3"})
    target = make_target_for(thm, params, None)
    nodes = list(deepen(*random_shallow(2, 2, 3, 3), 3).nodes)
    last = len(nodes) - 1
    # the first layer's weight, the output's weight on sigma(s_(L-1)) (the carried sum) and the
    # output bias; a weight into a dead unit may move without changing the function
    for at, row, col, bias in ((0, 0, 0, False), (last, 0, 2, False), (last, 0, 0, True)):
        node = nodes[at]
        W, b = fmpq_mat(node.W), fmpq_mat(node.b)
        if bias:
            b[row, 0] += fmpq(1, 2 ** 40)
        else:
            W[row, col] += fmpq(1, 2 ** 40)
        broken = Network(tuple(nodes[:at] + [Affine(W, b, node.intrinsic)] + nodes[at + 1:]))
        cert = certify_network(thm, params, target, broken, lambda p, t: broken)
        assert cert["verdict"] == "VIOLATED", (at, col, bias)
        assert cert["witnesses"]
