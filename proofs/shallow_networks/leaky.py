"""Corollary 42 (App. E.2, pp. 55–56): the leading eigenvalue μ_(α,1) of the LeakyReLU Gram
kernel G_α(x, y) = G(x, y) + α² G(−x, −y) − (α/6)|x − y|³ lies in [0.941, 2.754].

Both bounds are exact polynomial integrals (sympy, exact rationals; the kernel is the one whose
Gram matrices :mod:`proofs.shallow_networks.gram` certifies against direct integration):

* lower: for the positive semi-definite integral operator K, μ₁ = ‖K‖ ≥ ‖K1‖/‖1‖, with
  v = K1 = ∫ G_α(·, y) dy, so μ₁² ≥ ‖v‖²/2 (the paper's bound; a Rayleigh quotient ⟨K1, 1⟩/2 is
  weaker by Cauchy–Schwarz);
* upper: μ₁ ≤ ‖K‖_HS = (∫∫ G_α²)^(1/2).

Squares are compared, so every comparison is between rationals.  The paper's v(x) and
4(728 − 323α + 450α² − 323α³ + 728α⁴)/2835 agree with these integrals; its Hilbert–Schmidt
polynomial β Υ·(1, α, …, α⁸) does not (G_α is quadratic in α, so ∫∫ G_α² is a quartic; at α = 1,
G_1 = 2/3 + 2xy and ∫∫ G_1² = 32/9, not (32/(3√15))²): reported in ``details``, the bound 2.754
holds all the same.
"""

from __future__ import annotations

from functools import lru_cache

import sympy
from flint import fmpq

LOWER, UPPER = sympy.Rational(941, 1000), sympy.Rational(2754, 1000)
A = sympy.Symbol("alpha")


@lru_cache(maxsize=1)
def polynomials() -> tuple[sympy.Expr, sympy.Expr]:
    """‖v‖²/2 and ∫∫ G_α² as exact polynomials in α."""
    x, y = sympy.symbols("x y")

    def g(u, v, d):
        return (2 - u - v - d) ** 2 * (2 - u - v + 2 * d) / 24

    below = g(x, y, x - y) + A ** 2 * g(-x, -y, x - y) - A * (x - y) ** 3 / 6  # y < x
    above = g(x, y, y - x) + A ** 2 * g(-x, -y, y - x) - A * (y - x) ** 3 / 6  # y > x
    v = sympy.expand(sympy.integrate(below, (y, -1, x)) + sympy.integrate(above, (y, x, 1)))
    lower_sq = sympy.expand(sympy.integrate(v ** 2, (x, -1, 1)) / 2)
    hs_sq = sympy.expand(2 * sympy.integrate(sympy.integrate(sympy.expand(below ** 2), (y, -1, x)),
                                             (x, -1, 1)))  # symmetric kernel: twice one triangle
    return lower_sq, hs_sq


PAPER_LOWER_SQ = 4 * (728 - 323 * A + 450 * A ** 2 - 323 * A ** 3 + 728 * A ** 4) / sympy.Integer(2835)
PAPER_HS_SQ = sympy.Rational(512, 212837625) * sum(
    c * A ** i for i, c in enumerate((1370738, -172283, 394834, -98757, 164086, -98757, 394834,
                                      -172283, 1370738)))


def bounds_at(alpha: fmpq) -> tuple[sympy.Rational, sympy.Rational]:
    """(lower², upper²) for μ_(α,1) at a rational α, exactly."""
    lower_sq, hs_sq = polynomials()
    a = sympy.Rational(int(alpha.p), int(alpha.q))
    return lower_sq.subs(A, a), hs_sq.subs(A, a)


def holds_on_unit_interval() -> dict:
    """Whether 0.941² ≤ ‖v‖²/2 and ∫∫G_α² ≤ 2.754² for every α ∈ [0, 1]: exact real-root counts
    of the two difference polynomials on [0, 1] (none) and their signs at α = 0."""
    lower_sq, hs_sq = polynomials()
    out = {}
    for name, poly in (("lower", lower_sq - LOWER ** 2), ("upper", UPPER ** 2 - hs_sq)):
        p = sympy.Poly(poly, A)
        roots = p.count_roots(0, 1)
        out[name] = bool(roots == 0 and p.eval(0) > 0)
    out["paper_lower_polynomial_agrees"] = sympy.expand(lower_sq - PAPER_LOWER_SQ) == 0
    out["paper_hs_polynomial_agrees"] = sympy.expand(hs_sq - PAPER_HS_SQ) == 0
    out["hs_squared_polynomial"] = str(hs_sq)
    return out
