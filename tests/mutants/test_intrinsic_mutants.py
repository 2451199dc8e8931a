"""Mutants of the intrinsic-parameters / optimal-rate / smooth-functions constructions (syz-*):
proofs/intrinsic/build.py, gadgets/bits.py, gadgets/mid.py, gadgets/cpwl.py, three_params.py."""

from __future__ import annotations

import pytest
from flint import fmpq

from constructive.activations import IDENTITY
from constructive.evaluate import evaluate

from .harness import Mutant, assert_dies, assert_harmless, cases
from .mutate import (EPS, activation_sites, add_hat, affine_sites, first_effective_nudge, gadgets_named,
                     nudge, replace_gadget_body, scale_affine, scale_output, shift_breakpoint,
                     shift_gadget_output, substitute, swap_activation)
from .statements import below_lower, with_claim, without_claims

CPWL = ("syz-cpwl-one-layer", {"n": "9"})
BITS = ("syz-bit-extraction", {"J": "6"})
AUX = ("syz-intrinsic-aux-offtrifling", {"n": "2"})
LP = ("syz-intrinsic-lp", {"n": "2"})
LINF = ("syz-intrinsic-linf", {"n": "2"})
REPAIR = ("syz-trifling-mid-repair", {"n": "2"})


def first(net, name):
    return gadgets_named(net, name)[0]


def affines_in(net, name):
    """The affine nodes of the first gadget called ``name`` (pre-order)."""
    return [s.node for s in affine_sites(first(net, name).body)]


def interior_kink_neuron(aff):
    """A hidden neuron of a 1-D first layer whose kink −b/w lies strictly inside (0, 1)."""
    return next(i for i in range(aff.W.nrows())
                if aff.W[i, 0] != 0 and 0 < -aff.b[i, 0] / aff.W[i, 0] < 1)


def _cpwl_kink(i):
    first_layer = affines_in(i.net, "cpwl-one-layer")[0]
    return shift_breakpoint(i.net, first_layer, interior_kink_neuron(first_layer), EPS)


def _threshold_hat(height):
    """A hat of the given height on (1/3, 2/3) added to the threshold gadget of every bit
    extractor: exact 0/1 tent outputs (the only ones the cells produce) never reach it."""
    def mutate(i):
        return replace_gadget_body(i.net, first(i.net, "threshold"),
                                   lambda body: add_hat(body, fmpq(1, 3), fmpq(2, 3), height))
    return mutate


def _mid_relu_to_identity(i):
    act = activation_sites(first(i.net, "mid").body)[0].node
    return swap_activation(i.net, act, IDENTITY, neurons=[0])


def _drop_intrinsic(i):
    # the intrinsic count compares the mutant with fresh builds for other targets, so any moved
    # weight shows up as one more intrinsic parameter; drop it to test the error analysis itself
    return without_claims(i.thm, "intrinsic")


KILLED = [
    Mutant("cpwl-kink-shift", *CPWL, "kink of an interior hidden neuron moved by 2^-40",
           mutate=_cpwl_kink),
    Mutant("cpwl-output-scaled", *CPWL, "output layer × (1+2^-40)",
           mutate=lambda i: scale_output(i.net, 1 + EPS)),
    Mutant("cpwl-interp-bound-tightened", "syz-cpwl-interpolation", {"n": "9"},
           "bound omega(1/(n-1)) replaced by half the certified lower bound",
           restate=below_lower),
    Mutant("bits-threshold-bias", *BITS, "threshold gadget body: output bias +2^-40 (spec kept)",
           mutate=lambda i: shift_gadget_output(i.net, first(i.net, "threshold"), EPS)),
    Mutant("bits-output-scaled", *BITS, "output layer (threshold's) × (1+2^-40)",
           mutate=lambda i: scale_output(i.net, 1 + EPS)),
    Mutant("mid-inner-weight", "syz-mid-gadget", {}, "mid: a second-layer weight +2^-40",
           mutate=lambda i: nudge(i.net, affines_in(i.net, "mid")[1], "W", 0, 0)),
    Mutant("mid-relu-to-identity", "syz-mid-gadget", {}, "mid: one first-layer ReLU → identity",
           mutate=_mid_relu_to_identity),
    Mutant("aux-phi2-negated", *AUX, "phi2 body (nested, spec kept): combining weights × (−1), "
           "so phi2 = ReLU(−Σ) = 0 on the cells",
           mutate=lambda i: replace_gadget_body(
               i.net, first(i.net, "phi2"),
               lambda b: substitute(b, b.nodes[1], scale_affine(b.nodes[1], -1))),
           restate=_drop_intrinsic),
    Mutant("aux-bound-tightened", *AUX, "bound replaced by half the certified lower bound",
           restate=below_lower),
    Mutant("lp-output-scaled", *LP, "output layer s·y + b × (−5) (the bound 5/4 is loose: "
           "×(−1) would still hold)",
           mutate=lambda i: scale_output(i.net, -5), restate=_drop_intrinsic),
    Mutant("lp-intrinsic-count", *LP, "a phi1 step weight +2^-40 (error claim not affected): "
           "measured intrinsic count n+3",
           mutate=lambda i: nudge(i.net, affines_in(i.net, "step")[0], "b", 0)),
    Mutant("lp-intrinsic-untagged", *LP, "the same step weight moved, and the claim loosened to "
           "n+3 so that the count fits: a position that differs untagged leaves the tags, and "
           "the count resting on them, in doubt (a HOLDS until the count was held to the tags)",
           mutate=lambda i: nudge(i.net, affines_in(i.net, "step")[0], "b", 0),
           restate=lambda i: with_claim(i.thm, "intrinsic", "le", "n + 3")),
    Mutant("repair-mid-weight", *REPAIR, "mid body (spec kept): a second-layer weight +2^-40",
           mutate=lambda i: replace_gadget_body(
               i.net, first(i.net, "mid"), lambda b: nudge(b, affine_sites(b)[1].node, "W", 0, 0))),
    Mutant("linf-output-scaled", *LINF, "output layer × (−5)",
           mutate=lambda i: scale_output(i.net, -5), restate=_drop_intrinsic),
    # the box analysis shortcuts a chain of exact tent blocks on constant inputs, and reads a
    # one-layer CPwL gadget off its knots while every kink sits at a knot: a block changed under
    # either must be followed layer by layer, where the change shows
    Mutant("lp-tent-bias", "syz-intrinsic-lp", {"n": "6"}, "the shared tent block of every bit "
           "extractor: bias +2^-40 (its 128 repetitions double the change each time)",
           mutate=lambda i: nudge(i.net, affine_sites(i.net, lambda s: s.in_repeat)[0].node, "b", 0),
           restate=_drop_intrinsic),
    Mutant("lp-exponential-negated", "syz-intrinsic-lp", {"n": "4"}, "the exponential map's output layer × (−1) under its "
           "spec's points (the cells then feed 0 to every bit extractor)",
           mutate=lambda i: substitute(i.net, affines_in(i.net, "exponential")[-1],
                                       scale_affine(affines_in(i.net, "exponential")[-1], -1)),
           restate=_drop_intrinsic),
    Mutant("store-params-weight", "syz-store-params-in-one", {},
           "the first weight of store-params' repeated blocks whose × (1+2^-40) changes φ(0)",
           mutate=lambda i: first_effective_nudge(
               i.net, [s.node for s in affine_sites(i.net, lambda s: s.in_repeat)], [[0]],
               relative=True)),
]


