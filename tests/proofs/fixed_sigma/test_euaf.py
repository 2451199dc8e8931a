"""EUAF σ / PEUAF kernels, exact σ gadgets, the LLL point fit and the 1-D chain (issue 5)."""

from __future__ import annotations

import numpy as np
import pytest
from flint import arb, fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.analysis.sigma_cells import ONE, Rat, X, cells, identity_on
from constructive.activations import lookup
from constructive.activations.euaf import SIGMA, peuaf, sigma_exact, sigma_float, torch_sigma
from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.gadgets import euaf as eg
from constructive.gadgets.point_fit import fit, fit_error

settings.register_profile("euaf", max_examples=40, deadline=None)
settings.load_profile("euaf")


def rationals(lo: int, hi: int, den: int = 997):
    return st.integers(lo * den, hi * den).map(lambda n: fmpq(n, den))


# ------------------------------------------------------------------------------ activations

def test_sigma_exact_values_and_catalogue():
    assert lookup("euaf") is SIGMA
    assert sigma_exact(fmpq(7, 2)) == fmpq(1, 2)
    assert sigma_exact(fmpq(-3)) == fmpq(-3, 4)
    assert sigma_exact(fmpq(0)) == 0
    assert peuaf(1).exact(fmpq(5, 3)) == sigma_exact(fmpq(5, 3))
    assert peuaf("1/2").exact(fmpq(3)) == sigma_exact(fmpq(3, 2))
    with pytest.raises(UserError):
        peuaf(0)


@given(rationals(-20, 20))
def test_sigma_facts(x):
    s = sigma_exact(x)
    if x >= 0:
        assert 0 <= s <= 1 and sigma_exact(x + 2) == s
    else:
        assert s + 1 == 1 / (1 - x)  # σ(y) + 1 = 1/(1−y) for y ≤ 0
    if 0 <= x <= 1:
        assert s == x
    assert abs(float(s) - float(sigma_float(np.array([float(x)]))[0])) < 1e-12


@given(rationals(-8, 8), st.integers(0, 40))
def test_sigma_ball_encloses(x, k):
    rad = fmpq(k, 1000)
    b = SIGMA.ball(arb(x, rad) if rad else arb(x))
    for t in (x - rad, x, x + rad):
        assert b.contains(arb(sigma_exact(t)))


def test_torch_kernel():
    torch = pytest.importorskip("torch")
    xs = torch.tensor([-3.0, -0.5, 0.0, 0.25, 1.5, 3.75], dtype=torch.float64)
    want = [float(sigma_exact(fmpq(int(v * 4), 4))) for v in xs.tolist()]  # quarters: exact
    assert torch.allclose(torch_sigma(xs), torch.tensor(want, dtype=torch.float64))


# ------------------------------------------------------------------------------ gadgets

@given(st.integers(1, 40), st.data())
def test_identity_padding(m, data):
    M = fmpq(m, 3)
    net = eg.identity_pad(M)
    x = data.draw(st.integers(-1000, 1000))
    pts = [-M, M, M * fmpq(x, 1000)]
    assert evaluate(net, [pts])[0] == pts


@given(rationals(-1, 1))
def test_square(x):
    assert evaluate(eg.square(), [[x, fmpq(-1), fmpq(1)]])[0] == [x * x, 1, 1]


@given(st.integers(1, 9), rationals(-1, 1), rationals(-1, 1))
def test_product(m, u, v):
    M = fmpq(m, 2)
    x, y = u * M, v * M
    out = evaluate(eg.product(M), [[x, M, -M], [y, -M, -M]])[0]
    assert out == [x * y, -M * M, M * M]


@given(st.integers(1, 30), st.data())
def test_index_maps(K, data):
    k = data.draw(st.integers(1, K))
    t = data.draw(st.integers(0, 50))
    lo, hi = fmpq(2 * k - 2, 2 * K), fmpq(2 * k - 1, 2 * K)
    pts = [lo, hi, lo + (hi - lo) * fmpq(t, 50)]
    assert evaluate(eg.index_map(K), [pts])[0] == [k] * 3
    alpha = fmpq(355, 113)
    assert evaluate(eg.softsign_index(K, alpha), [pts])[0] == [1 / (alpha + k)] * 3


