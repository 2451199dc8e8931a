"""Mutants of the PEUAF constructions (peuaf-*): proofs/peuaf/build.py."""

from __future__ import annotations

import pytest
from flint import fmpq

from constructive.activations import RELU
from constructive.activations.euaf import peuaf

from .harness import Mutant, assert_dies, assert_harmless, cases
from .mutate import (activation_sites, affine_sites, change_one_copy, final_affine, gadgets_named, nudge,
                     parallels, replace_gadget_body, scale_output, shift_last_bias, swap_activation)
from .statements import below_lower

GAMMA = ("peuaf-second-difference-product", {})
# abs is 1-Lipschitz: with K = 16 the oscillation hypothesis (< eps/2 at distance 1/K) holds
HALF = ("peuaf-1d-half", {"K": "16"})
HALF_TARGET = "abs"
UNIFORM = ("peuaf-1d", {})


def first(net, name):
    return gadgets_named(net, name)[0]


def _only_activation(net):
    return activation_sites(net)[0].node


def _copy1(gadget_name, change):
    """``change`` applied to the named gadget of copy 1 of the four-copy Theorem 3 sum only."""
    def mutate(i):
        par = parallels(i.net)[0]
        return change_one_copy(i.net, par, 0, lambda part: replace_gadget_body(
            part, first(part, gadget_name), change))
    return mutate


KILLED = [
    Mutant("peuaf-def-output-weight", "peuaf-def", {}, "PEUAF_w(x/w) probe: output weight +2^-40",
           mutate=lambda i: nudge(i.net, final_affine(i.net), "W", 0, 0)),
    Mutant("peuaf-def-activation-euaf", "peuaf-def", {}, "activation PEUAF_{1/2} → PEUAF_1 (= σ)",
           mutate=lambda i: swap_activation(i.net, _only_activation(i.net), peuaf(1))),
    Mutant("gamma-one-output-weight", *GAMMA, "Γ_δ: one output weight c × (1+2^-10)",
           mutate=lambda i: nudge(i.net, final_affine(i.net), "W", 0, 0, delta=fmpq(1, 2 ** 10),
                                  relative=True)),
    Mutant("gamma-bound-tightened", *GAMMA, "bound 10M³δ/(1−x0) replaced by half the certified "
           "lower bound", restate=below_lower),
    Mutant("peuaf-half-w0-relative", *HALF, "Thm 2: the large weight w0 × (1+2^-40)",
           mutate=lambda i: nudge(i.net, affine_sites(first(i.net, "peuaf-half").body)[2].node,
                                  "W", 0, 0, relative=True), target=HALF_TARGET),
    Mutant("peuaf-half-output-negated", *HALF, "Thm 2: output layer × (−1)",
           mutate=lambda i: scale_output(i.net, -1), target=HALF_TARGET),
    # (the same two moves by 2^-40 change the error by ~10^-9, inside the slack of eps = 1/10:
    # the checker kernel, which follows Γ_δ(φ_i, ψ̂) on the bad halves in φ_i, shows them HOLDS)
    Mutant("peuaf-uniform-gamma-copy", *UNIFORM, "Thm 3: copy 1's Γ_δ gadget (spec kept): "
           "first-layer weight × (1+2^-10)",
           mutate=_copy1("peuaf-gamma", lambda b: nudge(b, affine_sites(b)[0].node, "W", 0, 0,
                                                        delta=fmpq(1, 2 ** 10), relative=True))),
    Mutant("peuaf-uniform-psi-hat-copy", *UNIFORM, "Thm 3: copy 1's ψ̂ gadget (spec kept): last "
           "bias +1/4 (ψ̂ ≠ 0 on the bad halves)",
           mutate=_copy1("peuaf-psi-hat", lambda b: shift_last_bias(b, fmpq(1, 4)))),
    Mutant("peuaf-uniform-bound-tightened", *UNIFORM, "bound eps replaced by half the certified "
           "lower bound", restate=below_lower),
]

# Hole (c) "lower ≤ upper never checked": in HEAD 333f1a2 this came out HOLDS (upper = the
# softsign formula ≈ 0.03 ≤ 1/20 although the exact grid witness gives lower = 1, and compare()
# tests upper ≤ bound first); the working tree refuses it with a contradiction error.
KILLED += [
    Mutant("gamma-activation-relu", *GAMMA, "Γ_δ: activation PEUAF_1 → ReLU (weights kept): "
           "every pre-activation is ≈ −1, so Γ ≡ 0",
           mutate=lambda i: swap_activation(i.net, _only_activation(i.net), RELU)),
]
HOLES: list = []

HARMLESS = [
    Mutant("gamma-activation-other-w", *GAMMA, "Γ_δ: activation PEUAF_1 → PEUAF_{1/2}",
           mutate=lambda i: swap_activation(i.net, _only_activation(i.net), peuaf("1/2")),
           harmless="every pre-activation is x0 + δ(sx + ty) ∈ [−1.02, −0.98] on [−M, M]², where "
                    "all PEUAF_w equal the softsign t/(1−t): the network computes the same "
                    "function, so the claim holds as before"),
    Mutant("gamma-output-weight-tiny", *GAMMA, "Γ_δ: one output weight c × (1+2^-40)",
           mutate=lambda i: nudge(i.net, final_affine(i.net), "W", 0, 0, relative=True),
           harmless="c·2^-40 ≈ 4·10^-8 times |ρ| < 1 moves Γ by less than 10^-7, inside the "
                    "slack of the bound 1/20 over the error ≈ 0.0306; the certifier's bound counts "
                    "the moved weight, and the kernel's Taylor forms show the same"),
    Mutant("independence-probe-weight", "peuaf-analytic-independence", {"K": "5", "H": "500"},
           "Lemma 3 probe network: output weight +2^-40",
           mutate=lambda i: nudge(i.net, final_affine(i.net), "W", 0, 0),
           harmless="Lemma 3 is a statement about the numbers ρ((α+β)/2 + k·w0) (w0 = π(hi−lo)/8K "
                    "is transcendental, so no rational network carries it); the probe network is "
                    "not part of the claim, and the certifier rightly ignores it"),
]


@pytest.mark.parametrize("m", cases(KILLED + HOLES))
def test_mutant_dies(m):
    assert_dies(m)


@pytest.mark.parametrize("m", cases(HARMLESS))
def test_harmless_mutant_holds(m):
    assert_harmless(m)
