"""A constant target (modulus 0) has the bound 0: the NestNet networks must equal it
exactly (c = f(0), every sample 0), a rounded b must not HOLD, and an irrational constant is a limit of
rational constructions (TuningError: INCONCLUSIVE), never a false VIOLATED."""

from __future__ import annotations

import pytest

from certify.certificate import certify_network, make_target_for, run_theorem
from certify.registry import default_registry
from constructive.tuning import TuningError

ROUNDED = "const:v=1099511627779/3298534883328"  # 1/3 + 2^-40
INSTANCES = [("nestnet-offtrifling", {"d": "2", "s": "1", "n": "2"}),
             ("nestnet-height-s-rate", {"d": "1", "s": "1", "n": "4", "p": "2"}),
             ("nestnet-height-s-rate-linf", {"d": "1", "s": "2", "n": "3"})]


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
        run_theorem("nestnet-offtrifling", {"d": "1", "s": "1", "n": "4"}, "pi", lipschitz="0")


def test_range_part_of_a_constant_target():
    """Theorem A.1's range part (bound 0 too): φ = f(0) exactly, and the check subtracts |f(0)|
    exactly for a rational target, so both a dyadic and a non-dyadic constant HOLD with 0."""
    raw = {"d": "1", "s": "1", "n": "4"}
    for v in ("-3/4", "1/3"):
        cert = _certify("nestnet-offtrifling-range", raw, f"const:v={v}", f"const:v={v}")
        assert cert["verdict"] == "HOLDS" and cert["error"]["upper"] == "0", cert["reasons"]
