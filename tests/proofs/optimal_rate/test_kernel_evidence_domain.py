"""Theorem 1.1 (p < ∞) and Theorem 2.5 on a bounded domain: the kernel re-derives the bounds from
grid evidence (``grid-lp`` over the cell ends, ``grid-sup`` over the mid repair's cuts), the
target read on E = [−R, R]^d through the map onto the cube (``claim.rescale``), the norm over a
union of boxes E only (``claim.within``); a broken network or a grid that misses E is refused."""

from __future__ import annotations

import copy

import pytest
from flint import fmpq

from certify.certificate import content_hash
from certify.kernel import check_certificate_data
from certify.kernel.claims import statement
from tests.kernel_certs import cert, moved

INSTANCES = [("syz-rate-lp", {}), ("syz-rate-lp", {"d": "2", "N": "4"}),
             ("syz-bounded-domain", {}), ("syz-bounded-domain-lp", {"R": "1/3"}),
             ("syz-bounded-domain-boxes", {}), ("syz-bounded-domain-boxes-lp", {}),
             ("syz-bounded-domain-boxes", {"E": "[0,1/3];[1/4,1/2];[2/3,1]"}),
             ("syz-bounded-domain-boxes-lp", {"d": "2", "E": "[0,1/2]x[0,1];[1/2,1]x[0,1/4]"})]


def _report(c: dict):
    return check_certificate_data(c)


@pytest.mark.parametrize("tid,params", INSTANCES)
def test_kernel_rederives_the_bound(tid, params):
    c = cert(tid, **params)
    report = _report(c)
    assert report.ok, report.problems
    assert report.verdict == c["verdict"] == "HOLDS"
    assert report.upper is not None and not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("tid,params", INSTANCES[:2] + INSTANCES[3:6])
def test_an_output_shift_past_the_bound_is_refused(tid, params):
    """The statements' bounds 131 √d ω(…) are far above the true error, so a 2^-40 move leaves
    them true; the output moved by 10^4, far past the bound, breaks
    them, and the kernel's re-derived bound says so."""
    c = cert(tid, **params)
    last = len(c["network"]["layers"]["layers"]) - 1
    assert float(c["error"]["bound"].strip("[").split()[0]) < 10 ** 3
    report = _report(moved(c, last, "b", fmpq(10 ** 4)))
    assert not report.ok and report.verdict != "HOLDS"


def test_the_target_is_read_through_the_map_onto_the_cube(monkeypatch):
    """E = [−3, 3]: the kernel's f(x) = |(x + 3)/6| on E; read without the map (f(x) = |x|) the
    same network is far from f and the stored HOLDS no longer follows."""
    c = cert("syz-bounded-domain")
    report = _report(c)
    assert report.ok and report.upper < fmpq(1, 10)
    monkeypatch.delitem(statement("syz-bounded-domain").claim, "rescale")
    assert not _report(c).ok


def test_grid_evidence_must_cut_at_every_end_of_E():
    c = cert("syz-bounded-domain-boxes", E="[0,1/3];[1/4,1/2];[2/3,1]")
    forged = copy.deepcopy(c)
    end = str(2 * 3 * fmpq(1, 4) - 3)  # u = 1/4 is x = −3/2
    forged["evidence"]["cuts"] = [[x for x in forged["evidence"]["cuts"][0] if x != end]]
    forged["hash"] = content_hash(forged)
    report = _report(forged)
    assert not report.ok and any("every end of E" in p for p in report.problems)
