"""Mutants of the repeated-composition constructions (zlz-composition*, zlz-step*, zlz-bitsum*,
zlz-point-fit*, zlz-merge*, zlz-selector): proofs/compositions/build.py."""

from __future__ import annotations

import pytest

from .harness import Mutant, assert_dies, cases
from .mutate import EPS, affine_sites, gadgets_named, nudge, replace_gadget_body, shift_last_bias
from .statements import below_lower, certified_lower, tighten_bound

OFF = ("zlz-composition-offtrifling", {"d": "1", "r": "8"})
RATE = ("zlz-composition-rate", {"d": "1", "r": "8"})
UNIFORM = ("zlz-composition-uniform", {"d": "1", "r": "4"})
STEP = ("zlz-step-by-iteration", {"n": "5", "m": "5", "delta": "1/4"})
BITSUM = ("zlz-bitsum-by-iteration", {"r": "7"})
FIT = ("zlz-point-fit-by-iteration", {"n": "9", "m": "12"})
MERGE = ("zlz-merge-iterations", {"n": "5"})
SELECTOR = ("zlz-selector", {"d": "1", "M": "5", "T": "100"})


def first(net, name):
    return gadgets_named(net, name)[0]


def repeated_affine(net, k):
    """The k-th affine node inside the repeated block g."""
    return affine_sites(net, lambda s: s.in_repeat)[k].node


def _clock_selector(i):
    """The outermost clock gadget's selector ψ (its last affine map), spec kept: weight + 2^-40."""
    clock = first(i.net, "zlz-clock-step")
    return replace_gadget_body(i.net, clock,
                               lambda b: nudge(b, affine_sites(b)[-1].node, "W", 0, 0))


def _exact_error_minus(eps):
    """Bound = the exact certified error (lower = upper here) minus ``eps``: below the truth."""
    def restate(i):
        assert i.cert["error"]["lower"] == i.cert["error"]["upper"]
        return tighten_bound(i.thm, certified_lower(i.cert) - eps)
    return restate


KILLED = [
    Mutant("step-iter-weight", *STEP, "Prop 3.1: a weight of the repeated block × (1+2^-40)",
           mutate=lambda i: nudge(i.net, repeated_affine(i.net, 0), "W", 0, 0, relative=True)),
    Mutant("bitsum-iter-weight", *BITSUM, "Lemma D.1: a weight of the repeated block × "
           "(1+2^-40)",
           mutate=lambda i: nudge(i.net, repeated_affine(i.net, 1), "W", 0, 0, relative=True)),
    Mutant("fit-iter-bound-tightened", *FIT, "Prop 3.2: bound replaced by the exact error "
           "− 2^-40", restate=_exact_error_minus(EPS)),
    Mutant("fit-iter-output-bias", *FIT, "Prop 3.2: output bias +2^-40 against a bound pinned "
           "at the exact error", mutate=lambda i: shift_last_bias(i.net, EPS),
           restate=_exact_error_minus(0)),
    Mutant("merge-clock-weight", *MERGE, "Prop 3.3: the clock gadget's selector (spec kept): a "
           "weight + 2^-40", mutate=_clock_selector),
    Mutant("selector-weight", *SELECTOR, "Lemma E.2: first-layer weight + 2^-40",
           mutate=lambda i: nudge(i.net, affine_sites(i.net)[0].node, "W", 0, 0)),
    Mutant("off-clock-selector", *OFF, "Thm A.1: the clock gadget's selector (spec kept): a "
           "weight + 2^-40", mutate=_clock_selector),
    Mutant("off-bound-tightened", *OFF, "Thm A.1: bound replaced by half the certified lower "
           "bound", restate=below_lower),
    Mutant("rate-clamp-bias", *RATE, "Thm 1.1: clamp gadget body (spec kept): last bias +2^-40",
           mutate=lambda i: replace_gadget_body(i.net, first(i.net, "zlz-clamp"),
                                                lambda b: shift_last_bias(b, EPS))),
    Mutant("rate-input-map", *RATE, "Thm 1.1: input map L1, a bias + 2^-40",
           mutate=lambda i: nudge(i.net, i.net.nodes[0], "b", 0)),
    Mutant("uniform-mid-weight", *UNIFORM, "Thm 1.3: mid gadget body (spec kept): a second-layer "
           "weight + 2^-40",
           mutate=lambda i: replace_gadget_body(
               i.net, first(i.net, "mid"), lambda b: nudge(b, affine_sites(b)[1].node, "W", 0, 0))),
]


@pytest.mark.parametrize("m", cases(KILLED))
def test_mutant_dies(m):
    assert_dies(m)
