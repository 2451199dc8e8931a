"""A constant target (modulus 0) has the bound 0 in every theorem stated through ω: the networks
must equal it exactly (intrinsic: s = 0, b = f(0); NestNet: c = f(0); compositions: point-fit
unit ε = |f(0)|; optimal rate: exact already), a network built for a rounded value must not HOLD,
and an irrational constant is a limit of rational constructions (TuningError: INCONCLUSIVE),
never a false VIOLATED.  `certify fuzz` found the false VIOLATED these replace."""

from __future__ import annotations

import json

import pytest

from certify.certificate import certify_network, make_target_for, run_theorem
from certify.kernel import check_certificate_data
from certify.registry import default_registry
from constructive.tuning import TuningError

ROUNDED = "const:v=1099511627779/3298534883328"  # 1/3 + 2^-40
INSTANCES = [("syz-intrinsic-linf", {"n": "1", "d": "2"}),
             ("syz-intrinsic-lp", {"n": "2", "d": "1", "p": "2"}),
             ("nestnet-offtrifling", {"d": "2", "s": "1", "n": "2"}),
             ("nestnet-height-s-rate", {"d": "1", "s": "1", "n": "4", "p": "2"}),
             ("nestnet-height-s-rate-linf", {"d": "1", "s": "2", "n": "3"}),
             ("zlz-composition-offtrifling", {"d": "2", "r": "4"}),
             ("zlz-composition-uniform", {"d": "1", "r": "2"}),
             ("zlz-point-fit-by-iteration", {"n": "4", "m": "5"}),
             ("zlz-composition-rate", {"d": "2", "r": "1", "p": "2"}),  # K = 1: no trifling region
             ("syz-rate-lp", {"d": "1", "N": "1", "L": "1", "p": "2"}),
             ("syz-rate-linf", {"d": "1", "N": "1", "L": "1"})]


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


@pytest.mark.parametrize("tid,raw", [i for i in INSTANCES if not i[0].startswith("syz-rate")])
def test_constant_fitted_with_a_rounded_value_is_refused(tid, raw):
    """The network built for 1/3 + 2^-40 (what a dyadic rounding of b would give) misses 1/3."""
    cert = _certify(tid, raw, ROUNDED, "const:v=1/3")
    assert cert["verdict"] == "VIOLATED", cert["reasons"]


@pytest.mark.parametrize("tid,raw", [("syz-intrinsic-linf", {"n": "1", "d": "2"}),
                                     ("nestnet-offtrifling", {"d": "1", "s": "1", "n": "4"}),
                                     ("zlz-composition-offtrifling", {"d": "1", "r": "2"}),
                                     ("syz-rate-linf", {"d": "1", "N": "1", "L": "1"}),
                                     ("syz-rate-lp", {"d": "2", "N": "1", "L": "1", "p": "2"}),
                                     ("syz-bounded-domain-boxes", {"d": "2", "N": "1", "L": "1"})])
def test_irrational_constant_is_inconclusive_not_violated(tid, raw):
    with pytest.raises(TuningError, match="not an exact rational"):
        run_theorem(tid, raw, "pi", lipschitz="0")


def test_constant_target_lp_with_a_trifling_region_is_not_violated():
    """With a trifling region in two dimensions the compositions' L^p check bounds |f − φ| there
    by sup|f| + sup|φ| > 0, so the bound 0 is not decided (INCONCLUSIVE); the network meets f
    exactly on every cell.  In one dimension the strips are followed exactly between the
    network's kinks: φ = f there too, and the bound 0 HOLDS (the kernel agrees)."""
    cert = _certify("zlz-composition-rate", {"d": "2", "r": "4", "p": "2"}, "const:v=1/3", "const:v=1/3")
    assert cert["verdict"] == "INCONCLUSIVE" and cert["error"]["lower"] == "0", cert["reasons"]
    cert = _certify("zlz-composition-rate", {"d": "1", "r": "4", "p": "2"}, "const:v=1/3", "const:v=1/3")
    assert cert["verdict"] == "HOLDS" and cert["error"]["upper"] == "0", cert["reasons"]
    report = check_certificate_data(json.loads(json.dumps(cert)))
    assert report.ok and report.verdict == "HOLDS" and report.upper == 0


def test_range_part_of_a_constant_target():
    """NestNet Theorem A.1's range part (bound 0 too): φ = f(0) exactly, and |f(0)| is subtracted
    exactly for a rational target, so a dyadic and a non-dyadic constant both HOLD with 0."""
    raw = {"d": "1", "s": "1", "n": "4"}
    for v in ("-3/4", "1/3"):
        cert = _certify("nestnet-offtrifling-range", raw, f"const:v={v}", f"const:v={v}")
        assert cert["verdict"] == "HOLDS" and cert["error"]["upper"] == "0", cert["reasons"]
