"""The checker kernel redoes Lemma 3's lattice argument (check ``no-relation``): the numbers
ρ((lo+hi)/2 + k w0) from the statement's formula in arb, flint's LLL and exact Gram–Schmidt."""

from __future__ import annotations

import copy

import pytest

from certify.certificate import content_hash
from certify.kernel import check_certificate_data, claims
from tests.kernel_certs import cert

TID = "peuaf-analytic-independence"


@pytest.mark.parametrize("params", [{}, {"K": "12", "H": "100000"}, {"lo": "-7/3", "hi": "-1/5", "K": "3"}])
def test_kernel_rederives_the_absence_of_relations(params):
    c = cert(TID, **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert report.upper == 0 and not any("error bounds" in t for t in report.trusted)


def test_too_few_bits_show_nothing_and_a_forged_holds_is_refused():
    forged = copy.deepcopy(cert(TID))
    forged["evidence"]["bits"] = 8
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert not report.ok and report.verdict == "INCONCLUSIVE"


def test_numbers_with_a_relation_are_never_shown_free_of_one(monkeypatch):
    """The statement's numbers replaced by the rationals 1/(k + 1) (6·a_1 − 3·a_2 ... relations
    of small height exist): the lattice cannot exclude them, so no HOLDS."""
    stmt = claims.load_statements()[TID]
    claim = dict(stmt.claim, relation=dict(stmt.claim["relation"], value="1/(k + 1)"))
    monkeypatch.setitem(claims.load_statements(), TID, type(stmt)(**{**vars(stmt), "claim": claim}))
    report = check_certificate_data(cert(TID))
    assert report.verdict != "HOLDS" and not report.ok
