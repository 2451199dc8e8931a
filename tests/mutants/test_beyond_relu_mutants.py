"""Mutants of the beyond-ReLU emulations (zlz-relu-emulation*, zlz-thm*, zlz-lemma*, zlz-cor*):
proofs/beyond_relu/build.py."""

from __future__ import annotations

import dataclasses

import pytest

from constructive.activations import lookup
from constructive.ir import Gadget

from .harness import Mutant, assert_dies, assert_harmless, cases
from .mutate import (EPS, change_one_copy, final_affine, nudge, parallels, replace_gadget_body, scale_affine,
                     scale_output, shift_last_bias, sites, substitute, swap_all_activations)
from .statements import below_lower

EMUL3 = ("zlz-relu-emulation-3n2l", {})  # sigmoid, S-shaped two-layer (a3) gadget
EMUL6 = ("zlz-relu-emulation-6n2l", {})  # sigmoid, v1 six-neuron (a3v1) gadget
KINK = ("zlz-thm7-kink-class-emulation", {})  # leaky ReLU, exact kink0 gadget
A2 = ("zlz-thm8-a2-emulation-2n", {})
A2TILDE = ("zlz-thm9-a2tilde-emulation-1n", {})
DERIV = ("zlz-thm6-derivative-emulation", {})
IDENT = ("zlz-lemma15-identity-gadget", {})
PROD3 = ("zlz-lemma16-product-3neuron", {})
PROD6 = ("zlz-v1-lemma71-product-6neuron", {})
TABLE2 = ("zlz-table2-single-neuron-band", {"constant": "C4"})


def gadget_of(net):
    """The first emulation gadget (every copy of a layer shares one gadget object)."""
    return next(s.node for s in sites(net) if isinstance(s.node, Gadget))


def in_gadget(change):
    """``change`` applied to the body of the emulation gadget (every copy: they share it)."""
    return lambda i: replace_gadget_body(i.net, gadget_of(i.net), change)


def _product_weight(body):
    # the a3 gadget's last layer c·(1, −1, −1) + β: c is ~10^10, so a relative 2^-40 move of one
    # entry shifts the output by ~c·ρ(x0)·2^-40 ≈ 10^-2, ten times eps
    return nudge(body, final_affine(body), "W", 0, 0, relative=True)


def _one_copy(i):
    """Only the third gadget of the second gadget layer gets a different body."""
    par = parallels(i.net)[1]
    return change_one_copy(i.net, par, 2, lambda part: replace_gadget_body(
        part, gadget_of(part), lambda b: shift_last_bias(b, EPS)))


def _row_restated(constant, **changes):
    """The theorem with one row of its Table 2 constants restated (the rest kept)."""
    def restate(i):
        rows = {**i.thm.claim["constants"]}
        rows[constant] = {**rows[constant], **changes}
        return dataclasses.replace(i.thm, claim={**i.thm.claim, "constants": rows})
    return restate


def _all_product_outputs(i):
    """All three output weights c·(1, −1, −1) × (1+2^-40), β kept: the papers' shape is kept,
    but β no longer cancels c·ϱ(x0): the output moves by ≈ 2^-40·c·ϱ(x0) ≈ 10^-4 ≫ eps."""
    out = final_affine(i.net)
    return substitute(i.net, out, scale_affine(out, 1 + EPS, bias=False))


