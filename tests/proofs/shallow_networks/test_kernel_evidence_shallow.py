"""The checker kernel re-derives the exact shallow-network claims it can follow: the printed
mode counts (check ``numbers``), the rank of the experiments' Gram matrix (``gram-rank``) and
the condition number's scalar from λ_max, λ_min bracketed by exact positive-definiteness tests
(``gram-condition``)."""

from __future__ import annotations

import copy
import random

import pytest
from flint import arb, ctx, fmpq, fmpq_mat

from certify.certificate import content_hash
from certify.kernel import check_certificate_data, gram
from tests.kernel_certs import cert


def _bounds_trusted(report) -> bool:
    return any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("tid,params,verdict", [
    ("shallow-resolvable-modes-precision", {}, "HOLDS"),
    ("shallow-gram-experiments-grid-printed", {}, "VIOLATED"),
    ("shallow-gram-experiments-grid-printed", {"n": "7"}, "VIOLATED"),
    ("shallow-gram-condition-number", {}, "HOLDS"),
    ("shallow-gram-condition-number", {"scheme": "jittered", "n": "40", "seed": "3"}, "HOLDS")])
def test_kernel_rederives(tid, params, verdict):
    c = cert(tid, **params)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert report.verdict == c["verdict"] == verdict and not _bounds_trusted(report)


def test_a_printed_count_changed_in_the_statement_is_violated(monkeypatch):
    from certify.kernel import claims
    tid = "shallow-resolvable-modes-precision"
    stmt = claims.load_statements()[tid]
    pieces = copy.deepcopy(stmt.claim["pieces"])
    pieces[0]["value"] = ["25"]  # 2^(23/5) = 24.25: the nearest integer is 24
    monkeypatch.setitem(claims.load_statements(), tid, type(stmt)(
        **{**stmt.__dict__, "claim": dict(stmt.claim, pieces=pieces)}))
    report = check_certificate_data(cert(tid))
    assert report.verdict == "VIOLATED" and not report.ok


def _bias_moved(c: dict, row: int, amount: fmpq) -> dict:
    forged = copy.deepcopy(c)
    b = forged["network"]["layers"]["layers"][0]["b"]
    old = next((fmpq(*map(int, (v + "/1").split("/")[:2])) for i, v in b if i == row), fmpq(0))
    forged["network"]["layers"]["layers"][0]["b"] = [e for e in b if e[0] != row] + [[row, str(old + amount)]]
    forged["hash"] = content_hash(forged)
    return forged


def test_the_zero_feature_moved_by_2_to_the_minus_40_makes_g_nonsingular():
    """σ(x − 1) vanishes on [−1, 1]; moved to σ(x − 1 + 2^-40) it does not, G has full rank, and
    the stored VIOLATED no longer follows."""
    c = cert("shallow-gram-experiments-grid-printed")
    last = c["network"]["layers"]["layers"][0]["rows"] - 1
    report = check_certificate_data(_bias_moved(c, last, fmpq(1, 2 ** 40)))
    assert not report.ok and report.verdict == "HOLDS"


@pytest.mark.parametrize("which,index,scale", [("lower", 0, 2), ("upper", 0, fmpq(1, 2)),
                                               ("lower", -1, 2), ("upper", -1, fmpq(1, 2))])
def test_an_eigenvalue_bracket_that_does_not_hold_is_refused(which, index, scale):
    c = cert("shallow-gram-condition-number")
    forged = copy.deepcopy(c)
    v = fmpq(*map(int, forged["evidence"][which][index].split("/")))
    forged["evidence"][which][index] = str(v * scale)
    report = check_certificate_data(forged)
    assert not report.ok and any("bracket" in p for p in report.problems)


def test_a_feature_moved_by_2_to_the_minus_40_breaks_the_tight_brackets():
    report = check_certificate_data(_bias_moved(cert("shallow-gram-condition-number"), 3,
                                                fmpq(1, 2 ** 40)))
    assert not report.ok


