"""Instances of theorems, built once per test session, and certification of mutants.

A mutant test is only meaningful if the unmutated network HOLDS at the same instance, so
``instance`` certifies the original once (cached per session) and fails loudly if it does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Optional

import pytest

from certify.certificate import certify_network, make_target_for
from certify.registry import default_registry
from constructive.ir import Node


class BaselineError(Exception):
    """The unmutated network does not HOLD: every mutant test at this instance is meaningless
    (a distinct type, so that an xfail(raises=AssertionError) never swallows it)."""


@dataclass(frozen=True)
class Instance:
    thm: Any
    params: dict
    target: Any
    builder: Any
    net: Node
    cert: dict  # the unmutated network's certificate


@lru_cache(maxsize=None)
def _instance(tid: str, raw: tuple, target_spec: Optional[str]) -> Instance:
    thm = default_registry().get(tid)
    params = thm.parse_params(dict(raw))
    target = make_target_for(thm, params, target_spec)
    builder = thm.builder()
    net = builder(params, target)
    cert = certify_network(thm, params, target, net, builder)
    return Instance(thm, params, target, builder, net, cert)


def instance(tid: str, raw: Optional[dict] = None, target: Optional[str] = None) -> Instance:
    """The built and certified instance; asserts that the unmutated network HOLDS."""
    inst = _instance(tid, tuple(sorted((raw or {}).items())), target)
    if inst.cert["verdict"] != "HOLDS":
        raise BaselineError(f"{tid} {raw}: the unmutated network is {inst.cert['verdict']}: "
                            f"{inst.cert['reasons']}")
    return inst


def verdict_line(cert: dict) -> str:
    """A short summary for assertion messages."""
    e = cert["error"]
    return (f"{cert['verdict']} lower={e['lower'][:30]} upper={e['upper'][:30]} "
            f"bound={e['bound'][:30]} reasons={cert['reasons']}")


# ------------------------------------------------------------------------------------------
# mutants


@dataclass(frozen=True)
class Mutant:
    """One seeded mutation: a changed network and/or a changed statement, at one instance."""

    id: str
    theorem: str
    params: dict
    what: str  # the mutation in words (for the report table)
    mutate: Optional[Callable[[Instance], Node]] = None  # None: the network is kept
    restate: Optional[Callable[[Instance], Any]] = None  # a changed theorem (bound, claims)
    target: Optional[str] = None
    hole: Optional[str] = None  # a known hole: the mutant survives for now (xfail strict)
    harmless: Optional[str] = None  # why the claim really still holds (the test wants HOLDS)
    slow: bool = False

    def instance(self) -> Instance:
        return instance(self.theorem, self.params, self.target)


@dataclass
class Outcome:
    verdict: str  # HOLDS / VIOLATED / INCONCLUSIVE, or REFUSED when the certifier raised
    cert: Optional[dict] = None
    error: Optional[str] = None
    shown: Optional[str] = None  # HOLDS where the kernel's bounds decide a stored INCONCLUSIVE

    def line(self) -> str:
        return self.error if self.cert is None else verdict_line(self.cert)


#: outcomes of this session, for the summary table printed by conftest.py
OUTCOMES: dict[str, tuple[Mutant, Outcome]] = {}


def run(m: Mutant) -> Outcome:
    """Build the instance, apply the mutation (outside the try: a broken mutation is a test bug,
    not a kill), certify; an exception from the certifier is a refusal, i.e. not HOLDS."""
    inst = m.instance()
    net = m.mutate(inst) if m.mutate else inst.net
    thm = m.restate(inst) if m.restate else inst.thm
    if m.mutate is None and m.restate is None:
        raise AssertionError("a mutant must change the network or the statement")
    if net is not inst.net and net.digest == inst.net.digest:
        raise AssertionError("the mutation did not change the network")
    try:
        cert = certify_network(thm, inst.params, inst.target, net, inst.builder)
        out = Outcome(cert["verdict"], cert)
    except Exception as exc:  # noqa: BLE001 - any refusal to certify is "not HOLDS"
        out = Outcome("REFUSED", None, f"REFUSED {type(exc).__name__}: {exc}"[:300])
    OUTCOMES[m.id] = (m, out)
    if out.cert is not None and m.restate is None:
        out.shown = kernel_agrees(out.cert)
    return out


def kernel_agrees(cert: dict) -> Optional[str]:
    """The checker kernel, given the mutant's certificate as plain data, accepts it and finds
    the same verdict (statements are read from the installed claims, so restated mutants are
    not handed to it); returns what the kernel's sharper bounds show, if anything."""
    import json

    from certify.kernel import check_certificate_data

    report = check_certificate_data(json.loads(json.dumps(cert)))
    assert report.ok and report.verdict == cert["verdict"], \
        f"kernel: {report.verdict} vs {cert['verdict']}: {report.problems}"
    return report.sharper


_IDS: set = set()


def cases(mutants: list[Mutant]) -> list:
    """pytest parameters: a known hole is xfail(strict) so that closing it shows up as XPASS."""
    out = []
    for m in mutants:
        if m.id in _IDS:
            raise ValueError(f"mutant id {m.id!r} is used twice")
        _IDS.add(m.id)
        # only a failed assertion is the expected failure: a crash or a broken baseline is not
        marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"hole: {m.hole}")] \
            if m.hole else []
        if m.slow:
            marks.append(pytest.mark.slow)
        out.append(pytest.param(m, id=m.id, marks=marks))
    return out


def assert_dies(m: Mutant) -> Outcome:
    out = run(m)
    assert out.verdict != "HOLDS", f"{m.id} survived: {m.what}: {out.line()}"
    # the certifier's INCONCLUSIVE is no kill where the kernel shows the claim still true
    assert out.shown != "HOLDS", f"{m.id} is harmless, the kernel shows HOLDS: {m.what}"
    return out


def assert_harmless(m: Mutant) -> Outcome:
    """A mutation inside the claim's slack: the claim really still holds, so HOLDS is right
    (from the certifier, or from the kernel's sharper bounds beside its INCONCLUSIVE)."""
    out = run(m)
    assert "HOLDS" in (out.verdict, out.shown), f"{m.id} ({m.what}) should still hold: {out.line()}"
    return out
