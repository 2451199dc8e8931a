"""Mutants of the NestNet constructions (nestnet-*): proofs/nestnet/build.py,
gadgets/nestnet_gadgets.py.  Several sit inside nested activation networks (height ≥ 2)."""

from __future__ import annotations

import pytest
from flint import fmpq

from constructive.evaluate import evaluate

from .harness import Mutant, assert_dies, assert_harmless, cases
from .mutate import (EPS, affine_sites, change_one_copy, final_affine, gadgets_named, nudge, parallels,
                     replace_gadget_body, scale_output, shift_last_bias)
from .statements import below_lower, tighten_bound

C2 = ("nestnet-floor-c2", {})
C3 = ("nestnet-floor-c3", {})
STEP = ("nestnet-step-doubly-exponential", {})
BITSUM = ("nestnet-bitsum", {"s": "2", "n": "3"})
FIT = ("nestnet-point-fit", {"s": "2", "n": "3"})
OFF = ("nestnet-offtrifling", {"s": "2", "n": "3"})
RATE = ("nestnet-height-s-rate", {"s": "1", "n": "4"})
RATE2 = ("nestnet-height-s-rate", {"s": "2", "n": "3"})
LINF = ("nestnet-height-s-rate-linf", {"s": "2", "n": "3"})
FIT_RANGE = ("nestnet-point-fit-range", {"s": "2", "n": "3"})
OFF_RANGE = ("nestnet-offtrifling-range", {"s": "2", "n": "3"})
D6 = ("nestnet-lemma-d6", {"n": "4"})


def first(net, name):
    return gadgets_named(net, name)[0]


def nested(name):
    """The first gadget called ``name`` that lives inside a nested activation network."""
    def find(net):
        from .mutate import sites

        return next(s.node for s in sites(net) if type(s.node).__name__ == "Gadget"
                    and s.node.name == name and s.in_nested)
    return find


def in_gadget(find, change):
    return lambda i: replace_gadget_body(i.net, find(i.net), change)


def _linf_copies(k_copies, delta):
    """The last ``k_copies`` of the three shifted copies of g get an output shift of ``delta``."""
    def mutate(i):
        net = i.net
        for k in range(3 - k_copies, 3):  # the copies' Parallel comes first in pre-order
            net = change_one_copy(net, parallels(net)[0], k,
                                  lambda part: shift_last_bias(part, delta))
        return net
    return mutate


def _shift_map(i):
    fan = i.net.nodes[0]
    moved = nudge(i.net, fan, "b", 1, delta=fmpq(1, 2))
    return nudge(moved, moved.nodes[0], "b", 2, delta=fmpq(1, 2))


KILLED = [
    Mutant("nest-c2-output-bias", *C2, "Lemma C.2 floor: output bias +2^-40",
           mutate=lambda i: shift_last_bias(i.net, EPS)),
    Mutant("nest-c3-nested-floor-bias", *C3, "Lemma C.3: the nested floor activation network "
           "(height 1, spec kept): last bias +2^-40",
           mutate=in_gadget(nested("nestnet-floor"), lambda b: shift_last_bias(b, EPS))),
    Mutant("nest-step-nested-floor-weight", *STEP, "Prop B.1: nested floor network (spec kept): a "
           "second-layer weight × (1+2^-40)",
           mutate=in_gadget(nested("nestnet-floor"),
                            lambda b: nudge(b, affine_sites(b)[1].node, "W", 1, 1, relative=True))),
    Mutant("nest-bitsum-nested-bitsum-weight", *BITSUM, "Lemma D.2: nested bit-sum network (spec "
           "kept): output weight × (1+2^-40)",
           mutate=in_gadget(nested("nestnet-bitsum"),
                            lambda b: nudge(b, final_affine(b), "W", 0, 0, relative=True))),
    Mutant("nest-fit-clip-bias", *FIT, "Prop B.2: clip gadget body (spec kept): output bias "
           "+2^-40 (the point errors stay ≤ 1/8, the claimed range 0 ≤ φ ≤ max y does not)",
           mutate=in_gadget(lambda n: first(n, "nestnet-clip"), lambda b: shift_last_bias(b, EPS))),
    Mutant("nest-fit-bound-tightened", *FIT, "bound 1/8 replaced by 7/64 − 2^-40 (the exact "
           "error is 7/64)", restate=lambda i: tighten_bound(i.thm, fmpq(7, 64) - EPS)),
    Mutant("nest-off-bound-tightened", *OFF, "bound replaced by half the certified lower bound",
           restate=below_lower),
    Mutant("nest-rate-output-negated", *RATE, "Thm 2.1 (p = 2): output layer × (−1)",
           mutate=lambda i: scale_output(i.net, -1)),
    Mutant("nest-rate-nested-floor-bias", *RATE2, "Thm 2.1 (s = 2): the nested height-1 floor "
           "(spec kept): last bias +2^-40; its obligations are proved by Lemma C.2 only when its "
           "weights are exactly the lemma's (floor_lemmas), so a shortcut ignoring them would pass",
           mutate=in_gadget(nested("nestnet-floor"), lambda b: shift_last_bias(b, EPS))),
    Mutant("nest-rate-step-output-tripled", *RATE2, "Thm 2.1 (s = 2): the step gadget (spec kept): "
           "output × 3 (moved weights or a bias +1 there are harmless: the point fit is flat near "
           "the integers and the bound has room for a one-cell shift); Prop B.1 is used on whole "
           "cells only when the body is exactly step_b1's (floor_lemmas.step_by_lemma)",
           mutate=in_gadget(lambda n: first(n, "nestnet-step"), lambda b: scale_output(b, 3))),
    Mutant("nest-fit-range-clip-bias", *FIT_RANGE, "Prop B.2 (ii): clip gadget body (spec kept): "
           "output bias +2^-40, so sup φ = max y + 2^-40",
           mutate=in_gadget(lambda n: first(n, "nestnet-clip"), lambda b: shift_last_bias(b, EPS))),
    Mutant("nest-fit-range-output-negated", *FIT_RANGE, "Prop B.2 (ii): output × (−1), so φ ≤ 0",
           mutate=lambda i: scale_output(i.net, -1)),
    Mutant("nest-off-range-clip-bias", *OFF_RANGE, "Thm A.1 range: clip gadget body (spec kept): "
           "output bias +2^-40",
           mutate=in_gadget(lambda n: first(n, "nestnet-clip"), lambda b: shift_last_bias(b, EPS))),
    Mutant("nest-off-range-output-shift", *OFF_RANGE, "Thm A.1 range: output bias +1, past "
           "|f(0)| + ω(√d)", mutate=lambda i: shift_last_bias(i.net, fmpq(1))),
    Mutant("nest-d6-k0-indicator", *D6, "Lemma D.6: the first sigma(k - j + 1) (layer 2, row 2) "
           "bias +2^-40, wrong at k = 0 when theta_1 = 1",
           mutate=lambda i: nudge(i.net, affine_sites(i.net)[1].node, "b", 2)),
    Mutant("nest-d6-bit-threshold", *D6, "Lemma D.6: the threshold neuron sigma(L(xi_1) + 1) bias "
           "+2^-40", mutate=lambda i: nudge(i.net, affine_sites(i.net)[0].node, "b", 1)),
    Mutant("nest-linf-mid-weight", *LINF, "Thm 2.1 (p = ∞): mid gadget body (spec kept): a second-"
           "layer weight +2^-40",
           mutate=in_gadget(lambda n: first(n, "mid"),
                            lambda b: nudge(b, affine_sites(b)[1].node, "W", 0, 0))),
]

