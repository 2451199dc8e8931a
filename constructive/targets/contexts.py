"""Number contexts for the expression compiler: one walk, three number systems.

The compiler (:mod:`constructive.targets.compile`) walks a sympy tree once and asks a context
for every operation, as mpmath's contexts do.  A context says which nodes it supports (absent
operations are refused when compiling, with the context's own exception) and how each is
evaluated:

* :class:`ArbContext` — arb balls, every function of the target language.  ``strict``: a root
  or logarithm whose argument is not provably in its domain gives nan (used when certifying);
  otherwise the argument is clamped to its nonnegative part, which is sound at every point where
  f is real (the contract of a target on its cube).  Events are recorded in :class:`Flags`.
  Conditions are three-valued (``None``: undecided on this ball) and every part is evaluated.
* :class:`ExactContext` — exact ``fmpq`` values of rational-arithmetic trees (integer powers,
  Abs, Min, Max, Piecewise).  Conditions are decided (``==``/``!=`` allowed), ``And``/``Or``
  stop at the first deciding part; division by zero or an uncovered point is a ValueError.
* :class:`IntervalContext` — exact rational intervals ``(lo, hi)`` for the same trees, with no
  rounding at all.  Conditions are three-valued; an interval power through 0 with a negative
  exponent, or a point no branch provably covers, is a ZeroDivisionError.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Optional

import sympy as sp
from flint import arb, fmpq

Interval = tuple[fmpq, fmpq]


class Unsupported(Exception):
    """A node the arb context cannot evaluate (refused at compile time)."""


class Flags:
    """Mutable record of what happened during one ball evaluation."""

    __slots__ = ("kink", "outside")

    def __init__(self) -> None:
        self.kink = False  # a sign/Heaviside argument straddled 0
        self.outside = False  # a root/log argument was provably outside its domain, or 1/0


# ---------------------------------------------------------------------------------------------
# arb balls


def _nan() -> arb:
    return arb.nan()


def mono(f: Callable[[arb], arb], x: arb) -> arb:
    """Range of a monotone f over the ball x: f at the exact endpoints, joined."""
    return f(x.lower()).union(f(x.upper()))


def _pow_ui(a: arb, n: int) -> arb:
    r = arb(1)
    while n:
        if n & 1:
            r = r * a
        a = a * a
        n >>= 1
    return r


def int_pow(x: arb, n: int) -> arb:
    """x^n on a ball, tight at the endpoints (arb's ``**`` gives nan on balls containing 0)."""
    if n == 0:
        return arb(1)
    if n < 0:
        return 1 / int_pow(x, -n)
    lo, hi = x.lower(), x.upper()
    if n % 2 == 1:
        return _pow_ui(lo, n).union(_pow_ui(hi, n))
    a_lo, a_hi = x.abs_lower(), x.abs_upper()
    return _pow_ui(a_lo, n).union(_pow_ui(a_hi, n)).nonnegative_part()


def _domain(x: arb, strict: bool, positive: bool, flags: Flags) -> Optional[arb]:
    """The part of x in [0, ∞) (or (0, ∞)); None (→ nan) when x provably leaves the domain
    (recorded in ``flags.outside``) or, when ``strict``, when x is not provably inside it."""
    if not x.is_finite():
        return None
    if (x <= 0) if positive else (x < 0):
        flags.outside = True
        return None
    if (x > 0) if positive else (x >= 0):
        return x
    if strict:
        return None
    return x.nonnegative_part()


_ORDER = frozenset({"<", "<=", ">", ">="})


class ArbContext:
    """arb balls at the ambient precision (see the module docstring for ``strict``)."""

    relations = _ORDER
    short_circuit = False
    constants = ((sp.pi, arb.pi), (sp.E, arb.const_e))
    rational = staticmethod(arb)
    add = staticmethod(operator.add)
    mul = staticmethod(operator.mul)
    min = staticmethod(lambda u, v: u.min(v))
    max = staticmethod(lambda u, v: u.max(v))

    def __init__(self, strict: bool, flags: Flags) -> None:
        self.strict, self.flags = strict, flags
        self.functions: tuple[tuple[type, Callable[[arb], arb]], ...] = (
            (sp.sin, arb.sin), (sp.cos, arb.cos), (sp.tan, arb.tan),
            (sp.exp, lambda x: mono(arb.exp, x)), (sp.atan, lambda x: mono(arb.atan, x)),
            (sp.tanh, lambda x: mono(arb.tanh, x)), (sp.log, self.log), (sp.Abs, self.abs),
            (sp.sign, self.sign), (sp.Heaviside, self.heaviside),
        )

    def unsupported(self, msg: str, node: sp.Basic, condition: bool = False) -> Exception:
        return Unsupported(msg)

    def ipow(self, x: arb, n: int) -> arb:
        if n < 0 and x.is_zero():
            self.flags.outside = True
            return _nan()
        return int_pow(x, n)

    def rpow(self, x: arb, p: int, q: int) -> arb:
        """x^(p/q), q ≥ 2: the real q-th root (x ≥ 0), then the integer power."""
        x = _domain(x, self.strict, p < 0, self.flags)
        if x is None:
            return _nan()
        root = mono(lambda t: t.sqrt() if q == 2 else t.root(q), x).nonnegative_part()
        return int_pow(root, p)

    def gpow(self, x: arb, exponent: Callable[[], arb]) -> arb:
        """x^y = exp(y log x), x > 0; the exponent is evaluated only when x is in the domain."""
        x = _domain(x, self.strict, True, self.flags)
        if x is None:
            return _nan()
        return (exponent() * x.log()).exp()

    def log(self, x: arb) -> arb:
        x = _domain(x, self.strict, True, self.flags)
        return _nan() if x is None else mono(arb.log, x)

    def abs(self, x: arb) -> arb:
        if not x.is_finite():
            return _nan()
        return x.abs_lower().union(x.abs_upper()).nonnegative_part()

    def sign(self, x: arb) -> arb:
        if x > 0:
            return arb(1)
        if x < 0:
            return arb(-1)
        self.flags.kink = True
        return arb(0, 1)

    def heaviside(self, x: arb) -> arb:
        if x > 0:
            return arb(1)
        if x < 0:
            return arb(0)
        self.flags.kink = True
        return arb(fmpq(1, 2), fmpq(1, 2))

    @staticmethod
    def join(u: arb, v: arb) -> arb:
        return u.union(v)

    @staticmethod
    def uncovered() -> arb:
        return _nan()  # not provably covered by a branch

    @staticmethod
    def compare(op: str, u: arb, v: arb) -> Optional[bool]:
        if not (u.is_finite() and v.is_finite()):
            return None
        yes = {"<": u < v, "<=": u <= v, ">": u > v, ">=": u >= v}[op]
        no = {"<": u >= v, "<=": u > v, ">": u <= v, ">=": u < v}[op]
        return True if yes else (False if no else None)


# ---------------------------------------------------------------------------------------------
# exact rationals


class _Rational:
    """What the two exact contexts share: refusals are ValueErrors naming the node."""

    constants: tuple[tuple[Any, Callable[[], Any]], ...] = ()
    rpow = None  # only integer powers: the value of a rational tree stays rational
    gpow = None

    def unsupported(self, msg: str, node: sp.Basic, condition: bool = False) -> Exception:
        return ValueError(f"not a rational {'condition' if condition else 'expression'}: {node}")


def _fmpq_pow(v: fmpq, n: int) -> fmpq:
    if n < 0:
        if v == 0:
            raise ValueError("division by zero")
        return fmpq(1) / v ** (-n)
    return v**n


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}


