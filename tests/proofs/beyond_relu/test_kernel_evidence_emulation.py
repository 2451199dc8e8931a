"""The checker kernel re-derives the ReLU emulations (check ``emulation-sup``): the stored
ρ-network must be the evidence's ReLU network with each neuron replaced by the evidence's gadget
(composed by the kernel itself), the gadget's band against ReLU is bounded by Taylor forms of
order 8 on [−M, M] and propagated through the ReLU network (Proposition 10)."""

from __future__ import annotations

import copy

import pytest
from flint import arb, ctx, fmpq

from certify.certificate import content_hash
from certify.kernel import check_certificate_data, claims, emulation, smooth
from certify.kernel.check import PREC
from certify.kernel.stored import decode
from tests.kernel_certs import cert, moved

EMULATIONS = ["zlz-relu-emulation-3n2l", "zlz-relu-emulation-6n2l", "zlz-thm7-kink-class-emulation",
              "zlz-thm7-kink-class-emulation-k1", "zlz-thm8-a2-emulation-2n",
              "zlz-thm9-a2tilde-emulation-1n", "zlz-cor4-cpwl-architecture",
              "zlz-v1-cor14-cpwl-architecture", "zlz-thm6-derivative-emulation"]


def _forged(c: dict, edit) -> dict:
    forged = copy.deepcopy(c)
    edit(forged)
    forged["hash"] = content_hash(forged)
    return forged


@pytest.mark.parametrize("tid", EMULATIONS)
def test_kernel_rederives_the_emulation_bound(tid):
    c = cert(tid)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)
    # the default ReLU network is the statement's own (claim.relu); the corollaries' stand-ins
    # are the evidence's
    named = "relu" in claims.load_statements()[tid].claim
    assert named == (tid not in ("zlz-cor4-cpwl-architecture", "zlz-v1-cor14-cpwl-architecture"))
    assert any("affine maps are the ones the evidence stores" in t for t in report.trusted) != named
    assert report.lower <= report.upper < fmpq(1, 1000)


def test_the_statements_default_network_is_the_builders():
    from certify.evidence import stored_network
    from proofs.beyond_relu.source import default_relu_network, relu_net_from_layers
    stored, _ = stored_network(relu_net_from_layers(default_relu_network()))
    assert claims.named_networks()["zlz-default-relu"] == stored


def test_a_network_file_is_the_evidences_to_trust(tmp_path):
    """With --network, the emulated network is the user's: the kernel re-derives the bound
    against it and says that it took the network as the evidence stores it."""
    import json

    from certify.certificate import run_theorem
    from proofs.beyond_relu.check import using_network
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"layers": [{"W": [[1, -1], [1, 1]], "b": [0, "1/2"]},
                                           {"W": [[1, -1]], "b": [0]}]}))
    with using_network(str(path)):
        c = json.loads(json.dumps(run_theorem("zlz-relu-emulation-3n2l", {"rho": "tanh"})))
    report = check_certificate_data(c)
    assert report.ok and report.verdict == "HOLDS", report.problems
    assert any("affine maps are the ones the evidence stores" in t for t in report.trusted)


@pytest.mark.parametrize("params", [{"rho": "tanh", "eps": "1/100000"}, {"rho": "arctan", "A": "5"},
                                    {"rho": "softplus"}, {"rho": "gelu"}])