@given(st.integers(2, 12), st.data())
def test_partition_of_unity_points(K, data):
    y = data.draw(rationals(0, 2 * K - 2))
    assert evaluate(eg.partition_of_unity(K), [[y, fmpq(0), fmpq(2 * K - 2)]])[0] == [1, 1, 1]


@given(st.integers(0, 20), rationals(-1, 1))
def test_odd_rounding(k, t):
    net = eg.odd_rounding(fmpq(44))
    y = 2 * k + 1 + t / 2
    assert evaluate(net, [[y]])[0] == [2 * k + 1]


def test_cell_analysis_proves_and_refutes():
    sq = Rat(X * X, ONE)
    assert identity_on(eg.square(), sq, -1, 1)[0]
    assert not identity_on(eg.square(), sq, -2, 1)[0]  # the identity fails outside [−1, 1]
    assert not identity_on(eg.identity_pad(1), Rat(X, ONE), -2, 1)[0]
    cs = cells(eg.index_map(5), 0, 1)
    assert cs[0].lo == 0 and cs[-1].hi == 1 and len(cs) >= 10


@pytest.mark.parametrize("tid,params", [
    ("euaf-identity-padding", {"M": "5/2"}), ("euaf-square-exact", {}),
    ("euaf-product-exact", {"M": "3"}), ("euaf-step-index", {"K": "7"}),
    ("euaf-softsign-independent-index", {"K": "7"}), ("euaf-partition-of-unity", {"K": "6"}),
    ("euaf-rounding-odd", {"kmax": "5"})])
def test_gadget_theorems_hold(tid, params):
    from certify.certificate import run_theorem

    cert = run_theorem(tid, params)
    assert cert["verdict"] == "HOLDS", cert["reasons"]


# ------------------------------------------------------------------------------ point fit

@pytest.mark.parametrize("K", [1, 2, 5, 12])
def test_lll_fit_exact(K):
    import random

    r = random.Random(K)
    xi = [fmpq(r.randint(0, 100), 100) for _ in range(K)]
    f = fit(xi, eta=fmpq(1, 1000))
    assert f.error < fmpq(1, 1000)
    assert fit_error(f.w0, f.alpha, xi) == f.error


def test_fit_bad_input():
    with pytest.raises(UserError):
        fit([], eta=fmpq(1, 10))
    with pytest.raises(UserError):
        fit([fmpq(1, 2)], eta=0)
    with pytest.raises(UserError):
        fit([fmpq(3, 2)])


# ------------------------------------------------------------------------------ 1-D chain

def test_thm14_sin6x():
    from certify.certificate import run_theorem

    cert = run_theorem("syz-fixed-sigma-1d-half", {"K": "16", "eps": "1/5"})
    assert cert["verdict"] == "HOLDS"
    assert cert["architecture"]["measured"]["width"] == 2


@pytest.mark.parametrize("target", ["sine:k=1", "abs", "affine"])
def test_thm6_three_targets(target):
    from certify.certificate import run_theorem

    cert = run_theorem("syz-fixed-sigma-1d", {"eps": "1/10"}, target)
    assert cert["verdict"] == "HOLDS"
    m = cert["architecture"]["measured"]
    assert m["width"] == 36 and m["depth"] == 5 and m["params"] <= 5437


@pytest.mark.slow
@pytest.mark.parametrize("target", ["sine:k=1", "abs", "affine"])
def test_thm6_three_targets_fine(target):
    from certify.certificate import run_theorem

    assert run_theorem("syz-fixed-sigma-1d", {"eps": "1/50"}, target)["verdict"] == "HOLDS"


def test_chain_bad_input():
    from certify.certificate import run_theorem

    with pytest.raises(UserError):
        run_theorem("syz-fixed-sigma-1d", {"eps": "0"})
    with pytest.raises(UserError):
        run_theorem("syz-fixed-sigma-1d", {"eps": "1/10", "a": "2", "b": "1"})
    with pytest.raises(UserError):
        run_theorem("syz-fixed-sigma-1d-half", {"K": "0"})


