"""The checker kernel re-derives the NestNet bounds from the statement and the stored network:
the bit sums (Lemmas D.2, D.4), Lemma D.6 and Proposition B.2 on the statement's points
(claim.pieces over the instance's θ / y), Theorem 2.1 and Corollary 2.2 (p < ∞) on the grid of
cell ends (grid-lp); a stored weight moved by 2^-40 where it matters is refused."""

from __future__ import annotations

import copy
import itertools

import pytest
from flint import fmpq

from certify.certificate import content_hash
from certify.evidence import stored_network
from certify.kernel import check_certificate_data
from certify.kernel import evidence as kernel_evidence
from certify.kernel.claims import statement
from certify.kernel.stored import decode
from proofs.nestnet import gadgets as G
from tests.kernel_certs import cert, moved

EPS = fmpq(1, 2 ** 40)
PIECES = ["nestnet-bitsum", "nestnet-bitsum-d4", "nestnet-lemma-d6", "nestnet-point-fit"]
GRID_LP = ["nestnet-height-s-rate", "nestnet-holder-rate"]


_cert, _moved = cert, moved


@pytest.mark.parametrize("tid", PIECES + GRID_LP)
def test_kernel_rederives_the_bound_at_the_default_instance(tid):
    cert = _cert(tid)
    report = check_certificate_data(cert)
    assert report.ok, report.problems
    assert report.verdict == cert["verdict"] == "HOLDS"
    assert report.upper is not None
    assert not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("tid", ["nestnet-bitsum", "nestnet-bitsum-d4", "nestnet-lemma-d6"])
def test_an_output_weight_moved_by_2_to_the_minus_40_breaks_the_exact_claim(tid):
    cert = _cert(tid)
    report = check_certificate_data(_moved(cert, -1, "W", EPS))
    assert not report.ok and report.verdict != "HOLDS"
    assert report.upper is not None and report.upper > 0


@pytest.mark.parametrize("sign", [1, -1])
def test_point_fit_error_is_rederived_exactly(sign):
    """|φ(j) − y_j| peaks at 15/128 (bound 1/8): an output bias moved by ±2^-40 moves that
    maximum, and the kernel's exact value no longer meets the stored one."""
    cert = _cert("nestnet-point-fit")
    report = check_certificate_data(cert)
    assert report.upper == report.lower and report.upper.contains(fmpq(15, 128))
    forged = check_certificate_data(_moved(cert, -1, "b", sign * EPS))
    assert not forged.ok


def test_printed_point_fit_stays_violated_with_the_kernel_agreeing():
    cert = _cert("nestnet-point-fit-printed")
    report = check_certificate_data(cert)
    assert cert["verdict"] == report.verdict == "VIOLATED" and report.ok, report.problems
    assert report.lower > fmpq(1, 8)


@pytest.mark.parametrize("tid,params,harmless", [("nestnet-height-s-rate", {}, True),
                                                 pytest.param("nestnet-holder-rate", {"n": "8"},
                                                              False, marks=pytest.mark.slow)])
def test_a_moved_input_weight_puts_kinks_inside_the_cells(tid, params, harmless):
    """The step's input weight K moved by −2^-40: every cell start becomes a kink inside a cell,
    the cells are no longer affine, and the kernel bounds φ there by following it exactly across
    the kink (the network cut where one neuron is inexact).  Its L^p bound grows: below the claim
    at the default height-s instance (harmless: the sliver has measure ~2^-40), above it for the
    Hölder target at n = 8, where the kernel refuses the HOLDS."""
    cert = _cert(tid, **params)
    before = check_certificate_data(cert)
    assert before.ok
    report = check_certificate_data(_moved(cert, 0, "W", -EPS))
    assert report.upper > before.upper
    if harmless:
        assert report.ok and report.verdict == "HOLDS"
    else:
        assert not report.ok and report.verdict != "HOLDS"


def test_non_default_instances():
    for tid, params in [("nestnet-bitsum", {"n": "2", "s": "3"}), ("nestnet-lemma-d6", {"n": "1"}),
                        ("nestnet-point-fit", {"J": "5"}), ("nestnet-height-s-rate", {"d": "2"}),
                        ("nestnet-height-s-rate", {"p": "1"})]:
        cert = _cert(tid, **params)
        report = check_certificate_data(cert)
        assert report.ok and report.upper is not None and report.verdict == "HOLDS", (tid, params)


def _boxes(tid: str, cert: dict) -> list:
    stmt = statement(tid)
    env = stmt.values(cert["params"], fmpq(1), fmpq(1))
    kernel_evidence.with_instance(stmt, cert, env)
    return kernel_evidence.statement_boxes(stmt, env, cert["network"]["layers"]["input_dim"])


