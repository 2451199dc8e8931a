"""PEUAF Theorems 2-3 (1-D) and Theorem 1 (d = 1 instance): general-value LLL fit, exact
structure, certified verdicts, broken networks, bad input."""

from __future__ import annotations

import pytest
from flint import fmpq

from certify.certificate import run_theorem
from certify.registry import default_registry
from constructive.activations.euaf import sigma1_exact
from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.targets import make_target
from proofs.peuaf.build import build_uniform, gamma_delta, half_network, lemma3_values, lemma3_w0, psi_hat
from proofs.peuaf.fit import fit_values, values_fit_error


def test_fit_general_values_exact():
    K = 6
    w0 = lemma3_w0(K, fmpq(-2), fmpq(0), 120)
    a = lemma3_values(K, fmpq(-2), fmpq(0), w0)
    assert all(-1 < v < 0 for v in a)
    xi = [fmpq(k, 7) for k in range(1, K + 1)]
    f = fit_values(a, xi, eta=fmpq(1, 100))
    assert f.error < fmpq(1, 100)
    assert f.error == values_fit_error(f.w, a, xi)
    assert all(abs(sigma1_exact(f.w * v) - x) < fmpq(1, 100) for v, x in zip(a, xi))
    with pytest.raises(UserError):
        fit_values([fmpq(0), fmpq(1)], [fmpq(1, 2), fmpq(1, 2)])
    with pytest.raises(UserError):
        fit_values([fmpq(1, 3), fmpq(1, 5)], [fmpq(1, 2), fmpq(3, 2)])
    with pytest.raises(UserError):
        fit_values([fmpq(1, 3)], [fmpq(1, 2), fmpq(1, 2)])


def test_half_network_constant_on_good_halves():
    K, M = 5, fmpq(2)
    vals = [fmpq(1, 2), fmpq(-1, 3), fmpq(0), fmpq(3, 4), fmpq(-1)]
    net = half_network(vals, M, fmpq(1, 200), w=fmpq(1, 2))
    for k in range(1, K + 1):
        pts = [fmpq(2 * k - 2, 2 * K) + fmpq(j, 20 * K) for j in range(11)]
        got = evaluate(net, [pts])[0]
        assert len(set(got)) == 1  # constant on I_k
        assert abs(got[0] - vals[k - 1]) < 2 * M * fmpq(1, 200)
    # |phi| <= M everywhere on [0, 1]
    pts = [fmpq(j, 97) for j in range(98)]
    assert all(abs(v) <= M for v in evaluate(net, [pts])[0])


def test_psi_hat_and_gamma_zero():
    K, w = 4, fmpq(1, 2)
    ps = psi_hat(K, w)
    for j in range(0, 8 * K + 1):
        y = fmpq(j, 4)
        v = evaluate(ps, [[y]])[0][0]
        n = int(y.floor())
        if n % 2 == 0:  # y ∈ [2k, 2k+1]: the tent 1 - |2(y - 2k) - 1|
            assert v == 1 - abs(2 * (y - n) - 1)
        else:
            assert v == 0
    g = gamma_delta(fmpq(-1), fmpq(1, 50), w)
    assert evaluate(g, [[fmpq(7, 3), fmpq(-5)], [fmpq(0), fmpq(0)]])[0] == [0, 0]


def test_thm2_holds():
    c = run_theorem("peuaf-1d-half", {"K": "8"})
    assert c["verdict"] == "HOLDS"
    m = c["architecture"]["measured"]
    assert (m["width"], m["depth"]) == (2, 3)
    assert fmpq(c["error"]["lower"]) <= fmpq(c["error"]["upper"]) < fmpq(1, 5)


def test_thm3_holds_and_budget():
    c = run_theorem("peuaf-1d", {})
    assert c["verdict"] == "HOLDS"
    m = c["architecture"]["measured"]
    assert (m["width"], m["depth"]) == (16, 4)
    d = c["details"]
    assert d["max_gamma_gap_float"] < 0.01  # the eps/10 budget of the product
    assert fmpq(c["error"]["lower"]) <= fmpq(c["error"]["upper"]) < fmpq(1, 10)


def test_thm3_wrong_target_witness():
    from proofs.peuaf.check import certify_uniform

    thm = default_registry().get("peuaf-1d")
    params = thm.parse_params({})
    net = build_uniform(params, make_target("sine:k=1", 1))
    rep = certify_uniform(thm, params, make_target("sine:k=3", 1), net)
    assert rep.lower > fmpq(1, 10)  # exact witness: the sin(2 pi x) network misses sin(6 pi x)/(6 pi)


def test_thm3_broken_gamma_inconclusive(monkeypatch):
    import proofs.peuaf.build as P
    from constructive.ir import affine, network

    real = P.second_difference

    def broken(x0, delta, w=1):
        net = real(x0, delta, w)
        out = net.nodes[2]
        W = [[out.W[0, j] * (1 + fmpq(1, 100) * (j == 0)) for j in range(4)]]
        return network(net.nodes[0], net.nodes[1], affine(W, [0]))

    monkeypatch.setattr(P, "second_difference", broken)
    c = run_theorem("peuaf-1d", {"eps": "1/5"})
    assert c["verdict"] in ("INCONCLUSIVE", "VIOLATED")
    assert "analysis_failed" in c["details"]


def test_super_expressive_levels():
    c = run_theorem("peuaf-super-expressive", {"eps": "1/10", "levels": "2"})
    assert c["verdict"] == "HOLDS"
    d = c["details"]
    assert d["same_architecture_all_levels"] is True
    assert [r["eps"] for r in d["levels"]] == ["1/5", "1/10"]
    assert all(r["holds"] and (r["width"], r["depth"]) == (16, 4) for r in d["levels"])


@pytest.mark.parametrize("tid,params", [
    ("peuaf-1d", {"eps": "0"}),
    ("peuaf-1d", {"a": "2", "b": "1"}),
    ("peuaf-1d", {"K": "1"}),
    ("peuaf-1d", {"x0": "1"}),
    ("peuaf-1d", {"lo": "0", "hi": "0"}),
    ("peuaf-1d-half", {"K": "0"}),
    ("peuaf-1d-half", {"eps": "-1"}),
    ("peuaf-super-expressive", {"levels": "0"}),
])
def test_bad_input(tid, params):
    with pytest.raises(UserError):
        run_theorem(tid, params)