# closed holes, kept apart for the evidence test below: method_linf now reads the shifts from
# the network's first affine map and analyses every distinct shifted copy
HOLES = [
    Mutant("nest-linf-two-copies-shifted", *LINF, "Thm 2.1 (p = ∞): shifted copies 2 and 3 of g "
           "get output +1 (copy 1 untouched)", mutate=_linf_copies(2, 1)),
    Mutant("nest-linf-shift-map", *LINF, "Thm 2.1 (p = ∞): the input fan-out's shifts of copies "
           "2 and 3 moved by 1/2 (two biases of the first affine map)", mutate=_shift_map,
           slow=True),  # ~75 s: the kernel walks every strip box of the broken repair
]


HARMLESS = [
    Mutant("nest-rate-nested-floor-weight", *RATE2, "Thm 2.1 (s = 2): the nested height-1 floor "
           "(spec kept): the output weight of S_0 × (1+2^-40), not the lemma's network",
           mutate=in_gadget(nested("nestnet-floor"),
                            lambda b: nudge(b, final_affine(b), "W", 0, 1, relative=True)),
           harmless="the floor is no longer Lemma C.2's network, so the compositional analysis "
                    "stops (its obligations fail) and method_lp falls back to the flat grid of "
                    "cell ends that the kernel also checks: the moved floor values stay near the "
                    "integers, where the point fit is flat, and the L^2 error is at most 0.065 "
                    "against the bound 7/27 (the kernel re-derives it from the stored network)"),
    Mutant("nest-fit-blocksum-weight", *FIT, "Prop B.2: one block-sum gadget (spec kept): an "
           "output weight × (1+2^-40)",
           mutate=lambda i: change_one_copy(
               i.net, parallels(i.net)[0], 0,
               lambda part: replace_gadget_body(
                   part, first(part, "nestnet-blocksum"),
                   lambda b: nudge(b, affine_sites(b)[2].node, "W", 0, 1, relative=True))),
           harmless="the claim |φ(j) − y_j| ≤ 1/8 is about the finite set j < J, and "
                    "method_point_fit evaluates the mutant exactly at every j (nested values "
                    "proved by discharged obligations): the errors moved by ≤ 2^-40·35/512·|input|"
                    " and the exact maximum is still 7/64 ≤ 1/8"),
]


@pytest.mark.parametrize("m", cases(KILLED + HOLES))
def test_mutant_dies(m):
    assert_dies(m)


@pytest.mark.parametrize("m", HOLES, ids=lambda m: m.id)
def test_hole_mutants_really_break_the_claim(m):
    """Evidence that the surviving mutants are holes, not harmless: an exact point where the
    mutant's error exceeds the stated bound (the claim is a sup over [0, 1])."""
    i = m.instance()
    xs = [fmpq(k, 997) for k in range(998)]
    values = evaluate(m.mutate(i), [xs])[0]
    bound = fmpq(7, 27)  # 7·sqrt(d)·ω(n^-(s+1)/d) at d = 1, s = 2, n = 3, ω(r) = r
    assert i.cert["error"]["bound"] == str(bound)
    assert max(abs(v - i.target.exact([x])) for x, v in zip(xs, values)) > bound


@pytest.mark.parametrize("m", cases(HARMLESS))
def test_harmless_mutant_holds(m):
    assert_harmless(m)
