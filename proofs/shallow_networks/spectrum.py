"""Certified eigenvalue enclosures of the exact ReLU Gram matrix, by exact inertia counts.

Why this is sound (no floating point enters a conclusion):

1. **Exact matrix.** For biases b_i = p_i/D (sorted, distinct, in [−1, 1)) the matrix
   Ĝ = 24 D³ G has integer entries (eq. (4) with every factor scaled by D).
2. **Banded congruence.** Let f_i = σ(x − b_i) and d_i = p_(i+1) − p_i.  The integer matrix T
   with rows  d_(i+1) f_i − (d_i + d_(i+1)) f_(i+1) + d_i f_(i+2)  (i ≤ n − 2; a multiple of the
   hat function on [b_i, b_(i+2)]),  f_(n−1) − f_n  and  f_n  is upper triangular with non-zero
   diagonal, hence invertible.  M = T Ĝ Tᵀ is the Gram matrix of those functions; it is computed
   exactly (fmpz_mat) and *checked* to be tridiagonal, and N = T Tᵀ is pentadiagonal.
3. **Sylvester's law of inertia.** For a rational shift s, T (Ĝ − s I) Tᵀ = M − s N is congruent
   to Ĝ − s I, so both have the same number of negative eigenvalues.  M − s N is banded
   (bandwidth 2), so its LDLᵀ factorisation costs O(n); the number of negative pivots is the
   number of eigenvalues of Ĝ below s (every pivot non-zero: the leading minors are non-zero, so
   the factorisation exists and Sylvester applies).  The pivots are computed in arb balls; a
   ball containing 0 makes the count fall back to exact fmpq arithmetic.
4. **Enclosures.** With exact counts ν(s) = #{eigenvalues < s}, the k-th largest eigenvalue λ_k
   (the (n − k + 1)-th smallest) satisfies λ_k ≥ s when ν(s) ≤ n − k and λ_k < s when
   ν(s) ≥ n − k + 1.  The shifts are placed by a float eigendecomposition (numpy) — floats only
   choose where to look; a poor guess only widens an enclosure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import gcd

import numpy as np
from flint import arb, ctx, fmpq, fmpz_mat

from constructive.errors import UserError
from proofs.shallow_networks.gram import integer_relu_gram


def common_denominator(bias: list[fmpq]) -> tuple[list[int], int]:
    D = 1
    for b in bias:
        D = D * int(b.q) // gcd(D, int(b.q))
    return [int(b.p) * (D // int(b.q)) for b in bias], D


@dataclass
class BandedPencil:
    """M (tridiagonal) and N (pentadiagonal) as band dictionaries, and the scale 24 D³."""

    n: int
    M: list[list[int]]   # M[k][o] = M[k, k + o], o = 0, 1, 2
    N: list[list[int]]
    scale: int
    gram: list[list[int]]  # Ĝ = scale · G, exact integers
    counts: dict = field(default_factory=dict)


def pencil(bias: list[fmpq]) -> BandedPencil:
    """Steps 1–2 of the module docstring for sorted distinct biases in [−1, 1)."""
    if any(a >= b for a, b in zip(bias, bias[1:])):
        raise UserError("the biases must be sorted and distinct for the banded congruence")
    if bias[0] < -1 or bias[-1] >= 1:
        raise UserError("the biases must lie in [-1, 1) for the banded congruence")
    p, D = common_denominator(bias)
    n = len(p)
    gram = integer_relu_gram(p, D)
    d = [p[i + 1] - p[i] for i in range(n - 1)]
    T = fmpz_mat(n, n)
    for i in range(n - 2):
        T[i, i], T[i, i + 1], T[i, i + 2] = d[i + 1], -(d[i] + d[i + 1]), d[i]
    if n >= 2:
        T[n - 2, n - 2], T[n - 2, n - 1] = 1, -1
    T[n - 1, n - 1] = 1
    Mfull = T * fmpz_mat(gram) * T.transpose()
    Nfull = T * T.transpose()
    entries, n_entries = Mfull.entries(), Nfull.entries()
    for i in range(n):
        for j in range(n):
            if abs(i - j) > 1 and entries[i * n + j] != 0:
                raise ArithmeticError(f"T G T^T is not tridiagonal at ({i}, {j})")
            if abs(i - j) > 2 and n_entries[i * n + j] != 0:
                raise ArithmeticError(f"T T^T is not pentadiagonal at ({i}, {j})")
    M = [[int(Mfull[k, k + o]) if k + o < n else 0 for o in range(3)] for k in range(n)]
    N = [[int(Nfull[k, k + o]) if k + o < n else 0 for o in range(3)] for k in range(n)]
    return BandedPencil(n, M, N, 24 * D ** 3, gram)


def _ldl_negatives(band: list[list], zero) -> int | None:
    """Negative pivots of the symmetric banded matrix (bandwidth 2); None when a pivot is not
    provably non-zero (a ball containing 0, or an exact 0)."""
    n = len(band)
    a = [row[:] for row in band]
    negatives = 0
    for k in range(n):
        pivot = a[k][0]
        if isinstance(pivot, arb):
            if pivot.contains(0):
                return None
        elif pivot == 0:
            return None
        if pivot < zero:
            negatives += 1
        for o in (1, 2):
            if k + o >= n:
                break
            factor = a[k][o] / pivot
            for q in range(o, 3):  # row k + o, columns k + q
                if k + q < n:
                    a[k + o][q - o] -= factor * a[k][q]
    return negatives


def count_below(pc: BandedPencil, shift: fmpq, prec: int = 256) -> int:
    """ν(shift) = #{eigenvalues of G below shift}, exactly (step 3)."""
    key = (int(shift.p), int(shift.q))
    if key in pc.counts:
        return pc.counts[key]
    s = shift * pc.scale
    P, Q = int(s.p), int(s.q)
    band = [[Q * m - P * nn for m, nn in zip(pc.M[k], pc.N[k])] for k in range(pc.n)]
    result = None
    for bits in (prec, 4 * prec, 16 * prec):  # ball radii grow along the elimination
        old = ctx.prec
        ctx.prec = bits
        try:
            result = _ldl_negatives([[arb(v) for v in row] for row in band], arb(0))
        finally:
            ctx.prec = old
        if result is not None:
            break
    if result is None:
        result = _ldl_negatives([[fmpq(v) for v in row] for row in band], fmpq(0))
    if result is None:
        raise ArithmeticError(f"the shift {shift} is an eigenvalue or meets a zero minor")
    pc.counts[key] = result
    return result