# Hole (a) "nested gadget specs not certified": a hat of height 10^6 in the threshold gadget
# (three gadget levels below the top) is invisible on the cells (the tent outputs there are
# exactly 0 or 1) but breaks phi2's and aux-offtrifling's claimed range [0, 1] on the trifling
# strips, where the analyses use those ranges instead of the bodies.  In HEAD 333f1a2 these
# survived; the working tree's gadget_certs (closure of relied-on specs) kills them.
KILLED += [
    Mutant("lp-threshold-hat", *LP, "threshold body (3 levels deep, spec kept): + hat of height "
           "10^6 on (1/3, 2/3)", mutate=_threshold_hat(10 ** 6), restate=_drop_intrinsic),
    Mutant("repair-threshold-hat", *REPAIR, "threshold body (4 levels deep, spec kept): + hat of "
           "height 10^6 on (1/3, 2/3)", mutate=_threshold_hat(10 ** 6)),
    Mutant("linf-threshold-hat", *LINF, "threshold body (5 levels deep, spec kept): + hat of "
           "height 10^6 on (1/3, 2/3)", mutate=_threshold_hat(10 ** 6), restate=_drop_intrinsic),
]
HOLES: list = []


@pytest.mark.parametrize("m", cases(KILLED + HOLES))
def test_mutant_dies(m):
    assert_dies(m)


def test_threshold_hat_breaks_the_nested_spec():
    """Evidence for the hole above: the mutated phi2 leaves its claimed range [0, 1] at an exact
    input, so a HOLDS that relies on that range rests on a false lemma."""
    from .harness import instance

    i = instance(*LP)
    phi2 = first(_threshold_hat(10 ** 6)(i), "phi2")
    # y = 1/2 gives x = 2^-(2J+2) after the input scaling, and the 2J+1 tent maps double it
    # up to h = 1/2, the top of the hat
    value = evaluate(phi2.body, [[fmpq(1, 2)] for _ in range(phi2.in_dim)])[0][0]
    assert value > 1000, value


HARMLESS = [
    Mutant("bits-tent-weight", *BITS, "a tent-map weight (inside the Repeat) × (1+2^-40)",
           mutate=lambda i: nudge(i.net, affine_sites(i.net, lambda s: s.in_repeat)[0].node,
                                  "W", 0, 0, relative=True),
           harmless="the claim is exact bits at the J inputs 4^j a and the range [0, 1]: the "
                    "moved tent weight changes a tent step by ≤ 2^-39 and at most 12 later steps "
                    "of gain 2 amplify it to < 2^-26, so h stays ≤ 1/3 or ≥ 2/3 at those inputs "
                    "(exactly 0 or 1 before) and the outputs stay exactly θ_j (checked by exact "
                    "evaluation); the range comes from the unchanged, certified threshold"),
]


@pytest.mark.parametrize("m", cases(HARMLESS))
def test_harmless_mutant_holds(m):
    assert_harmless(m)
