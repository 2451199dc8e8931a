"""Target functions f : [0,1]^d → R with certified moduli of continuity and rigorous enclosures.

Approximation theorems bound the error through the modulus of continuity
ω_f(r) = sup{|f(x) − f(y)| : ‖x − y‖₂ ≤ r}.  A :class:`Target` carries a certified upper bound
ω̄(r) = λ r^α (λ an exact rational, α ∈ (0, 1]) together with a one-line statement of *how* it is
known (``certified``):

* library targets: a short proof, repeated in each builder's docstring;
* ``"checked: ..."``: a user constant verified by bounding ‖∇f‖₂ over the cube with arb ball
  arithmetic and bisection;
* ``"assumption: ..."``: a user constant that could not be checked (never used by
  :meth:`Target.enclose`, so range enclosures never rest on an assumption).

Everything on the verdict path is exact (``fmpq``) or arb balls; no floats.

>>> t = make_target("abs", 1)
>>> t.exact([fmpq(1, 2)])
1/6
>>> lo, hi = t.enclose([(fmpq(0), fmpq(1, 2))])
>>> lo <= 0 and hi >= fmpq(1, 3)
True
"""

from __future__ import annotations

import heapq
import io
import math
import time
import tokenize
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import sympy as sp
from flint import arb, fmpq
from sympy.parsing.sympy_parser import (
    convert_xor,
    parse_expr,
    rationalize,
    standard_transformations,
)

from constructive.errors import UserError
from constructive.numbers import as_fmpq, precision

__all__ = [
    "Target",
    "symbols_for",
    "LIBRARY",
    "make_target",
    "user_target",
    "arb_to_fmpq_bounds",
    "sqrt_upper",
]

# ---------------------------------------------------------------------------------------------
# Symbols and exact helpers


def symbols_for(d: int) -> tuple[sp.Symbol, ...]:
    """The coordinate symbols ``x1..xd`` (real) in which every target is written."""
    if not isinstance(d, int) or isinstance(d, bool) or d < 1:
        raise UserError(f"target dimension {d!r} is not allowed; use an integer d >= 1")
    return tuple(sp.Symbol(f"x{i}", real=True) for i in range(1, d + 1))


def _q(x: fmpq) -> sp.Rational:
    return sp.Rational(int(x.p), int(x.q))


def _exact_arb(x: arb) -> fmpq:
    """The value of an arb whose midpoint is exact (e.g. ``a.mid()``, ``a.rad()``)."""
    man, exp = x.mid().man_exp()
    man, exp = int(man), int(exp)
    return fmpq(man) * fmpq(2) ** exp if exp >= 0 else fmpq(man, 2 ** (-exp))


