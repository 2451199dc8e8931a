"""The ergodic winding θ ↦ frac(θ·a) on the unit torus, in fixed-point integer arithmetic.

Why fixed point: the decoder must give the same bits on every device.  Each direction component
a_i is stored as an integer A_i = round(a_i · 2^F) with F = ``FRAC_BITS`` fractional bits; the
phase of trajectory sample θ is (θ · A_i) mod 2^F, an exact integer computation (θ < 2^31 and
A_i < 2^32, so the int64 product never overflows; the modulo is the wrap-around of the torus).
The coordinate is phase · 2^−F, which float64 represents exactly.

Two directions are offered, both with 1, a_1, …, a_k linearly independent over ℚ (so the exact
winding is dense in [0, 1)^k by Kronecker–Weyl; the 32-bit truncation is what is actually used
and what the file stores):

* ``"golden"`` — a_i = g^−(i+1), i = 0 … k − 1, g the real root > 1 of x^(k+1) = x + 1
  (generalised golden ratio; x^(k+1) − x − 1 is irreducible by Selmer's theorem, so g has
  degree k + 1).  Best covering of the two.
* ``"pi"`` — a_i = 1/(π + i), i = 0 … k − 1: the paper-code family 1/(R·(π + i)) with R = 1
  (R = 100, as in the old code, moves the trajectory by < 0.004 per step and covers nothing for
  small n).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from constructive.errors import UserError

if TYPE_CHECKING:  # torch is imported lazily so the project imports without it
    import torch

FRAC_BITS = 32
"""F: fractional bits of the fixed-point phase; phases wrap modulo 2^F."""

MAX_SAMPLES = 1 << 31
"""θ must stay below 2^31 so that θ · A_i < 2^63 (no int64 overflow)."""

DIRECTIONS = ("golden", "pi")


def _generalised_golden_ratio(k: int) -> float:
    """Real root > 1 of x^(k+1) − x − 1 by Newton's method (deterministic IEEE float64)."""
    g = 2.0
    for _ in range(200):
        step = (g ** (k + 1) - g - 1.0) / ((k + 1) * g**k - 1.0)
        g -= step
        if abs(step) < 1e-17:
            break
    return g


def direction_reals(k: int, kind: str = "golden") -> tuple[float, ...]:
    """The real direction a (before fixed-point rounding) of the named family."""
    if k < 1:
        raise UserError(f"winding dimension k must be >= 1, got {k}")
    if kind == "golden":
        g = _generalised_golden_ratio(k)
        return tuple(g ** -(i + 1) for i in range(k))
    if kind == "pi":
        return tuple(1.0 / (math.pi + i) for i in range(k))
    raise UserError(f"unknown winding direction {kind!r}; allowed: {', '.join(DIRECTIONS)}")


def direction_fixed(k: int, kind: str = "golden", frac_bits: int = FRAC_BITS) -> tuple[int, ...]:
    """A_i = round(a_i · 2^F) as Python ints; these integers (not the reals) define the codebook."""
    scale = 1 << frac_bits
    return tuple(int(round(a * scale)) % scale for a in direction_reals(k, kind))


def phases(theta: "torch.Tensor", a_fixed: "torch.Tensor", frac_bits: int = FRAC_BITS) -> "torch.Tensor":
    """Integer phases (θ · A_i) mod 2^F, shape θ.shape + (k,), int64.

    ``theta`` is any int64 tensor with values in [0, 2^31); ``a_fixed`` an int64 tensor of k
    values in [0, 2^32).  Pure integer arithmetic: identical on every device.
    """
    mask = (1 << frac_bits) - 1
    return (theta.unsqueeze(-1) * a_fixed) & mask


def trajectory_points(
    n: int, a_fixed: tuple[int, ...], frac_bits: int = FRAC_BITS, device: str | None = None
) -> "torch.Tensor":
    """The n samples frac(θ·a), θ = 0 … n − 1, as an exact float64 tensor of shape (n, k)."""
    import torch

    if not 1 <= n <= MAX_SAMPLES:
        raise UserError(f"number of trajectory samples must be in [1, 2^31], got {n}")
    theta = torch.arange(n, dtype=torch.int64, device=device)
    a = torch.tensor(a_fixed, dtype=torch.int64, device=device)
    return phases(theta, a, frac_bits).to(torch.float64) * (2.0**-frac_bits)
