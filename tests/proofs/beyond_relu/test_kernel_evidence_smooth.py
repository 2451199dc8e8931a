"""The checker kernel re-derives Lemma 15's identity gadget (check ``smooth-sup``): the stored
one-neuron network of a smooth activation against x on [−M, M], by second-order Taylor forms in
arb; a weight moved, an activation swapped or the bound tightened is refused."""

from __future__ import annotations

import copy

import pytest
from flint import arb, fmpq

from certify.certificate import content_hash
from certify.kernel import check_certificate_data, smooth
from certify.kernel.stored import decode
from tests.kernel_certs import cert

TID = "zlz-lemma15-identity-gadget"
RHOS = ["sigmoid", "tanh", "arctan", "softplus", "silu", "gelu"]


def _bounds_trusted(report) -> bool:
    return any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("rho", RHOS)
def test_kernel_rederives_the_identity_gadget(rho):
    c = cert(TID, rho=rho)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert report.verdict == "HOLDS" and not _bounds_trusted(report)
    assert report.lower <= report.upper <= arb(fmpq(1, 10 ** 6))


def _forged(c: dict, edit) -> dict:
    forged = copy.deepcopy(c)
    edit(forged["network"]["layers"]["layers"])
    forged["hash"] = content_hash(forged)
    return forged


def test_the_output_weight_scaled_by_1_plus_2_to_the_minus_10_is_refused():
    def scale(layers):
        entry = layers[-1]["W"][0]
        entry[2] = str(fmpq(*map(int, (entry[2] + "/1").split("/")[:2])) * (1 + fmpq(1, 1024)))
    report = check_certificate_data(_forged(cert(TID), scale))
    assert not report.ok and report.verdict != "HOLDS"


@pytest.mark.parametrize("other", ["tanh", "euaf", "relu"])
def test_an_activation_swapped_is_refused(other):
    def swap(layers):
        layers[0]["act"] = [[other, 1]]
    report = check_certificate_data(_forged(cert(TID), swap))
    assert not report.ok and report.verdict != "HOLDS"


def test_a_bound_tightened_below_the_truth_is_not_holds(monkeypatch):
    from certify.kernel import claims
    stmt = claims.load_statements()[TID]
    monkeypatch.setitem(claims.load_statements(), TID, type(stmt)(
        **{**stmt.__dict__, "claim": dict(stmt.claim, bound="eps/1000")}))
    report = check_certificate_data(cert(TID))
    assert not report.ok and report.verdict != "HOLDS"


def test_the_taylor_form_encloses_the_function():
    """sigmoid(x) against the affine 1/4 x + 1/2 on [−1, 1]: the sup is at the ends,
    |σ(1) − 3/4| = 0.0189…, inside [lower, upper]."""
    net = decode({"input_dim": 1, "layers": [
        {"rows": 1, "cols": 1, "W": [[0, 0, "1"]], "b": [], "act": [["sigmoid", 1]]},
        {"rows": 1, "cols": 1, "W": [[0, 0, "1"]], "b": []}]})
    from flint import fmpq_mpoly_ctx
    x, = fmpq_mpoly_ctx.get(("x", 1)).gens()
    value = smooth.polynomial(x / 4 + fmpq(1, 2), 1)
    upper, lower, boxes, above = smooth.sup_error(net.layers, value, [(fmpq(-1), fmpq(1))], arb("0.0195"))
    true = abs(1 / (1 + arb(-1).exp()) - arb("0.75"))
    assert lower <= true <= upper <= arb("0.0195") and boxes > 1 and above == 0


# xy on [−A, A]²: Lemma 16 (3 neurons) and v1 Lemma 7.1 (6 neurons) --------------------------
PRODUCTS = ["zlz-lemma16-product-3neuron", "zlz-v1-lemma71-product-6neuron"]


@pytest.mark.parametrize("tid,rho", [(t, r) for t in PRODUCTS for r in ("sigmoid", "tanh", "gelu")])
def test_kernel_rederives_the_product_gadgets(tid, rho):
    c = cert(tid, rho=rho)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert report.verdict == "HOLDS" and not _bounds_trusted(report)
    assert report.upper <= arb(fmpq(1, 10 ** 6))


@pytest.mark.parametrize("tid", PRODUCTS)
def test_one_product_output_weight_moved_by_2_to_the_minus_40_is_violated(tid):
    """c(1 + 2^-40) on one neuron: Γ − xy picks up c 2^-40 ϱ(x0 + …) ≈ 10^-4 everywhere, far
    above eps; the kernel's midpoint values show it."""
    def nudge(layers):
        entry = layers[-1]["W"][0]
        entry[2] = str(fmpq(*map(int, (entry[2] + "/1").split("/")[:2])) * (1 + fmpq(1, 2 ** 40)))
    report = check_certificate_data(_forged(cert(tid), nudge))
    assert report.verdict == "VIOLATED" and report.lower > arb(fmpq(1, 10 ** 6)) and not report.ok


def test_a_value_of_degree_three_is_refused(monkeypatch):
    from certify.kernel import claims
    tid = PRODUCTS[0]
    stmt = claims.load_statements()[tid]
    pieces = [dict(stmt.claim["pieces"][0], value=["x[0]*x[1]*x[1]"])]
    monkeypatch.setitem(claims.load_statements(), tid, type(stmt)(
        **{**stmt.__dict__, "claim": dict(stmt.claim, pieces=pieces)}))
    report = check_certificate_data(cert(tid))
    assert not report.ok and any("degree" in p for p in report.problems)