def test_other_activations_and_instances(params):
    c = cert("zlz-relu-emulation-3n2l", **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("layer", [0, 1, 2, 6])
def test_a_weight_moved_by_2_to_the_minus_40_leaves_no_bound(layer):
    """Any stored weight moved: the network is no longer the ReLU network with its gadgets, so
    the kernel shows no upper bound and refuses the stored HOLDS."""
    c = cert("zlz-relu-emulation-3n2l")
    report = check_certificate_data(moved(c, layer, "W", fmpq(1, 2 ** 40)))
    assert not report.ok and report.verdict == "INCONCLUSIVE"


def test_the_emulated_network_moved_with_the_stored_one_is_checked_against_each_other():
    """The ReLU network's first weight moved in the evidence only: the stored ρ-network no
    longer emulates it (no bound); the ReLU network is what the kernel trusts by name only."""
    c = cert("zlz-relu-emulation-3n2l")

    def edit(f):
        entry = f["evidence"]["relu"]["layers"][0]["W"][0]
        entry[-1] = str(fmpq(*map(int, (entry[-1] + "/1").split("/")[:2])) + fmpq(1, 8))
    report = check_certificate_data(_forged(c, edit))
    assert not report.ok and report.verdict == "INCONCLUSIVE"


def test_a_claim_tightened_below_the_band_is_refused(monkeypatch):
    from certify.kernel import claims
    tid = "zlz-relu-emulation-3n2l"
    stmt = claims.load_statements()[tid]
    claim = dict(stmt.claim, bound="eps/1000")
    monkeypatch.setitem(claims.load_statements(), tid, type(stmt)(**{**vars(stmt), "claim": claim}))
    report = check_certificate_data(cert(tid))
    assert not report.ok and report.verdict != "HOLDS"


def test_the_band_is_the_gadget_against_relu():
    """The sigmoid gadget's band on [−M, M] from the Taylor forms lies above its exact error at
    sample points (evaluated as a series at each point) and below the certifier's τ."""
    c = cert("zlz-relu-emulation-3n2l")
    relu, gadget, M, aim = emulation.parts(c["evidence"])
    with ctx.workprec(PREC):  # the kernel's working precision
        tau, _ = emulation.band(gadget, M, aim)
        for t in [fmpq(k, 64) * M for k in range(-64, 65, 7)] + [fmpq(1, 10 ** 5), fmpq(-1, 10 ** 5)]:
            value = smooth.series(gadget.layers, t, t, 1).coeffs()[0]
            assert abs(value - arb(max(t, fmpq(0)))) <= tau
        assert tau <= arb(aim)


def test_a_gadget_with_its_kink_inside_is_cut_there():
    """ELU's gadget kinks at −2^-17 (its first layer t/2^21 + 2^-38): the kernel cuts [−M, 0]
    there first, so no interval straddles the kink."""
    c = cert("zlz-thm7-kink-class-emulation-k1")
    gadget = decode(c["evidence"]["gadget"])
    first = gadget.layers[0]
    assert any(-first.b[i, 0] / first.W[i, 0] == -fmpq(1, 2 ** 17) for i in range(first.rows) if first.W[i, 0])
    report = check_certificate_data(c)
    assert report.ok and report.upper is not None


@pytest.mark.parametrize("params", [{"k": "2"}, {"rho": "arctan", "k": "2"}, {"rho": "softplus", "A": "1"}])
def test_derivative_targets_are_rederived(params):
    """Theorem 6: the emulated network has ρ^(k) neurons; the band is taken against ρ's series
    differentiated k times and the errors propagate with Lip = sup |ρ^(k+1)| on [−M, M]."""
    c = cert("zlz-thm6-derivative-emulation", **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)


def test_a_derivative_target_of_another_order_is_refused():
    """The evidence's order k changed to 2 for the k = 1 gadget: its band against ρ'' is of
    order 1, far above eps: the stored HOLDS is refused."""
    c = _forged(cert("zlz-thm6-derivative-emulation"), lambda f: f["evidence"]["target"].__setitem__("order", 2))
    report = check_certificate_data(c)
    assert not report.ok and report.verdict == "INCONCLUSIVE" and report.upper > 1


@pytest.mark.parametrize("tid", ["zlz-relu-emulation-3n2l", "zlz-thm9-a2tilde-emulation-1n"])
def test_the_size_claims_are_measured_against_the_emulated_network(tid):
    """width ≤ kN, depth ≤ kL (and Theorem 9's exact width N, depth L): the ρ-network's width
    and depth and the evidence's ReLU network's N and L, all measured by the kernel."""
    c = cert(tid)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert any("emulated ReLU network" in line for line in report.rederived)
    assert not any("measured" in line for line in report.trusted)


@pytest.mark.parametrize("key,value", [("relu_width", 4), ("width_factor", 1), ("depth", 2)])
def test_an_edited_size_is_refused(key, value):
    c = copy.deepcopy(cert("zlz-relu-emulation-3n2l"))
    c["architecture"]["measured"][key] = value
    c["hash"] = content_hash(c)
    report = check_certificate_data(c)
    assert not report.ok and any(key in p for p in report.problems)


COROLLARIES = ["zlz-cor5-composition-architecture", "zlz-v1-cor15-composition-architecture"]


@pytest.mark.parametrize("tid", COROLLARIES)
def test_an_emulation_over_the_nonzero_limit_stores_its_gadget_once(tid):
    """Corollaries 5 and 15: the plain layers have over 300 000 non-zero parameters, so the
    network is stored as the ReLU network's affine maps with one nested activation network, the
    gadget; the kernel flattens it into exactly the layers it composes itself and re-derives
    the bound."""
    c = cert(tid)
    stored = c["network"]["layers"]
    assert len(stored["activations"]) == 1
    assert {run[0] for layer in stored["layers"][:-1] for run in layer["act"]} == {"net:0"}
    relu, gadget, _, _ = emulation.parts(c["evidence"])
    assert emulation.same(decode(stored), emulation.expected_layers(relu, gadget))
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("where", ["top", "gadget"])
def test_the_stored_gadget_or_top_level_moved_leaves_no_bound(where):
    """A weight of the top level, or of the gadget stored once, moved by 2^-40: the flattened
    network is no longer the emulation, so HOLDS is refused."""
    c = cert("zlz-cor5-composition-architecture")
    if where == "top":
        forged = moved(c, 0, "W", fmpq(1, 2 ** 40))
    else:
        def edit(f):
            entry = f["network"]["layers"]["activations"][0]["layers"][0]["W"][0]
            entry[-1] = str(fmpq(*map(int, (entry[-1] + "/1").split("/")[:2])) + fmpq(1, 2 ** 40))
        forged = _forged(c, edit)
    report = check_certificate_data(forged)
    assert not report.ok and report.verdict == "INCONCLUSIVE"


@pytest.mark.parametrize("rho", ["relu2", "selu", "celu", "mish", "swish", "dsilu", "srs"])
def test_the_other_activations_of_the_paper_are_rederived(rho):
    c = cert("zlz-relu-emulation-3n2l", rho=rho)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)


