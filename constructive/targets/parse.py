"""Safe parsing of user target expressions: a token whitelist, then sympy, then a power guard.

User text is never evaluated beyond what :func:`parse` allows: every token is checked against a
whitelist (the coordinates x1..xd, the functions in ``FUNCTIONS``, numbers, operators) before
sympy sees it, sympy runs with empty builtins, and numeric powers too large to evaluate are
refused on the unevaluated tree first.

>>> parse("x1^2 + 1/3", 1)
x1**2 + 1/3
"""

from __future__ import annotations

import io
import tokenize
from typing import Any

import sympy as sp
from sympy.parsing.sympy_parser import convert_xor, parse_expr, rationalize, standard_transformations

from constructive.errors import UserError


def symbols_for(d: int) -> tuple[sp.Symbol, ...]:
    """The coordinate symbols ``x1..xd`` (real) in which every target is written."""
    if not isinstance(d, int) or isinstance(d, bool) or d < 1:
        raise UserError(f"target dimension {d!r} is not allowed; use an integer d >= 1")
    return tuple(sp.Symbol(f"x{i}", real=True) for i in range(1, d + 1))


FUNCTIONS: dict[str, Any] = {
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


def guard_powers(raw: Any) -> Any:
    """Refuse numeric powers too large to evaluate (e.g. 9^9^9^9) in an unevaluated tree.

    Returns the value of symbol-free subtrees (evaluated bottom-up once each child is known to
    be small), or None for subtrees with symbols."""
    if not isinstance(raw, sp.Basic) or not raw.args:
        return raw if isinstance(raw, sp.Basic) and not raw.free_symbols else None
    vals = [guard_powers(a) for a in raw.args]
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


def parse(text: str, dim: int, what: str = "target expression") -> sp.Expr:
    """Parse ``text`` with a whitelist of tokens; only x1..xd and the allowed functions."""
    if not isinstance(text, str) or not text.strip():
        raise UserError(f"{what} {text!r} is empty; write a formula in x1..x{dim}")
    syms = symbols_for(dim)
    allowed = ", ".join(sorted(k for k in FUNCTIONS if k[0].islower() and k != "pi") + ["pi", "E"])
    coords = "x1" if dim == 1 else f"x1..x{dim}"
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text.strip()).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise UserError(f"{what} {text!r} does not parse: {exc}") from None
    for tok in toks:
        if tok.type == tokenize.NAME:
            name = tok.string
            if name in FUNCTIONS or name in _KEYWORDS:
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
        **FUNCTIONS,
    }
    try:
        raw = parse_expr(text, local_dict=local, global_dict=glob, transformations=_TRANSFORMS,
                         evaluate=False)
        guard_powers(raw)
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