class ExactContext(_Rational):
    """Exact fmpq values; conditions are decided, so And/Or may stop early."""

    relations = _ORDER | {"==", "!="}
    short_circuit = True
    functions = ((sp.Abs, abs),)
    rational = staticmethod(lambda q: q)
    add = staticmethod(operator.add)
    mul = staticmethod(operator.mul)
    min = staticmethod(lambda u, v: u if u <= v else v)
    max = staticmethod(lambda u, v: u if u >= v else v)
    ipow = staticmethod(_fmpq_pow)

    @staticmethod
    def join(u: fmpq, v: fmpq) -> fmpq:
        raise AssertionError("exact conditions are always decided")  # never reached

    @staticmethod
    def uncovered() -> fmpq:
        raise ValueError("no Piecewise branch applies")

    @staticmethod
    def compare(op: str, u: fmpq, v: fmpq) -> bool:
        return bool(_COMPARE[op](u, v))


# ---------------------------------------------------------------------------------------------
# exact rational intervals


def imul(u: Interval, v: Interval) -> Interval:
    ps = [u[0] * v[0], u[0] * v[1], u[1] * v[0], u[1] * v[1]]
    return min(ps), max(ps)


def ipow(u: Interval, n: int) -> Interval:
    lo, hi = u
    if n < 0:
        if lo <= 0 <= hi:
            raise ZeroDivisionError("interval contains 0")
        a, b = ipow(u, -n)
        return fmpq(1) / b, fmpq(1) / a
    if n % 2 == 1 or lo >= 0:
        return lo**n, hi**n
    if hi <= 0:
        return hi**n, lo**n
    return fmpq(0), max(-lo, hi) ** n


def _iabs(u: Interval) -> Interval:
    lo, hi = u
    if lo >= 0:
        return lo, hi
    if hi <= 0:
        return -hi, -lo
    return fmpq(0), max(-lo, hi)


class IntervalContext(_Rational):
    """Exact rational intervals (no rounding); conditions are three-valued."""

    relations = _ORDER
    short_circuit = False
    functions = ((sp.Abs, _iabs),)
    rational = staticmethod(lambda q: (q, q))
    add = staticmethod(lambda u, v: (u[0] + v[0], u[1] + v[1]))
    mul = staticmethod(imul)
    min = staticmethod(lambda u, v: (min(u[0], v[0]), min(u[1], v[1])))
    max = staticmethod(lambda u, v: (max(u[0], v[0]), max(u[1], v[1])))
    ipow = staticmethod(ipow)

    @staticmethod
    def join(u: Interval, v: Interval) -> Interval:
        return min(u[0], v[0]), max(u[1], v[1])

    @staticmethod
    def uncovered() -> Interval:
        raise ZeroDivisionError("no Piecewise branch provably applies")

    @staticmethod
    def compare(op: str, u: Interval, v: Interval) -> Optional[bool]:
        yes = {"<": u[1] < v[0], "<=": u[1] <= v[0], ">": u[0] > v[1], ">=": u[0] >= v[1]}[op]
        no = {"<": u[0] >= v[1], "<=": u[0] > v[1], ">": u[1] <= v[0], ">=": u[1] < v[0]}[op]
        return True if yes else (False if no else None)


EXACT = ExactContext()
INTERVAL = IntervalContext()
