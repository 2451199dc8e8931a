"""The checker kernel re-derives Lemma 4.2's identity over all of R^d (check ``relu-identity``):
the deep network and the stored shallow one have one normal form — carried values relu(g) = g,
carried pairs relu(s) − relu(−s) = s — so they are equal everywhere."""

from __future__ import annotations

import copy

import pytest
from flint import fmpq

from certify.certificate import content_hash
from certify.kernel import check_certificate_data
from certify.kernel.normal import ONE, Forms, combine
from certify.kernel.stored import decode
from tests.kernel_certs import cert, moved

TID = "syz-deepen-two-layer"


@pytest.mark.parametrize("params", [{}, {"d": "3", "N": "4", "L": "4", "seed": "7"},
                                    {"d": "1", "N": "1", "L": "1"}])
def test_kernel_rederives_the_identity_over_all_of_r_d(params):
    c = cert(TID, **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert report.upper == 0 and not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("layer,key", [(0, "W"), (2, "b"), (4, "W")])
def test_a_deep_weight_moved_by_2_to_the_minus_40_is_refused(layer, key):
    report = check_certificate_data(moved(cert(TID), layer, key, fmpq(1, 2 ** 40)))
    assert not report.ok and report.verdict != "HOLDS"


def test_the_shallow_network_moved_is_refused():
    forged = copy.deepcopy(cert(TID))
    entry = forged["evidence"]["network"]["layers"][1]["W"][0]
    entry[-1] = str(fmpq(*map(int, (entry[-1] + "/1").split("/")[:2])) + fmpq(1, 2 ** 40))
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert not report.ok and report.verdict != "HOLDS"


def _one_input(*layers):
    return decode({"input_dim": 1, "layers": [
        {"rows": len(W), "cols": len(W[0]), "W": [[i, j, str(w)] for i, row in enumerate(W)
                                                  for j, w in enumerate(row) if w],
         "b": [[i, str(v)] for i, v in enumerate(b) if v], **({"act": [["relu", len(W)]]} if act else {})}
        for W, b, act in layers]})


def test_the_three_rules():
    x = {("x", 0): fmpq(1)}
    forms = Forms()
    r = forms.relu(x)
    assert combine([(1, r), (-1, forms.relu(combine([(-1, x)])))]) == x  # relu(x) − relu(−x) = x
    # a carried ReLU output: relu(relu(−x)) = relu(−x) (its form relu(x) − x is not ≥ 0 by sight)
    carried = _one_input(([[-1]], [0], True), ([[1]], [0], True), ([[1]], [0], False))
    plain = _one_input(([[-1]], [0], True), ([[1]], [0], False))
    assert forms.outputs(carried) == forms.outputs(plain)
    assert forms.relu(combine([(-1, r), (-2, {ONE: fmpq(1)})])) == {}  # −relu(x) − 2 ≤ 0
    assert forms.outputs(_one_input(([[1]], [0], True), ([[1]], [0], False))) != \
        forms.outputs(_one_input(([[1]], [1], True), ([[1]], [-1], False)))  # relu(x) vs relu(x+1) − 1


# --- the mid gadget against the statement's formula (claim.reference)


def test_kernel_rederives_the_mid_gadget_against_the_formula():
    c = cert("syz-mid-gadget")
    report = check_certificate_data(c)
    assert report.ok and report.verdict == "HOLDS" and report.upper == 0, report.problems
    assert not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("layer,key", [(0, "W"), (1, "W"), (2, "W")])
def test_a_mid_weight_moved_is_refused(layer, key):
    report = check_certificate_data(moved(cert("syz-mid-gadget"), layer, key, fmpq(1, 2 ** 40)))
    assert not report.ok and report.verdict != "HOLDS"


def test_a_wrong_reference_is_never_shown(monkeypatch):
    from certify.kernel import claims
    stmt = claims.load_statements()["syz-mid-gadget"]
    claim = dict(stmt.claim, reference="Max(Max(x1, x2), x3)")
    monkeypatch.setitem(claims.load_statements(), "syz-mid-gadget", type(stmt)(**{**vars(stmt), "claim": claim}))
    report = check_certificate_data(cert("syz-mid-gadget"))
    assert not report.ok and report.verdict != "HOLDS"


def test_formulas_in_normal_form():
    import ast
    forms = Forms()

    def nf(text):
        return forms.of_formula(ast.parse(text, mode="eval"))
    assert nf("Max(x1, x2)") == nf("Max(x2, x1)") == nf("x1 + Max(0, x2 - x1)")
    assert nf("Min(x1, x2)") == nf("-Max(-x1, -x2)")
    assert nf("Abs(x1 - x2)") == nf("2*Max(x1, x2) - x1 - x2")
    assert nf("Max(x1, x2)") == nf("(x1 + x2)/2 + Abs(x1 - x2)/2")
    with pytest.raises(Exception):
        nf("x1*x2")
