"""Errata as printed/corrected pairs, and strict claims ("error < bound").

A printed entry (``erratum = "..."``) is the construction exactly as the paper prints it: its run
is VIOLATED with an exact witness, and the corrected entry HOLDS on the same instance; the kernel
re-derives both verdicts.  Where a printed construction cannot be built (or is not wrong) the
reason is shown here exactly.
"""

import json

import pytest
import sympy
from flint import arb, fmpq

from certify.certificate import run_theorem
from certify.kernel import check as kernel_check
from certify.kernel.check import check_certificate_data
from certify.method import compare
from certify.registry import default_registry

# (printed, corrected): the pairs of the papers this file covers (optimal_rate keeps its own)
PAIRS = [("nestnet-point-fit-printed", "nestnet-point-fit"),
         ("nestnet-offtrifling-printed", "nestnet-offtrifling"),
         ("peuaf-1d-half-printed", "peuaf-1d-half")]


def _rational(text: str):
    """An exact witness error or bound: the text of a rational p/q, or an arb ball '[m +/- r]'
    read as its rigorous lower end (never a float)."""
    text = str(text)
    if text.startswith("["):
        mid, _, rad = text[1:-1].partition("+/-")
        return arb(mid.strip()) - arb(rad.strip() or 0)
    p, _, q = text.partition("/")
    return fmpq(int(p), int(q or 1))


def _kernel(cert: dict):
    return check_certificate_data(json.loads(json.dumps(cert)))


@pytest.mark.parametrize("printed,corrected", PAIRS)
def test_printed_is_violated_with_a_witness_and_corrected_holds_on_the_same_instance(printed, corrected):
    registry = default_registry()
    assert registry.get(printed).erratum and not registry.get(corrected).erratum
    params = {k: str(v) for k, v in registry.get(printed).parse_params({}).items()}
    bad, good = run_theorem(printed, {}), run_theorem(corrected, params)
    assert bad["verdict"] == "VIOLATED" and bad["witnesses"], bad["reasons"]
    assert good["verdict"] == "HOLDS", good["reasons"]
    bound = _rational(bad["error"]["bound"])
    assert any(_rational(w.get("error_lower", w.get("error"))) > bound for w in bad["witnesses"])
    assert _kernel(bad).verdict == "VIOLATED" and _kernel(bad).ok
    assert _kernel(good).verdict == "HOLDS" and _kernel(good).ok


def test_nestnet_b2_printed_witness_is_the_predicted_sample():
    """(φ1 + φ2 + φ3)ε adds 2·Σd: at j = 47 of the default walk that is 15/32 off (ε = 1/8)."""
    cert = run_theorem("nestnet-point-fit-printed", {})
    assert cert["witnesses"] == [{"x": ["47"], "error": "15/32"}]


# ------------------------------------------------------------------------------ not buildable

