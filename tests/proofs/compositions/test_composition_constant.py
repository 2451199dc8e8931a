"""A constant target (modulus 0) has the bound 0: the composition networks must equal it
exactly (point-fit unit ε = |f(0)|), a rounded b must not HOLD, and an irrational constant is a limit of
rational constructions (TuningError: INCONCLUSIVE), never a false VIOLATED."""

from __future__ import annotations

import pytest

from certify.certificate import certify_network, make_target_for, run_theorem
from certify.registry import default_registry
from constructive.tuning import TuningError

ROUNDED = "const:v=1099511627779/3298534883328"  # 1/3 + 2^-40
INSTANCES = [("zlz-composition-offtrifling", {"d": "2", "r": "4"}),
             ("zlz-composition-uniform", {"d": "1", "r": "2"}),
             ("zlz-point-fit-by-iteration", {"n": "4", "m": "5"}),
             ("zlz-composition-rate", {"d": "2", "r": "1", "p": "2"})]  # K = 1: no trifling region


def _certify(tid: str, raw: dict, built_for: str, checked_against: str) -> dict:
    thm = default_registry().get(tid)
    params = thm.parse_params(raw)
    builder = thm.builder()
    net = builder(params, make_target_for(thm, params, built_for))
    return certify_network(thm, params, make_target_for(thm, params, checked_against), net, builder)


@pytest.mark.parametrize("tid,raw", INSTANCES)
def test_constant_rational_target_holds_with_zero_error(tid, raw):
    cert = _certify(tid, raw, "const:v=1/3", "const:v=1/3")
    assert cert["verdict"] == "HOLDS", cert["reasons"]
    assert cert["error"]["upper"] == "0" and cert["error"]["bound"] == "0"


@pytest.mark.parametrize("tid,raw", INSTANCES)
def test_constant_fitted_with_a_rounded_value_is_refused(tid, raw):
    """The network built for 1/3 + 2^-40 (what a dyadic rounding of b would give) misses 1/3."""
    cert = _certify(tid, raw, ROUNDED, "const:v=1/3")
    assert cert["verdict"] == "VIOLATED", cert["reasons"]


def test_irrational_constant_is_inconclusive_not_violated():
    with pytest.raises(TuningError, match="not an exact rational"):
        run_theorem("zlz-composition-offtrifling", {"d": "1", "r": "2"}, "pi", lipschitz="0")


def test_constant_target_lp_with_a_trifling_region_is_not_violated():
    """With a trifling region the L^p check bounds |f − φ| there by sup|f| + sup|φ| > 0, so the bound
    0 is not decided (INCONCLUSIVE); the network itself meets f exactly on every cell."""
    cert = _certify("zlz-composition-rate", {"d": "1", "r": "4", "p": "2"}, "const:v=1/3", "const:v=1/3")
    assert cert["verdict"] == "INCONCLUSIVE" and cert["error"]["lower"] == "0", cert["reasons"]