def test_positive_definiteness_agrees_with_plain_elimination():
    def plain(M):
        rows, n = M.tolist(), M.nrows()
        for k in range(n):
            if rows[k][k] <= 0:
                return False
            for i in range(k + 1, n):
                f = rows[i][k] / rows[k][k]
                rows[i] = [x - f * y for x, y in zip(rows[i], rows[k])]
        return True

    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 6)
        B = fmpq_mat(n, n, [fmpq(rng.randint(-3, 3), rng.randint(1, 3)) for _ in range(n * n)])
        shift = fmpq_mat(n, n, [fmpq(rng.randint(-4, 4), 2) if i == j else 0
                                for i in range(n) for j in range(n)])
        M = B * B.transpose() + shift
        assert gram.positive_definite(M) == plain(M)


def test_the_gram_matrix_is_the_integral():
    """Two features σ(x − a), σ(x − b) on [−1, 1]: ∫_m^1 (x − a)(x − b) dx, m = max(a, b)."""
    a, b = fmpq(-1, 3), fmpq(1, 2)
    G = gram.gram([(fmpq(1), -a), (fmpq(1), -b), (fmpq(-1), fmpq(0))])

    def integral(p, q, lo, hi):  # ∫ (x − p)(x − q) over [lo, hi]
        F = lambda x: x ** 3 / 3 - (p + q) * x ** 2 / 2 + p * q * x  # noqa: E731
        return F(hi) - F(lo)

    assert G[0, 1] == integral(a, b, b, fmpq(1))
    assert G[0, 0] == integral(a, a, a, fmpq(1))
    # σ(−x) lives on [−1, 0], σ(x + 1/3) on [−1/3, 1]: they overlap on [−1/3, 0]
    assert G[2, 2] == fmpq(1, 3) and G[2, 0] == -integral(a, fmpq(0), a, fmpq(0)) == fmpq(1, 162)


# Lemma 1 and Corollary 2: roots of tan w tanh w = ±1 ------------------------------------------
ROOTS, GAPS = "shallow-lemma1-roots", "shallow-corollary2-root-gaps"


@pytest.mark.parametrize("tid,params", [(ROOTS, {}), (ROOTS, {"k_max": "2"}), (GAPS, {}),
                                        (GAPS, {"k_max": "1"})])
def test_kernel_rederives_the_root_claims(tid, params):
    c = cert(tid, **params)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert report.verdict == "HOLDS" and report.upper == 0 and not _bounds_trusted(report)


def _statement_with(monkeypatch, tid, **family):
    from certify.kernel import claims
    stmt = claims.load_statements()[tid]
    pieces = [dict(stmt.claim["pieces"][0], **family)]
    monkeypatch.setitem(claims.load_statements(), tid, type(stmt)(
        **{**stmt.__dict__, "claim": dict(stmt.claim, pieces=pieces)}))


def test_an_interval_that_misses_its_root_is_violated(monkeypatch):
    """w_1 = 0.2993π (tan w tanh w = 1): the interval [(1/4 + 1/16)π, π/2] holds no root."""
    _statement_with(monkeypatch, ROOTS, lo=["floor(i/2) + 1/4 + 1/16 + (i - 2*floor(i/2))/4"])
    report = check_certificate_data(cert(ROOTS, k_max="2"))
    assert report.verdict == "VIOLATED" and report.lower >= 1 and not report.ok


def test_the_wrong_sign_finds_no_root(monkeypatch):
    _statement_with(monkeypatch, ROOTS, value=["-1 + 2*(i - 2*floor(i/2))"])
    assert not check_certificate_data(cert(ROOTS, k_max="2")).ok


@pytest.mark.parametrize("edit", ["other side", "outside", "short"])
def test_a_bracket_point_that_does_not_place_the_root_is_refused(edit):
    c = cert(GAPS, k_max="3")
    forged = copy.deepcopy(c)
    r = forged["evidence"]["r"]
    if edit == "other side":  # k = 1: a point below the root says nothing about w_1 < r
        r[0] = str(fmpq(1, 4) * fmpq(314159, 100000) + fmpq(1, 10 ** 6))
    elif edit == "outside":
        r[1] = "100"
    else:
        r.pop()
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert not report.ok and report.verdict != "HOLDS"


