"""Theorems 2.1 and 1.1 of the optimal-rate paper: the default instances HOLD, the exact group
evaluator agrees with plain exact evaluation and never calls a non-constant box constant, and bad
input is one line with exit 2."""

import subprocess
import sys

import pytest
from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.certificate import run_theorem
from constructive.evaluate import evaluate
from constructive.ir import relu_network
from proofs.optimal_rate.fastexact import group_constants
from proofs.optimal_rate.offtrifling import index_of

small = st.fractions(-9, 9, max_denominator=7).map(lambda q: fmpq(q.numerator, q.denominator))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 2), st.integers(1, 5), st.integers(1, 3), st.data())
def test_group_evaluator_is_exact(d, width, depth, data):
    dims = [d] + [width] * depth + [1]
    layers = [([[data.draw(small) for _ in range(dims[k])] for _ in range(dims[k + 1])],
               [data.draw(small) for _ in range(dims[k + 1])]) for k in range(len(dims) - 1)]
    net = relu_network(layers)
    boxes = []
    for _ in range(4):
        lo = [data.draw(small) for _ in range(d)]
        boxes.append([(a, a + fmpq(data.draw(st.integers(0, 3)), 4)) for a in lo])
    groups = [[[box[i][(m >> i) & 1] for i in range(d)] for m in range(2 ** d)] for box in boxes]
    got = group_constants(net, groups)
    for g, v in zip(groups, got):
        vals = evaluate(net, [list(c) for c in zip(*g)])[0]
        if v is not None:  # claimed constant: equal at the corners and at the centre
            assert all(x == v[0] for x in vals)
            centre = [sum(p[i] for p in g) / len(g) for i in range(d)]
            assert evaluate(net, [[c] for c in centre])[0][0] == v[0]
        else:
            assert len(g) > 1  # a single point is always determined


def test_index_map_is_a_bijection_onto_the_grid():
    K = 4
    js = sorted(index_of((b1, b2), K) for b1 in range(K) for b2 in range(K))
    assert js == [2 * K * i + k for i in range(K) for k in range(K)]


@pytest.mark.parametrize("tid", ["syz-off-trifling", "syz-off-trifling-stated", "syz-rate-lp",
                                 "syz-rate-linf"])
def test_defaults_hold(tid):
    cert = run_theorem(tid, {})
    assert cert["verdict"] == "HOLDS", cert["reasons"]


def test_two_dimensions_hold():
    cert = run_theorem("syz-rate-lp", {"d": "2", "N": "9", "L": "1"})
    assert cert["verdict"] == "HOLDS", cert["reasons"]


@pytest.mark.parametrize("arg,name", [("N=0", "N"), ("L=0", "L"), ("p=1/2", "p")])
def test_bad_input_is_one_line(arg, name, capsys):
    from certify.cli import main

    assert main(["run", "syz-rate-lp", "--param", arg]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"parameter {name}=" in err and "domain" in err


def test_bad_input_exits_2_from_the_command_line():
    r = subprocess.run([sys.executable, "-m", "certify.cli", "run", "syz-rate-linf", "--param", "L=0"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "L=0" in r.stderr


@pytest.mark.parametrize("tid,params", [("syz-rate-linf", {"N": "1"}), ("syz-rate-linf", {"d": "2", "N": "1"}),
                                        ("syz-rate-holder", {}), ("syz-rate-budget", {}),
                                        ("syz-rate-1d-depth31", {"N": "2"}), ("syz-bounded-domain", {})])
def test_small_K_and_corollaries_hold(tid, params):
    """K = 1 (N = 1) has no strips: the boxes are still cut at δ and 1 − δ, so the median is
    determined everywhere; the corollaries run on Theorem 1.1's certificate."""
    cert = run_theorem(tid, params)
    assert cert["verdict"] == "HOLDS", cert["reasons"]


def test_bounded_domain_lp_is_theorem_1_1_scaled_by_the_jacobian():
    """‖f − φ‖_{L^p(E)} = (2R)^{d/p} ‖g − φ_g‖_{L^p([0,1]^d)}: both certified bounds of Theorem
    2.5 (p < ∞) are Theorem 1.1's on the same instance times that factor."""
    from flint import arb

    base = run_theorem("syz-rate-lp", {"d": "1", "N": "7", "L": "1", "p": "2"})
    cert = run_theorem("syz-bounded-domain-lp", {"d": "1", "N": "7", "L": "1", "p": "2", "R": "3"})
    assert cert["verdict"] == "HOLDS"
    factor = arb(6).sqrt()
    for key in ("upper", "lower"):
        assert (arb(cert["error"][key]) - arb(base["error"][key]) * factor).contains(0)