KILLED = [
    Mutant("emul3-product-weight", *EMUL3, "a3 gadget (spec kept): one product output weight c × "
           "(1+2^-40)", mutate=in_gadget(_product_weight)),
    Mutant("emul3-one-gadget-copy", *EMUL3, "one of the 8 gadgets of layer 2 (spec kept): last "
           "bias +2^-40", mutate=_one_copy),
    Mutant("emul3-relu-affine", *EMUL3, "the emulated ReLU network's second affine map: a "
           "weight +2^-40", mutate=lambda i: nudge(i.net, i.net.nodes[2], "W", 0, 0)),
    Mutant("emul6-sigmoid-to-tanh", *EMUL6, "a3v1 gadget: every sigmoid → tanh",
           mutate=in_gadget(lambda b: swap_all_activations(b, lookup("tanh")))),
    Mutant("kink-output-bias", *KINK, "kink0 gadget (spec kept): output bias +2^-40",
           mutate=in_gadget(lambda b: shift_last_bias(b, EPS))),
    Mutant("a2-bound-tightened", *A2, "bound eps replaced by half the certified lower bound",
           restate=below_lower),
    Mutant("a2tilde-output-scaled", *A2TILDE, "the ϱ-network's output layer × (1+2^-40)",
           mutate=lambda i: scale_output(i.net, 1 + EPS)),
    Mutant("deriv-gadget-weight", *DERIV, "derivative gadget (spec kept): a difference weight "
           "× (1+2^-40)",
           mutate=in_gadget(lambda b: nudge(b, final_affine(b), "W", 0, 0, relative=True))),
    Mutant("ident-sigmoid-to-tanh", *IDENT, "Lemma 15 gadget: sigmoid → tanh (weights kept)",
           mutate=lambda i: swap_all_activations(i.net, lookup("tanh"))),
    Mutant("prod3-one-output-weight", *PROD3, "Lemma 16: one output weight × (1+2^-40)",
           mutate=lambda i: nudge(i.net, final_affine(i.net), "W", 0, 0, relative=True)),
    Mutant("prod6-sigmoid-to-softsign", *PROD6, "v1 Lemma 7.1: sigmoid → softsign (weights kept)",
           mutate=lambda i: swap_all_activations(i.net, lookup("softsign"))),
    Mutant("prod3-all-output-weights", *PROD3, "Lemma 16: all three output weights × (1+2^-40) "
           "(the papers' shape kept, bias β kept)", mutate=_all_product_outputs),
    Mutant("prod3-bound-tightened", *PROD3, "bound eps replaced by half the certified lower bound",
           restate=below_lower),
    Mutant("table2-printed-moved", *TABLE2, "C4 printed 0.2779 to 4 digits instead of 0.278 "
           "(C4 = 0.27846…, 11 half-units off)", restate=_row_restated("C4", printed="0.2779", digits=4)),
    Mutant("table2-sign-flipped", "zlz-table2-single-neuron-band", {"constant": "C7tilde"},
           "C7tilde's row with sign +1 (sup g = C7 = 0.131 instead of sup −g = 0.265)",
           restate=_row_restated("C7tilde", sign=1)),
]


HARMLESS = [
    Mutant("table2-neuron-weight", *TABLE2, "C4's single neuron: input weight × (1+2^-40)",
           mutate=lambda i: nudge(i.net, i.net.nodes[0], "W", 0, 0, relative=True),
           harmless="the constant is a property of ϱ itself: the certifier and the kernel both "
                    "bound sup(ReLU − ϱ) from the statement's row (the kernel builds its own "
                    "neuron), and the network enters only the claims width 1 and depth 1, "
                    "which the mutant keeps"),
    Mutant("ident-output-weight", *IDENT, "Lemma 15: output weight a × (1+2^-40)",
           mutate=lambda i: nudge(i.net, final_affine(i.net), "W", 0, 0, relative=True),
           harmless="identity_bound reads a, δ, x1, b from the network and bounds |g − x| by a "
                    "Taylor expansion in arb, so its upper bound is rigorous for the mutant; the "
                    "offset term |aϱ(x1) + b| grows by 2^-40·|a|·ϱ(x1) = 2^-40·4096 ≈ 4·10^-9 "
                    "and the slope term by 2^-40·M, so the true error stays ≈ 3.5·10^-7 < eps"),
]


@pytest.mark.parametrize("m", cases(KILLED))
def test_mutant_dies(m):
    assert_dies(m)


@pytest.mark.parametrize("m", cases(HARMLESS))
def test_harmless_mutant_holds(m):
    assert_harmless(m)
