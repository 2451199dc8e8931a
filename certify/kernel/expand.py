"""Expressions as polynomials over their atoms: two expressions with equal expansions are equal.

An atom is an input, π, e, or a function of an argument that is itself expanded, so
sin(x1/2 + x2**2/2 + 1/2) and sin((1 + x1 + x2**2)/2) share one.  Sums, products, natural powers
and quotients by numbers are multiplied out over the rationals; 1/u is the atom of u scaled to a
leading coefficient 1, any other power of a non-number u is an atom of its own.  Three more
identities, each true wherever both sides are defined: odd functions take the argument's sign
out (sin(−u) = −sin(u)), even ones drop it (cos(−u) = cos(u)), and a function of 0 is its value
there.  Every step is an identity, so equal expansions prove the expressions equal where they
are defined; different ones prove nothing.
"""

from __future__ import annotations

import ast
from typing import Mapping

from flint import fmpq

from certify.kernel.errors import Undecided

Poly = dict  # monomial (a sorted tuple of (atom, power)) -> non-zero fmpq
MAX_TERMS = 10_000
MAX_POWER = 64
ODD, EVEN = {"sin", "tanh", "atan"}, {"cos", "Abs"}
BINDING = {"Sum", "Piecewise", "omega"}  # a bound name, conditions, the target's own modulus
AT_ZERO = {"sin": 0, "tanh": 0, "atan": 0, "cos": 1, "exp": 1, "Abs": 0}


def variable(name: str) -> Poly:
    return {((name, 1),): fmpq(1)}


def expand(node: ast.AST, env: Mapping[str, Poly]) -> Poly:
    """The expansion of a parsed expression, each name in ``env`` replaced by its expansion."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and node.value is not True:
        return _number(fmpq(node.value))
    if isinstance(node, ast.Name):
        return env[node.id] if node.id in env else variable(node.id)  # pi, E
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        p = expand(node.operand, env)
        return _scaled(p, fmpq(-1)) if isinstance(node.op, ast.USub) else p
    if isinstance(node, ast.BinOp):
        a, b = expand(node.left, env), expand(node.right, env)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            return plus(a, b if isinstance(node.op, ast.Add) else _scaled(b, fmpq(-1)))
        if isinstance(node.op, ast.Mult):
            return _times(a, b)
        if isinstance(node.op, ast.Div):
            return _times(a, _power(b, fmpq(-1)))
        if isinstance(node.op, ast.Pow):
            n = _constant(b)
            return _power(a, n) if n is not None else _atom(f"({_text(a)})^({_text(b)})")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _call(node.func.id, [expand(a, env) for a in node.args])
    raise Undecided(f"{ast.unparse(node)!r} has no expansion (sums, products, powers and "
                    "functions only)")


def _call(name: str, args: list) -> Poly:
    if name in BINDING:
        raise Undecided(f"{name} has no expansion here")
    consts = [_constant(a) for a in args]
    if name == "Rational" and len(args) == 2 and None not in consts and consts[1] != 0:
        return _number(consts[0] / consts[1])
    if name == "sqrt" and len(args) == 1:
        return _power(args[0], fmpq(1, 2))
    if len(args) != 1 or name in ("Min", "Max"):  # symmetric in their arguments
        return _atom(f"{name}({', '.join(sorted(_text(a) for a in args))})")
    u = args[0]
    if not u and name in AT_ZERO:
        return _number(fmpq(AT_ZERO[name]))
    if name == "exp" and u == _number(fmpq(1)):
        return variable("E")
    sign = fmpq(1)
    if name in ODD | EVEN and u[min(u)] < 0:
        u = _scaled(u, fmpq(-1))
        sign = fmpq(-1) if name in ODD else sign
    return _scaled(_atom(f"{name}({_text(u)})"), sign)


def _power(p: Poly, n: fmpq) -> Poly:
    if not p:
        if n <= 0:
            raise Undecided("a power of zero with an exponent ≤ 0")
        return {}
    c = _constant(p)
    if n.q == 1 and n >= 0:
        if n > MAX_POWER:
            raise Undecided(f"a power above {MAX_POWER}")
        out = _number(fmpq(1))
        for _ in range(int(n.p)):
            out = _times(out, p)
        return out
    if c is not None and n.q == 1:
        return _number(c ** int(n.p))
    lead = p[min(p)]  # 1/(c·u) = (1/c)·(1/u), u with leading coefficient 1
    if n == -1:
        return _scaled(_atom(f"1/({_text(_scaled(p, 1 / lead))})"), 1 / lead)
    return _atom(f"({_text(p)})^({n})")


def _number(c: fmpq) -> Poly:
    return {(): c} if c != 0 else {}


def _constant(p: Poly):
    """The number p is, or None."""
    return p.get((), fmpq(0)) if set(p) <= {()} else None


def _atom(key: str) -> Poly:
    return {((key, 1),): fmpq(1)}


def _text(p: Poly) -> str:
    """A canonical text of p: its terms in the order of their monomials."""
    return " + ".join(f"{c}" + "".join(f"*{a}^{e}" for a, e in m) for m, c in sorted(p.items()))


def _scaled(p: Poly, c: fmpq) -> Poly:
    return {m: c * v for m, v in p.items()} if c != 0 else {}


def plus(a: Poly, b: Poly) -> Poly:
    out = dict(a)
    for m, v in b.items():
        out[m] = out.get(m, fmpq(0)) + v
    return _checked({m: v for m, v in out.items() if v != 0})


def _times(a: Poly, b: Poly) -> Poly:
    out: dict = {}
    for m1, v1 in a.items():
        for m2, v2 in b.items():
            powers = dict(m1)
            for atom, e in m2:
                powers[atom] = powers.get(atom, 0) + e
            m = tuple(sorted(powers.items()))
            out[m] = out.get(m, fmpq(0)) + v1 * v2
    return _checked({m: v for m, v in out.items() if v != 0})


def _checked(p: Poly) -> Poly:
    if len(p) > MAX_TERMS:
        raise Undecided(f"an expansion of more than {MAX_TERMS} terms")
    return p
