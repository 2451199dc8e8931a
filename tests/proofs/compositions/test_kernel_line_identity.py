"""The checker kernel re-derives Proposition 3.3's merged iterations (check ``line-identity``):
the left side stored as a network, both sides exact at every kink of either, affine between."""

from __future__ import annotations

import copy

import pytest
from flint import fmpq

from certify.certificate import content_hash
from certify.kernel import check_certificate_data
from tests.kernel_certs import cert, moved

TID = "zlz-merge-iterations"


@pytest.mark.parametrize("params", [{}, {"n": "4", "A": "3"}])
def test_kernel_rederives_the_merged_iterations(params):
    c = cert(TID, **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert report.upper == 0 and not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("layer", [0, 1, 3])
def test_a_merged_weight_moved_is_refused(layer):
    """Its kinks move off the cuts (not affine between them) or its values at the cuts change."""
    report = check_certificate_data(moved(cert(TID), layer, "W", fmpq(1, 2 ** 40)))
    assert not report.ok


def test_the_other_side_moved_is_refused():
    forged = copy.deepcopy(cert(TID))
    bias = forged["evidence"]["network"]["layers"][-1]["b"]
    forged["evidence"]["network"]["layers"][-1]["b"] = [[0, "1/1024"]] if not bias else \
        [[0, str(fmpq(*map(int, (bias[0][1] + "/1").split("/")[:2])) + fmpq(1, 1024))]]
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert not report.ok and report.verdict == "VIOLATED" and report.lower == fmpq(1, 1024)


def test_a_cut_dropped_is_refused():
    forged = copy.deepcopy(cert(TID))
    cuts = forged["evidence"]["cuts"]
    del cuts[len(cuts) // 2]
    forged["hash"] = content_hash(forged)
    assert not check_certificate_data(forged).ok