def arb_to_fmpq_bounds(x: arb, bits: Optional[int] = None) -> tuple[fmpq, fmpq]:
    """Exact rationals ``(mid − rad, mid + rad)``: the ball's exact endpoints, hence outward.

    With ``bits``, the endpoints are further rounded outward onto the grid 2^-bits.

    >>> from flint import ctx
    >>> lo, hi = arb_to_fmpq_bounds(arb(1) / 3)
    >>> lo < fmpq(1, 3) < hi
    True
    """
    if not x.is_finite():
        raise ValueError(f"ball {x} is not finite")
    m, r = _exact_arb(x.mid()), _exact_arb(x.rad())
    lo, hi = m - r, m + r
    if bits is None:
        return lo, hi
    scale = 2**bits  # round outward onto the grid 2^-bits: floor for lo, ceil for hi
    n_lo = (int(lo.p) * scale) // int(lo.q)
    n_hi = -((-int(hi.p) * scale) // int(hi.q))
    return fmpq(n_lo, scale), fmpq(n_hi, scale)


def sqrt_upper(s: fmpq, bits: int = 24) -> fmpq:
    """An exact rational u ≥ √s: √s itself when s is a rational square, else ⌈√s·2^bits⌉/2^bits.

    >>> sqrt_upper(fmpq(9, 25)), sqrt_upper(fmpq(2)) > 1
    (3/5, True)
    """
    s = as_fmpq(s)
    if s < 0:
        raise ValueError("sqrt of a negative number")
    p, q = int(s.p), int(s.q)
    rp, rq = math.isqrt(p), math.isqrt(q)
    if rp * rp == p and rq * rq == q:
        return fmpq(rp, rq)
    n = (p << (2 * bits)) // q  # floor(s·4^bits)
    m = math.isqrt(n)
    # (m+1)^2 > n >= floor(s·4^bits) hence (m+1)^2 >= n+1 > s·4^bits.
    return fmpq(m + 1, 2**bits)


def _round_up_nice(x: fmpq, digits: int = 3) -> fmpq:
    """The smallest multiple of 10^(e−digits+1) that is ≥ x, where 10^e ≤ x < 10^(e+1)."""
    if x <= 0:
        return fmpq(0)
    e = 0
    while fmpq(10) ** e > x:
        e -= 1
    while fmpq(10) ** (e + 1) <= x:
        e += 1
    k = e - digits + 1
    step = fmpq(10) ** k if k >= 0 else fmpq(1, 10 ** (-k))
    n = x / step
    c = int(n.p) // int(n.q) + (0 if n.q == 1 else 1)
    return fmpq(c) * step


def _dec(x: fmpq, down: bool, digits: int = 6) -> str:
    """x rounded down (or up) to ``digits`` decimals, as a string, for messages."""
    scaled = x * 10**digits
    n = int(scaled.p) // int(scaled.q)
    if not down and n * int(scaled.q) != int(scaled.p):
        n += 1
    sign = "-" if n < 0 else ""
    n = abs(n)
    return f"{sign}{n // 10**digits}.{n % 10**digits:0{digits}d}"


# ---------------------------------------------------------------------------------------------
# sympy → arb and sympy → fmpq compilers

ArbFn = Callable[[Sequence[arb]], arb]


class _Flags:
    """Mutable record of what happened during one ball evaluation."""

    __slots__ = ("kink", "outside")

    def __init__(self) -> None:
        self.kink = False  # a sign/Heaviside argument straddled 0
        self.outside = False  # a root/log argument was provably outside its domain, or 1/0


def _mono(f: Callable[[arb], arb], x: arb) -> arb:
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


def _int_pow(x: arb, n: int) -> arb:
    """x^n on a ball, tight at the endpoints (arb's ``**`` gives nan on balls containing 0)."""
    if n == 0:
        return arb(1)
    if n < 0:
        return 1 / _int_pow(x, -n)
    lo, hi = x.lower(), x.upper()
    if n % 2 == 1:
        return _pow_ui(lo, n).union(_pow_ui(hi, n))
    a_lo, a_hi = x.abs_lower(), x.abs_upper()
    return _pow_ui(a_lo, n).union(_pow_ui(a_hi, n)).nonnegative_part()


def _domain(x: arb, strict: bool, positive: bool, flags: "_Flags") -> Optional[arb]:
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


def _nan() -> arb:
    return arb.nan()


class _Unsupported(Exception):
    pass


class _Undefined(Exception):
    """f is provably not real (or divides by zero) at the exact point ``args[0]``."""


def _compile_arb(expr: sp.Basic, dim: int, strict: bool, flags: _Flags) -> ArbFn:
    """Compile a sympy expression into a function of arb coordinates.

    ``strict``: a square root, root or logarithm whose argument is not provably in its domain
    gives nan (used when certifying); otherwise the argument is clamped to its nonnegative part,
    which is sound at every point where f is real (the contract of a target on its cube).
    """

    def rec(e: sp.Basic) -> ArbFn:
        if isinstance(e, sp.Symbol):
            name = e.name
            if name.startswith("x") and name[1:].isdigit() and 1 <= int(name[1:]) <= dim:
                i = int(name[1:]) - 1
                return lambda env: env[i]
            raise _Unsupported(f"symbol {name!r} (allowed: x1..x{dim})")
        if isinstance(e, sp.Float):
            raise _Unsupported(f"floating-point constant {e} (write it as a fraction)")
        if isinstance(e, sp.Rational):
            q = fmpq(int(e.p), int(e.q))
            return lambda env: arb(q)
        if e is sp.pi:
            return lambda env: arb.pi()
        if e is sp.E:
            return lambda env: arb.const_e()
        if isinstance(e, sp.Add):
            parts = [rec(a) for a in e.args]

            def add(env: Sequence[arb]) -> arb:
                s = parts[0](env)
                for p in parts[1:]:
                    s = s + p(env)
                return s

            return add
        if isinstance(e, sp.Mul):
            parts = [rec(a) for a in e.args]

            def mul(env: Sequence[arb]) -> arb:
                s = parts[0](env)
                for p in parts[1:]:
                    s = s * p(env)
                return s

            return mul
        if isinstance(e, sp.Pow):
            base, ex = e.args
            b = rec(base)
            if isinstance(ex, sp.Integer):
                n = int(ex)

                def ipow(env: Sequence[arb]) -> arb:
                    x = b(env)
                    if n < 0 and x.is_zero():
                        flags.outside = True
                        return _nan()
                    return _int_pow(x, n)

                return ipow
            if isinstance(ex, sp.Rational):
                p, q = int(ex.p), int(ex.q)

                def rpow(env: Sequence[arb]) -> arb:
                    x = _domain(b(env), strict, p < 0, flags)
                    if x is None:
                        return _nan()
                    root = _mono(lambda t: t.sqrt() if q == 2 else t.root(q), x).nonnegative_part()
                    return _int_pow(root, p)

                return rpow
            ef = rec(ex)

            def gpow(env: Sequence[arb]) -> arb:
                x = _domain(b(env), strict, True, flags)
                if x is None:
                    return _nan()
                return (ef(env) * x.log()).exp()

            return gpow
        if isinstance(e, sp.Function) or isinstance(e, (sp.Min, sp.Max, sp.Piecewise)):
            return rec_function(e)
        raise _Unsupported(f"{type(e).__name__} ({e})")

    def rec_function(e: sp.Basic) -> ArbFn:
        if isinstance(e, sp.Piecewise):
            branches = [(rec(ex), rec_cond(c)) for ex, c in e.args]

            def pw(env: Sequence[arb]) -> arb:
                out: Optional[arb] = None
                for f, c in branches:
                    t = c(env)
                    if t is False:
                        continue
                    v = f(env)
                    out = v if out is None else out.union(v)
                    if t is True:
                        return out
                return _nan()  # not provably covered by a branch

            return pw
        if isinstance(e, (sp.Min, sp.Max)):
            parts = [rec(a) for a in e.args]
            is_min = isinstance(e, sp.Min)

            def mm(env: Sequence[arb]) -> arb:
                s = parts[0](env)
                for p in parts[1:]:
                    s = s.min(p(env)) if is_min else s.max(p(env))
                return s

            return mm
        if len(e.args) != 1 and not isinstance(e, sp.Heaviside):
            raise _Unsupported(f"function {type(e).__name__}")
        a = rec(e.args[0])
        if isinstance(e, sp.sin):
            return lambda env: a(env).sin()
        if isinstance(e, sp.cos):
            return lambda env: a(env).cos()
        if isinstance(e, sp.tan):
            return lambda env: a(env).tan()
        if isinstance(e, sp.exp):
            return lambda env: _mono(arb.exp, a(env))
        if isinstance(e, sp.atan):
            return lambda env: _mono(arb.atan, a(env))
        if isinstance(e, sp.tanh):
            return lambda env: _mono(arb.tanh, a(env))
        if isinstance(e, sp.log):

            def lg(env: Sequence[arb]) -> arb:
                x = _domain(a(env), strict, True, flags)
                return _nan() if x is None else _mono(arb.log, x)

            return lg
        if isinstance(e, sp.Abs):

            def ab(env: Sequence[arb]) -> arb:
                x = a(env)
                if not x.is_finite():
                    return _nan()
                return x.abs_lower().union(x.abs_upper()).nonnegative_part()

            return ab
        if isinstance(e, sp.sign):

            def sg(env: Sequence[arb]) -> arb:
                x = a(env)
                if x > 0:
                    return arb(1)
                if x < 0:
                    return arb(-1)
                flags.kink = True
                return arb(0, 1)

            return sg
        if isinstance(e, sp.Heaviside):

            def hv(env: Sequence[arb]) -> arb:
                x = a(env)
                if x > 0:
                    return arb(1)
                if x < 0:
                    return arb(0)
                flags.kink = True
                return arb(fmpq(1, 2), fmpq(1, 2))

            return hv
        raise _Unsupported(f"function {type(e).__name__}")

    def rec_cond(c: sp.Basic) -> Callable[[Sequence[arb]], Optional[bool]]:
        if c is sp.true:
            return lambda env: True
        if c is sp.false:
            return lambda env: False
        if isinstance(c, sp.core.relational.Relational) and not isinstance(c, (sp.Eq, sp.Ne)):
            lhs, rhs = rec(c.lhs), rec(c.rhs)
            op = c.rel_op

            def rel(env: Sequence[arb]) -> Optional[bool]:
                u, v = lhs(env), rhs(env)
                if not (u.is_finite() and v.is_finite()):
                    return None
                yes = {"<": u < v, "<=": u <= v, ">": u > v, ">=": u >= v}[op]
                no = {"<": u >= v, "<=": u > v, ">": u <= v, ">=": u < v}[op]
                return True if yes else (False if no else None)

            return rel
        if isinstance(c, (sp.And, sp.Or)):
            parts = [rec_cond(a) for a in c.args]
            is_and = isinstance(c, sp.And)

            def combine(env: Sequence[arb]) -> Optional[bool]:
                vals = [p(env) for p in parts]
                if is_and:
                    return False if False in vals else (True if all(v is True for v in vals) else None)
                return True if True in vals else (False if all(v is False for v in vals) else None)

            return combine
        if isinstance(c, sp.Not):
            inner = rec_cond(c.args[0])

            def neg(env: Sequence[arb]) -> Optional[bool]:
                v = inner(env)
                return None if v is None else (not v)

            return neg
        raise _Unsupported(f"condition {c}")

    return rec(expr)


def _is_rational_expr(e: sp.Basic) -> bool:
    """True when e maps rational points to rationals (a rational-arithmetic tree)."""
    if isinstance(e, (sp.Symbol, sp.Integer)) or (isinstance(e, sp.Rational) and not isinstance(e, sp.Float)):
        return True
    if isinstance(e, (sp.Add, sp.Mul, sp.Abs, sp.Min, sp.Max)):
        return all(_is_rational_expr(a) for a in e.args)
    if isinstance(e, sp.Pow):
        return isinstance(e.args[1], sp.Integer) and _is_rational_expr(e.args[0])
    if isinstance(e, sp.Piecewise):
        return all(_is_rational_expr(x) and _is_rational_cond(c) for x, c in e.args)
    return False


def _is_rational_cond(c: sp.Basic) -> bool:
    if c in (sp.true, sp.false):
        return True
    if isinstance(c, sp.core.relational.Relational):
        return _is_rational_expr(c.lhs) and _is_rational_expr(c.rhs)
    if isinstance(c, (sp.And, sp.Or, sp.Not)):
        return all(_is_rational_cond(a) for a in c.args)
    return False


def _compile_exact(expr: sp.Basic, dim: int) -> Callable[[Sequence[fmpq]], fmpq]:
    """Compile a rational-arithmetic sympy tree into an exact fmpq function."""

    def rec(e: sp.Basic) -> Callable[[Sequence[fmpq]], fmpq]:
        if isinstance(e, sp.Symbol):
            i = int(e.name[1:]) - 1
            return lambda env: env[i]
        if isinstance(e, sp.Rational):
            q = fmpq(int(e.p), int(e.q))
            return lambda env: q
        if isinstance(e, (sp.Add, sp.Mul, sp.Min, sp.Max)):
            parts = [rec(a) for a in e.args]
            op: Callable[[fmpq, fmpq], fmpq] = {
                sp.Add: lambda u, v: u + v,
                sp.Mul: lambda u, v: u * v,
                sp.Min: lambda u, v: u if u <= v else v,
                sp.Max: lambda u, v: u if u >= v else v,
            }[type(e)]

            def fold(env: Sequence[fmpq]) -> fmpq:
                s = parts[0](env)
                for p in parts[1:]:
                    s = op(s, p(env))
                return s

            return fold
        if isinstance(e, sp.Abs):
            a = rec(e.args[0])
            return lambda env: abs(a(env))
        if isinstance(e, sp.Pow):
            b, n = rec(e.args[0]), int(e.args[1])

            def pw(env: Sequence[fmpq]) -> fmpq:
                v = b(env)
                if n < 0:
                    if v == 0:
                        raise ValueError("division by zero")
                    return fmpq(1) / v ** (-n)
                return v**n

            return pw
        if isinstance(e, sp.Piecewise):
            branches = [(rec(x), rec_cond(c)) for x, c in e.args]

            def pc(env: Sequence[fmpq]) -> fmpq:
                for f, c in branches:
                    if c(env):
                        return f(env)
                raise ValueError("no Piecewise branch applies")

            return pc
        raise ValueError(f"not a rational expression: {e}")

    def rec_cond(c: sp.Basic) -> Callable[[Sequence[fmpq]], bool]:
        if c is sp.true:
            return lambda env: True
        if c is sp.false:
            return lambda env: False
        if isinstance(c, sp.core.relational.Relational):
            lhs, rhs, op = rec(c.lhs), rec(c.rhs), c.rel_op
            cmp = {
                "<": lambda u, v: u < v,
                "<=": lambda u, v: u <= v,
                ">": lambda u, v: u > v,
                ">=": lambda u, v: u >= v,
                "==": lambda u, v: u == v,
                "!=": lambda u, v: u != v,
            }[op]
            return lambda env: cmp(lhs(env), rhs(env))
        if isinstance(c, sp.And):
            parts = [rec_cond(a) for a in c.args]
            return lambda env: all(p(env) for p in parts)
        if isinstance(c, sp.Or):
            parts = [rec_cond(a) for a in c.args]
            return lambda env: any(p(env) for p in parts)
        if isinstance(c, sp.Not):
            inner = rec_cond(c.args[0])
            return lambda env: not inner(env)
        raise ValueError(f"not a rational condition: {c}")

    return rec(expr)


Interval = tuple[fmpq, fmpq]


def _imul(u: Interval, v: Interval) -> Interval:
    ps = [u[0] * v[0], u[0] * v[1], u[1] * v[0], u[1] * v[1]]
    return min(ps), max(ps)


def _ipow(u: Interval, n: int) -> Interval:
    lo, hi = u
    if n < 0:
        if lo <= 0 <= hi:
            raise ZeroDivisionError("interval contains 0")
        a, b = _ipow(u, -n)
        return fmpq(1) / b, fmpq(1) / a
    if n % 2 == 1 or lo >= 0:
        return lo**n, hi**n
    if hi <= 0:
        return hi**n, lo**n
    return fmpq(0), max(-lo, hi) ** n


def _compile_interval(expr: sp.Basic, dim: int) -> Callable[[Sequence[Interval]], Interval]:
    """Exact rational interval extension of a rational-arithmetic tree (no rounding at all)."""

    def rec(e: sp.Basic) -> Callable[[Sequence[Interval]], Interval]:
        if isinstance(e, sp.Symbol):
            i = int(e.name[1:]) - 1
            return lambda env: env[i]
        if isinstance(e, sp.Rational):
            q = fmpq(int(e.p), int(e.q))
            return lambda env: (q, q)
        if isinstance(e, (sp.Add, sp.Mul, sp.Min, sp.Max)):
            parts = [rec(a) for a in e.args]
            op: Callable[[Interval, Interval], Interval] = {
                sp.Add: lambda u, v: (u[0] + v[0], u[1] + v[1]),
                sp.Mul: _imul,
                sp.Min: lambda u, v: (min(u[0], v[0]), min(u[1], v[1])),
                sp.Max: lambda u, v: (max(u[0], v[0]), max(u[1], v[1])),
            }[type(e)]

            def fold(env: Sequence[Interval]) -> Interval:
                s = parts[0](env)
                for p in parts[1:]:
                    s = op(s, p(env))
                return s

            return fold
        if isinstance(e, sp.Abs):
            a = rec(e.args[0])

            def ab(env: Sequence[Interval]) -> Interval:
                lo, hi = a(env)
                if lo >= 0:
                    return lo, hi
                if hi <= 0:
                    return -hi, -lo
                return fmpq(0), max(-lo, hi)

            return ab
        if isinstance(e, sp.Pow):
            b, n = rec(e.args[0]), int(e.args[1])
            return lambda env: _ipow(b(env), n)
        if isinstance(e, sp.Piecewise):
            branches = [(rec(x), rec_cond(c)) for x, c in e.args]

            def pc(env: Sequence[Interval]) -> Interval:
                out: Optional[Interval] = None
                for f, c in branches:
                    t = c(env)
                    if t is False:
                        continue
                    v = f(env)
                    out = v if out is None else (min(out[0], v[0]), max(out[1], v[1]))
                    if t is True:
                        return out
                raise ZeroDivisionError("no Piecewise branch provably applies")

            return pc
        raise ValueError(f"not a rational expression: {e}")

    def rec_cond(c: sp.Basic) -> Callable[[Sequence[Interval]], Optional[bool]]:
        if c is sp.true:
            return lambda env: True
        if c is sp.false:
            return lambda env: False
        if isinstance(c, sp.core.relational.Relational) and not isinstance(c, (sp.Eq, sp.Ne)):
            lhs, rhs, op = rec(c.lhs), rec(c.rhs), c.rel_op

            def rel(env: Sequence[Interval]) -> Optional[bool]:
                u, v = lhs(env), rhs(env)
                yes = {"<": u[1] < v[0], "<=": u[1] <= v[0], ">": u[0] > v[1], ">=": u[0] >= v[1]}[op]
                no = {"<": u[0] >= v[1], "<=": u[0] > v[1], ">": u[1] <= v[0], ">=": u[1] < v[0]}[op]
                return True if yes else (False if no else None)

            return rel
        if isinstance(c, (sp.And, sp.Or)):
            parts = [rec_cond(a) for a in c.args]
            is_and = isinstance(c, sp.And)

            def combine(env: Sequence[Interval]) -> Optional[bool]:
                vals = [p(env) for p in parts]
                if is_and:
                    return False if False in vals else (True if all(v is True for v in vals) else None)
                return True if True in vals else (False if all(v is False for v in vals) else None)

            return combine
        if isinstance(c, sp.Not):
            inner = rec_cond(c.args[0])

            def neg(env: Sequence[Interval]) -> Optional[bool]:
                v = inner(env)
                return None if v is None else (not v)

            return neg
        raise ValueError(f"not a rational condition: {c}")

    return rec(expr)


# ---------------------------------------------------------------------------------------------
# Safe parsing of target expressions

_FUNCTIONS: dict[str, Any] = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "exp": sp.exp, "log": sp.log,
    "sqrt": sp.sqrt, "atan": sp.atan, "tanh": sp.tanh,
    "Abs": sp.Abs, "abs": sp.Abs, "Min": sp.Min, "min": sp.Min, "Max": sp.Max, "max": sp.Max,
    "Piecewise": sp.Piecewise, "And": sp.And, "Or": sp.Or,
    "pi": sp.pi, "E": sp.E,
}
_KEYWORDS = {"True", "False"}
_OPS = {"+", "-", "*", "/", "**", "^", "(", ")", ",", "<", ">", "<=", ">=", "&", "|", "~"}
_TRANSFORMS = standard_transformations + (convert_xor, rationalize)


