"""The named library targets, each with a short proof of its modulus, and :func:`make_target`.

Each builder's docstring repeats the proof its ``certified`` line summarises.

>>> make_target("abs", 1).lam
1
"""

from __future__ import annotations

from typing import Callable, Optional

import sympy as sp
from flint import fmpq

from constructive.errors import UserError
from constructive.numbers import as_fmpq
from constructive.targets.compile import is_rational_expr
from constructive.targets.parse import symbols_for
from constructive.targets.rationals import sqrt_upper, sym_q
from constructive.targets.target import Target


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
    expr = sym_q(cs[0]) + sum((sym_q(ci) * s for ci, s in zip(cs[1:], syms)), sp.Integer(0))
    lam = sqrt_upper(sum((ci * ci for ci in cs[1:]), fmpq(0)))
    return Target("affine", dim, expr, lam, fmpq(1),
                  "affine: |c·(x−y)| <= ||c||_2 ||x−y||_2 (Cauchy–Schwarz), lam >= ||c||_2 exactly",
                  True)


def abs_target(dim: int, c: str = "1/3") -> Target:
    """f(x) = |x1 − c| (default c = 1/3); λ = 1: ||a| − |b|| ≤ |a − b| ≤ ‖x − y‖₂."""
    cc = _rat("abs", "c", c)
    x1 = symbols_for(dim)[0]
    return Target("abs", dim, sp.Abs(x1 - sym_q(cc)), fmpq(1), fmpq(1),
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
    expr = sp.sqrt(sum(((s - sym_q(ci)) ** 2 for s, ci in zip(syms, cs)), sp.Integer(0)))
    return Target("dist", dim, expr, fmpq(1), fmpq(1),
                  "reverse triangle inequality: | ||x−c|| − ||y−c|| | <= ||x−y||_2",
                  is_rational_expr(expr))


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
    return Target("const", dim, sym_q(vv), fmpq(0), fmpq(1), "constant: omega = 0", True)


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