# the closed forms of the Gram matrix (eq. (4), App. E.1, ReLU^m/m!) -------------------------
CLOSED = "shallow-gram-closed-form"


@pytest.mark.parametrize("params", [{"kernel": "relu"}, {"kernel": "signed"},
                                    {"kernel": "power", "m": "4", "n": "9"}])
def test_kernel_rederives_the_closed_forms(params):
    c = cert(CLOSED, **params)
    report = check_certificate_data(c)
    assert report.ok and report.upper == 0 and not _bounds_trusted(report), report.problems


def test_the_leaky_kernel_is_not_followed():
    report = check_certificate_data(cert(CLOSED, kernel="leaky"))
    assert report.ok and _bounds_trusted(report)


@pytest.mark.parametrize("kernel", ["relu", "signed", "power"])
def test_a_breakpoint_moved_by_2_to_the_minus_40_breaks_the_identity(kernel):
    """Both sides move with the breakpoint (the kernel reads it off the network): the identity
    still holds, so the moved certificate is re-derived (its digest no longer names the
    builder's network, which check --rebuild refuses)."""
    report = check_certificate_data(_bias_moved(cert(CLOSED, kernel=kernel), 2, fmpq(1, 2 ** 40)))
    assert report.ok and report.upper == 0


def test_a_closed_form_changed_in_the_statement_is_violated(monkeypatch):
    """Eq. (4) with 1/25 for 1/24: every entry misses its integral."""
    from certify.kernel import claims
    stmt = claims.load_statements()[CLOSED]
    gram_spec = dict(stmt.claim["gram"], entry=stmt.claim["gram"]["entry"].replace("/24", "/25"))
    monkeypatch.setitem(claims.load_statements(), CLOSED, type(stmt)(
        **{**stmt.__dict__, "claim": dict(stmt.claim, gram=gram_spec)}))
    report = check_certificate_data(cert(CLOSED, kernel="relu"))
    assert report.verdict == "VIOLATED" and not report.ok


def test_a_weight_other_than_plus_or_minus_one_is_refused():
    c = cert(CLOSED, kernel="relu")
    forged = copy.deepcopy(c)
    forged["network"]["layers"]["layers"][0]["W"][0][2] = "2"
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert not report.ok and any("±1" in p for p in report.problems)


# Theorem 3: |λ_k − (n/2)μ_k| for every k ---------------------------------------------------
SPECTRUM = "shallow-gram-kernel-spectrum"


