"""Proposition 3.2 of the optimal-rate paper: φ(j) = ε⌊y_j/ε⌋ exactly for j < J, 0 ≤ φ ≤ max y
on all of R (exact 1-D enumeration), width ≤ 16N+30, depth ≤ 6L+10; bad input refused."""

from fractions import Fraction

import pytest
from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.analysis.pl1d import enumerate_1d
from certify.certificate import run_theorem
from constructive.errors import UserError
from constructive.evaluate import evaluate
from proofs.optimal_rate.pointfit import index_network, max_points, point_fit_network, point_fit_values


@st.composite
def walks(draw, max_N=3, max_L=2):
    """(N, L, ε, ys): J ≤ N²L²⌊log₃(N+2)⌋ Fractions ≥ 0 with increments ≤ ε."""
    N, L = draw(st.integers(1, max_N)), draw(st.integers(1, max_L))
    J = draw(st.integers(1, max_points(N, L)))
    eps = draw(st.fractions(Fraction(1, 12), 2, max_denominator=12))
    ys = [draw(st.fractions(0, 4, max_denominator=9))]
    for _ in range(J - 1):
        ys.append(max(Fraction(0), ys[-1] + draw(st.fractions(-1, 1, max_denominator=9)) * eps))
    return N, L, eps, ys


@settings(max_examples=25, deadline=None)
@given(walks())
def test_the_values_at_the_J_points_are_eps_floor_y_over_eps(case):
    N, L, eps, ys = case
    net = point_fit_network(ys, eps, N, L)
    want = point_fit_values(ys, eps)
    assert list(evaluate(net, [[fmpq(j) for j in range(len(ys))]])[0]) == want
    assert all(0 <= fmpq(y.numerator, y.denominator) - v < fmpq(eps.numerator, eps.denominator)
               for y, v in zip(ys, want))
    assert net.in_dim == 1 and net.out_dim == 1
    assert net.width <= 16 * N + 30 and net.depth <= 6 * L + 10


@settings(max_examples=10, deadline=None)
@given(walks(max_N=2, max_L=2))
def test_the_range_on_all_of_R_is_inside_0_max_y(case):
    N, L, eps, ys = case
    lo, hi = enumerate_1d(point_fit_network(ys, eps, N, L)).range()
    assert lo is not None and hi is not None
    assert 0 <= lo and hi <= max(fmpq(y.numerator, y.denominator) for y in ys)


def test_fmpq_and_fraction_inputs_give_the_same_network():
    ys = [Fraction(1, 3), Fraction(1, 2), Fraction(0)]
    a = point_fit_network(ys, Fraction(1, 2), 1, 2)
    b = point_fit_network([fmpq(1, 3), fmpq(1, 2), fmpq(0)], fmpq(1, 2), 1, 2)
    assert a.digest == b.digest
    assert point_fit_values(ys, Fraction(1, 2)) == [0, fmpq(1, 2), 0]


@pytest.mark.parametrize("N,L", [(1, 1), (1, 2), (2, 1), (3, 2), (7, 1)])
def test_the_index_network_splits_j_into_m_and_k(N, L):
    phi1 = index_network(N, L)
    J = max_points(N, L)
    Lhat = J // (N * N * L)
    assert list(evaluate(phi1, [[fmpq(j) for j in range(J)]])[0]) == [j // Lhat for j in range(J)]
    assert phi1.width <= 8 * N + 2 and phi1.depth == L + 1


def test_the_registered_parts_hold_with_the_measured_architecture():
    values = run_theorem("syz-point-fit", {})
    rng = run_theorem("syz-point-fit-range", {})
    for cert in (values, rng):
        assert cert["verdict"] == "HOLDS", cert["reasons"]
        assert all(c["ok"] for c in cert["architecture"]["claims"])
        assert cert["architecture"]["measured"]["depth"] == 5 * 2 + 4
    assert rng["details"]["output_min"] == "0"
    big = run_theorem("syz-point-fit", {"N": "7", "L": "2", "J": "392", "seed": "3"})
    assert big["verdict"] == "HOLDS" and big["details"]["points"] == 392


def test_bad_input_is_refused_with_one_line():
    with pytest.raises(UserError, match="at most N\\^2 L\\^2"):
        point_fit_network([0] * 5, 1, 2, 1)  # J = 5 > 4
    with pytest.raises(UserError, match="increments"):
        point_fit_network([0, 2], 1, 2, 1)
    with pytest.raises(UserError, match=">= 0"):
        point_fit_network([Fraction(-1, 2)], 1, 2, 1)
    with pytest.raises(UserError, match="eps"):
        point_fit_values([0], 0)
    with pytest.raises(UserError, match="exact rationals"):
        point_fit_values([0.5], 1)
    with pytest.raises(UserError, match="L = 0"):
        point_fit_network([0], 1, 1, 0)
    with pytest.raises(UserError, match="empty"):
        point_fit_network([], 1, 1, 1)


def test_a_J_above_the_proposition_exits_2_with_one_line(capsys):
    from certify.cli import main

    assert main(["run", "syz-point-fit", "-p", "J=17"]) == 2
    err = capsys.readouterr().err
    assert "J = 17" in err and "Traceback" not in err