KERNEL_NAMES = {"mish": ("mish", {}), "dsilu": ("dsilu", {}), "xarctan": ("xarctan", {}),
                "relu2": ("relu2", {}), "selu": ("selu", {}), "celu:1/2": ("celu", {"alpha": "1/2"}),
                "swish:3/2": ("swish", {"beta": "3/2"}), "srs:5:3": ("srs", {"alpha": "5", "beta": "3"})}


@pytest.mark.parametrize("name", sorted(KERNEL_NAMES))
def test_the_kernels_formulas_are_the_catalogues(name):
    """Each form the kernel writes for an activation (both sides of 0 for the smooth ones, the
    side a point is on for the one-sided ones) encloses the catalogue's value there: the kernel's
    formulas are its own, so they are compared, not shared."""
    from constructive.activations.catalogue import make_activation

    act = make_activation(KERNEL_NAMES[name][0], **KERNEL_NAMES[name][1])
    with ctx.workprec(PREC):
        for s in [fmpq(-7, 2), fmpq(-1, 3), fmpq(1, 5), fmpq(5, 2)]:
            want = act.ball(arb(s))
            forms = smooth.smooth_forms(name)
            got = [f(arb(s)) for f in forms] if forms else [smooth._derivatives(name, arb(s))[0]]
            assert all(g.overlaps(want) and g.rad() < 1e-30 for g in got), (name, s, got, want)


def test_an_activation_relabelled_under_its_network_is_not_shown():
    """The Mish certificate with every "mish" renamed dSiLU (its parameter, network and gadget):
    the band, now computed for dSiLU, carries a pre-activation out of [−M, M], so the kernel
    shows no bound (the stored one is listed as trusted, never re-derived), and --rebuild, which
    certifies dSiLU's own network, refuses the file."""
    import json

    from certify.checker import check_data

    c = cert("zlz-relu-emulation-3n2l", rho="mish")
    forged = json.loads(json.dumps(c).replace('"mish"', '"dsilu"'))
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert not report.ok or any("error bounds" in t for t in report.trusted)
    assert not check_data(forged, rebuild=True).ok


@pytest.mark.parametrize("rho", ["mish", "srs"])
def test_a_weight_moved_under_a_new_activation_leaves_no_bound(rho):
    c = cert("zlz-relu-emulation-3n2l", rho=rho)
    report = check_certificate_data(moved(c, 1, "W", fmpq(1, 2 ** 40)))
    assert not report.ok and report.verdict != "HOLDS"
