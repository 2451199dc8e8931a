"""A failed hypothesis reads INCONCLUSIVE with its witness, never VIOLATED.

Theorem 2 of the PEUAF paper (like Theorem 14 of the EUAF paper) assumes |f(x₁) − f(x₂)| < ε/2
whenever |x₁ − x₂| < 1/K, with K given by the user; Theorem 3 with a user-fixed K assumes
|f(z₁) − f(z₂)| < ε/10 whenever |z₁ − z₂| < 1/K on [0, 1/2].  Outside these the theorem claims
nothing, so a large certified error is no violation of it.
"""

from __future__ import annotations

import pytest
from flint import fmpq

from certify.certificate import run_theorem
from constructive.targets import user_target
from proofs.peuaf.check import oscillation


def _outside(cert):
    return cert["verdict"] == "INCONCLUSIVE" and any("outside the theorem's hypothesis" in r
                                                     for r in cert["reasons"])


def test_thm2_outside_its_hypothesis_is_inconclusive_with_the_witness_pair():
    cert = run_theorem("peuaf-1d-half", {"K": "4"})
    assert _outside(cert)
    assert "at distance" in cert["details"]["hypothesis"]  # the exact pair refuting it
    assert fmpq(cert["error"]["lower"]) > fmpq(1, 5)  # the error really exceeds ε


def test_thm2_and_thm14_agree_outside_the_hypothesis():
    assert _outside(run_theorem("syz-fixed-sigma-1d-half", {"K": "4"}))
    assert _outside(run_theorem("peuaf-1d-half", {"K": "4"}))


def test_thm2_inside_its_hypothesis_still_holds():
    cert = run_theorem("peuaf-1d-half", {"K": "16"}, "sin(x1)")  # modulus checked, not declared
    assert cert["verdict"] == "HOLDS"
    assert "certified modulus" in cert["details"]["hypothesis"]


def test_thm3_with_a_user_k_checks_the_hypothesis():
    cert = run_theorem("peuaf-1d", {"K": "10"}, "sin(40*x1)")
    assert _outside(cert)
    assert "at distance" in cert["details"]["hypothesis"]
    # K chosen by the builder: nothing to check, the theorem's hypothesis is only continuity
    assert "hypothesis" not in run_theorem("peuaf-1d", {})["details"]


def test_oscillation_is_decided_both_ways():
    f = user_target("x1", 1, lipschitz="1")
    assert oscillation(f, fmpq(1, 8), fmpq(1, 4))[0] is True
    ok, why = oscillation(f, fmpq(1, 2), fmpq(1, 4))
    assert ok is False and "at distance" in why


@pytest.mark.parametrize("tid", ["syz-fixed-sigma-1d", "syz-fixed-sigma-1d-nine-tenths"])
def test_euaf_chain_with_a_user_k_outside_the_hypothesis_is_inconclusive(tid):
    """Step 1 of the proof of Theorem 15 asks |f(x1) - f(x2)| < eps/8 when |x1 - x2| < 1/K."""
    from certify.certificate import run_theorem

    cert = run_theorem(tid, {"K": "10"}, "sin(40*x1)")
    assert cert["verdict"] == "INCONCLUSIVE"
    assert any("hypothesis" in r for r in cert["reasons"])