# ------------------------------------------------------------------------------ the network given


def _instance(tid, raw=None):
    from certify.certificate import make_target_for
    from certify.registry import default_registry

    thm = default_registry().get(tid)
    params = thm.parse_params(raw or {})
    target = make_target_for(thm, params, None)
    return thm, params, target, thm.builder()(params, target)


def _certify(thm, params, target, net):
    from certify.certificate import certify_network

    return certify_network(thm, params, target, net, thm.builder())


def _with_bias(aff, delta):
    from constructive.ir import affine_from

    b = aff.b.__class__(aff.b.nrows(), 1, [aff.b[i, 0] + (delta if i == 0 else 0)
                                            for i in range(aff.b.nrows())])
    return affine_from(aff.W, b)


def test_gadget_identity_reads_the_network_given():
    """The identity is proved of the network handed in: a moved output bias is refuted by an
    exact point (VIOLATED); a product with a node after the gadget is not what the compositional
    proof reads, so nothing is shown (INCONCLUSIVE with the reason)."""
    from constructive.ir import Network, affine, network

    thm, params, target, net = _instance("euaf-identity-padding")
    g = net.nodes[0]
    moved = network(g.__class__(g.name, Network(g.body.nodes[:-1] + (_with_bias(g.body.nodes[-1],
                                                                                fmpq(1, 2 ** 40)),)),
                                g.spec, g.params))
    cert = _certify(thm, params, target, moved)
    assert cert["verdict"] == "VIOLATED" and not cert["details"]["identity_proved"]
    thm, params, target, net = _instance("euaf-product-exact")
    cert = _certify(thm, params, target, network(net, affine([[1]], [0])))
    assert cert["verdict"] == "INCONCLUSIVE"
    assert "not exactly one product gadget" in cert["details"]["analysis_failed"]


def test_chain_analysis_failure_is_inconclusive_with_reason():
    """An analysis step that cannot be shown gives an unknown upper bound (never an exception and
    never a bound that was not shown); the lower bound still comes from exact evaluation."""
    from constructive.ir import network

    thm, params, target, net = _instance("syz-fixed-sigma-1d")
    moved = network(_with_bias(net.nodes[0], fmpq(1, 2 ** 40)), *net.nodes[1:])
    cert = _certify(thm, params, target, moved)
    assert cert["verdict"] == "INCONCLUSIVE"
    assert "input map" in cert["details"]["analysis_failed"]
    assert "inf" in cert["error"]["upper"]


def test_chain_proves_each_copy_product():
    """Lemma 16 is proved for the network's own product gadgets (one proof per distinct
    content: the four copies share M, so one), and reported per copy."""
    thm, params, target, net = _instance("syz-fixed-sigma-1d-nine-tenths")
    cert = _certify(thm, params, target, net)
    assert cert["verdict"] == "HOLDS"
    prods = cert["details"]["product_gadgets"]
    assert [p["copy"] for p in prods] == [1, 2, 3, 4]
    assert all(p["structure_read_back"] and p["square_identity"] for p in prods)


def test_half_failure_is_inconclusive_or_violated_not_an_exception():
    """Thm 14 with the index kink moved into a half interval: the exact cells stop at an
    irrational or unbounded split, or refute the network; either way a verdict, not a crash."""
    from constructive.ir import Network, network

    thm, params, target, net = _instance("syz-fixed-sigma-1d-half", {"K": "16", "eps": "1/5"})
    g = net.nodes[0]
    body = g.body
    A0 = body.nodes[0]
    moved_A0 = _with_bias(A0, fmpq(1, 2 ** 40))
    moved = network(g.__class__(g.name, Network((moved_A0,) + body.nodes[1:]), g.spec, g.params))
    cert = _certify(thm, params, target, moved)
    assert cert["verdict"] in ("INCONCLUSIVE", "VIOLATED")