_MAX_EXPONENT = 10**4


def _guard_powers(raw: Any) -> Any:
    """Refuse numeric powers too large to evaluate (e.g. 9^9^9^9) in an unevaluated tree.

    Returns the value of symbol-free subtrees (evaluated bottom-up once each child is known to
    be small), or None for subtrees with symbols."""
    if not isinstance(raw, sp.Basic) or not raw.args:
        return raw if isinstance(raw, sp.Basic) and not raw.free_symbols else None
    vals = [_guard_powers(a) for a in raw.args]
    if isinstance(raw, sp.Pow):
        b, e = vals
        if isinstance(e, sp.Rational) and (abs(e.p) > _MAX_EXPONENT or e.q > _MAX_EXPONENT) \
                and not (isinstance(b, sp.Rational) and b in (0, 1, -1)):
            raise UserError(f"exponent {e if abs(e.p) < 10**12 else '(huge)'} is too large "
                            f"(at most {_MAX_EXPONENT})")
    if raw.free_symbols or any(v is None for v in vals) or isinstance(raw, sp.Piecewise):
        return None
    try:
        return raw.func(*vals)
    except Exception:
        return None


def _parse(text: str, dim: int, what: str = "target expression") -> sp.Expr:
    """Parse ``text`` with a whitelist of tokens; only x1..xd and the allowed functions."""
    if not isinstance(text, str) or not text.strip():
        raise UserError(f"{what} {text!r} is empty; write a formula in x1..x{dim}")
    syms = symbols_for(dim)
    allowed = ", ".join(sorted(k for k in _FUNCTIONS if k[0].islower() and k != "pi") + ["pi", "E"])
    coords = "x1" if dim == 1 else f"x1..x{dim}"
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text.strip()).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise UserError(f"{what} {text!r} does not parse: {exc}") from None
    for tok in toks:
        if tok.type == tokenize.NAME:
            name = tok.string
            if name in _FUNCTIONS or name in _KEYWORDS:
                continue
            if name.startswith("x") and name[1:].isdigit():
                if not 1 <= int(name[1:]) <= dim:
                    raise UserError(
                        f"{what} {text!r} uses {name}, but the target is {dim}-dimensional: "
                        f"use only {coords}"
                    )
                continue
            raise UserError(
                f"{what} {text!r} uses unknown name {name!r}; allowed: {coords}, {allowed}"
            )
        elif tok.type == tokenize.OP:
            if tok.string not in _OPS:
                raise UserError(f"{what} {text!r} does not parse: operator {tok.string!r} is not allowed")
        elif tok.type == tokenize.NUMBER:
            if any(ch in tok.string.lower() for ch in "jx_") or tok.string.lower().startswith("0o") \
                    or tok.string.lower().startswith("0b"):
                raise UserError(f"{what} {text!r} does not parse: number {tok.string!r} is not allowed")
        elif tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            continue
        else:
            raise UserError(f"{what} {text!r} does not parse: unexpected {tok.string!r}")
    local = {s.name: s for s in syms}
    glob: dict[str, Any] = {
        "__builtins__": {},
        "Integer": sp.Integer, "Rational": sp.Rational, "Float": sp.Float, "Symbol": sp.Symbol,
        # inserted by sympy's evaluate=False transformer only (tokens are whitelisted above)
        "Add": sp.Add, "Mul": sp.Mul, "Pow": sp.Pow, "Lt": sp.Lt, "Le": sp.Le, "Gt": sp.Gt,
        "Ge": sp.Ge, "Eq": sp.Eq, "Ne": sp.Ne, "Not": sp.Not, "Xor": sp.Xor,
        **_FUNCTIONS,
    }
    try:
        raw = parse_expr(text, local_dict=local, global_dict=glob, transformations=_TRANSFORMS,
                         evaluate=False)
        _guard_powers(raw)
        expr = parse_expr(text, local_dict=local, global_dict=glob, transformations=_TRANSFORMS)
    except UserError as exc:
        raise UserError(f"{what} {text!r} is not allowed: {exc}") from None
    except Exception as exc:  # sympy raises many types here
        raise UserError(f"{what} {text!r} does not parse: {type(exc).__name__}: {exc}") from None
    if not isinstance(expr, sp.Expr) or isinstance(
            expr, (sp.core.relational.Relational, sp.logic.boolalg.BooleanFunction,
                   sp.logic.boolalg.BooleanAtom)):
        raise UserError(f"{what} {text!r} does not parse: it is not a real-valued formula")
    extra = expr.free_symbols - set(syms)
    if extra:
        raise UserError(f"{what} {text!r} uses symbols {sorted(map(str, extra))}; only x1..x{dim}")
    if expr.has(sp.Float, sp.I, sp.zoo, sp.oo, sp.nan, sp.AccumBounds):
        raise UserError(f"{what} {text!r} is not a finite real formula (got {expr})")
    return expr


