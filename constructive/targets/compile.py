"""One compiler from sympy trees to evaluators, written once against a number context.

:func:`compile_expr` walks the tree at compile time and returns a closure over the context's
operations; the context (:mod:`constructive.targets.contexts`) decides which nodes exist in its
number system and how each is evaluated.  ``ArbContext(strict, flags)`` gives rigorous balls,
``EXACT`` exact rationals and ``INTERVAL`` exact rational intervals of the same tree.

>>> import sympy as sp
>>> from flint import fmpq
>>> from constructive.targets.contexts import EXACT, INTERVAL
>>> x1 = sp.Symbol("x1", real=True)
>>> f = sp.Abs(x1 - sp.Rational(1, 3)) ** 2
>>> compile_expr(f, 1, EXACT)([fmpq(1)]), compile_expr(f, 1, INTERVAL)([(fmpq(0), fmpq(1))])
(4/9, (0, 4/9))
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import sympy as sp
from flint import fmpq

Fn = Callable[[Sequence[Any]], Any]
Cond = Callable[[Sequence[Any]], Optional[bool]]


def compile_expr(expr: sp.Basic, dim: int, ctx: Any) -> Fn:
    """Compile ``expr`` (a formula in x1..x``dim``) into a function of ``ctx`` coordinates.

    Nodes the context lacks are refused here, with ``ctx.unsupported(...)``'s exception.
    Piecewise values are joined over the branches whose condition is undecided, up to the first
    branch whose condition holds; a point no branch provably covers is ``ctx.uncovered()``.
    """

    def refuse(msg: str, node: sp.Basic, condition: bool = False) -> Exception:
        return ctx.unsupported(msg, node, condition)

    def fold(op: Callable[[Any, Any], Any], parts: list[Fn]) -> Fn:
        first, rest = parts[0], parts[1:]

        def f(env: Sequence[Any]) -> Any:
            s = first(env)
            for p in rest:
                s = op(s, p(env))
            return s

        return f

    def rec(e: sp.Basic) -> Fn:
        if isinstance(e, sp.Symbol):
            name = e.name
            if name.startswith("x") and name[1:].isdigit() and 1 <= int(name[1:]) <= dim:
                i = int(name[1:]) - 1
                return lambda env: env[i]
            raise refuse(f"symbol {name!r} (allowed: x1..x{dim})", e)
        if isinstance(e, sp.Float):
            raise refuse(f"floating-point constant {e} (write it as a fraction)", e)
        if isinstance(e, sp.Rational):
            q, rational = fmpq(int(e.p), int(e.q)), ctx.rational
            return lambda env: rational(q)
        for c, make in ctx.constants:
            if e is c:
                return lambda env: make()
        if isinstance(e, sp.Add):
            return fold(ctx.add, [rec(a) for a in e.args])
        if isinstance(e, sp.Mul):
            return fold(ctx.mul, [rec(a) for a in e.args])
        if isinstance(e, sp.Pow):
            return rec_pow(e)
        if isinstance(e, sp.Function) or isinstance(e, (sp.Min, sp.Max, sp.Piecewise)):
            return rec_function(e)
        raise refuse(f"{type(e).__name__} ({e})", e)

    def rec_pow(e: sp.Pow) -> Fn:
        base, ex = e.args
        b = rec(base)
        if isinstance(ex, sp.Integer):
            n, ipow = int(ex), ctx.ipow
            return lambda env: ipow(b(env), n)
        if isinstance(ex, sp.Rational):
            if ctx.rpow is None:
                raise refuse(f"power {e}", e)
            p, q, rpow = int(ex.p), int(ex.q), ctx.rpow
            return lambda env: rpow(b(env), p, q)
        ef = rec(ex)
        if ctx.gpow is None:
            raise refuse(f"power {e}", e)
        gpow = ctx.gpow
        return lambda env: gpow(b(env), lambda: ef(env))

    def rec_function(e: sp.Basic) -> Fn:
        if isinstance(e, sp.Piecewise):
            branches = [(rec(ex), rec_cond(c)) for ex, c in e.args]
            join, uncovered = ctx.join, ctx.uncovered

            def pw(env: Sequence[Any]) -> Any:
                out = None
                for f, c in branches:
                    t = c(env)
                    if t is False:
                        continue
                    v = f(env)
                    out = v if out is None else join(out, v)
                    if t is True:
                        return out
                return uncovered()

            return pw
        if isinstance(e, (sp.Min, sp.Max)):
            return fold(ctx.min if isinstance(e, sp.Min) else ctx.max, [rec(a) for a in e.args])
        if len(e.args) != 1 and not isinstance(e, sp.Heaviside):
            raise refuse(f"function {type(e).__name__}", e)
        a = rec(e.args[0])
        for cls, op in ctx.functions:
            if isinstance(e, cls):
                return lambda env: op(a(env))
        raise refuse(f"function {type(e).__name__}", e)

    def rec_cond(c: sp.Basic) -> Cond:
        if c is sp.true:
            return lambda env: True
        if c is sp.false:
            return lambda env: False
        if isinstance(c, sp.core.relational.Relational) and c.rel_op in ctx.relations:
            lhs, rhs, op, compare = rec(c.lhs), rec(c.rhs), c.rel_op, ctx.compare
            return lambda env: compare(op, lhs(env), rhs(env))
        if isinstance(c, (sp.And, sp.Or)):
            parts = [rec_cond(a) for a in c.args]
            is_and = isinstance(c, sp.And)
            decisive = not is_and  # And is decided by a False part, Or by a True one
            lazy = ctx.short_circuit

            def combine(env: Sequence[Any]) -> Optional[bool]:
                vals = []
                for p in parts:
                    v = p(env)
                    if lazy and v is decisive:
                        return v
                    vals.append(v)
                if is_and:
                    return False if False in vals else (True if all(v is True for v in vals) else None)
                return True if True in vals else (False if all(v is False for v in vals) else None)

            return combine
        if isinstance(c, sp.Not):
            inner = rec_cond(c.args[0])

            def neg(env: Sequence[Any]) -> Optional[bool]:
                v = inner(env)
                return None if v is None else (not v)

            return neg
        raise refuse(f"condition {c}", c, condition=True)

    return rec(expr)


def is_rational_expr(e: sp.Basic) -> bool:
    """True when e maps rational points to rationals (a rational-arithmetic tree)."""
    if isinstance(e, (sp.Symbol, sp.Integer)) or (isinstance(e, sp.Rational) and not isinstance(e, sp.Float)):
        return True
    if isinstance(e, (sp.Add, sp.Mul, sp.Abs, sp.Min, sp.Max)):
        return all(is_rational_expr(a) for a in e.args)
    if isinstance(e, sp.Pow):
        return isinstance(e.args[1], sp.Integer) and is_rational_expr(e.args[0])
    if isinstance(e, sp.Piecewise):
        return all(is_rational_expr(x) and _is_rational_cond(c) for x, c in e.args)
    return False


def _is_rational_cond(c: sp.Basic) -> bool:
    if c in (sp.true, sp.false):
        return True
    if isinstance(c, sp.core.relational.Relational):
        return is_rational_expr(c.lhs) and is_rational_expr(c.rhs)
    if isinstance(c, (sp.And, sp.Or, sp.Not)):
        return all(_is_rational_cond(a) for a in c.args)
    return False
