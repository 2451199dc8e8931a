"""Changed statements: the unchanged network against a bound below the truth."""

from __future__ import annotations

import dataclasses
from typing import Any

from flint import arb, fmpq

from constructive.targets import arb_to_fmpq_bounds


def tighten_bound(thm: Any, bound: Any) -> Any:
    """The theorem with its stated error bound replaced by ``bound`` (everything else kept)."""
    return dataclasses.replace(thm, claim={**thm.claim, "bound": str(bound)})


def without_claims(thm: Any, *names: str) -> Any:
    """The theorem with the named architecture claims dropped (the error claim kept)."""
    arch = {k: v for k, v in thm.claim.get("architecture", {}).items() if k not in names}
    return dataclasses.replace(thm, claim={**thm.claim, "architecture": arch})


def with_claim(thm: Any, name: str, relation: str, formula: str) -> Any:
    """The theorem with one architecture claim restated (the rest kept)."""
    arch = {**thm.claim.get("architecture", {}), name: {relation: formula}}
    return dataclasses.replace(thm, claim={**thm.claim, "architecture": arch})


def certified_lower(cert: dict) -> fmpq:
    """The certificate's rigorous lower bound of the error as an exact rational (≤ the truth)."""
    text = cert["error"]["lower"]
    try:
        return fmpq(*map(int, text.split("/"))) if "/" in text else fmpq(int(text))
    except ValueError:
        return max(arb_to_fmpq_bounds(arb(text))[0], fmpq(0))


def below_lower(inst) -> object:
    """The theorem with its bound replaced by half the certified lower bound of the unchanged
    network: the stated bound is then provably below the true error, so it must not HOLD."""
    lower = certified_lower(inst.cert)
    if lower <= 0:
        raise AssertionError(f"{inst.thm.id}: no positive lower bound to go below")
    return tighten_bound(inst.thm, lower / 2)
