"""The checker kernel re-derives Theorems 1 and 4 of the fixed-σ paper (checks
``superposition-sup`` and ``superposition-pieces``): it splits the stored network into its
one-input parts from the weights' non-zeros, shows the target equal to Σ_i g_i(Σ_j h_ij(x_j)) by
expansion, bounds each part on exact cells, and shows the classifier constant on every set."""

from __future__ import annotations

import copy

import pytest
from flint import fmpq

from certify.certificate import content_hash, run_theorem
from certify.kernel import check_certificate_data
from certify.kernel.claims import load_statements
from certify.kernel.expand import expand, variable
from certify.kernel.formula import parse
from tests.kernel_certs import cert, moved

UNIVERSAL, CLASSIFY = "syz-fixed-sigma-universal", "syz-fixed-sigma-classification"
D1_TARGET = "(x1**2/2 + 1/4)**2/2 + sin(x1 + 1/2)/2 + cos(sin(3*x1)/8 + 1/2)/2"


def _forged(c: dict, edit) -> dict:
    forged = copy.deepcopy(c)
    edit(forged)
    forged["hash"] = content_hash(forged)
    return forged


def _bound_trusted(report) -> bool:
    return any("error bounds" in t for t in report.trusted)


def test_theorem_1_is_rederived_with_only_the_digest_trusted():
    c = cert(UNIVERSAL)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert report.trusted == ["the network digest names the builder's network (check --rebuild "
                              "compares them)"]
    assert report.lower <= report.upper < fmpq(1, 2)


def test_theorem_1_in_one_dimension():
    c = run_theorem(UNIVERSAL, {"kst": "d1-default", "d": "1"}, target_spec=D1_TARGET)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == "HOLDS" and not _bound_trusted(report), report.problems


def test_a_target_not_shown_equal_to_the_composition_keeps_the_bound_trusted():
    """f + 1/1000 is not Σ g_i(Σ h_ij): the expansions differ, the kernel shows no bound."""
    c = _forged(cert(UNIVERSAL), lambda f: f["target"].update(expr=f["target"]["expr"] + " + 1/1000"))
    report = check_certificate_data(c)
    assert _bound_trusted(report) and "expand differently" in " ".join(report.trusted)


def test_an_outer_function_changed_in_the_evidence_keeps_the_bound_trusted():
    c = _forged(cert(UNIVERSAL), lambda f: f["evidence"]["outer"].__setitem__(0, "sin(2*x1)/3"))
    assert _bound_trusted(check_certificate_data(c))


def test_scaled_output_weights_are_refused():
    """Every output weight times 3: φ ≈ 3f, far from f; the kernel's bound is re-derived from
    the network as stored and does not meet ε."""
    def edit(f):
        for entry in f["network"]["layers"]["layers"][-1]["W"]:
            entry[-1] = str(3 * fmpq(*map(int, (entry[-1] + "/1").split("/")[:2])))
    report = check_certificate_data(_forged(cert(UNIVERSAL), edit))
    assert not report.ok and report.verdict != "HOLDS"
    assert report.upper > fmpq(1, 2)


def test_a_weight_that_joins_two_parts_is_refused():
    """A neuron of the second layer reading a neuron of another input's part: the network is
    no longer of the superposition shape, which the kernel reads off the non-zeros."""
    c = cert(UNIVERSAL)
    layers = c["network"]["layers"]["layers"]
    first = layers[0]["W"]
    row_of = {entry[0]: entry[1] for entry in first}  # neuron -> the input it reads
    a = next(r for r, j in row_of.items() if j == 0)
    b = next(r for r, j in row_of.items() if j == 1)
    reads_a = next(entry[0] for entry in layers[1]["W"] if entry[1] == a)
    report = check_certificate_data(_forged(c, lambda f: f["network"]["layers"]["layers"][1]["W"].append(
        [reads_a, b, "1/1099511627776"])))
    assert not report.ok and "more than one part" in " ".join(report.problems)


