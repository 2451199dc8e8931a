"""Builders that tighten a scale until the certified bound of the network meets the claim.

A builder estimates its scale from floats (Taylor coefficients, a plan), then must *meet what it
promises*: it certifies the network it built with the same rigorous routine the certifier runs,
and shrinks the scale until the bound is at most the goal.  If the rounds run out it raises
:class:`TuningError` — a construction never hands an uncertified network on silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from flint import fmpq


class TuningError(RuntimeError):
    """The construction could not bring its certified bound within the goal: a limit of the
    construction (or a bug), never a verdict."""


def exact_constant(target: Any, d: int) -> fmpq:
    """f(0) exactly for a target with modulus 0.  Its bound C·ω̄(…) is 0, so the network must equal
    f exactly; with rational weights that needs a rational value, else :class:`TuningError`
    (INCONCLUSIVE: a limit of rational constructions, never a verdict against the theorem)."""
    if not getattr(target, "rational_valued", False):
        raise TuningError(f"target {target.name!r} has modulus 0, so the bound is 0, but its value is "
                          "not an exact rational: a network with rational weights cannot meet it")
    return target.exact([fmpq(0)] * d)


@dataclass(frozen=True)
class Attempt:
    """One round: what the builder returns if it succeeds, and the certified bound reached
    (None when no finite bound could be computed at this scale)."""

    result: Any
    upper: Optional[fmpq]
    ok: bool


def halve_until_certified(start: fmpq, attempt: Callable[[fmpq], Attempt], goal: fmpq,
                          rounds: int, what: str, adaptive: bool = False) -> Any:
    """``attempt(scale)`` for scale = start, then smaller, until it succeeds.

    The scale halves each round; with ``adaptive`` it shrinks by goal/(2·upper) when the bound
    missed by more than a factor 2 (at most 1024-fold), for bounds roughly linear in the scale.
    """
    scale, trail = start, []
    for _ in range(rounds):
        a = attempt(scale)
        if a.ok:
            return a.result
        trail.append("no bound" if a.upper is None else f"{float(a.upper / goal):.3g}")  # display only
        shrink = fmpq(1, 2)
        if adaptive and a.upper:
            shrink = min(shrink, max(fmpq(1, 1024), goal / (2 * a.upper)))
        scale = scale * shrink
    raise TuningError(f"{what}: the certified bound still misses {goal} after {rounds} rounds "
                      f"(bound/goal per round: {', '.join(trail)})")
