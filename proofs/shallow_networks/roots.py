"""Lemma 1 and Corollary 2 (pp. 8–9): the roots of tan w · tanh w = ±1, certified in arb.

The k-th root w_k solves tan w tanh w = s_k with s_k = +1 for odd k and −1 for even k; the paper
places w_(2j+1) in ((j + ¼)π, (j + ½)π) and w_(2j+2) in ((j + ½)π, (j + ¾)π).  With
F_s(w) = sin w sinh w − s cos w cosh w (cos w cosh w times tan w tanh w − s, smooth, no poles):

* F₊' = 2 sin w cosh w and F₋' = 2 cos w sinh w.  If an arb enclosure of sin w (resp. cos w)
  over the whole closed interval excludes 0, F_s is strictly monotone there, so opposite strict
  signs of F_s at the two ends give **exactly one** root inside and equal strict signs give
  **none** (the stated interval then misses the root: a violation).
* Signs are decided on Φ_s = F_s / cosh w = sin w tanh w − s cos w (same sign, no overflow).  At
  (j + ¼)π, Φ₊ = ±(√2/2)(tanh w − 1) ≈ ∓√2 e^(−2w): the precision must exceed 2w/ln 2 bits;
  it is chosen from w.
* That the root in the k-th interval is the k-th root overall is elementary and not computed:
  on [(j + ½)π, (j + 1)π] tan ≤ 0 (no root of +1), on [(j + 1)π, (j + 1 + ¼)π] 0 ≤ tan ≤ 1 and
  tanh < 1 (none either); symmetrically for −1.
* Corollary 2: h(w) = w − (j + ¼)π − e^(−2w) is increasing, so h(w_k) < 0 follows from h(r) < 0
  at any r with F₊(r) of the sign right of the root (r > w_k); likewise w − (j + ¾)π + e^(−2w)
  (increasing for w > ln 2 / 2) at an r < w_k.  The margin is about e^(−6w) (relative e^(−4w)), so
  the precision is about 9w bits; the bracketing point r comes from mpmath's root finder (a float
  guess: only its certified sign is used).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

import mpmath
from flint import arb, ctx, fmpq


def stated_interval(k: int) -> tuple[fmpq, fmpq, int]:
    """(lo, hi) as multiples of π, and s_k, as stated in Lemma 1's proof (p. 9)."""
    j = (k - 1) // 2
    if k % 2:
        return fmpq(4 * j + 1, 4), fmpq(2 * j + 1, 2), 1
    return fmpq(2 * j + 1, 2), fmpq(4 * j + 3, 4), -1


def bits_for(w_max: float, per_unit: float) -> int:
    return 64 + ceil(per_unit * w_max)


class precision:
    def __init__(self, bits: int) -> None:
        self.bits = bits

    def __enter__(self) -> None:
        self.old = ctx.prec
        ctx.prec = self.bits

    def __exit__(self, *exc) -> None:
        ctx.prec = self.old


def phi(s: int, w: arb) -> arb:
    """Φ_s(w) = sin w tanh w − s cos w, whose sign is that of tan w tanh w − s where cos w > 0."""
    return w.sin() * w.tanh() - s * w.cos()


def sign(x: arb) -> int:
    """+1, −1, or 0 when the ball contains 0 (undecided)."""
    return 1 if x > 0 else (-1 if x < 0 else 0)


@dataclass(frozen=True)
class RootCheck:
    k: int
    verdict: str      # "one root" | "no root" | "undecided"
    roots: int        # certified number of roots (when decided)
    lo_sign: int
    hi_sign: int
    bits: int


PIECES = 8


def check_interval(k: int, lo: fmpq, hi: fmpq, s: int) -> RootCheck:
    """Count the roots of F_s on [lo π, hi π] rigorously: on each of PIECES equal pieces either
    the enclosure of Φ_s excludes 0 (no root there), or the enclosure of F_s's slope factor
    (sin w for s = +1, cos w for s = −1; with w > 0) excludes 0, so F_s is strictly monotone
    there and the signs at the piece's ends count its roots (0 or 1).  Anything else: undecided."""
    bits = bits_for(float(hi) * 3.1416, 3.0)
    roots, decided = 0, True
    with precision(bits):
        pi = arb.pi()
        cuts = [arb(lo + (hi - lo) * fmpq(i, PIECES)) * pi for i in range(PIECES + 1)]
        signs = [sign(phi(s, c)) for c in cuts]
        for i in range(PIECES):
            piece = arb.union(cuts[i], cuts[i + 1])
            if not piece > 0:
                decided = False
                continue
            if not phi(s, piece).contains(0):
                continue
            slope = piece.sin() if s == 1 else piece.cos()
            if slope.contains(0) or not signs[i] or not signs[i + 1]:
                decided = False
                continue
            roots += signs[i] != signs[i + 1]
    verdict = "undecided" if not decided else ("one root" if roots == 1 else
                                                ("no root" if roots == 0 else f"{roots} roots"))
    return RootCheck(k, verdict, roots, signs[0], signs[-1], bits)


