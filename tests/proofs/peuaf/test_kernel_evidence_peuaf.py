"""The checker kernel re-derives PEUAF Theorem 2 on the half intervals (check ``sigma-sup``):
PEUAF_w neurons are stored with their frequency and followed exactly per cell; the printed
erratum stays VIOLATED with the kernel's own lower bound; a moved output is refused."""

from __future__ import annotations

import copy

import pytest
from flint import fmpq

from certify.certificate import content_hash
from certify.kernel import check_certificate_data
from tests.kernel_certs import cert, moved


@pytest.mark.parametrize("tid,params,verdict", [("peuaf-1d-half", {}, "HOLDS"),
                                                ("peuaf-1d-half", {"K": "32", "eps": "1/10"}, "HOLDS"),
                                                ("peuaf-1d-half-printed", {}, "VIOLATED")])
def test_kernel_rederives_the_half_interval_error(tid, params, verdict):
    c = cert(tid, **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == verdict, report.problems
    assert not any("error bounds" in t for t in report.trusted)
    eps = fmpq(*map(int, (c["error"]["bound"] + "/1").split("/")[:2]))
    assert (report.upper < eps) if verdict == "HOLDS" else (report.lower > eps)


def test_the_frequency_is_part_of_the_stored_activation():
    c = cert("peuaf-1d-half")
    names = {run[0] for layer in c["network"]["layers"]["layers"][:-1] for run in layer["act"]}
    assert any(n.startswith("peuaf:") for n in names)
    # the frequency changed: φ is no longer constant on I_k and its huge σ argument sweeps more
    # pieces than the kernel follows; enclosed by σ's range, φ's values on some cell all lie
    # more than eps away from f's, which shows the claim false
    forged = copy.deepcopy(c)
    for layer in forged["network"]["layers"]["layers"][:-1]:
        layer["act"] = [["peuaf:3/7" if n.startswith("peuaf:") else n, k] for n, k in layer["act"]]
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert not report.ok and report.verdict == "VIOLATED" and report.lower > fmpq(1, 5)


@pytest.mark.parametrize("bad", ["peuaf:0", "peuaf:-1/2", "peuaf:x", "peuaf:"])
def test_a_malformed_frequency_is_refused(bad):
    c = cert("peuaf-1d-half")
    forged = copy.deepcopy(c)
    layer = next(l for l in forged["network"]["layers"]["layers"][:-1]
                 if any(n.startswith("peuaf:") for n, _ in l["act"]))
    layer["act"] = [[bad if n.startswith("peuaf:") else n, k] for n, k in layer["act"]]
    forged["hash"] = content_hash(forged)
    assert not check_certificate_data(forged).ok


def test_an_output_moved_past_eps_is_refused():
    c = cert("peuaf-1d-half")
    last = len(c["network"]["layers"]["layers"]) - 1
    report = check_certificate_data(moved(c, last, "b", fmpq(1, 5)))
    assert not report.ok and report.verdict == "VIOLATED"


# --- peuaf-def: the witness x -> PEUAF_w(x/w) is the triangle wave (check sigma-identity)


def _acts(c: dict, name: str) -> dict:
    forged = copy.deepcopy(c)
    forged["network"]["layers"]["layers"][0]["act"] = [[name, 1]]
    forged["hash"] = content_hash(forged)
    return forged


@pytest.mark.parametrize("params", [{}, {"w": "7/3", "periods": "9"}])
def test_kernel_rederives_the_triangle_wave_identity(params):
    c = cert("peuaf-def", **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert report.upper == 0 and not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("layer,key", [(0, "W"), (1, "W")])
def test_the_witness_moved_by_2_to_the_minus_40_is_refused(layer, key):
    report = check_certificate_data(moved(cert("peuaf-def"), layer, key, fmpq(1, 2 ** 40)))
    assert not report.ok and report.verdict == "VIOLATED" and report.lower > 0


def test_the_witness_with_another_frequency_is_refused():
    """PEUAF_1 in place of PEUAF_{1/2}: x -> PEUAF_1(2x) is the triangle wave of 2x."""
    report = check_certificate_data(_acts(cert("peuaf-def"), "peuaf:1"))
    assert not report.ok and report.verdict == "VIOLATED"


# --- peuaf-second-difference-product: |Γ_δ − xy| by Taylor forms (check smooth-sup), PEUAF_w
# followed as its softsign part, every pre-activation shown ≤ 0 on every box


@pytest.mark.parametrize("params", [{}, {"M": "7", "x0": "-3", "delta": "1/64", "w": "1000"},
                                    {"delta": "1/1000000", "M": "1000", "x0": "-1000"}])
def test_kernel_rederives_the_second_difference_bound(params):
    c = cert("peuaf-second-difference-product", **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)
    assert report.lower <= report.upper <= fmpq(*map(int, (c["error"]["bound"] + "/1").split("/")[:2]))


def test_an_output_weight_scaled_by_2_to_the_minus_10_is_refused():
    c = cert("peuaf-second-difference-product")
    report = check_certificate_data(moved(c, 1, "W", fmpq(40000, 2 ** 10)))
    assert not report.ok and report.verdict == "VIOLATED"


def test_relu_in_place_of_peuaf_is_followed_and_refused():
    """Every pre-activation is about −1, where ReLU is 0: Γ ≡ 0, |xy| reaches 1 > 1/20."""
    c = cert("peuaf-second-difference-product")
    forged = copy.deepcopy(c)
    forged["network"]["layers"]["layers"][0]["act"] = [["relu", 4]]
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert not report.ok and report.verdict == "VIOLATED"


def test_a_pre_activation_in_the_triangle_part_is_followed_and_refused():
    """A bias moved to +1/2: the argument is in the triangle part of PEUAF_w, linear on the
    unit piece it stays in, so that neuron's second difference vanishes and Γ is far from xy."""
    report = check_certificate_data(moved(cert("peuaf-second-difference-product"), 0, "b", fmpq(3, 2)))
    assert not report.ok and report.verdict == "VIOLATED"


@pytest.mark.parametrize("act", ["relu", "peuaf:1", "softsign"])
def test_a_kink_inside_the_boxes_is_bounded_by_intervals(act):
    """A bias moved to 1/100: ρ(1/100 + δx + δy) kinks on the line x + y = −1, in the boxes it meets;
    there φ is enclosed by interval arithmetic (no Taylor form across a kink), and the bound
    stays finite."""
    forged = moved(cert("peuaf-second-difference-product"), 0, "b", fmpq(101, 100))
    forged["network"]["layers"]["layers"][0]["act"] = [[act, 4]]
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert report.upper is not None and report.upper < 10 ** 6
    assert not report.ok and report.verdict == "VIOLATED"


def test_softsign_products_of_the_beyond_relu_paper_are_rederived():
    c = cert("zlz-lemma16-product-3neuron", rho="softsign")
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)


# --- Theorem 1's levels (check sigma-sup-levels): every level's network in the evidence


def test_kernel_rederives_every_level():
    c = cert("peuaf-super-expressive")
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)
    assert len(c["evidence"]["levels"]) == 3


def _level_edit(edit) -> dict:
    forged = copy.deepcopy(cert("peuaf-super-expressive"))
    edit(forged["evidence"]["levels"])
    forged["hash"] = content_hash(forged)
    return forged


def test_a_coarse_level_lifted_past_its_eps_is_refused():
    """Level 0 (eps_0 = 4 eps) with an output bias of 1/2: its error exceeds eps_0 on whole cells."""
    report = check_certificate_data(_level_edit(
        lambda levels: levels[0]["network"]["layers"][-1].__setitem__("b", [[0, "1/2"]])))
    assert not report.ok and report.verdict == "VIOLATED"


@pytest.mark.parametrize("edit", [lambda levels: levels.pop(0),
                                  lambda levels: levels.__setitem__(2, levels[1]),
                                  lambda levels: levels[0]["network"]["layers"].pop(1)])
def test_levels_that_do_not_fit_the_statement_are_refused(edit):
    """A level missing, the finest level not the stored network, a level of another depth."""
    assert not check_certificate_data(_level_edit(edit)).ok
