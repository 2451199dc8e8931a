"""Roots of tan w · tanh w = s (s = ±1) in stated intervals, in arb (the shallow-networks paper's
Lemma 1 and Corollary 2).

Signs are taken of Φ_s(w) = sin w tanh w − s cos w, which is F_s(w) = sin w sinh w − s cos w cosh w
divided by cosh w > 0; F₊' = 2 sin w cosh w and F₋' = 2 cos w sinh w.  On a piece where the ball
of Φ_s excludes 0 there is no root; on one where sin w (s = 1) or cos w (s = −1) excludes 0, F_s
is strictly monotone and the strict signs at the ends count its roots.  Near an end the root is
about e^(−2w) away, so the precision grows with w.
"""

from __future__ import annotations

from flint import arb, ctx, fmpq

PIECES = 8


def _sign(x: arb) -> int:
    return 1 if x > 0 else (-1 if x < 0 else 0)


def _phi(s: int, w: arb) -> arb:
    return w.sin() * w.tanh() - s * w.cos()


def count(lo: fmpq, hi: fmpq, s: int) -> tuple[int | None, list]:
    """The number of roots in [lo π, hi π] (None: undecided), and Φ_s's signs at the ends."""
    with ctx.workprec(64 + 3 * int(hi * 4)):
        cuts = [arb(lo + (hi - lo) * fmpq(i, PIECES)) * arb.pi() for i in range(PIECES + 1)]
        signs = [_sign(_phi(s, c)) for c in cuts]
        roots = 0
        for i in range(PIECES):
            piece = cuts[i].union(cuts[i + 1])
            if not _phi(s, piece).contains(0):
                continue
            slope = piece.sin() if s == 1 else piece.cos()
            if not piece > 0 or slope.contains(0) or not signs[i] or not signs[i + 1]:
                return None, signs
            roots += signs[i] != signs[i + 1]
        return roots, signs


def corollary(lo: fmpq, hi: fmpq, s: int, r: fmpq) -> bool:
    """With exactly one root w in [lo π, hi π]: for s = 1, w − lo π < e^(−2w); for s = −1,
    w − hi π > −e^(−2w).  Both sides are increasing in w, so it suffices at a point r beyond the
    root (s = 1) or before it (s = −1), placed by its sign; the margin is about e^(−6w)."""
    roots, signs = count(lo, hi, s)
    if roots != 1:
        return False
    with ctx.workprec(64 + 9 * int(hi * 4)):
        a, b, x = arb(lo) * arb.pi(), arb(hi) * arb.pi(), arb(r)
        if not (a < x < b) or _sign(_phi(s, x)) != (signs[-1] if s == 1 else signs[0]):
            return False
        margin = (-2 * x).exp() - (x - a) if s == 1 else (x - b) + (-2 * x).exp()
        return bool(margin > 0)


def bracket(lo: fmpq, hi: fmpq, s: int, r_lo: fmpq, r_hi: fmpq) -> bool:
    """Is the one root of [lo π, hi π] inside (r_lo, r_hi)?  Exactly one root there, both
    points inside, and strict opposite signs at them."""
    if count(lo, hi, s)[0] != 1:
        return False
    with ctx.workprec(128 + 3 * int(hi * 4)):
        a, b = arb(lo) * arb.pi(), arb(hi) * arb.pi()
        u, v = _sign(_phi(s, arb(r_lo))), _sign(_phi(s, arb(r_hi)))
        return bool(a < arb(r_lo) and arb(r_hi) < b and u * v == -1)
