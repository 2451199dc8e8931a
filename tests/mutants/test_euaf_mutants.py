"""Mutants of the EUAF / fixed-σ constructions (euaf-*, syz-fixed-sigma-*):
constructive/activations/euaf.py, fixed_sigma*.py, gadgets/euaf_gadgets.py."""

from __future__ import annotations

import pytest
from flint import fmpq

from constructive.activations import RELU

from .harness import Mutant, assert_dies, assert_harmless, cases
from .mutate import (EPS, activation_sites, affine_sites, change_one_copy, final_affine, gadgets_named, nudge,
                     parallels, replace_gadget_body, scale_output, shift_breakpoint, shift_gadget_output,
                     shift_last_bias, swap_activation)
from .statements import below_lower

# target abs (Lipschitz 1): the oscillation hypothesis holds, so a bad network is VIOLATED
HALF = ("syz-fixed-sigma-1d-half", {"K": "16", "eps": "1/5"})
HALF_TARGET = "abs"
HALF_RANGE = ("syz-fixed-sigma-1d-half-range", {"K": "16", "eps": "1/5"})
NINE = ("syz-fixed-sigma-1d-nine-tenths", {})
THM6 = ("syz-fixed-sigma-1d", {})
KST_D1 = ("syz-fixed-sigma-universal", {"d": "1", "kst": "d1-default", "eps": "3/10"})
KST_D1_TARGET = "(x1**2/2 + 1/4)**2/2 + sin(x1 + 1/2)/2 + cos(sin(3*x1)/8 + 1/2)/2"
CLASSIFY = ("syz-fixed-sigma-classification", {})


def first(net, name):
    return gadgets_named(net, name)[0]


def body_affines(net, name):
    return [s.node for s in affine_sites(first(net, name).body)]


def _copy_gadget(net, name, copy):
    """The gadget ``name`` inside the given copy (0..3) of the four-copy Theorem 15 sum."""
    return first(parallels(net)[0].parts[copy], name)


def _half_w0(i):
    # φ = 2Mσ(w0·h + c) − M with a huge w0 (its bits encode the fitted values): a relative move
    # of 2^-40 shifts w0·h by far more than one period of σ, so the fit is destroyed
    A2 = body_affines(i.net, "euaf-half")[2]
    return nudge(i.net, A2, "W", 0, 0, relative=True)


def _nine_psi_hat_copy(i):
    """ψ̂ of copy 1 moved off zero (its last bias + 2^-40): on the bad halves the analysis must
    show ψ̂ ≡ 0 from this very body."""
    return _one_psi_hat(i.net, i.net)


KILLED = [
    Mutant("thm14-w0-relative", *HALF, "Thm 14: the large weight w0 × (1+2^-40)",
           mutate=_half_w0, target=HALF_TARGET),
    Mutant("thm14-output-negated", *HALF, "Thm 14: output layer × (−1)",
           mutate=lambda i: scale_output(i.net, -1), target=HALF_TARGET),
    Mutant("thm14-index-kink", *HALF, "Thm 14: kink of the index map (first layer, neuron 0) "
           "moved by 2^-40 into a half interval",
           mutate=lambda i: shift_breakpoint(i.net, body_affines(i.net, "euaf-half")[0], 0, EPS),
           target=HALF_TARGET),
    Mutant("thm14-range-output-bias", *HALF_RANGE, "Thm 14 range: output bias +1/16 (for abs the "
           "range [-M, M] is 0.047 inside ||f|| + 1: M = 1 + max |f| at the midpoints x_k)",
           mutate=lambda i: shift_last_bias(i.net, fmpq(1, 16)), target=HALF_TARGET),
    Mutant("thm14-range-output-tripled", *HALF_RANGE, "Thm 14 range: output layer × 3",
           mutate=lambda i: scale_output(i.net, 3), target=HALF_TARGET),
    Mutant("thm15-psi-hat-copy", *NINE, "Thm 15: ψ̂ body of copy 1 (spec kept): output bias "
           "+2^-40", mutate=_nine_psi_hat_copy),
    Mutant("thm15-bound-tightened", *NINE, "bound eps replaced by half the certified lower bound",
           restate=below_lower),
    Mutant("thm6-input-map", *THM6, "Thm 6: input map [a, b] → [0, 9/10], bias +2^-40",
           mutate=lambda i: nudge(i.net, i.net.nodes[0], "b", 0)),
    Mutant("thm6-half-sigma-to-relu", *THM6, "Thm 6: copy 1's Thm 14 index neuron σ → ReLU",
           mutate=lambda i: swap_activation(
               i.net, activation_sites(_copy_gadget(i.net, "euaf-half", 0).body)[0].node, RELU,
               neurons=[0])),
    Mutant("kst-bound-tightened", *KST_D1, "bound eps replaced by half the certified lower bound",
           restate=below_lower, target=KST_D1_TARGET),
    Mutant("kst-output-scaled", *KST_D1, "Thm 1: output layer × 3 (φ ≈ 3f; the kernel splits "
           "the stored network into its parts and must find the bound missed too)",
           mutate=lambda i: scale_output(i.net, 3), target=KST_D1_TARGET),
    Mutant("classify-output-weight", *CLASSIFY, "Thm 4: output map weight + 2^-40",
           mutate=lambda i: nudge(i.net, final_affine(i.net), "W", 0, 0)),
    Mutant("classify-rounding-body", *CLASSIFY, "Thm 4: odd-rounding gadget body (spec kept): "
           "second-layer bias + 2^-40",
           mutate=lambda i: shift_gadget_output(i.net, first(i.net, "euaf-round-odd"), EPS)),
]