def test_compositions_lemma_d1_as_printed_does_not_compose():
    """Lemma D.1 prints L1 : R^2 -> R^5 and L2 : R^5 -> R around g : R^3 -> R^3; the composition
    L2 ∘ g^{∘r} ∘ L1 is undefined, so the printed construction cannot be built at all."""
    from constructive.ir import Repeat, affine, network
    from proofs.compositions.build import bitsum_step

    g = bitsum_step(fmpq(1, 64))
    assert (g.in_dim, g.out_dim) == (3, 3)
    l1 = affine([[1, 0], [0, 1], [0, 0], [0, 0], [0, 0]], [-1, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="dimension mismatch: Affine gives 5, Repeat takes 3"):
        network(l1, Repeat(g, 6), affine([[0, 0, 1, 0, 0]], [0]))


def test_intrinsic_printed_cells_leave_a_gap_that_the_network_does_not_have():
    """Erratum E5: the proof's cells [β/K, (β+1)/K − δ] for every β and the trifling region of
    Eq. (4) (strips k = 1..K−1) miss x = 1 − δ/2; the corrected cells (indicator 1{β ≤ K−2})
    cover it.  The printed construction is not wrong there: its g sets g(1) = K − 1, so g = K − 1
    on [1 − δ, 1], as on the last corrected cell."""
    from constructive.evaluate import evaluate
    from proofs.intrinsic.build import step_function

    K, delta = 4, fmpq(1, 12)
    x = 1 - delta / 2
    printed = [(fmpq(b, K), fmpq(b + 1, K) - delta) for b in range(K)]
    corrected = [(fmpq(b, K), fmpq(b + 1, K) - (delta if b <= K - 2 else 0)) for b in range(K)]
    omega = [(fmpq(k, K) - delta, fmpq(k, K)) for k in range(1, K)]  # open strips of Eq. (4)
    assert not any(a <= x <= b for a, b in printed) and not any(a < x < b for a, b in omega)
    assert any(a <= x <= b for a, b in corrected)
    g = step_function(K, delta)
    assert evaluate(g, [[fmpq(K - 1, K), x, fmpq(1)]])[0] == [K - 1] * 3


# ------------------------------------------------------------------------------ strict claims

def test_strict_compare_needs_upper_below_and_an_equal_error_violates():
    eighth = sympy.Rational(1, 8)
    assert compare(fmpq(1, 8), fmpq(1, 8), eighth) == "HOLDS"
    assert compare(fmpq(1, 8), fmpq(1, 8), eighth, strict=True) == "VIOLATED"
    assert compare(fmpq(1, 8), fmpq(1, 10), eighth, strict=True) == "INCONCLUSIVE"
    assert compare(fmpq(1, 9), fmpq(1, 10), eighth, strict=True) == "HOLDS"
    assert compare(arb(fmpq(1, 8)), arb(0), eighth, strict=True) == "INCONCLUSIVE"


def test_the_strict_entries_are_marked_as_the_papers_print_them():
    strict = {t.id for t in default_registry().theorems.values() if t.claim.get("strict")}
    assert {"syz-fixed-sigma-1d", "syz-fixed-sigma-1d-half", "syz-fixed-sigma-1d-nine-tenths",
            "syz-fixed-sigma-universal", "peuaf-1d-half", "peuaf-1d", "peuaf-super-expressive",
            "zlz-relu-emulation-3n2l", "zlz-relu-emulation-6n2l", "zlz-thm7-kink-class-emulation",
            "zlz-thm7-kink-class-emulation-k1"} <= strict


def test_kernel_compares_strictly_and_refuses_a_dropped_strict_flag(monkeypatch):
    """An exact claim met with equality (error 0, bound 0) HOLDS as '≤' and is VIOLATED as '<':
    the kernel, reading strict from the installed statement, finds the stored HOLDS wrong."""
    import dataclasses

    cert = run_theorem("syz-bit-extraction", {})
    assert cert["verdict"] == "HOLDS" and cert["error"]["upper"] == "0"
    assert _kernel(cert).ok
    stmt = kernel_check.statement("syz-bit-extraction")
    strict_stmt = dataclasses.replace(stmt, claim={**stmt.claim, "strict": True})
    monkeypatch.setattr(kernel_check, "statement", lambda _id: strict_stmt)
    report = _kernel(cert)
    assert report.verdict == "VIOLATED"
    assert any("error.strict" in p for p in report.problems)
    assert any("verdict HOLDS does not follow" in p for p in report.problems)


def test_kernel_refuses_a_strict_certificate_without_its_flag():
    cert = run_theorem("zlz-thm7-kink-class-emulation", {})
    assert cert["error"]["strict"] is True and _kernel(cert).ok
    del cert["error"]["strict"]
    assert any("error.strict" in p for p in _kernel(cert).problems)


def test_nestnet_lemma_d6_as_printed_holds_at_k0_on_the_cited_network():
    """The note lists Lemma D.6 at k = 0 as an erratum (the D.4 proof says the formula fails
    there); on the network of the cited Lemma 3.5 (its Figure 11) it is exact at k = 0 too, so
    the printed statement HOLDS and has no VIOLATED printed entry."""
    cert = run_theorem("nestnet-lemma-d6", {"n": "5"})
    assert cert["verdict"] == "HOLDS" and cert["details"]["error_at_k0"] == "0"
    assert [c["measured"] for c in cert["architecture"]["claims"]] == [7, 11]


def test_compositions_extra_composition_of_lemma_c1_is_harmless_only_the_count_differs():
    """Lemma C.1's proof writes g^{∘n} once where g^{∘(n−1)} is meant (txt p. 26); one more
    composition of the project's g leaves the floor exact on the claimed set (error 0), so the
    printed line builds no wrong function: only the claimed count m − 1 is then not met."""
    from certify.certificate import certify_network, make_target_for
    from constructive.ir import Repeat, affine, network
    from proofs.compositions.build import floor_input_map, floor_step

    thm = default_registry().get("zlz-step-by-iteration")
    params = thm.parse_params({"n": "4", "m": "4"})
    Wi, bi, gap = floor_input_map(4, fmpq(1, 10))
    net = network(affine(Wi, bi), Repeat(floor_step(gap), 4), affine([[0, 0, 0, 0, 1]], [0]))
    cert = certify_network(thm, params, make_target_for(thm, params, None), net, thm.builder())
    assert cert["error"]["upper"] == "0"
    assert [c["ok"] for c in cert["architecture"]["claims"] if c["name"] == "compositions"] == [False]


def test_beyond_relu_srs_has_a_pole_when_alpha_over_beta_is_at_most_1_over_e():
    """Erratum E2: the paper puts SRS(x) = x/(x/α + e^{−x/β}) in A_3 for all α, β > 0 (txt p. 8);
    for α = 1, β = 3 the denominator changes sign on [−2, −1] (rigorous balls), so SRS has a pole
    there and is in no class of continuous activations.  The activation catalogue refuses it, so
    no printed network can be built."""
    from constructive.activations.catalogue import parse_activation
    from constructive.errors import UserError

    def denominator(x):
        return arb(x) + (-arb(x) / 3).exp()  # x/α + e^(−x/β), α = 1, β = 3

    assert denominator(-2) < 0 < denominator(-1)
    with pytest.raises(UserError, match="unbounded"):
        parse_activation("srs:alpha=1,beta=3")


def test_beyond_relu_relu2_as_printed_is_a_polynomial():
    """Erratum E1: max{0, x²} = x² (no kink: not in A_{1,1}); (max{0, x})² has the second
    derivative jump 2 at 0 that A_{1,1} asks for."""
    x = sympy.Symbol("x", real=True)
    assert sympy.simplify(sympy.Max(0, x ** 2) - x ** 2) == 0
    corrected = sympy.Piecewise((x ** 2, x >= 0), (0, True))
    jump = sympy.diff(x ** 2, x, 2).subs(x, 0) - sympy.diff(sympy.Integer(0), x, 2)
    assert jump == 2 and corrected.subs(x, -1) == 0


def test_intrinsic_count_typos():
    """E7: the φ₂ count's first term is 6(2K^d + 2), since with K = 2^n the printed total
    6n(2^{nd+1} + 2) + 4n + 1 equals n·6(2K^d + 2) + 4n + 1 (not with K^n for d ≠ n).  The mid
    footnote's sum (3+1)·14 + (14+1)·14 + (14+1) is 281, not the printed 280; the realised mid
    gadget has 217 parameters, so the bound 280 still holds (syz-mid-gadget)."""
    for d, n in [(1, 3), (2, 2), (3, 1), (2, 5)]:
        K = 2 ** n
        total = 6 * n * (2 ** (n * d + 1) + 2) + 4 * n + 1
        assert n * 6 * (2 * K ** d + 2) + 4 * n + 1 == total
        assert (n * 6 * (2 * K ** n + 2) + 4 * n + 1 == total) == (d == n)
    assert (3 + 1) * 14 + (14 + 1) * 14 + (14 + 1) == 281
    cert = run_theorem("syz-mid-gadget", {})
    assert cert["verdict"] == "HOLDS"
    assert [c["measured"] for c in cert["architecture"]["claims"] if c["name"] == "dense_params"] == [217]
