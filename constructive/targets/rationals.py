"""Exact rational helpers: outward rounding of arb balls, square-root upper bounds, messages.

Everything here returns exact ``fmpq`` values (or strings for messages); no floats.
"""

from __future__ import annotations

import math
from typing import Optional

import sympy as sp
from flint import arb, fmpq

from constructive.numbers import as_fmpq


def sym_q(x: fmpq) -> sp.Rational:
    """The sympy Rational equal to the fmpq ``x``."""
    return sp.Rational(int(x.p), int(x.q))


def exact_arb(x: arb) -> fmpq:
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
    m, r = exact_arb(x.mid()), exact_arb(x.rad())
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


def round_up_nice(x: fmpq, digits: int = 3) -> fmpq:
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


def dec(x: fmpq, down: bool, digits: int = 6) -> str:
    """x rounded down (or up) to ``digits`` decimals, as a string, for messages."""
    scaled = x * 10**digits
    n = int(scaled.p) // int(scaled.q)
    if not down and n * int(scaled.q) != int(scaled.p):
        n += 1
    sign = "-" if n < 0 else ""
    n = abs(n)
    return f"{sign}{n // 10**digits}.{n % 10**digits:0{digits}d}"
