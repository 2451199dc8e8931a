"""What a certification method is, and what it returns.

A :class:`Method` is one value per method name: the bound it computes, how the network's
architecture is measured, the work budget checked before anything runs, and whether it takes a
user network (``--network``).  Paper packages declare theirs in ``proofs/<paper>/check.py`` as
``METHODS``; :mod:`certify.methods` holds the ones that know no paper.  Every method returns an
:class:`ErrorReport`: a rigorous lower bound (exactly evaluated witnesses or cell-wise infima) and
a rigorous upper bound of the error in the claimed norm, with the gadget specifications it relied
on and the evidence the checker kernel re-derives the bound from.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import sympy
from flint import arb, fmpq

from constructive import architecture as arch
from constructive.numbers import precision

PREC = 192


class AnalysisFailed(Exception):
    """A method could not carry out its analysis on this network (not a verdict)."""


@dataclass(frozen=True)
class Method:
    """A certification method: ``bound(thm, params, target, net) -> ErrorReport``.

    ``measure`` counts the architecture (the default: the layered network as built; a method
    may count a repeated block once); ``precheck(params)`` refuses work over a stated budget
    before anything is built; ``network_option(path)`` is a context in which the builder uses a
    user's network file, for methods that accept ``--network``.
    """

    name: str
    bound: Callable[..., "ErrorReport"]
    measure: Callable[[Any], arch.Architecture] = arch.measure
    precheck: Optional[Callable[[dict], None]] = None
    network_option: Optional[Callable[[str], AbstractContextManager]] = None

    @property
    def measures_layers(self) -> bool:
        return self.measure is arch.measure


def methods(*items: Method) -> dict[str, Method]:
    """The ``METHODS`` table of a module, keyed by name (duplicates are a bug)."""
    out: dict[str, Method] = {}
    for m in items:
        if m.name in out:
            raise ValueError(f"method {m.name!r} declared twice")
        out[m.name] = m
    return out


@dataclass
class ErrorReport:
    lower: Any  # fmpq or arb: a rigorous lower bound of the error
    upper: Any  # fmpq or arb: a rigorous upper bound of the error
    witnesses: list = field(default_factory=list)  # [{"x": [...], "error_lower": "..."}]
    gadgets_used: set = field(default_factory=set)
    details: dict = field(default_factory=dict)
    range_ok: Optional[bool] = None
    # False when the instance provably violates the theorem's hypothesis (the theorem then
    # claims nothing, so a large error is no violation of it); None when not examined
    hypothesis_ok: Optional[bool] = None
    # data from which the kernel re-derives the bounds (certify/evidence.py); None: none emitted
    evidence: Optional[dict] = None


# ------------------------------------------------------------------------------------------
# exact formulas → balls


def to_arb(expr: sympy.Expr) -> arb:
    """Rigorous arb enclosure of an exact sympy expression (no floats on the way)."""
    expr = sympy.sympify(expr)
    if expr.is_Rational:
        return arb(fmpq(int(expr.p), int(expr.q)))
    if expr.is_Add:
        return sum((to_arb(a) for a in expr.args), arb(0))
    if expr.is_Mul:
        out = arb(1)
        for a in expr.args:
            out *= to_arb(a)
        return out
    if expr.is_Pow:
        base, exp = expr.args
        if exp.is_Integer:
            b = to_arb(base)
            e = int(exp)
            return b ** e if e >= 0 else 1 / b ** (-e)
        return to_arb(base) ** to_arb(exp)
    if isinstance(expr, sympy.log):
        return to_arb(expr.args[0]).log() if len(expr.args) == 1 else \
            to_arb(expr.args[0]).log() / to_arb(expr.args[1]).log()
    if expr is sympy.pi:
        return arb.pi()
    if isinstance(expr, (sympy.Min, sympy.Max)):
        vals = [to_arb(a) for a in expr.args]
        out = vals[0]
        for v in vals[1:]:
            out = out.min(v) if isinstance(expr, sympy.Min) else out.max(v)
        return out
    if isinstance(expr, (sympy.floor, sympy.ceiling)):
        v = sympy.Integer(expr)  # sympy decides integer parts exactly
        return arb(int(v))
    raise ValueError(f"cannot enclose {expr!r} rigorously")


def bound_value(thm: Any, params: dict, target: Any) -> sympy.Expr:
    """The claimed bound with ω replaced by the target's certified modulus λ r^α."""
    expr = thm.substitute(thm.claim.get("bound", "0"), params, target)
    lam = sympy.Rational(str(target.lam)) if target is not None else 0
    alpha = sympy.Rational(str(target.alpha)) if target is not None else 1
    r = sympy.Symbol("r")
    return expr.replace(sympy.Function("omega"), sympy.Lambda(r, lam * r ** alpha))


def compare(upper: Any, lower: Any, bound: sympy.Expr, strict: bool = False) -> str:
    """HOLDS / VIOLATED / INCONCLUSIVE from rigorous bounds.

    ``strict``: the statement says "error < bound", so HOLDS needs upper < bound and an error
    equal to the bound already violates it (lower ≥ bound)."""
    bound = sympy.sympify(bound)
    if bound.is_Rational and isinstance(upper, fmpq) and isinstance(lower, fmpq):
        b = fmpq(int(bound.p), int(bound.q))
        if strict:
            return "HOLDS" if upper < b else ("VIOLATED" if lower >= b else "INCONCLUSIVE")
        return "HOLDS" if upper <= b else ("VIOLATED" if lower > b else "INCONCLUSIVE")
    with precision(PREC):
        b = to_arb(bound)
        u = upper if isinstance(upper, arb) else arb(upper)
        lo = lower if isinstance(lower, arb) else arb(lower)
        if (u < b) if strict else (u <= b):
            return "HOLDS"
        if (lo >= b) if strict else (lo > b):
            return "VIOLATED"
    return "INCONCLUSIVE"
