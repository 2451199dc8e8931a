"""Lemma 4.4 of the optimal-rate paper: the corrected construction is exact, the printed one is
not (erratum E1), and a broken network never HOLDS."""

import json

from flint import fmpq, fmpq_mat
from hypothesis import given
from hypothesis import strategies as st

from certify.certificate import certify_network, make_target_for, run_theorem
from certify.registry import default_registry
from constructive.evaluate import evaluate
from constructive.ir import Affine, Network
from proofs.optimal_rate.build import bit_patterns, partial_bitsum_network


def _wrong(n: int, printed: bool) -> int:
    net = partial_bitsum_network(n, printed)
    points = [(t, i, sum(bits[:i])) for t, bits in bit_patterns(n) for i in range(n + 1)]
    out = evaluate(net, [[t for t, _, _ in points], [fmpq(i) for _, i, _ in points]])[0]
    return sum(1 for (_, _, want), got in zip(points, out) if got != want)


def test_printed_formula_fails_where_the_note_says_and_the_corrected_one_nowhere():
    """The paper note's exhaustive count: 129 of the 192 outputs for n = 5 are wrong as printed."""
    assert _wrong(5, printed=True) == 129
    assert _wrong(5, printed=False) == 0


@given(st.integers(1, 6).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, 2 ** n - 1),
                                                     st.integers(0, n))))
def test_corrected_network_sums_the_first_i_bits(case):
    n, t, i = case
    bits = [(t >> (n - j)) & 1 for j in range(1, n + 1)]
    assert evaluate(partial_bitsum_network(n), [[fmpq(t, 2 ** n)], [i]])[0] == [sum(bits[:i])]


def test_the_printed_entry_is_violated_with_the_issue_witness_and_the_corrected_one_holds():
    printed = json.loads(json.dumps(run_theorem("syz-partial-bitsum-printed", {"n": "1"})))
    assert printed["verdict"] == "VIOLATED"
    assert printed["witnesses"][0]["x"] == ["1/2", "1"] and printed["witnesses"][0]["value"] == "1/2"
    corrected = run_theorem("syz-partial-bitsum", {"n": "5"})
    assert corrected["verdict"] == "HOLDS"
    assert all(c["ok"] for c in corrected["architecture"]["claims"])


def test_a_weight_moved_by_2_to_the_minus_40_never_holds():
    thm = default_registry().get("syz-partial-bitsum")
    params = thm.parse_params({"n": "3"})
    target = make_target_for(thm, params, None)
    net = partial_bitsum_network(3)
    nodes = list(net.nodes)
    last = nodes[-1]
    W = fmpq_mat(last.W)
    W[0, 0] += fmpq(1, 2 ** 40)
    nodes[-1] = Affine(W, last.b, last.intrinsic)
    broken = Network(tuple(nodes))
    assert certify_network(thm, params, target, broken, lambda p, t: broken)["verdict"] != "HOLDS"
