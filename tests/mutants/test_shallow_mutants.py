"""Mutants of the shallow-networks entries (shallow-*): proofs/shallow_networks/."""

from __future__ import annotations

import pytest
from flint import fmpq

from certify.certificate import certify_network
from proofs.shallow_networks import check, gram, leaky, roots, spectrum

from .harness import Mutant, assert_dies, assert_harmless, cases, instance
from .mutate import EPS, affine_sites, final_affine, nudge
from .statements import below_lower

CLOSED = ("shallow-gram-closed-form", {"kernel": "relu", "n": "8"})
SPECTRUM = ("shallow-gram-kernel-spectrum", {"n": "24"})
KAPPA = ("shallow-gram-condition-number", {"n": "24"})


def _first(net):
    return affine_sites(net)[0].node


KILLED = [
    Mutant("shallow-spectrum-bound-tightened", *SPECTRUM, "C = 2 replaced by half the certified "
           "lower bound of max_k |lambda_k - (n/2) mu_k|", restate=below_lower),
    Mutant("shallow-kappa-bound-tightened", *KAPPA, "kappa >= n^3 replaced by a bound below the "
           "certified n^3/kappa", restate=below_lower),
    Mutant("shallow-closed-form-input-weight", *CLOSED, "neuron 1's input weight 1 x (1+2^-40): "
           "not a feature the kernels cover, refused",
           mutate=lambda i: nudge(i.net, _first(i.net), "W", 0, 0, relative=True)),
]

HARMLESS = [
    Mutant("shallow-closed-form-bias", *CLOSED, "neuron 1's bias +2^-40",
           mutate=lambda i: nudge(i.net, _first(i.net), "b", 0),
           harmless="the identity is between two exact routes over the same features: both move "
                    "with the bias, and the closed form is the true integral at every breakpoint"),
    Mutant("shallow-spectrum-bias", *SPECTRUM, "neuron 2's bias +2^-40",
           mutate=lambda i: nudge(i.net, _first(i.net), "b", 1),
           harmless="a 2^-40 move is o(1/n): the biases stay quasi-even and the deviations move "
                    "by about 2^-40, far inside C = 2 (the enclosures are of the moved matrix)"),
    Mutant("shallow-spectrum-output-weight", *SPECTRUM, "output weight +2^-40",
           mutate=lambda i: nudge(i.net, final_affine(i.net), "W", 0, 0),
           harmless="the Gram matrix is that of the hidden features; the output layer is not "
                    "part of the claim"),
]


@pytest.mark.parametrize("m", cases(KILLED))
def test_mutant_dies(m):
    assert_dies(m)


@pytest.mark.parametrize("m", cases(HARMLESS))
def test_harmless_mutant_holds(m):
    assert_harmless(m)


def _recertify(inst):
    """Certify the unchanged network again (the baseline was certified before the patch)."""
    return certify_network(inst.thm, inst.params, inst.target, inst.net, inst.builder)


def test_one_gram_entry_moved_by_2_to_the_minus_40_is_violated(monkeypatch):
    inst = instance(*CLOSED)
    original = gram.closed_form_gram

    def moved(f):
        G = original(f)
        G[2, 5] = G[2, 5] + EPS
        return G

    monkeypatch.setattr(gram, "closed_form_gram", moved)
    cert = _recertify(inst)
    assert cert["verdict"] == "VIOLATED" and cert["witnesses"][0]["error"] == str(EPS)


def test_a_shifted_root_interval_does_not_hold(monkeypatch):
    inst = instance("shallow-lemma1-roots", {"k_max": "12"})
    original = roots.stated_interval

    def shifted(k):
        lo, hi, s = original(k)
        return (lo + fmpq(1, 16), hi + fmpq(1, 16), s) if k == 9 else (lo, hi, s)

    monkeypatch.setattr(roots, "stated_interval", shifted)
    cert = _recertify(inst)
    assert cert["verdict"] == "VIOLATED" and cert["witnesses"][0]["x"] == ["9"]


def test_an_interval_shifted_by_a_hair_is_not_held(monkeypatch):
    """The root w_21 is within e^(-2w) ~ 1e-29 of its interval's left end (Corollary 2), so
    moving that end right by 2^-40 jumps over it."""
    inst = instance("shallow-lemma1-roots", {"k_max": "22"})
    original = roots.stated_interval

    def shifted(k):
        lo, hi, s = original(k)
        return (lo + EPS, hi, s) if k == 21 else (lo, hi, s)

    monkeypatch.setattr(roots, "stated_interval", shifted)
    assert _recertify(inst)["verdict"] != "HOLDS"


def test_an_inertia_count_off_by_one_does_not_hold(monkeypatch):
    inst = instance(*SPECTRUM)
    original = spectrum.count_below
    monkeypatch.setattr(spectrum, "count_below", lambda pc, s, prec=256: original(pc, s, prec) + 1)
    try:
        verdict = _recertify(inst)["verdict"]
    except ArithmeticError:
        verdict = "REFUSED"
    assert verdict != "HOLDS"


def test_a_raised_lower_end_of_corollary42_does_not_hold(monkeypatch):
    inst = instance("shallow-leaky-leading-eigenvalue", {"points": "4"})
    monkeypatch.setattr(leaky, "LOWER", leaky.LOWER * 2)
    cert = _recertify(inst)
    assert cert["verdict"] == "VIOLATED"


def test_the_erratum_witness_is_the_last_bias():
    """Moving b_n = 1 down by 2^-40 removes the zero row: the matrix is then nonsingular."""
    from certify.registry import default_registry
    thm = default_registry().get("shallow-gram-experiments-grid-printed")
    params = thm.parse_params({"n": "10"})
    net = thm.builder()(params, None)
    moved = nudge(net, _first(net), "b", 9)
    report = check.method_gram_rank(thm, params, None, moved)
    assert report.upper == 0 and not report.witnesses
