"""Proposition 3.1 of the optimal-rate paper: the step network is exactly k on every claimed
step, within the stated width and depth, for any (N, L, d, δ) drawn; a broken network never HOLDS."""

from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.certificate import run_theorem
from constructive import architecture as arch
from constructive.evaluate import evaluate
from proofs.optimal_rate.rate_methods import step_error, step_intervals
from proofs.optimal_rate.stepfn import floor_log3, iroot, step_counts, step_network


def test_counts_match_the_paper():
    # K = floor(N^(1/d))^2 floor(L^(1/d))^2 floor(n^(1/d)), note §5's table
    assert step_counts(7, 1, 1)["K"] == 98
    assert step_counts(25, 3, 1)["K"] == 16875
    assert step_counts(9, 4, 2)["K"] == 36
    assert [floor_log3(x) for x in (1, 2, 3, 8, 9, 26, 27)] == [0, 0, 1, 1, 2, 2, 3]
    assert iroot(26, 3) == 2 and iroot(27, 3) == 3


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 9), st.integers(1, 3), st.integers(1, 3), st.integers(1, 5))
def test_steps_are_exact(N, L, d, q):
    c = step_counts(N, L, d)
    K = c["K"]
    delta = fmpq(1, 3 * K * q)
    net = step_network(N, L, d, delta)
    worst, wit, _ = step_error(net, K, delta)
    assert worst == 0, wit
    a = arch.measure(net)
    assert a.width <= 8 * c["a"] + 3 and a.depth <= 2 * c["b"] + 5
    # the ends of each step, by plain exact evaluation too
    ends = [x for iv in step_intervals(K, delta) for x in iv]
    assert evaluate(net, [ends])[0] == [k for k in range(K) for _ in range(2)]


def test_registry_instances_hold():
    for params in ({}, {"d": "2", "N": "9", "L": "4"}, {"N": "13", "L": "1", "q": "7"}):
        cert = run_theorem("syz-step-function", params)
        assert cert["verdict"] == "HOLDS", cert["reasons"]
