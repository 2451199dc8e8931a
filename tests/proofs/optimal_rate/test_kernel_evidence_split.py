"""The checker kernel re-derives range claims over all of R^d through a hidden layer of one ReLU
(check ``split-range``): φ = tail(u), u ≥ 0, the tail followed exactly on [0, reach] and shown
affine beyond.  The bound is a superset's: one that misses the claim decides nothing."""

from __future__ import annotations

import copy

import pytest
from flint import fmpq

from certify.certificate import content_hash
from certify.kernel import check_certificate_data
from tests.kernel_certs import cert

IDS = [("syz-increment-fit-range", {}), ("syz-increment-fit-range", {"N": "3", "L": "3"}),
       ("nestnet-point-fit-range", {})]


def _bounds_trusted(report) -> bool:
    return any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("tid,params", IDS)
def test_kernel_rederives_the_range_on_all_of_r_d(tid, params):
    c = cert(tid, **params)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert report.verdict == c["verdict"] == "HOLDS" and report.upper == 0
    assert not _bounds_trusted(report)
    assert "y, the instance's data, as stored" in report.trusted


def _with(c: dict, **evidence) -> dict:
    forged = copy.deepcopy(c)
    forged["evidence"].update(evidence)
    forged["hash"] = content_hash(forged)
    return forged


@pytest.mark.parametrize("tid,params", IDS)
def test_the_output_moved_up_by_2_to_the_minus_40_is_not_rederived(tid, params):
    """The last bias moved up: the tail now exceeds max y by 2^-40, so the kernel's bound misses
    the claim and the stored HOLDS stays listed as trusted (check --rebuild then refuses it)."""
    forged = copy.deepcopy(cert(tid, **params))
    last = forged["network"]["layers"]["layers"][-1]
    old = next((fmpq(*map(int, (v + "/1").split("/")[:2])) for i, v in last["b"] if i == 0), fmpq(0))
    last["b"] = [[0, str(old + fmpq(1, 2 ** 40))]] + [e for e in last["b"] if e[0] != 0]
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert _bounds_trusted(report) and report.upper is None


def test_a_split_at_a_layer_wider_than_one_is_refused():
    c = cert("syz-increment-fit-range")
    wide = next(k for k, layer in enumerate(c["network"]["layers"]["layers"][:-1]) if layer["rows"] > 1)
    assert not check_certificate_data(_with(c, layer=wide)).ok


def test_a_reach_short_of_the_last_kink_is_not_rederived():
    c = cert("nestnet-point-fit-range")
    report = check_certificate_data(_with(c, reach="1/1000"))
    assert report.ok and _bounds_trusted(report)


def test_a_split_whose_tail_is_unbounded_decides_nothing():
    """At the clip's second ReLU the tail is M − u, unbounded below on u ≥ 0."""
    c = cert("nestnet-point-fit-range")
    report = check_certificate_data(_with(c, layer=c["evidence"]["layer"] + 1))
    assert report.ok and _bounds_trusted(report)


def test_a_claimed_range_tightened_below_the_truth_is_not_holds(monkeypatch):
    from certify.kernel import claims
    tid = "syz-increment-fit-range"
    stmt = claims.load_statements()[tid]
    monkeypatch.setitem(claims.load_statements(), tid, type(stmt)(
        **{**stmt.__dict__, "claim": dict(stmt.claim, range=["0", "Max(y) - 1/2**40"])}))
    report = check_certificate_data(cert(tid))
    assert report.verdict != "HOLDS" or _bounds_trusted(report)
    assert not (report.upper is not None and report.upper == 0)


def test_evidence_without_a_split_layer_leaves_the_bound_trusted():
    c = cert("syz-increment-fit-range")
    report = check_certificate_data(_with(c, layer=None))
    assert report.ok and _bounds_trusted(report) and report.verdict == "HOLDS"


# sup |φ| − |f(0)| over R^d (NestNet Theorem A's range part), through the same split ----------
OFF = "nestnet-offtrifling-range"


@pytest.mark.parametrize("params", [{}, {"d": "2", "n": "2"}])
def test_kernel_rederives_sup_phi_minus_f0(params):
    c = cert(OFF, **params)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert report.verdict == "HOLDS" and not _bounds_trusted(report)
    assert report.upper is not None and report.upper.is_finite() and report.lower <= report.upper


def test_sup_phi_with_the_output_lifted_far_is_not_holds():
    """The last bias moved by 10: sup |φ| grows by 10, past ω(√d) + |f(0)|; the tail's range is
    only a superset, but φ's exact values at the witnesses exceed the bound, so the kernel finds
    VIOLATED and refuses the stored HOLDS."""
    forged = copy.deepcopy(cert(OFF))
    last = forged["network"]["layers"]["layers"][-1]
    old = next((fmpq(*map(int, (v + "/1").split("/")[:2])) for i, v in last["b"] if i == 0), fmpq(0))
    last["b"] = [[0, str(old + 10)]] + [e for e in last["b"] if e[0] != 0]
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert report.verdict == "VIOLATED" and report.lower > 10 and not report.ok