@pytest.mark.parametrize("params", [{}, {"scheme": "jittered", "n": "24", "seed": "3"}])
def test_kernel_rederives_the_spectrum_deviation(params):
    c = cert(SPECTRUM, **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == "HOLDS" and not _bounds_trusted(report), report.problems
    assert 1 < report.lower <= report.upper < 2  # the observed maximum is about 1.3


def test_negative_counts_agree_with_the_eigenvalues():
    """Exact negative counts of T(G − tI)Tᵀ against a float eigensolver, far from any eigenvalue."""
    import numpy as np

    from certify.kernel.stored import decode
    c = cert(SPECTRUM, n="30")
    feats = gram.features(decode(c["network"]["layers"]).layers)
    G = gram.gram(feats)
    E = np.linalg.eigvalsh(np.array([[float(G[i, j]) for j in range(30)] for i in range(30)]))
    shifts = [fmpq(1, 10 ** k) for k in range(1, 8)] + [fmpq(k, 2) for k in range(1, 20, 3)]
    counts = gram.negative_counts(feats, G, shifts)
    assert all(counts[s] == int((E < float(s)).sum()) for s in shifts)


@pytest.mark.parametrize("which,index", [("lower", 0), ("upper", 0), ("lower", 7), ("upper", -1)])
def test_an_eigenvalue_bracket_moved_past_its_eigenvalue_is_refused(which, index):
    c = cert(SPECTRUM, n="24")
    forged = copy.deepcopy(c)
    lo, hi = (fmpq(*map(int, (forged["evidence"][k][index] + "/1").split("/")[:2])) for k in ("lower", "upper"))
    forged["evidence"][which][index] = str(hi + (hi - lo) + fmpq(1, 10 ** 9) if which == "lower"
                                           else lo - (hi - lo) - fmpq(1, 10 ** 9))
    report = check_certificate_data(forged)
    assert not report.ok and any("bracket" in p for p in report.problems)


def test_a_root_bracket_that_misses_the_root_is_refused():
    c = cert(SPECTRUM, n="24")
    forged = copy.deepcopy(c)
    r_lo, r_hi = forged["evidence"]["roots"][2]
    forged["evidence"]["roots"][2] = [r_hi, str(fmpq(*map(int, (r_hi + "/1").split("/")[:2])) * 2)]
    report = check_certificate_data(forged)
    assert not report.ok and any("w_3" in p for p in report.problems)


def test_a_constant_tightened_below_the_deviation_is_violated(monkeypatch):
    from certify.kernel import claims
    stmt = claims.load_statements()[SPECTRUM]
    monkeypatch.setitem(claims.load_statements(), SPECTRUM, type(stmt)(
        **{**stmt.__dict__, "claim": dict(stmt.claim, bound="6/5")}))
    report = check_certificate_data(cert(SPECTRUM, n="24"))
    assert report.verdict == "VIOLATED" and not report.ok


# Corollary 42: the LeakyReLU kernel's leading eigenvalue in [0.941, 2.754] ---------------------
LEAKY = "shallow-leaky-leading-eigenvalue"


@pytest.mark.parametrize("points", ["1", "20"])
def test_kernel_rederives_the_leaky_eigenvalue_bounds_exactly(points):
    c = cert(LEAKY, points=points)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == "HOLDS" and not _bounds_trusted(report), report.problems
    stored = fmpq(*map(int, c["error"]["upper"].split("/")))
    with ctx.workprec(256):  # the kernel's ball around sympy's exact rational
        assert report.upper.contains(stored) and report.upper.rad() < arb(2) ** -200


@pytest.mark.parametrize("interval,verdict", [(["99/100", "2754/1000"], "INCONCLUSIVE"),
                                              (["941/1000", "9/10"], "VIOLATED")])
def test_an_interval_tightened_below_the_truth_is_not_holds(monkeypatch, interval, verdict):
    """0.99 is above the lower bound ‖K1‖/‖1‖ at some α (nothing shown either way); 0.9 is below
    ‖K1‖/‖1‖ ≤ μ everywhere, so μ ∈ [0.941, 0.9] is refuted."""
    from certify.kernel import claims
    stmt = claims.load_statements()[LEAKY]
    pieces = [dict(stmt.claim["pieces"][0], value=interval)]
    monkeypatch.setitem(claims.load_statements(), LEAKY, type(stmt)(
        **{**stmt.__dict__, "claim": dict(stmt.claim, pieces=pieces)}))
    report = check_certificate_data(cert(LEAKY))
    assert report.verdict == verdict and not report.ok


def test_at_alpha_one_the_squares_are_the_closed_forms():
    """G_1 = 2/3 + 2xy: ∫∫ G_1² = 32/9 and v = K1 = 4/3, so ‖v‖²/2 = 16/9."""
    from flint import fmpq_mpoly_ctx

    from certify.kernel.claims import load_statements
    stmt = load_statements()[LEAKY]
    x, y = fmpq_mpoly_ctx.get(("x", 2)).gens()
    below = stmt.formula(stmt.claim["operator"], {"x": x, "y": y, "a": fmpq(1)}, "operator")
    assert below == 2 * x * y + fmpq(2, 3)
