"""The kernel re-derives Table 2's constants (check ``neuron-band``) from the statement's rows:
every constant's certificate is verified, each resting only on its row's lemma, and a statement
or evidence changed under the certificate is refused."""

from __future__ import annotations

import copy
import dataclasses
import json
from functools import lru_cache

import pytest

from certify.certificate import content_hash, run_theorem
from certify.checker import check_data
from certify.kernel import claims as kernel_claims

THEOREM = "zlz-table2-single-neuron-band"
CONSTANTS = ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C7tilde", "C8", "C9"]


@lru_cache(maxsize=None)
def _certificate(constant: str) -> str:
    return json.dumps(run_theorem(THEOREM, {"constant": constant}))


def certificate(constant: str) -> dict:
    return json.loads(_certificate(constant))


def with_row(monkeypatch, constant: str, **changes) -> None:
    """The kernel reads a statement whose row for ``constant`` has ``changes``."""
    stmts = dict(kernel_claims.load_statements())
    stmt = stmts[THEOREM]
    rows = copy.deepcopy(stmt.claim["constants"])
    rows[constant].update(changes)
    stmts[THEOREM] = dataclasses.replace(stmt, claim={**stmt.claim, "constants": rows})
    monkeypatch.setattr(kernel_claims, "load_statements", lambda directory=None: stmts)


@pytest.mark.parametrize("constant", CONSTANTS)
def test_every_constant_is_verified_resting_on_its_row_lemma_alone(constant):
    cert = certificate(constant)
    report = check_data(cert)
    assert cert["verdict"] == "HOLDS" and report.ok, report.problems
    assert not report.bound_trusted
    assert any(f"row {constant}: C = " in c for c in report.checks)
    lemmas = [t for t in report.trusted if "lemma" in t]
    assert len(lemmas) == 1 and lemmas[0].startswith(f"the lemma of {constant}: ")
    assert not any("error bounds" in t for t in report.trusted)


def test_a_printed_value_moved_off_the_constant_is_refused(monkeypatch):
    """The statement tightened below the truth: C4 = 0.27846… printed as 0.2779 (to 4 digits)
    is 11 half-units off; the kernel's own enclosure shows it, so the HOLDS is refused."""
    cert = certificate("C4")
    with_row(monkeypatch, "C4", printed="0.2779", digits=4)
    report = check_data(cert)
    assert not report.ok and report.verdict == "VIOLATED"


def test_a_tail_lemma_too_weak_leaves_too_few_digits(monkeypatch):
    """The tail bound enters C's upper end: a tail of 1 leaves C in [0.278, 1], fewer than
    four digits, so nothing is shown and the HOLDS is refused."""
    cert = certificate("C6")
    with_row(monkeypatch, "C6", tail="1")
    report = check_data(cert)
    assert not report.ok and report.verdict == "INCONCLUSIVE"


@pytest.mark.parametrize("cuts", [
    lambda c: [x for x in c if x != "0"],  # an interval across 0, where ReLU bends
    lambda c: c[1:],                       # [-40, 40] not covered
    lambda c: c[:-1],
    lambda c: list(reversed(c)),
])
def test_evidence_cuts_that_do_not_cover_the_box_properly_are_refused(cuts):
    cert = certificate("C7tilde")
    cert["evidence"]["cuts"] = cuts(cert["evidence"]["cuts"])
    cert["hash"] = content_hash(cert)
    assert not check_data(cert).ok


def test_coarser_cuts_still_bound_the_constant_soundly():
    """Every other cut dropped: the Taylor forms bound wider intervals, still soundly (the
    kernel's enclosure must still contain the certifier's point values)."""
    cert = certificate("C3")
    cuts = cert["evidence"]["cuts"]
    cert["evidence"]["cuts"] = [c for i, c in enumerate(cuts) if i % 2 == 0 or c in ("0", cuts[-1])]
    cert["hash"] = content_hash(cert)
    report = check_data(cert)
    assert report.ok and not report.bound_trusted, report.problems
