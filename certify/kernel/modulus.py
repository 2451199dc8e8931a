"""The target's modulus re-derived from its expression: |f(x) − f(y)| ≤ λ‖x − y‖₂^α on [0, 1]^d.

Rules over the expression tree give each subexpression g a modulus of one of two shapes: a
vector v with |g(x) − g(y)| ≤ Σ_i v_i |x_i − y_i| (so λ = ‖v‖₂, α = 1, by Cauchy–Schwarz), or
a pair (λ, α).  x_i has v = e_i; sums add moduli; a constant factor scales them; products take
|gh − g'h'| ≤ sup|g|·|h − h'| + sup|h|·|g − g'| (sups of balls over the cube); natural powers
n·sup|g|^(n−1); Abs keeps g's, Min and Max take the larger λ; sin, cos, tanh and atan are
1-Lipschitz, exp(g) has slope e^(sup g); √(Σ g_i²) is within ‖V‖₂ ≤ √(‖V‖₁‖V‖_∞) of the rows
V of the g_i (Schur), any other √g of g ≥ 0 has (√λ, α/2) as |√a − √b| ≤ √|a − b|.  On the
cube ‖x − y‖ ≤ √d, so a larger α gives a smaller one at the factor d^((α − α')/2).  Numbers
are kept as q·π^k (q rational) while products and quotients allow, so sin(2πkx)/(2πk) has
slope exactly 1; anything else becomes an arb ball.  A rule that does not apply shows nothing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Optional

from flint import arb, fmpq

from certify.kernel.errors import KernelError
from certify.kernel.formula import Evaluator, ball

Num = Any  # (q, k) for q·π^k exactly, or an arb ball
LIPSCHITZ_ONE = {"sin", "cos", "tanh", "atan"}


@dataclass(frozen=True)
class Holder:
    """|g(x) − g(y)| ≤ lam ‖x − y‖₂^alpha on the cube (lam an upper bound, as a ball's upper end)."""
    lam: arb
    alpha: fmpq


def _shown(tree: ast.AST, dim: int) -> Any:
    try:
        return _Rules(dim).modulus(tree)
    except (_NoRule, KernelError, ZeroDivisionError, ValueError):
        return None


def holder(tree: ast.AST, dim: int) -> Optional[Holder]:
    """The modulus the rules show for ``tree`` on the cube (None: no rule applies)."""
    mod = _shown(tree, dim)
    return None if mod is None else _pair(mod)


def shown(tree: ast.AST, dim: int, lam: fmpq, alpha: fmpq) -> bool:
    """Do the rules show |f(x) − f(y)| ≤ lam ‖x − y‖^alpha on the cube?"""
    mod = _shown(tree, dim)
    if mod is None:
        return False
    if isinstance(mod, list):  # ‖v‖₂ ≤ lam: exact on q·π^k entries of one k, else in arb
        return lam >= 0 and _le(_sum([_mul(v, v) for v in mod]), (lam * lam, 0))
    if mod.alpha < alpha:
        return False
    return bool(mod.lam * arb(dim) ** (arb(mod.alpha - alpha) / 2) <= arb(lam))


class _NoRule(Exception):
    """No rule of this module applies."""


class _Rules:
    def __init__(self, dim: int):
        self.dim = dim
        cube = arb(fmpq(1, 2), fmpq(1, 2))
        self.on_cube = Evaluator({f"x{i + 1}": cube.nonnegative_part() for i in range(dim)})

    def modulus(self, node: ast.AST) -> Any:
        """A list v (one entry per input) or a pair (λ, α) for the subexpression ``node``."""
        if self._constant(node):
            return [(fmpq(0), 0)] * self.dim
        if isinstance(node, ast.Name):  # x_i (names are checked by the parser)
            i = int(node.id[1:]) - 1
            return [(fmpq(int(j == i)), 0) for j in range(self.dim)]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self.modulus(node.operand)
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self._call(node.func.id, node.args)
        raise _NoRule

    def _binary(self, node: ast.BinOp) -> Any:
        left, right, op = node.left, node.right, node.op
        if isinstance(op, (ast.Add, ast.Sub)):
            return _plus(self.modulus(left), self.modulus(right), self.dim)
        if isinstance(op, ast.Mult) and self._constant(left):
            return _scale(self.modulus(right), _abs(self.number(left)))
        if isinstance(op, ast.Mult) and self._constant(right):
            return _scale(self.modulus(left), _abs(self.number(right)))
        if isinstance(op, ast.Mult):  # sup|g|·mod h + sup|h|·mod g
            return _plus(_scale(self.modulus(right), self._sup(left)),
                         _scale(self.modulus(left), self._sup(right)), self.dim)
        if isinstance(op, ast.Div) and self._constant(right):
            c = _abs(self.number(right))
            if not (isinstance(c, tuple) and c[0] != 0 or isinstance(c, arb) and c > 0):
                raise _NoRule
            return _scale(self.modulus(left), _inverse(c))
        if isinstance(op, ast.Pow) and self._constant(right):
            n = self.number(right)
            if n == (fmpq(1, 2), 0):
                return self._call("sqrt", [left])
            if not (isinstance(n, tuple) and n[1] == 0 and n[0].q == 1 and 1 <= n[0] <= 64):
                raise _NoRule
            k = int(n[0].p)  # |a^k − b^k| ≤ k·max(|a|, |b|)^(k−1)·|a − b|
            return _scale(self.modulus(left), _mul((fmpq(k), 0), _power(self._sup(left), k - 1)))
        raise _NoRule

    def _call(self, name: str, args: list) -> Any:
        if name == "Abs" and len(args) == 1:  # ||a| − |b|| ≤ |a − b|
            return self.modulus(args[0])
        if name in ("Min", "Max") and args:  # |max(a, b) − max(a', b')| ≤ max(|a − a'|, |b − b'|)
            mods = [_pair(self.modulus(a)) for a in args]
            out = mods[0]
            for m in mods[1:]:
                la, lb, alpha = _common(out, m, self.dim)
                out = Holder(la.max(lb), alpha)
            return out
        if name in LIPSCHITZ_ONE and len(args) == 1:
            return self.modulus(args[0])
        if name == "exp" and len(args) == 1:
            return _scale(self.modulus(args[0]), arb(ball(self.on_cube.value(args[0])).exp().upper()))
        if name == "sqrt" and len(args) == 1:
            rows = self._squares(args[0])
            if rows is not None:  # |‖g(x)‖ − ‖g(y)‖| ≤ ‖g(x) − g(y)‖ ≤ ‖V‖₂ ‖x − y‖
                row_sums = _ball_max([_ball(_sum(r)) for r in rows])           # ‖V‖_∞
                column_sums = _ball_max([_ball(_sum(list(c))) for c in zip(*rows)])  # ‖V‖₁
                return Holder((row_sums * column_sums).sqrt(), fmpq(1))
            if not self._nonnegative(args[0]):
                raise _NoRule
            mod = _pair(self.modulus(args[0]))
            return Holder(mod.lam.sqrt(), mod.alpha / 2)
        raise _NoRule

    def _squares(self, node: ast.AST) -> Optional[list]:
        """The vectors v of g_1 … g_m when ``node`` is g_1**2 + … + g_m**2, each with a vector."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            a, b = self._squares(node.left), self._squares(node.right)
            return None if a is None or b is None else a + b
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and \
                isinstance(node.right, ast.Constant) and node.right.value == 2:
            mod = self.modulus(node.left)
            return [[_abs(v) for v in mod]] if isinstance(mod, list) else None
        return None

    def _nonnegative(self, node: ast.AST) -> bool:
        """g ≥ 0 on the cube: |·| or √· by form (a ball of |g| may dip below 0), else its ball."""
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("Abs", "sqrt"):
            return True
        return bool(ball(self.on_cube.value(node)) >= 0)

    def _constant(self, node: ast.AST) -> bool:
        return not any(isinstance(n, ast.Name) and n.id.startswith("x") and n.id[1:].isdigit()
                       for n in ast.walk(node))

    def number(self, node: ast.AST) -> Num:
        """A constant subexpression as q·π^k where products, quotients and integer powers of
        rationals and π allow, else a ball."""
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return (fmpq(node.value), 0)
        if isinstance(node, ast.Name) and node.id == "pi":
            return (fmpq(1), 1)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = self.number(node.operand)
            return (-v[0], v[1]) if isinstance(v, tuple) else -v
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            a, b = self.number(node.left), self.number(node.right)
            if isinstance(node.op, ast.Div):
                if b == (fmpq(0), 0):
                    raise _NoRule
                b = _inverse(b)
            return _mul(a, b)
        v = self.on_cube.value(node)
        return (v, 0) if isinstance(v, fmpq) else ball(v)

    def _sup(self, node: ast.AST) -> Num:
        """sup |g| on the cube: exactly 1 for an input (a ball's radius is rounded up)."""
        if isinstance(node, ast.Name) and not self._constant(node):
            return (fmpq(1), 0)
        if self._constant(node):
            return _abs(self.number(node))
        return arb(abs(ball(self.on_cube.value(node))).upper())


def _ball(v: Num) -> arb:
    return arb(v[0]) * arb.pi() ** v[1] if isinstance(v, tuple) else v


def _abs(v: Num) -> Num:
    return (abs(v[0]), v[1]) if isinstance(v, tuple) else abs(v)


def _mul(a: Num, b: Num) -> Num:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return (a[0] * b[0], a[1] + b[1])
    return _ball(a) * _ball(b)


def _inverse(v: Num) -> Num:
    return (1 / v[0], -v[1]) if isinstance(v, tuple) else 1 / v


def _power(v: Num, k: int) -> Num:
    out: Num = (fmpq(1), 0)
    for _ in range(k):
        out = _mul(out, v)
    return out


def _add(a: Num, b: Num) -> Num:
    if isinstance(a, tuple) and isinstance(b, tuple) and (a[1] == b[1] or 0 in (a[0], b[0])):
        return (a[0] + b[0], a[1] if a[0] != 0 else b[1])
    return _ball(a) + _ball(b)


def _sum(values: list) -> Num:
    out: Num = (fmpq(0), 0)
    for v in values:
        out = _add(out, v)
    return out


def _le(a: Num, b: Num) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple) and a[1] == b[1]:
        return a[0] <= b[0]
    return bool(_ball(a) <= _ball(b))


def _ball_max(values: list) -> arb:
    out = arb(0)
    for v in values:
        out = out.max(v)
    return out


def _pair(mod: Any) -> Holder:
    """A modulus as (λ, α); a vector's λ is ‖v‖₂ (Cauchy–Schwarz)."""
    if isinstance(mod, list):
        return Holder(_ball(_sum([_mul(v, v) for v in mod])).sqrt(), fmpq(1))
    return mod


def _common(a: Any, b: Any, dim: int) -> tuple[arb, arb, fmpq]:
    """Both moduli's λ at the smaller α (on the cube ‖Δ‖^α ≤ d^((α − α')/2)‖Δ‖^α')."""
    a, b = _pair(a), _pair(b)
    alpha = min(a.alpha, b.alpha)
    return (a.lam * arb(dim) ** (arb(a.alpha - alpha) / 2),
            b.lam * arb(dim) ** (arb(b.alpha - alpha) / 2), alpha)


def _plus(a: Any, b: Any, dim: int) -> Any:
    if isinstance(a, list) and isinstance(b, list):
        return [_add(u, v) for u, v in zip(a, b)]
    la, lb, alpha = _common(a, b, dim)
    return Holder(la + lb, alpha)


def _scale(mod: Any, c: Num) -> Any:
    if isinstance(mod, list):
        return [_mul(v, c) for v in mod]
    return Holder(mod.lam * _ball(c), mod.alpha)
