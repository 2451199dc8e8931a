"""The EUAF σ (Shen, Yang, Zhang, JMLR 2022, Eq. (1)) and PEUAF_w (Wang, Zhang et al. 2024).

σ(x) = σ₁(x) = |x − 2⌊(x+1)/2⌋| (the period-2 triangle wave) for x ≥ 0 and
σ(x) = σ₂(x) = x/(1+|x|) (the softsign) for x < 0.  PEUAF_w(x) = σ₁(wx) for x ≥ 0 and the
softsign for x < 0, so PEUAF₁ = σ.

Both map rationals to rationals (⌊·⌋, |·| and x/(1+|x|) keep Q), so they have exact kernels.
The ball kernel uses that σ and PEUAF_w are Lipschitz (constants 1 and max(1, w)): the value at
the exact midpoint of the ball, widened by L·radius, and intersected with the range.

Piece structure (used by the exact cell analysis in ``certify.analysis.sigma_cells``): on
(−∞, 0] σ is the Möbius map y ↦ y/(1−y); on [n, n+1] (n ≥ 0 an integer) σ is the affine map
y ↦ y − n for even n and y ↦ n + 1 − y for odd n.  The formulas of adjacent pieces agree at the
shared end, so a closed cell may use either.

>>> from flint import fmpq
>>> SIGMA.exact(fmpq(7, 2)), SIGMA.exact(fmpq(-1, 2)), SIGMA.exact(fmpq(1, 3))
(1/2, -1/3, 1/3)
"""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
from flint import arb, fmpq

from constructive.activations import ActivationFunction, register
from constructive.errors import UserError
from constructive.numbers import as_fmpq
from constructive.targets import arb_to_fmpq_bounds

__all__ = ["SIGMA", "sigma_exact", "sigma1_exact", "peuaf", "sigma_piece", "torch_sigma",
           "torch_peuaf", "sigma_float"]


# ------------------------------------------------------------------------------------------
# exact kernels


def sigma1_exact(x: fmpq) -> fmpq:
    """The triangle wave |x − 2⌊(x+1)/2⌋| of period 2, exactly."""
    n = ((x + 1) / 2).floor()
    return abs(x - 2 * fmpq(int(n)))


def sigma_exact(x: fmpq) -> fmpq:
    if x >= 0:
        return sigma1_exact(x)
    return x / (1 - x)


def sigma_piece(y: fmpq) -> tuple:
    """The piece of σ containing y: ``("neg",)`` for y ≤ 0, ``("tri", n)`` for y ∈ [n, n+1]."""
    if y <= 0:
        return ("neg",)
    return ("tri", int(y.floor()))


# ------------------------------------------------------------------------------------------
# ball, mpmath and float kernels


def _arb_exact_mid(x: arb) -> tuple[fmpq, fmpq]:

    lo, hi = arb_to_fmpq_bounds(x)
    return (lo + hi) / 2, (hi - lo) / 2


def _ball(exact, lip: fmpq, lo_range: fmpq | None = None):
    def kernel(x: arb) -> arb:
        if not x.is_finite():
            return arb.nan()
        m, r = _arb_exact_mid(x)
        v = arb(exact(m))
        if r == 0:
            return v
        out = v + arb(0, arb(lip * r).upper())
        if m - r >= 0:  # x ≥ 0: the value lies in [0, 1]
            out = out.intersection(arb(fmpq(1, 2), fmpq(1, 2)))
        return out

    return kernel


def _mp(x: Any) -> Any:
    x = mpmath.mpf(x)
    if x >= 0:
        return abs(x - 2 * mpmath.floor((x + 1) / 2))
    return x / (1 - x)


def sigma_float(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    tri = np.abs(x - 2.0 * np.floor((x + 1.0) / 2.0))
    soft = x / (1.0 + np.abs(x))
    return np.where(x >= 0, tri, soft)


SIGMA = register(ActivationFunction(
    name="euaf",
    exact=sigma_exact,
    ball=_ball(sigma_exact, fmpq(1)),
    mp=_mp,
    float=sigma_float,
    lipschitz=fmpq(1),
    piecewise_linear=False,
))


def peuaf(w: Any) -> ActivationFunction:
    """PEUAF_w for a rational w > 0 (an exact frequency; w = 1 gives σ itself)."""
    try:
        ww = as_fmpq(w)
    except (TypeError, ValueError, ZeroDivisionError):
        raise UserError(f"PEUAF frequency w={w!r} is not an exact rational") from None
    if ww <= 0:
        raise UserError(f"PEUAF frequency w={w} is not allowed; use a rational w > 0")

    def exact(x: fmpq) -> fmpq:
        return sigma1_exact(ww * x) if x >= 0 else x / (1 - x)

    wf = float(ww.p) / float(ww.q)

    def flt(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        y = wf * x
        return np.where(x >= 0, np.abs(y - 2.0 * np.floor((y + 1.0) / 2.0)), x / (1.0 + np.abs(x)))

    def mp(x: Any) -> Any:
        x = mpmath.mpf(x)
        if x >= 0:
            return _mp(mpmath.mpf(int(ww.p)) / int(ww.q) * x)
        return x / (1 - x)

    lip = ww if ww > 1 else fmpq(1)
    return ActivationFunction(name="peuaf", exact=exact, ball=_ball(exact, lip), mp=mp, float=flt,
                              params=(("w", str(ww)),), lipschitz=lip, piecewise_linear=False)


# catalogue entry: PEUAF with the default frequency w = 1/2 (Table 4 keeps w in [0, 1])
register(peuaf(fmpq(1, 2)))


# ------------------------------------------------------------------------------------------
# torch kernels (exploration and training only)


def torch_sigma(x: Any) -> Any:
    import torch

    tri = torch.abs(x - 2.0 * torch.floor((x + 1.0) / 2.0))
    soft = x / (1.0 + torch.abs(x))
    return torch.where(x >= 0, tri, soft)


def torch_peuaf(x: Any, w: Any) -> Any:
    import torch

    y = w * x
    tri = torch.abs(y - 2.0 * torch.floor((y + 1.0) / 2.0))
    soft = x / (1.0 + torch.abs(x))
    return torch.where(x >= 0, tri, soft)