@pytest.mark.parametrize("n", [1, 3, 6])
def test_lemma_d6_statement_lists_every_point_and_sum(n):
    """The eleven families of the claim are the (n + 1) 2^n points (bin0.θ, k) and Σ_{ℓ≤k} θ_ℓ."""
    stmt = statement("nestnet-lemma-d6")
    env = stmt.values({"n": str(n)}, fmpq(1), fmpq(1))
    got = sorted((tuple(lo), tuple(v)) for lo, hi, v in kernel_evidence.statement_boxes(stmt, env, 2)
                 if lo == hi)
    want = sorted(((G.bin0(bits), fmpq(k)), (fmpq(sum(bits[:k])),))
                  for bits in itertools.product((0, 1), repeat=n) for k in range(n + 1))
    assert got == want


def test_bitsum_statement_reads_the_instance_bits():
    cert = _cert("nestnet-bitsum")
    theta = cert["details"]["theta"]
    boxes = _boxes("nestnet-bitsum", cert)
    assert [(lo, v) for lo, _, v in boxes] == \
        [([fmpq(k) + G.bin0(theta)], [fmpq(sum(theta[:k]))]) for k in range(len(theta) + 1)]


def test_clip_keeps_its_range_under_interval_propagation():
    """min{σ(t), M} = M − σ(M − σ(t)): plain interval arithmetic gives [0, M] on any interval."""
    M = fmpq(5, 4)
    layers, _ = stored_network(G.clip_gadget(M))
    net = decode(layers)
    assert net.interval([(fmpq(-10 ** 9), fmpq(10 ** 9))]) == [(fmpq(0), M)]


# the nesting, stored level by level and measured by the kernel ------------------------------
NESTED = ("nestnet-height-s-rate", {"s": "2", "n": "3"})
COUNTS = ("height", "nest_params", "outer_params", "activations")


def _forged(c: dict, change) -> dict:
    forged = copy.deepcopy(c)
    change(forged["network"]["layers"])
    forged["hash"] = content_hash(forged)
    return forged


@pytest.mark.parametrize("tid,params", [("nestnet-floor-c2", {}), ("nestnet-floor-c3", {}),
                                        ("nestnet-point-fit", {"s": "2"}), NESTED])
def test_the_kernel_measures_the_levels(tid, params):
    """Height, width, depth and the paper's parameter counts come from the network as stored
    (each distinct activation network once), and agree with the method's."""
    c = _cert(tid, **params)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert any("levels" in line for line in report.rederived)
    claimed = {claim["name"] for claim in c["architecture"]["claims"]}
    assert not any(f"measured {name} " in line for line in report.trusted for name in claimed)
    stored = c["network"]["layers"]
    assert len(stored.get("activations", [])) == c["architecture"]["measured"]["activations"]


def test_the_kernel_flattens_the_levels_as_the_certifier_does():
    from certify.certificate import make_target_for
    from certify.registry import default_registry

    thm = default_registry().get(NESTED[0])
    p = thm.parse_params(NESTED[1])
    net = thm.builder()(p, make_target_for(thm, p, None))
    levels, flat = decode(stored_network(net, structured=True)[0]), decode(stored_network(net)[0])
    assert levels.levels["height"] == 2 and flat.levels is None
    assert [(l.W, l.b, l.acts) for l in levels.layers] == [(l.W, l.b, l.acts) for l in flat.layers]


def _duplicate_first_activation(n: dict) -> None:
    """A copy of activation network 0 appended, and the first neuron that uses it pointed at the
    copy: the same function, one more distinct network to count."""
    n["activations"].append(copy.deepcopy(n["activations"][0]))
    new = f"net:{len(n['activations']) - 1}"
    for layer in n["layers"]:
        runs = layer.get("act", [])
        for k, (name, count) in enumerate(runs):
            if name == "net:0":
                runs[k:k + 1] = [[new, 1]] + ([["net:0", count - 1]] if count > 1 else [])
                return


@pytest.mark.parametrize("change,problem", [
    (_duplicate_first_activation, "nest_params"),
    (lambda n: n["activations"][0]["layers"][0]["act"].__setitem__(0, ["net:0", 1]), "activation runs"),
    (lambda n: n["layers"][0]["act"].__setitem__(0, ["net:9", n["layers"][0]["act"][0][1]]), "activation runs"),
    (lambda n: n.update(repeat={"start": 0, "layers": 1, "times": 2}), "not both"),
    (lambda n: (n["activations"][0].update(input_dim=2),
                n["activations"][0]["layers"][0].update(cols=2)), "R to R")])
def test_a_forged_level_is_refused(change, problem):
    """A network that counts differently than measured, refers to itself or to a network not
    stored, claims both structures, or nests a network that is not one-input."""
    report = check_certificate_data(_forged(_cert(*NESTED[:1], **NESTED[1]), change))
    assert not report.ok and any(problem in p for p in report.problems), report.problems


def test_a_measured_height_edited_is_refused():
    c = copy.deepcopy(_cert(NESTED[0], **NESTED[1]))
    c["architecture"]["measured"]["height"] = 1
    c["hash"] = content_hash(c)
    report = check_certificate_data(c)
    assert not report.ok and any("height" in p for p in report.problems)