# closed holes, kept apart for the evidence test below: gadget_identity now certifies the
# network handed in (identity_spec(..., net=net)), and certify_chain proves Lemma 16 for each
# copy's own product gadget before using Γ(φ_i, 0) = 0 on the bad halves
HOLES = [
    Mutant("thm15-product-bias-copy", *NINE, "Thm 15: copy 1's product gadget (spec kept): "
           "output bias +2^-40, so Γ(x, 0) = 2^-40 on the bad halves",
           mutate=lambda i: change_one_copy(
               i.net, parallels(i.net)[0], 0,
               lambda part: shift_gadget_output(part, first(part, "euaf-product"), EPS))),
    Mutant("euaf-pad-output-bias", "euaf-identity-padding", {},
           "identity padding: output bias +2^-40",
           mutate=lambda i: shift_gadget_output(i.net, first(i.net, "euaf-identity"), EPS)),
    Mutant("euaf-square-inner-weight", "euaf-square-exact", {},
           "x² gadget: a second-layer weight +2^-40",
           mutate=lambda i: nudge(i.net, body_affines(i.net, "euaf-square")[1], "W", 0, 0)),
    Mutant("euaf-product-square-body", "euaf-product-exact", {},
           "product: nested x² gadget body (spec kept) output bias +2^-40",
           mutate=lambda i: shift_gadget_output(i.net, first(i.net, "euaf-square"), EPS)),
    Mutant("euaf-index-kink", "euaf-step-index", {"K": "7"},
           "index map ψ(2Kx)/2 + 1: kink of neuron 0 moved by 2^-40",
           mutate=lambda i: shift_breakpoint(i.net, body_affines(i.net, "euaf-index")[0], 0, EPS)),
    Mutant("euaf-softsign-index-relu", "euaf-softsign-independent-index", {"K": "7"},
           "softsign index: the last σ neuron → ReLU",
           mutate=lambda i: swap_activation(
               i.net, activation_sites(first(i.net, "euaf-softsign-index").body)[-1].node, RELU)),
    Mutant("euaf-round-odd-scaled", "euaf-rounding-odd", {"kmax": "5"},
           "odd rounding: output layer × (1+2^-40)",
           mutate=lambda i: scale_output(i.net, 1 + EPS)),
    Mutant("euaf-psi-hat-inner-weight", "euaf-psi-hat-zero", {"K": "6"},
           "ψ̂: the weight 2K + 1 before the last σ +2^-40",
           mutate=lambda i: nudge(i.net, body_affines(i.net, "euaf-psi-hat")[1], "W", 0, 0)),
    Mutant("euaf-partition-psi-hat-part", "euaf-partition-of-unity", {"K": "6"},
           "partition of unity: one of the four ψ̂ parts (spec kept) last bias +2^-40",
           mutate=lambda i: _one_psi_hat(i.net, first(i.net, "euaf-partition-of-unity").body)),
]


def _one_psi_hat(root, where):
    """ψ̂ changed in the first part of the first Parallel found in ``where`` only."""
    par = parallels(where)[0]

    def change(part):
        return replace_gadget_body(part, first(part, "euaf-psi-hat"),
                                   lambda b: shift_last_bias(b, EPS))

    return change_one_copy(root, par, 0, change)


HARMLESS = [
    Mutant("thm15-output-weight", *NINE, "Thm 15: output weight of copy 1 × (1+2^-40)",
           mutate=lambda i: nudge(i.net, final_affine(i.net), "W", 0, 0, relative=True),
           harmless="the output weights enter the exact merged cells that certify_chain bounds, "
                    "so its upper bound is rigorous for the mutant; the error moves by at most "
                    "2^-40·sup|φ_1ψ̂_1| ≤ 2^-40·M, far inside the slack eps − upper (> 1/1000)"),
]


@pytest.mark.parametrize("m", cases(KILLED + HOLES))
def test_mutant_dies(m):
    assert_dies(m)


GADGET_HOLES = [m for m in HOLES if m.theorem.startswith("euaf-")]


@pytest.mark.parametrize("m", GADGET_HOLES, ids=lambda m: m.id)
def test_gadget_hole_mutants_break_the_identity(m):
    """Evidence that the euaf-* survivors are holes: each claim is an exact identity (bound 0),
    and the mutant differs from it at an exact point of the claimed set (the spec's own sample
    points, read from the mutant itself)."""
    from constructive.evaluate import evaluate
    from proofs.fixed_sigma.specs import identity_spec

    i = m.instance()
    spec = identity_spec(i.thm.id, i.params, net=m.mutate(i))
    assert any(evaluate(spec.network, [[c] for c in pt])[0][0] != want
               for pt, want in spec.samples)


@pytest.mark.parametrize("m", cases(HARMLESS))
def test_harmless_mutant_holds(m):
    assert_harmless(m)