def _rational(x: float) -> fmpq:
    """The exact value of a (positive) double, rounded to 40 significant bits to keep the
    shifts short."""
    m, e = np.frexp(x)
    return fmpq(int(round(float(m) * 2 ** 40))) * fmpq(2) ** (int(e) - 40)


@dataclass(frozen=True)
class Enclosures:
    lower: list  # fmpq, λ_k ≥ lower[k − 1]
    upper: list  # fmpq, λ_k < upper[k − 1]
    counts: int  # exact inertia counts used


def enclose(bias: list[fmpq], tight: set[int] | None = None, rel: float = 2e-9,
            progress=None, bisect: dict | None = None) -> Enclosures:
    """Enclosures of all n eigenvalues; those with k in ``tight`` (1-based, descending) in a
    window of relative half-width ``rel`` plus the float round-off scale, the rest between
    geometric midpoints of neighbouring float eigenvalues; ``bisect`` = {k: steps} halves the
    enclosure of λ_k that many more times by exact counts at its midpoint."""
    pc = pencil(bias)
    n = pc.n
    approx = np.linalg.eigvalsh(np.array(pc.gram, dtype=float) / pc.scale)[::-1]
    approx = np.maximum(approx, approx[0] * 1e-15)
    floor = np.finfo(float).eps * approx[0]
    counted = {}

    def count(s: fmpq) -> int:
        if s not in counted:
            counted[s] = count_below(pc, s)
            if progress is not None:
                progress(len(counted), n + 2 * len(tight or ()))
        return counted[s]

    count(fmpq(0))
    trace = sum((fmpq(pc.gram[i][i], pc.scale) for i in range(n)), fmpq(0))
    count(trace + 1)  # λ_1 ≤ trace for a PSD matrix; counted anyway, nothing assumed
    for k in range(n - 1):
        count(_rational(float(np.sqrt(approx[k] * approx[k + 1]))))
    for k in sorted(tight or ()):
        lam = approx[k - 1]
        half = rel * lam + floor
        for _ in range(4):  # widen a window the float guess missed, then give up on it
            lo, hi = _rational(float(max(lam - half, lam / 2))), _rational(float(lam + half))
            if count(lo) <= n - k and count(hi) >= n - k + 1:
                break
            half *= 16
    lower, upper = [], []
    for k in range(1, n + 1):
        below = [s for s, c in counted.items() if c <= n - k]
        above = [s for s, c in counted.items() if c >= n - k + 1]
        lower.append(max(below) if below else None)
        upper.append(min(above) if above else None)
    if any(v is None for v in lower + upper):
        raise ArithmeticError("an eigenvalue escaped every shift (the float guesses are off)")
    for k, steps in (bisect or {}).items():
        for _ in range(steps):
            mid = (lower[k - 1] + upper[k - 1]) / 2
            if count(mid) <= n - k:
                lower[k - 1] = mid
            else:
                upper[k - 1] = mid
    return Enclosures(lower, upper, len(counted))
