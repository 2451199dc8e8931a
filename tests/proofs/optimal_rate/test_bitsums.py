"""Lemma 4.5 of the optimal-rate paper: partial bit sums of an Ln-bit number are exact on the
whole domain, within the stated width and depth; on the printed Lemma 4.4 they are not; a broken
network never HOLDS."""

from flint import fmpq, fmpq_mat
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.certificate import certify_network, make_target_for, run_theorem
from certify.registry import default_registry
from constructive.evaluate import evaluate
from constructive.ir import Affine, Network
from proofs.optimal_rate.bitsums import partial_bitsum_deep_network


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, 6))).flatmap(
    lambda nl: st.tuples(st.just(nl), st.lists(st.integers(0, 1), min_size=nl[0] * nl[1],
                                               max_size=nl[0] * nl[1]),
                         st.integers(1, nl[0] * nl[1]))))
def test_the_first_k_bits_are_summed(case):
    (n, L), bits, k = case
    theta = sum(fmpq(b, 2 ** (j + 1)) for j, b in enumerate(bits))
    net = partial_bitsum_deep_network(n, L)
    assert evaluate(net, [[theta], [k]])[0] == [sum(bits[:k])]
    assert net.width <= (n + 3) * 2 ** (n + 1) + 4 and net.depth <= 4 * L + 2


def test_every_small_instance_holds_on_its_whole_domain():
    for n, L in ((1, 1), (1, 4), (2, 1), (2, 3), (3, 1), (3, 2)):
        cert = run_theorem("syz-partial-bitsum-deep", {"n": str(n), "L": str(L)})
        assert cert["verdict"] == "HOLDS", (n, L)
        assert all(c["ok"] for c in cert["architecture"]["claims"])
        assert cert["details"]["points"] == n * L * 2 ** (n * L)


def test_on_the_printed_lemma_4_4_the_sums_are_wrong():
    net = partial_bitsum_deep_network(2, 2, printed=True)
    assert evaluate(net, [[fmpq(1, 2)], [1]])[0] == [fmpq(1, 2)]


def test_a_weight_moved_by_2_to_the_minus_40_never_holds():
    thm = default_registry().get("syz-partial-bitsum-deep")
    params = thm.parse_params({"n": "2", "L": "2"})
    target = make_target_for(thm, params, None)
    nodes = list(partial_bitsum_deep_network(2, 2).nodes)
    # a g1 neuron's input weight; the weight carrying k through block 0's Lemma 4.4 layer (the
    # last row of that layer); the output weight.  (A weight into a neuron that is dead on the
    # domain, or one absorbed by a flat piece of a floor surrogate, may move without harm.)
    carry = nodes[2]
    col = next(j for j in range(carry.W.ncols()) if carry.W[carry.W.nrows() - 1, j] == 1)
    for at, row, c in ((0, 0, 0), (2, carry.W.nrows() - 1, col), (len(nodes) - 1, 0, 0)):
        node = nodes[at]
        W = fmpq_mat(node.W)
        W[row, c] += fmpq(1, 2 ** 40)
        broken = Network(tuple(nodes[:at] + [Affine(W, node.b, node.intrinsic)] + nodes[at + 1:]))
        cert = certify_network(thm, params, target, broken, lambda p, t: broken)
        assert cert["verdict"] == "VIOLATED", at
        assert cert["witnesses"]