# ---------------------------------------------------------------------------------------------
# The target


def _points(point: Sequence[Any], dim: int) -> list[fmpq]:
    try:
        pts = [as_fmpq(v) for v in point]
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise UserError(f"point {point!r} is not a sequence of exact rationals: {exc}") from None
    if len(pts) != dim:
        raise UserError(f"point {point!r} has {len(pts)} coordinates; the target needs {dim}")
    return pts


@dataclass(frozen=True)
class Target:
    """A function f : [0,1]^dim → R with a certified modulus bound ω̄(r) = lam · r^alpha."""

    name: str
    dim: int
    expr: sp.Expr
    lam: fmpq
    alpha: fmpq
    certified: str
    rational_valued: bool
    _arb: ArbFn = field(init=False, repr=False, compare=False, hash=False)
    _exact: Optional[Callable[[Sequence[fmpq]], fmpq]] = field(
        init=False, repr=False, compare=False, hash=False)
    _interval: Optional[Callable[[Sequence[Interval]], Interval]] = field(
        init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        syms = symbols_for(self.dim)
        for k in ("lam", "alpha"):
            v = getattr(self, k)
            if not isinstance(v, fmpq):
                object.__setattr__(self, k, as_fmpq(v))
        if not (0 < self.alpha <= 1):
            raise UserError(f"Hölder exponent alpha={self.alpha} is not allowed; use 0 < alpha <= 1")
        if self.lam < 0:
            raise UserError(f"modulus constant lambda={self.lam} is negative; use lambda >= 0")
        if not isinstance(self.expr, sp.Expr) or not self.expr.free_symbols <= set(syms):
            raise UserError(f"target expression {self.expr} must be a formula in x1..x{self.dim}")
        try:
            fn = _compile_arb(self.expr, self.dim, strict=False, flags=_Flags())
        except _Unsupported as exc:
            raise UserError(f"target expression {self.expr} cannot be evaluated in ball "
                            f"arithmetic: unsupported {exc}") from None
        object.__setattr__(self, "_arb", fn)
        ex = None
        if self.rational_valued:
            if not _is_rational_expr(self.expr):
                raise UserError(f"target {self.name!r} is marked rational_valued but {self.expr} "
                                "is not a rational-arithmetic formula")
            ex = _compile_exact(self.expr, self.dim)
        object.__setattr__(self, "_exact", ex)
        object.__setattr__(self, "_interval",
                           _compile_interval(self.expr, self.dim) if ex is not None else None)

    # values ------------------------------------------------------------------------------------
    def exact(self, point: Sequence[fmpq]) -> fmpq:
        """The exact value f(point); ValueError unless the target is ``rational_valued``."""
        if self._exact is None:
            raise ValueError(f"target {self.name!r} is not rational-valued; use ball()")
        return self._exact(_points(point, self.dim))

    def ball(self, point: Sequence[Any], prec: int = 128) -> arb:
        """A rigorous arb enclosure of f at an exact rational point."""
        pts = _points(point, self.dim)
        with precision(prec):
            return self._arb([arb(p) for p in pts])

    def _box_balls(self, box: Sequence[tuple[fmpq, fmpq]]) -> list[arb]:
        out = []
        for a, b in box:
            m, r = (a + b) / 2, (b - a) / 2
            x = arb(m, r) if r != 0 else arb(m)
            out.append(x.nonnegative_part() if a >= 0 and r != 0 else x)
        return out

    def _check_box(self, box: Sequence[Sequence[Any]]) -> list[tuple[fmpq, fmpq]]:
        if len(box) != self.dim:
            raise UserError(f"box has {len(box)} intervals; the target needs {self.dim}")
        out = []
        for iv in box:
            try:
                a, b = (as_fmpq(v) for v in iv)
            except (TypeError, ValueError, ZeroDivisionError) as exc:
                raise UserError(f"box interval {iv!r} is not a pair of exact rationals: {exc}") from None
            if not (0 <= a <= b <= 1):
                raise UserError(f"box interval [{a}, {b}] is not allowed; need 0 <= lo <= hi <= 1")
            out.append((a, b))
        return out

    def enclose(self, box: Sequence[tuple[fmpq, fmpq]], prec: int = 128) -> tuple[fmpq, fmpq]:
        """Exact rationals lo ≤ f(x) ≤ hi for every x in the closed box (a sub-box of the cube).

        Intersection of (a) the expression evaluated on the box — exact rational interval
        arithmetic for rational-valued targets, arb balls otherwise — and (b) the modulus bound
        f(c) ± λ‖h‖₂^α around the centre c with half-widths h (only when the modulus is not an
        assumption).
        """
        bx = self._check_box(box)
        lo: Optional[fmpq] = None
        hi: Optional[fmpq] = None
        if self._interval is not None:
            try:
                lo, hi = self._interval(bx)
            except ZeroDivisionError:
                lo = hi = None
        with precision(prec):
            v = self._arb(self._box_balls(bx)) if lo is None else arb.nan()
            if v.is_finite():
                lo, hi = arb_to_fmpq_bounds(v, prec)
            if not self.certified.startswith("assumption"):
                centre = [(a + b) / 2 for a, b in bx]
                fc = self._arb([arb(c) for c in centre])
                if fc.is_finite():
                    s = sum(((b - a) / 2) ** 2 for a, b in bx)
                    w = self.omega_ball(arb(s).sqrt()) if s != 0 else arb(0)
                    flo, fhi = arb_to_fmpq_bounds(fc, prec)
                    _, wu = arb_to_fmpq_bounds(w, prec) if w.is_finite() else (None, None)
                    if wu is not None:
                        lo = flo - wu if lo is None else max(lo, flo - wu)
                        hi = fhi + wu if hi is None else min(hi, fhi + wu)
        if lo is None or hi is None:
            raise UserError(f"target {self.name!r} could not be enclosed on box {bx}: "
                            "it is not finite there")
        return lo, hi

    # modulus -----------------------------------------------------------------------------------
    def omega(self, r: Any) -> sp.Expr:
        """ω̄(r) = λ r^α as an exact sympy expression; r a rational, a sympy expression, or a
        symbol name (made a nonnegative symbol)."""
        rr: sp.Expr
        if isinstance(r, str) and r.strip().isidentifier():
            rr = sp.Symbol(r.strip(), nonnegative=True)
        elif isinstance(r, (fmpq, str, int)) or hasattr(r, "denominator"):
            try:
                rr = _q(as_fmpq(r))
            except (TypeError, ValueError, ZeroDivisionError):
                raise UserError(f"radius {r!r} is not a rational number or a symbol name") from None
        elif isinstance(r, sp.Expr):
            rr = r
        else:
            raise UserError(f"radius {r!r} is not a rational number or a sympy expression")
        if self.lam == 0:
            return sp.Integer(0)
        return _q(self.lam) * rr ** _q(self.alpha)

    def omega_ball(self, r: arb) -> arb:
        """ω̄(r) on a ball r ≥ 0 (its negative part is ignored): monotone, so endpoint-exact."""
        if self.lam == 0:
            return arb(0)
        r = arb(r)
        if not r.is_finite():
            return arb.nan()
        lam = arb(self.lam)
        if self.alpha == 1:
            return lam * r.nonnegative_part()

        def pw(t: arb) -> arb:
            if t <= 0:
                return arb(0)
            return (arb(self.alpha) * t.log()).exp()

        return lam * pw(r.lower()).union(pw(r.upper())).nonnegative_part()

    # serialisation -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data for certificates; exact rationals as strings."""
        return {
            "name": self.name,
            "dim": self.dim,
            "expr": str(self.expr),
            "lam": str(self.lam),
            "alpha": str(self.alpha),
            "certified": self.certified,
            "rational_valued": self.rational_valued,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Target":
        """Inverse of :meth:`to_dict` (the expression goes through the safe parser)."""
        keys = {"name", "dim", "expr", "lam", "alpha", "certified", "rational_valued"}
        if not isinstance(d, dict) or set(d) != keys:
            got = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise UserError(f"target record has fields {got}; expected {sorted(keys)}")
        dim = d["dim"]
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise UserError(f"target record: dim {dim!r} is not an integer >= 1")
        if not isinstance(d["rational_valued"], bool) or not isinstance(d["certified"], str) \
                or not isinstance(d["name"], str):
            raise UserError("target record: name/certified must be strings, rational_valued a bool")
        expr = _parse(d["expr"], dim, what="target record expression")
        try:
            lam, alpha = as_fmpq(d["lam"]), as_fmpq(d["alpha"])
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            raise UserError(f"target record: lam/alpha {d['lam']!r}, {d['alpha']!r} are not "
                            f"exact rationals: {exc}") from None
        return Target(d["name"], dim, expr, lam, alpha, d["certified"], d["rational_valued"])


# ---------------------------------------------------------------------------------------------
# Library


def _rat(name: str, key: str, value: str) -> fmpq:
    try:
        return as_fmpq(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise UserError(f"target {name!r}: parameter {key}={value!r} is not an exact rational "
                        "(write e.g. 1/3)") from None


def _rats(name: str, key: str, value: str) -> list[fmpq]:
    parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
    return [_rat(name, key, p) for p in parts]


def _need_dim(name: str, dim: int, allowed: int) -> None:
    if dim != allowed:
        raise UserError(f"target {name!r} is {allowed}-dimensional; got dim={dim}")


def affine(dim: int, c: Optional[str] = None) -> Target:
    """f(x) = c0 + Σ c_i x_i; default c0 = 1/2, c_i = (−1)^(i−1)/2^(i+1) (1/2 + x1/4 − x2/8 …).

    λ: |f(x) − f(y)| = |c·(x − y)| ≤ ‖(c1..cd)‖₂ ‖x − y‖₂ (Cauchy–Schwarz); λ is
    :func:`sqrt_upper` of the exact ‖c‖₂², hence ≥ ‖c‖₂.
    """
    syms = symbols_for(dim)
    if c is None:
        cs = [fmpq(1, 2)] + [fmpq((-1) ** (i - 1), 2 ** (i + 1)) for i in range(1, dim + 1)]
    else:
        cs = _rats("affine", "c", c)
        if len(cs) != dim + 1:
            raise UserError(f"target 'affine': c={c!r} has {len(cs)} coefficients; "
                            f"need {dim + 1} (c0,c1,..,c{dim})")
    expr = _q(cs[0]) + sum((_q(ci) * s for ci, s in zip(cs[1:], syms)), sp.Integer(0))
    lam = sqrt_upper(sum((ci * ci for ci in cs[1:]), fmpq(0)))
    return Target("affine", dim, expr, lam, fmpq(1),
                  "affine: |c·(x−y)| <= ||c||_2 ||x−y||_2 (Cauchy–Schwarz), lam >= ||c||_2 exactly",
                  True)


def abs_target(dim: int, c: str = "1/3") -> Target:
    """f(x) = |x1 − c| (default c = 1/3); λ = 1: ||a| − |b|| ≤ |a − b| ≤ ‖x − y‖₂."""
    cc = _rat("abs", "c", c)
    x1 = symbols_for(dim)[0]
    return Target("abs", dim, sp.Abs(x1 - _q(cc)), fmpq(1), fmpq(1),
                  "reverse triangle inequality: ||x1−c|−|y1−c|| <= |x1−y1| <= ||x−y||_2", True)


def sine(dim: int, k: str = "1") -> Target:
    """f(x) = sin(2πk x)/(2πk), 1-D; λ = 1 since |f'| = |cos(2πk x)| ≤ 1."""
    _need_dim("sine", dim, 1)
    try:
        kk = int(k)
    except ValueError:
        kk = 0
    if kk < 1 or str(kk) != k.strip():
        raise UserError(f"target 'sine': parameter k={k!r} is not allowed; use an integer k >= 1")
    (x1,) = symbols_for(1)
    expr = sp.sin(2 * sp.pi * kk * x1) / (2 * sp.pi * kk)
    return Target("sine", 1, expr, fmpq(1), fmpq(1),
                  "mean value theorem: |f'(x)| = |cos(2 pi k x)| <= 1", False)


def sqrt_target(dim: int) -> Target:
    """f(x) = √x, 1-D; Hölder α = 1/2, λ = 1: |√x − √y| ≤ √|x − y| (as (√x − √y)² ≤ |x − y|)."""
    _need_dim("sqrt", dim, 1)
    (x1,) = symbols_for(1)
    return Target("sqrt", 1, sp.sqrt(x1), fmpq(1), fmpq(1, 2),
                  "|sqrt x − sqrt y|^2 <= |sqrt x − sqrt y|(sqrt x + sqrt y) = |x − y|", False)


def square(dim: int) -> Target:
    """f(x) = x², 1-D; λ = 2: |x² − y²| = |x + y||x − y| ≤ 2|x − y| on [0,1]."""
    _need_dim("square", dim, 1)
    (x1,) = symbols_for(1)
    return Target("square", 1, x1**2, fmpq(2), fmpq(1),
                  "|x^2 − y^2| = |x+y||x−y| <= 2|x−y| on [0,1]", True)


def peak2d(dim: int) -> Target:
    """f(x) = 1 − (|x1 − 1/2| + |x2 − 1/2|)/2, 2-D, piecewise linear.

    λ: |f(x) − f(y)| ≤ (|Δ1| + |Δ2|)/2 ≤ (√2/2)‖Δ‖₂ (reverse triangle, then Cauchy–Schwarz);
    λ = :func:`sqrt_upper` (1/2) ≥ √2/2.
    """
    _need_dim("peak2d", dim, 2)
    x1, x2 = symbols_for(2)
    h = sp.Rational(1, 2)
    expr = 1 - (sp.Abs(x1 - h) + sp.Abs(x2 - h)) / 2
    return Target("peak2d", 2, expr, sqrt_upper(fmpq(1, 2)), fmpq(1),
                  "|f(x)−f(y)| <= (|d1|+|d2|)/2 <= (sqrt2/2)||d||_2 (Cauchy–Schwarz)", True)


def wave2d(dim: int) -> Target:
    """f(x) = (sin(πx1) + x2²)/4, 2-D, smooth.

    λ = 1: ∇f = (π cos(πx1)/4, x2/2), so ‖∇f‖₂² ≤ π²/16 + 1/4 < 10/16 + 4/16 < 1 on [0,1]²
    (π² < 10), and the mean value theorem applies on the convex cube.
    """
    _need_dim("wave2d", dim, 2)
    x1, x2 = symbols_for(2)
    return Target("wave2d", 2, (sp.sin(sp.pi * x1) + x2**2) / 4, fmpq(1), fmpq(1),
                  "||grad f||^2 <= pi^2/16 + 1/4 < 1 on [0,1]^2, mean value theorem", False)


def dist(dim: int, c: Optional[str] = None) -> Target:
    """f(x) = ‖x − c‖₂ (default c = (1/2, …, 1/2)); λ = 1 (reverse triangle inequality)."""
    syms = symbols_for(dim)
    cs = [fmpq(1, 2)] * dim if c is None else _rats("dist", "c", c)
    if len(cs) != dim:
        raise UserError(f"target 'dist': c={c!r} has {len(cs)} coordinates; need {dim}")
    expr = sp.sqrt(sum(((s - _q(ci)) ** 2 for s, ci in zip(syms, cs)), sp.Integer(0)))
    return Target("dist", dim, expr, fmpq(1), fmpq(1),
                  "reverse triangle inequality: | ||x−c|| − ||y−c|| | <= ||x−y||_2",
                  _is_rational_expr(expr))


def dist3d(dim: int, c: Optional[str] = None) -> Target:
    """The 3-D instance of :func:`dist`: ‖x − (1/2,1/2,1/2)‖₂, λ = 1."""
    _need_dim("dist3d", dim, 3)
    t = dist(3, c)
    return Target("dist3d", 3, t.expr, t.lam, t.alpha, t.certified, False)


def ridge3d(dim: int) -> Target:
    """f(x) = |x1 − x2| + x3/2, 3-D, piecewise linear.

    λ = 3/2: |f(x) − f(y)| ≤ |Δ1| + |Δ2| + |Δ3|/2 = (1, 1, 1/2)·|Δ| ≤ √(1 + 1 + 1/4)‖Δ‖₂ = (3/2)‖Δ‖₂.
    """
    _need_dim("ridge3d", dim, 3)
    x1, x2, x3 = symbols_for(3)
    return Target("ridge3d", 3, sp.Abs(x1 - x2) + x3 / 2, fmpq(3, 2), fmpq(1),
                  "|f(x)−f(y)| <= (1,1,1/2)·|d| <= sqrt(9/4)||d||_2 (Cauchy–Schwarz)", True)


def const(dim: int, v: str = "1/2") -> Target:
    """f(x) = v (default 1/2); ω = 0, stored as λ = 0, α = 1."""
    vv = _rat("const", "v", v)
    symbols_for(dim)
    return Target("const", dim, _q(vv), fmpq(0), fmpq(1), "constant: omega = 0", True)


LIBRARY: dict[str, Callable[..., Target]] = {
    "affine": affine,
    "abs": abs_target,
    "sine": sine,
    "sqrt": sqrt_target,
    "square": square,
    "peak2d": peak2d,
    "wave2d": wave2d,
    "dist": dist,
    "dist3d": dist3d,
    "ridge3d": ridge3d,
    "const": const,
}

_PARAMS: dict[str, tuple[str, ...]] = {
    "affine": ("c",), "abs": ("c",), "sine": ("k",), "sqrt": (), "square": (), "peak2d": (),
    "wave2d": (), "dist": ("c",), "dist3d": ("c",), "ridge3d": (), "const": ("v",),
}


def make_target(spec: str, dim: int) -> Target:
    """A library target from ``NAME`` or ``NAME:k=v,k=v`` (list values: ``c=1/2,1/4,-1/8``).

    >>> make_target("affine:c=0,3/5,4/5", 2).lam
    1
    """
    if not isinstance(spec, str) or not spec.strip():
        raise UserError(f"target spec {spec!r} is empty; known targets: {', '.join(LIBRARY)}")
    symbols_for(dim)
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if name not in LIBRARY:
        raise UserError(f"unknown target {name!r}; known targets: {', '.join(LIBRARY)}")
    params: dict[str, str] = {}
    last: Optional[str] = None
    for tok in rest.split(",") if rest.strip() else []:
        if "=" in tok:
            k, _, v = tok.partition("=")
            k = k.strip()
            if k not in _PARAMS[name]:
                allowed = ", ".join(_PARAMS[name]) or "none"
                raise UserError(f"target {name!r} has no parameter {k!r}; allowed: {allowed}")
            if k in params:
                raise UserError(f"target spec {spec!r} sets {k!r} twice")
            params[k], last = v.strip(), k
        elif last is not None and tok.strip():
            params[last] += "," + tok.strip()
        else:
            raise UserError(f"target spec {spec!r} does not parse; write NAME or NAME:k=v,k=v")
    return LIBRARY[name](dim, **params)


# ---------------------------------------------------------------------------------------------
# User targets and the gradient check


@dataclass
class _GradResult:
    status: str  # "bounded", "violated", "undefined", "unknown"
    bound: Optional[fmpq] = None  # upper bound of sup ‖∇f‖₂ ("bounded")
    lower: Optional[fmpq] = None  # lower bound at a witness ("violated")
    point: Optional[list[fmpq]] = None
    boxes: int = 0
    reason: str = ""


def _gradient_bound(expr: sp.Expr, dim: int, target: Optional[fmpq], max_boxes: int = 3000,
                    time_budget: float = 3.0, prec: int = 64) -> _GradResult:
    """Bound sup ‖∇f‖₂ on [0,1]^d by best-first bisection with strict ball arithmetic.

    Soundness: f is built from functions that are continuous where finite (Piecewise is
    refused), so f is locally Lipschitz wherever every box evaluation is finite, and the
    (Clarke) generalised gradient at every point of a box lies in the ball box of the derivative
    formula, where sign(u) and Heaviside(u) are replaced by [−1,1] and [0,1] when u's ball
    contains 0 (the chain rule for |u|, min, max).  The Lebourg mean value theorem then gives
    |f(x) − f(y)| ≤ max ‖ζ‖₂ ‖x − y‖₂.  f itself is evaluated strictly on each box too, so a
    box counts only when f is provably real there.

    A violation is reported only at an exact box centre where no sign/Heaviside argument
    straddles 0 (f is C¹ nearby) and the gradient norm ball lies entirely above ``target``.
    """
    if expr.has(sp.Piecewise):
        return _GradResult("unknown", reason="Piecewise: continuity across pieces is not checked")
    syms = symbols_for(dim)
    flags = _Flags()
    try:
        fn = _compile_arb(expr, dim, strict=True, flags=flags)
        grads = [_compile_arb(sp.diff(expr, s), dim, strict=True, flags=flags) for s in syms]
    except _Unsupported as exc:
        return _GradResult("unknown", reason=f"derivative not supported ({exc})")
    start = time.monotonic()

    def balls(box: list[tuple[fmpq, fmpq]]) -> list[arb]:
        out = []
        for a, b in box:
            x = arb((a + b) / 2, (b - a) / 2)
            out.append(x.nonnegative_part() if a >= 0 else x)
        return out

    def upper(box: list[tuple[fmpq, fmpq]]) -> Optional[fmpq]:
        env = balls(box)
        if not fn(env).is_finite():
            return None
        s = arb(0)
        for g in grads:
            v = g(env)
            if not v.is_finite():
                return None
            s = s + _int_pow(v.abs_upper(), 2)
        return arb_to_fmpq_bounds(s.sqrt())[1]

    def centre_lower(box: list[tuple[fmpq, fmpq]]) -> tuple[Optional[fmpq], list[fmpq]]:
        c = [(a + b) / 2 for a, b in box]
        env = [arb(v) for v in c]
        flags.kink = flags.outside = False
        if not fn(env).is_finite():
            if flags.outside:
                raise _Undefined(c)
            return None, c
        s = arb(0)
        for g in grads:
            v = g(env)
            if not v.is_finite():
                return None, c
            s = s + _int_pow(v.abs_lower(), 2)
        if flags.kink:
            return None, c
        return arb_to_fmpq_bounds(s.nonnegative_part().sqrt())[0], c

    best_lower = fmpq(0)
    counter = 0
    heap: list[tuple[Any, int, list[tuple[fmpq, fmpq]]]] = []
    inf_key = (0, fmpq(0))  # sort: non-finite boxes first

    def push(box: list[tuple[fmpq, fmpq]]) -> None:
        nonlocal counter
        u = upper(box)
        key = inf_key if u is None else (1, -u)
        heapq.heappush(heap, (key, counter, box, u))
        counter += 1

    def loop() -> _GradResult:
        nonlocal best_lower
        push([(fmpq(0), fmpq(1))] * dim)
        while True:
            key, _, box, u = heap[0]
            if target is not None and u is not None and u <= target:
                return _GradResult("bounded", bound=u, boxes=counter)
            lw, c = centre_lower(box)
            if lw is not None:
                if target is not None and lw > target:
                    return _GradResult("violated", lower=lw, point=c, boxes=counter)
                best_lower = max(best_lower, lw)
            if target is None and u is not None and (u - best_lower <= u / 64 or u - best_lower <= fmpq(1, 2**20)):
                return _GradResult("bounded", bound=u, boxes=counter)
            if counter + 2 > max_boxes or time.monotonic() - start > time_budget:
                if u is not None and target is None:
                    return _GradResult("bounded", bound=u, boxes=counter)
                why = "a box where the gradient is unbounded or f is not provably real" if u is None \
                    else f"gradient bound {_dec(u, down=False)} after {counter} boxes"
                return _GradResult("unknown", boxes=counter, reason=why)
            heapq.heappop(heap)
            j = max(range(dim), key=lambda i: box[i][1] - box[i][0])
            a, b = box[j]
            m = (a + b) / 2
            for part in ((a, m), (m, b)):
                nb = list(box)
                nb[j] = part
                push(nb)

    with precision(prec):
        try:
            return loop()
        except _Undefined as exc:
            return _GradResult("undefined", point=list(exc.args[0]), boxes=counter)


def user_target(expression: str, dim: int, lipschitz: Optional[str] = None,
                holder: Optional[tuple[str, str]] = None, *, max_boxes: int = 3000,
                time_budget: float = 3.0) -> Target:
    """A target from a formula in x1..xd, with its modulus checked where it can be.

    * ``lipschitz="L"`` (or ``holder=("L", "1")``): bisection bounds sup ‖∇f‖₂ ≤ L → "checked";
      a point where ‖∇f(x)‖₂ is provably > L → UserError; otherwise "assumption".
    * ``holder=("L", "a")`` with a < 1: checked when sup ‖∇f‖₂ · d^((1−a)/2) ≤ L (since
      ‖x − y‖₂ ≤ √d on the cube); otherwise "assumption".
    * neither: λ is computed (sup ‖∇f‖₂ rounded up to 3 significant digits) or UserError.

    Abs/Min/Max are handled through their generalised gradients (sign ∈ [−1,1], Heaviside ∈
    [0,1] on boxes where the argument may vanish); Piecewise expressions are accepted but never
    checked (continuity across pieces is not verified).
    """
    symbols_for(dim)
    expr = _parse(expression, dim)
    if lipschitz is not None and holder is not None:
        raise UserError("give either a Lipschitz constant or a Hölder pair (lambda, alpha), not both")
    lam: Optional[fmpq] = None
    alpha = fmpq(1)
    if lipschitz is not None:
        lam = _user_rat("Lipschitz constant", lipschitz)
    elif holder is not None:
        if not isinstance(holder, (tuple, list)) or len(holder) != 2:
            raise UserError(f"Hölder modulus {holder!r} must be a pair (lambda, alpha)")
        lam = _user_rat("Hölder constant", holder[0])
        alpha = _user_rat("Hölder exponent", holder[1])
        if not (0 < alpha <= 1):
            raise UserError(f"Hölder exponent {holder[1]!r} is not allowed; use 0 < alpha <= 1")
    if lam is not None and lam < 0:
        raise UserError(f"declared constant {lam} is negative; use a rational >= 0")
    name = f"user:{expr}"
    rv = _is_rational_expr(expr)
    _check_defined(expr, dim, expression)
    if lam is None:
        res = _gradient_bound(expr, dim, None, max_boxes, time_budget)
        _raise_undefined(res, expression)
        if res.status != "bounded" or res.bound is None:
            raise UserError(f"could not compute a Lipschitz constant for {expression!r} "
                            f"({res.reason}); declare one with --lipschitz or --holder")
        lam = _round_up_nice(res.bound)
        cert = (f"checked: sup ||grad f||_2 <= {_dec(res.bound, down=False)} <= {lam} "
                f"by arb bisection over {res.boxes} boxes")
        return Target(name, dim, expr, lam, alpha, cert, rv)
    # declared constant: check it
    if alpha == 1:
        res = _gradient_bound(expr, dim, lam, max_boxes, time_budget)
        _raise_undefined(res, expression)
        if res.status == "violated":
            pt = "(" + ", ".join(map(str, res.point or [])) + ")"
            raise UserError(f"declared Lipschitz constant λ={lam} is wrong: "
                            f"|∇f| >= {_dec(res.lower or fmpq(0), down=True)} at x={pt}")
        if res.status == "bounded":
            cert = (f"checked: sup ||grad f||_2 <= {_dec(res.bound, down=False)} <= {lam} "
                    f"by arb bisection over {res.boxes} boxes")
        else:
            cert = f"assumption: declared Lipschitz constant {lam} not checked ({res.reason})"
        return Target(name, dim, expr, lam, alpha, cert, rv)
    res = _gradient_bound(expr, dim, None, max_boxes, time_budget)
    _raise_undefined(res, expression)
    if res.status == "bounded" and res.bound is not None:
        with precision(64):
            factor = (arb(1 - alpha) / 2 * arb(dim).log()).exp()
            need = arb_to_fmpq_bounds(arb(res.bound) * factor)[1]
        if need <= lam:
            cert = (f"checked: sup ||grad f||_2 <= {_dec(res.bound, down=False)} and "
                    f"L*d^((1-a)/2) <= {_dec(need, down=False)} <= {lam}")
            return Target(name, dim, expr, lam, alpha, cert, rv)
    cert = f"assumption: declared Hölder modulus {lam} r^{alpha} not checked"
    return Target(name, dim, expr, lam, alpha, cert, rv)


def _user_rat(what: str, value: Any) -> fmpq:
    try:
        return as_fmpq(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise UserError(f"{what} {value!r} is not an exact rational (write e.g. 3/2)") from None


def _raise_undefined(res: _GradResult, expression: str) -> None:
    if res.status == "undefined":
        pt = "(" + ", ".join(map(str, res.point or [])) + ")"
        raise UserError(f"target expression {expression!r} is not real-valued (or divides by zero) "
                        f"at x={pt} in [0,1]^d")


def _check_defined(expr: sp.Expr, dim: int, expression: str, prec: int = 128) -> None:
    """UserError when f is provably undefined at the centre or a corner of the cube."""
    flags = _Flags()
    fn = _compile_arb(expr, dim, strict=False, flags=flags)
    pts = [[fmpq(1, 2)] * dim]
    if dim <= 8:
        pts += [[fmpq((k >> i) & 1) for i in range(dim)] for k in range(2**dim)]
    with precision(prec):
        for p in pts:
            flags.outside = False
            fn([arb(v) for v in p])
            if flags.outside:
                _raise_undefined(_GradResult("undefined", point=p), expression)
