"""Point fitting with general rational values b_k (PEUAF Theorem 2, Lemma 2 constructively).

Lemma 2 of the PEUAF paper (Lemma 23 of Shen et al. 2022) says that for rationally independent
a_1, …, a_K the set {(u·g(w a_k) + v)_k : u, w, v} is dense in R^K (g the period-2 triangle
wave); it gives no w.  ``constructive.gadgets.point_fit.fit`` finds w for the special values
b_k = 1/(α+k); :func:`fit_values` does the same for **any** non-zero rational b_1, …, b_K — here
the values a_k = ρ(c + k w₀) of Lemma 3 computed exactly with a rational w₀ of many bits.

Method (Kannan's embedding of Babai's closest-vector problem, reduced with
``flint.fmpz_mat.lll``): g(y) = ξ iff y ≡ ±ξ (mod 2); pick preimages t_k ∈ {ξ_k, 2 − ξ_k};
w = (2m + t_1)/b_1 fixes k = 1 exactly, and for k ≥ 2 we need m β_k − c_k ∈ Z approximately,
β_k = b_k/b_1, c_k = (t_k − t_1 β_k)/2.  Rational b_k always satisfy integer relations, but of
height about their denominators; with enough bits the lattice does not see them.

Nothing rests on floats: the returned w is checked exactly (:func:`values_fit_error`), so the
slack η − error is certified by whoever calls :func:`values_fit_error` again.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Sequence

from flint import fmpq, fmpz_mat

from constructive.activations.euaf import sigma1_exact
from constructive.errors import UserError
from constructive.numbers import as_fmpq

__all__ = ["ValuesFit", "fit_values", "values_fit_error", "lattice_bits"]


@dataclass(frozen=True)
class ValuesFit:
    w: fmpq  # the frequency: g(w b_k) ≈ ξ_k
    error: fmpq  # exact max_k |g(w b_k) − ξ_k|
    tries: int

    @property
    def bits(self) -> int:
        return abs(int(self.w.p) // int(self.w.q)).bit_length()


def values_fit_error(w: fmpq, b: Sequence[fmpq], xi: Sequence[fmpq]) -> fmpq:
    """max_k |g(w b_k) − ξ_k| exactly (g = σ₁ extended to R, even and 2-periodic)."""
    return max(abs(sigma1_exact(w * bk) - x) for bk, x in zip(b, xi))


def _nearest(q: fmpq) -> int:
    p, d = int(q.p), int(q.q)
    return (2 * p + d) // (2 * d)


def lattice_bits(K: int, eta: Any) -> tuple[int, int]:
    """(bits of m, bits of log 1/η): m ~ 2^bits_m is what a K-point fit to η needs (η^{-(K−1)}
    with a margin); the values b_k should be given with at least bits_m + 2 log(1/η) + 16 bits."""
    eta = as_fmpq(eta)
    log_eta = max(1, math.ceil(math.log2(float(1 / eta))))
    return (K - 1) * (log_eta + 1) + 8, log_eta


def fit_values(b: Sequence[Any], xi: Sequence[Any], eta: Any = fmpq(1, 1000), seed: int = 0,
               tries: int = 16) -> ValuesFit:
    """w with max_k |g(w b_k) − ξ_k| < η for ξ ∈ [0, 1]^K and non-zero rationals b_k; the best
    try when none reaches η (the caller checks the error)."""
    b = [as_fmpq(v) for v in b]
    xi = [as_fmpq(v) for v in xi]
    eta = as_fmpq(eta)
    K = len(xi)
    if K < 1 or len(b) != K:
        raise UserError(f"need as many values b ({len(b)}) as points xi ({K}), at least one")
    if eta <= 0:
        raise UserError(f"eta={eta} is not allowed; use eta > 0")
    if any(x < 0 or x > 1 for x in xi):
        raise UserError("the values to fit must lie in [0, 1]")
    if any(v == 0 for v in b):
        raise UserError("the values b_k must be non-zero")
    if K == 1:
        w = xi[0] / b[0]
        return ValuesFit(w, values_fit_error(w, b, xi), 1)
    bits_m, log_eta = lattice_bits(K, eta)
    prec = bits_m + log_eta + 24
    S = 1 << prec
    Wm = max(1, (S >> bits_m) >> log_eta)
    T = S >> log_eta
    betas = [bk / b[0] for bk in b[1:]]
    rng = random.Random(seed)
    best: ValuesFit | None = None
    n = K + 1
    for attempt in range(tries):
        flips = [attempt > 0 and rng.random() < 0.5 for _ in range(K)]
        t = [2 - x if f else x for x, f in zip(xi, flips)]
        cs = [(t[k] - t[0] * betas[k - 1]) / 2 for k in range(1, K)]
        rows = [[0] * n for _ in range(n)]
        rows[0][0] = Wm
        for j, beta in enumerate(betas, start=1):
            rows[0][j] = _nearest(beta * S)
            rows[j][j] = S
        rows[K] = [0] + [-_nearest(c * S) for c in cs] + [T]
        red = fmpz_mat(rows).lll()
        for i in range(n):
            last = int(red[i, n - 1])
            if abs(last) != T:
                continue
            first = (1 if last == T else -1) * int(red[i, 0])
            if first % Wm:
                continue
            m = first // Wm
            for mm in (m, -m):
                w = (2 * mm + t[0]) / b[0]
                err = values_fit_error(w, b, xi)
                if best is None or err < best.error:
                    best = ValuesFit(w, err, attempt + 1)
        if best is not None and best.error < eta:
            return best
    if best is None:
        raise UserError(f"the lattice search found no candidate for K={K}, eta={eta}")
    return best
