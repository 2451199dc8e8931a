"""Point fitting through the dense orbit (Prop 7 of Shen, Yang, Zhang, JMLR 2022), constructively.

The paper proves that {(σ₁(w/(π+k)))_{k=1..K} : w ∈ R} is dense in [0,1]^K but gives no w.  We
replace π by a rational α and find w₀ with max_k |σ₁(w₀/(α+k)) − ξ_k| < η by lattice reduction
(python-flint ``fmpz_mat.lll``, Kannan's embedding of Babai's closest-vector problem):

* b_k = 1/(α+k); σ₁(y) = ξ iff y ≡ ±ξ (mod 2), so choose preimages t_k ∈ {ξ_k, 2 − ξ_k};
* w = (2m + t₁)/b₁ fixes k = 1 exactly; for k ≥ 2 we need m β_k − c_k ∈ Z approximately, with
  β_k = b_k/b₁ and c_k = (t_k − t₁β_k)/2: an inhomogeneous simultaneous approximation problem;
* the lattice spanned by (W, Sβ₂, …, Sβ_K) and S·e_k, with target (0, Sc₂, …, Sc_K), is reduced
  and the embedded target row gives m.

Everything is exact rationals: the returned (w₀, α) are checked exactly (:func:`fit_error`), so
the slack η − error is certified; nothing rests on floats.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Sequence

from flint import fmpq, fmpz_mat

from constructive.activations.euaf import sigma1_exact
from constructive.errors import UserError
from constructive.numbers import as_fmpq, precision


@dataclass(frozen=True)
class Fit:
    w0: fmpq
    alpha: fmpq
    error: fmpq  # exact max_k |σ₁(w₀/(α+k)) − ξ_k|
    tries: int

    @property
    def bits(self) -> int:
        return abs(int(self.w0.p) // int(self.w0.q)).bit_length()


def fit_error(w0: fmpq, alpha: fmpq, xi: Sequence[fmpq]) -> fmpq:
    return max(abs(sigma1_exact(w0 / (alpha + k)) - x) for k, x in enumerate(xi, start=1))


def _round(q: fmpq) -> int:
    p, d = int(q.p), int(q.q)
    return (2 * p + d) // (2 * d)


def pi_approx(bits: int) -> fmpq:
    """A rational α = ⌊π·2^bits⌉/2^bits (a rational stand-in for π with ``bits`` bits)."""
    from flint import arb


    with precision(bits + 32):
        v = arb.pi() * (1 << bits)
        n = int(v.mid().floor().unique_fmpz())
    return fmpq(n, 1 << bits)


def fit(xi: Sequence[Any], alpha: Any = None, eta: Any = fmpq(1, 1000), seed: int = 0,
        tries: int = 16) -> Fit:
    """w₀ with max_k |σ₁(w₀/(α+k)) − ξ_k| < η, ξ ∈ [0, 1]^K; the best try if none reaches η.

    ``alpha=None`` picks a dyadic approximation of π with enough bits that the orbit of the
    rational β_k is fine enough (the note's log₂|w₀| + log₂(1/η) + margin bits)."""
    xi = [as_fmpq(v) for v in xi]
    eta = as_fmpq(eta)
    K = len(xi)
    if K < 1:
        raise UserError("K must be >= 1 (no points to fit)")
    if eta <= 0:
        raise UserError(f"eta={eta} is not allowed; use eta > 0")
    if any(x < 0 or x > 1 for x in xi):
        raise UserError("the values to fit must lie in [0, 1]")
    log_eta = max(1, math.ceil(math.log2(float(1 / eta))))
    bits_m = (K - 1) * (log_eta + 1) + 8
    alpha = pi_approx(bits_m + 2 * log_eta + 16) if alpha is None else as_fmpq(alpha)
    if alpha <= 0:
        raise UserError(f"alpha={alpha} is not allowed; use alpha > 0")
    b1 = 1 / (alpha + 1)
    if K == 1:
        w = xi[0] / b1
        return Fit(w, alpha, fit_error(w, alpha, xi), 1)
    rng = random.Random(seed)
    prec = bits_m + log_eta + 24
    S = 1 << prec
    Wm = max(1, (S >> bits_m) >> log_eta)
    T = S >> log_eta
    betas = [(alpha + 1) / (alpha + k) for k in range(2, K + 1)]
    best = None
    for attempt in range(tries):
        flips = [attempt > 0 and rng.random() < 0.5 for _ in range(K)]
        t = [2 - x if f else x for x, f in zip(xi, flips)]
        cs = [(t[k] - t[0] * betas[k - 1]) / 2 for k in range(1, K)]
        n = K + 1
        rows = [[0] * n for _ in range(n)]
        rows[0][0] = Wm
        for j, bk in enumerate(betas, start=1):
            rows[0][j] = _round(bk * S)
            rows[j][j] = S
        rows[K] = [0] + [-_round(c * S) for c in cs] + [T]
        red = fmpz_mat(rows).lll()
        for i in range(n):
            last = int(red[i, n - 1])
            if abs(last) != T:
                continue
            sign = 1 if last == T else -1
            first = sign * int(red[i, 0])
            if first % Wm:
                continue
            m = first // Wm
            for mm in (m, -m):
                w = (2 * mm + t[0]) / b1
                err = fit_error(w, alpha, xi)
                if best is None or err < best.error:
                    best = Fit(w, alpha, err, attempt + 1)
        if best is not None and best.error < eta:
            return best
    if best is None:
        raise UserError(f"the lattice search found no candidate for K={K}, eta={eta}")
    return best