def test_a_claim_tightened_below_the_bound_is_refused(monkeypatch):
    stmt = load_statements()[UNIVERSAL]
    claim = dict(stmt.claim, bound="eps/10")
    monkeypatch.setitem(load_statements(), UNIVERSAL, type(stmt)(**{**vars(stmt), "claim": claim}))
    report = check_certificate_data(cert(UNIVERSAL))
    assert not report.ok and report.verdict != "HOLDS"


@pytest.mark.parametrize("params", [{}, {"sets": "d1-two", "d": "1"}, {"sets": "d2-three-mixed"}])
def test_theorem_4_is_rederived(params):
    c = cert(CLASSIFY, **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert report.upper == 0 and not _bound_trusted(report)
    assert sum("the instance's data, as stored" in t for t in report.trusted) == 4


@pytest.mark.parametrize("key", ["W", "b"])
def test_an_output_weight_moved_by_2_to_the_minus_40_is_refused(key):
    """The last affine map moved: φ misses the label at an exact point of a set."""
    c = cert(CLASSIFY)
    report = check_certificate_data(moved(c, len(c["network"]["layers"]["layers"]) - 1, key,
                                          fmpq(1, 2 ** 40)))
    assert not report.ok and report.verdict == "VIOLATED"
    assert 0 < report.lower < fmpq(1, 2 ** 30)


def test_a_label_changed_in_the_instance_data_is_refused():
    c = _forged(cert(CLASSIFY), lambda f: f["details"]["labels"].__setitem__(0, "1/3"))
    report = check_certificate_data(c)
    assert not report.ok and report.verdict == "VIOLATED"


@pytest.mark.parametrize("a,b", [
    ("sin(x1/2 + x2**2/2 + 1/2)", "sin((1 + x1 + x2**2)/2)"),
    ("cos(3*x1/4 - 3*x2/8)", "cos(3*x2/8 - 3*x1/4)"),
    ("-sin(x1 - x2)", "sin(x2 - x1)"),
    ("(x1 + x2)**2", "x1**2 + 2*x1*x2 + x2**2"),
    ("exp(0) + sin(0) + cos(0)", "2"),
    ("1/(2*x1 + 2)", "(1/(x1 + 1))/2"),
    ("sqrt(x1)*sqrt(x1)", "sqrt(x1)**2"),
])
def test_expansions_that_agree(a, b):
    names = {"x1", "x2"}
    assert expand(parse(a, names, "a"), {}) == expand(parse(b, names, "b"), {})


@pytest.mark.parametrize("a,b", [
    ("sin(x1)", "cos(x1)"), ("sin(-x1)", "sin(x1)"), ("cos(x1)**2 + sin(x1)**2", "1"),
    ("(x1 + 1)**2", "x1**2 + 1"), ("x1/(x1 + 1)", "1 - 1/(x1 + 1)"),
])
def test_expansions_that_differ(a, b):
    """Different functions expand differently; equal ones may too (sin² + cos², a quotient): the
    check then says 'not shown', never 'equal'."""
    names = {"x1", "x2"}
    assert expand(parse(a, names, "a"), {}) != expand(parse(b, names, "b"), {})


def test_substitution():
    inner = expand(parse("1/4 + x1/2", {"x1"}, "h"), {"x1": variable("x2")})
    composed = expand(parse("sin(2*x1)/2", {"x1"}, "g"), {"x1": inner})
    assert composed == expand(parse("sin(x2 + 1/2)/2", {"x2"}, "f"), {})


def test_a_sum_with_a_bound_index_has_no_expansion():
    """Substituting into Sum(term, i, a, b) could rename its bound index: the kernel refuses."""
    from certify.kernel.errors import Undecided
    with pytest.raises(Undecided):
        expand(parse("Sum(x1*i, i, 1, 3)", {"x1"}, "g"), {"x1": variable("x2")})
