"""Lemmas 4.6 and 4.7 of the optimal-rate paper: exact partial bit sums of an index, exact
ε⌊y/ε⌋ on the grid within the stated width and depth, the range on R² from the clip, and the
printed max clip (erratum E2) refuted with an exact witness."""

from fractions import Fraction

import pytest
from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.analysis.pl1d import enumerate_1d
from certify.certificate import run_theorem
from constructive.errors import UserError
from constructive.evaluate import evaluate
from proofs.optimal_rate.increments import (bits_per_block, clip_network, floor_multiples,
                                            increment_fit_network, increment_rows, index_bitsum_network,
                                            sizes)
from proofs.optimal_rate.range_checks import width_one_tail

small_NL = st.tuples(st.integers(1, 3), st.integers(1, 2))


def q(f):
    return fmpq(f.numerator, f.denominator)


def grid(M, Lhat):
    pts = [(m, k) for m in range(M) for k in range(Lhat)]
    return pts, [[fmpq(m) for m, _ in pts], [fmpq(k) for _, k in pts]]


def test_bits_per_block_is_floor_log3():
    for N in range(1, 300):
        n = bits_per_block(N)
        assert 3 ** n <= N + 2 < 3 ** (n + 1)


@settings(max_examples=25, deadline=None)
@given(small_NL.flatmap(lambda nl: st.tuples(st.just(nl), st.lists(
    st.lists(st.integers(0, 1), min_size=nl[1] * bits_per_block(nl[0]),
             max_size=nl[1] * bits_per_block(nl[0])),
    min_size=nl[0] ** 2 * nl[1], max_size=nl[0] ** 2 * nl[1]))))
def test_lemma_4_6_sums_the_first_k_plus_1_bits_of_every_index(case):
    (N, L), bits = case
    M, _, Lhat = sizes(N, L)
    net = index_bitsum_network(bits, N, L)
    pts, cols = grid(M, Lhat)
    assert list(evaluate(net, cols)[0]) == [sum(bits[m][:k + 1]) for m, k in pts]
    assert net.width <= 6 * N + 14 and net.depth <= 5 * L + 4


@st.composite
def increment_tables(draw):
    """(N, L, ε, rows): rows an M × Ln table of rationals ≥ 0 with row increments ≤ ε."""
    N, L = draw(small_NL)
    M, _, Lhat = sizes(N, L)
    eps = draw(st.fractions(Fraction(1, 12), 3, max_denominator=12))
    rows = []
    for _ in range(M):
        y = draw(st.fractions(0, 5, max_denominator=9))
        row = [y]
        for _ in range(Lhat - 1):
            step = draw(st.fractions(-1, 1, max_denominator=9)) * eps
            row.append(max(Fraction(0), row[-1] + step))
        rows.append(row)
    return N, L, eps, rows


@settings(max_examples=25, deadline=None)
@given(increment_tables())
def test_lemma_4_7_is_eps_floor_y_over_eps_on_the_grid_and_clipped_into_0_ymax(case):
    N, L, eps, rows = case
    M, _, Lhat = sizes(N, L)
    net = increment_fit_network(rows, eps, N, L)
    pts, cols = grid(M, Lhat)
    want = [floor_multiples([rows[m][k]], eps)[0] for m, k in pts]
    got = list(evaluate(net, cols)[0])
    assert got == want
    assert all(0 <= q(rows[m][k]) - g <= q(eps) for g, (m, k) in zip(got, pts))
    assert net.width <= 16 * N + 30 and net.depth <= 5 * L + 7
    # the range on R²: the width-1 tail is the clip, whose exact range is [0, y_max]
    y_max = max(max(r) for r in rows)
    assert enumerate_1d(width_one_tail(net)).range() == (0, q(y_max))


def test_the_printed_max_clip_gives_y_max_at_the_erratum_witness():
    rows = increment_rows(1, 2, fmpq(1), 0, "erratum-e2")
    assert rows == [[0, 1], [2, 2]]
    printed = increment_fit_network(rows, 1, 1, 2, printed=True)
    fixed = increment_fit_network(rows, 1, 1, 2)
    assert evaluate(printed, [[0], [0]])[0] == [2]
    assert evaluate(fixed, [[0], [0]])[0] == [0]
    lo, hi = enumerate_1d(clip_network(2, printed=True)).range()
    assert (lo, hi) == (2, None)  # max{σ(u), y_max} is >= y_max and unbounded above


def test_the_registered_pair_printed_violated_corrected_holds():
    printed = run_theorem("syz-increment-fit-printed", {})
    assert printed["verdict"] == "VIOLATED"
    assert printed["witnesses"][0]["x"] == ["0", "0"]
    assert printed["witnesses"][0]["value"] == "2" and printed["witnesses"][0]["claimed"] == "0"
    same_data = run_theorem("syz-increment-fit", {"N": "1", "L": "2", "eps": "1",
                                                  "data": "erratum-e2"})
    assert same_data["verdict"] == "HOLDS"


@pytest.mark.parametrize("tid", ["syz-index-bitsum", "syz-increment-fit",
                                 "syz-increment-fit-range"])
@pytest.mark.parametrize("N,L", [(1, 1), (2, 2), (7, 1)])
def test_registry_instances_hold_within_the_stated_architecture(tid, N, L):
    cert = run_theorem(tid, {"N": str(N), "L": str(L)})
    assert cert["verdict"] == "HOLDS", cert["reasons"]
    assert all(c["ok"] for c in cert["architecture"]["claims"])
    measured = cert["architecture"]["measured"]
    extra = 0 if tid == "syz-index-bitsum" else 2
    assert measured["depth"] == 4 * L + 1 + extra


def test_bad_input_is_refused_with_one_line():
    with pytest.raises(UserError, match="2 x 2 table"):
        increment_fit_network([[0, 1]], Fraction(1, 2), 1, 2)
    rows = [[Fraction(0), Fraction(1)], [Fraction(0), Fraction(0)]]
    with pytest.raises(UserError, match="at most eps"):
        increment_fit_network(rows, Fraction(1, 2), 1, 2)
    with pytest.raises(UserError, match=">= 0"):
        increment_fit_network([[Fraction(-1), 0], [0, 0]], 1, 1, 2)
    with pytest.raises(UserError, match="bits"):
        index_bitsum_network([[0, 2]], 1, 1)
    with pytest.raises(UserError, match="N = 0"):
        index_bitsum_network([], 0, 1)
    with pytest.raises(UserError, match="erratum-e2"):
        increment_rows(1, 1, 1, 0, "erratum-e2")