def approximate_root(k: int, digits: int) -> mpmath.mpf:
    lo, hi, s = stated_interval(k)
    with mpmath.workdps(digits):
        a, b = mpmath.pi * int(lo.p) / int(lo.q), mpmath.pi * int(hi.p) / int(hi.q)
        f = (lambda t: mpmath.sin(t) * mpmath.tanh(t) - s * mpmath.cos(t))
        guess = a + mpmath.exp(-2 * a) if s == 1 else b - mpmath.exp(-2 * b)
        if k <= 2:
            return mpmath.findroot(f, (a + (b - a) / 1000, b - (b - a) / 1000), solver="anderson")
        return mpmath.findroot(f, guess)


def _exact(x: mpmath.mpf) -> fmpq:
    m, e = mpmath.mpf(x).man_exp
    return fmpq(int(m)) * fmpq(2) ** int(e) if e >= 0 else fmpq(int(m), 2 ** int(-e))


def bracket(k: int, bits: int) -> tuple[fmpq, fmpq] | None:
    """Exact rationals r_lo < r_hi inside the stated interval with F_s of opposite strict signs
    there; None when the signs do not separate.  Once :func:`check_interval` has shown that the
    interval holds exactly one root, that root w_k lies in (r_lo, r_hi)."""
    lo, hi, s = stated_interval(k)
    digits = int(bits * 0.30103) + 20
    r = approximate_root(k, digits)
    with mpmath.workdps(digits):
        gap = mpmath.mpf(2) ** (-(bits - 32)) * (1 + abs(r))
        r_lo, r_hi = _exact(r - gap), _exact(r + gap)
    with precision(bits):
        pi = arb.pi()
        a, b = arb(lo) * pi, arb(hi) * pi
        inside = arb(r_lo) > a and arb(r_hi) < b
        left, right = sign(phi(s, arb(r_lo))), sign(phi(s, arb(r_hi)))
    if not inside or not left or not right or left == right:
        return None
    return r_lo, r_hi


def corollary2(k: int) -> tuple[bool, dict]:
    """Corollary 2 at w_k: w_(2j+1) − (j + ¼)π < e^(−2w) or w_(2j+2) − (j + ¾)π > −e^(−2w)."""
    lo, hi, s = stated_interval(k)
    if check_interval(k, lo, hi, s).verdict != "one root":
        return False, {"k": k, "why": "the stated interval is not shown to hold one root"}
    bits = bits_for(float(hi) * 3.1416, 9.0)
    br = bracket(k, bits)
    if br is None:
        return False, {"k": k, "why": "root not bracketed"}
    with precision(bits):
        pi = arb.pi()
        if s == 1:
            r = arb(br[1])
            margin = (-2 * r).exp() - (r - arb(lo) * pi)   # > 0 proves the claim
        else:
            r = arb(br[0])
            margin = (r - arb(hi) * pi) + (-2 * r).exp()   # > 0 proves the claim
        ok = bool(margin > 0)
        return ok, {"k": k, "bits": bits, "margin": margin.str(5, radius=False),
                    "r": str(br[1] if s == 1 else br[0])}


def mu_enclosure(k: int) -> tuple[arb, fmpq, fmpq]:
    """μ_k = w_k^(−4) as a ball, from a certified bracket [r_lo, r_hi] of w_k."""
    lo, hi, s = stated_interval(k)
    if check_interval(k, lo, hi, s).verdict != "one root":
        raise ArithmeticError(f"the interval of w_{k} is not shown to hold exactly one root")
    bits = bits_for(float(hi) * 3.1416, 3.0) + 64  # the root is e^(−2w) from an end
    br = bracket(k, bits)
    if br is None:
        raise ArithmeticError(f"w_{k} could not be bracketed at {bits} bits")
    with precision(bits):
        lo, hi = arb(br[0]) ** -4, arb(br[1]) ** -4
        return arb.union(hi, lo), br[0], br[1]
