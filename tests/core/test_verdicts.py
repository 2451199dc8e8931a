"""Verdict words: a bound on an unverified assumption is CONDITIONAL (met) or INCONCLUSIVE
(exceeded), never HOLDS or VIOLATED; a contradiction between the certifier's own bounds is a
loud internal error, never a verdict."""

from __future__ import annotations

import pytest
from flint import fmpq

from certify.certificate import ContradictionError, check_consistent, run_theorem

STEP = "Piecewise((0, x1 < 1/2), (1, True))"       # discontinuous: no Lipschitz constant
TENT = "Piecewise((x1, x1 < 1/2), (1 - x1, True))"  # Lipschitz 1, but Piecewise is never checked


def test_declared_modulus_of_a_discontinuous_target_never_gives_violated():
    cert = run_theorem("syz-intrinsic-linf", {"n": "3"}, STEP, "1")
    assert cert["target"]["certified"].startswith("assumption")
    assert cert["verdict"] == "INCONCLUSIVE"
    assert any("declared modulus" in r for r in cert["reasons"])


def test_a_bound_met_under_an_unverified_modulus_is_conditional():
    cert = run_theorem("syz-intrinsic-linf", {"n": "3"}, TENT, "1")
    assert cert["target"]["certified"].startswith("assumption")
    assert cert["verdict"] == "CONDITIONAL"
    assert any("unverified assumption" in r for r in cert["reasons"])


def test_lower_above_upper_is_an_internal_error():
    check_consistent("t", fmpq(1, 3), fmpq(1, 2))
    with pytest.raises(ContradictionError):
        check_consistent("t", fmpq(1, 2), fmpq(1, 3))
