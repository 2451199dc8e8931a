"""Proposition 3.2 of the optimal-rate paper (statement txt p. 17, proof txt p. 34–35): point
fitting.

Given ε > 0, N, L ≥ 1 and y_0, …, y_{J−1} ≥ 0 with J ≤ N²L²⌊log₃(N+2)⌋ and
|y_j − y_{j−1}| ≤ ε, a one-input ReLU network φ of width ≤ 16N+30 and depth ≤ 6L+10 with
φ(j) = ε⌊y_j/ε⌋ (so |φ(j) − y_j| ≤ ε) for j < J and 0 ≤ φ ≤ max_j y_j on all of R.

Construction (the proof's): M = N²L, n = ⌊log₃(N+2)⌋, L̂ = Ln; pad y to M·L̂ samples by
repeating y_{J−1}; write j = mL̂ + k (m < M, k < L̂) and y_{m,k} = y_j.
* Index network φ1 (Lemma 4.1 + Lemma 4.2): through (mL̂, m), m = 0..M, and (mL̂ + L̂ − 1, m),
  m < M — 2M+1 = N(2NL−1+1)+1 samples, so N1 = N, N2 = 2NL−1 (the proof's "N2 = NL−1" is a slip,
  its widthvec [2N, 4NL−1] is this one, note §6), padded to widthvec [4N, 4N·L] and deepened to
  width ≤ 8N+2, depth L+1.  φ1 is linear on each [mL̂, mL̂+L̂−1], so φ1(j) = m and j − L̂φ1(j) = k.
  For L̂ = 1 those two samples coincide; the project then fits (m, m) and (m + 1/2, m + 1/2)
  (φ1 = identity on [0, M]), which gives the same φ1(j) = j = m, k = 0.
* x is carried beside φ1 as σ(x) − σ(−x) (width 2), and
  φ(x) = φ_v(φ1(x), x − L̂·φ1(x)) with φ_v Lemma 4.7's network (``increment_fit_network``).
The range 0 ≤ φ ≤ max y holds on all of R because φ_v ends in the clip min{σ(·), y_max}.
Measured depth (L+1) + (4L+3) = 5L+4 ≤ 6L+10; width max{8N+4, Lemma 4.7's} ≤ 16N+30.
"""

from __future__ import annotations

from typing import Any, Sequence

from flint import fmpq

from constructive.errors import UserError
from constructive.ir import Node, affine, identity_layers, network, stack
from constructive.numbers import as_fmpq
from proofs.optimal_rate.increments import (check_sizes, fit_deep, floor_multiples, increment_fit_network,
                                            increment_samples, sizes)


def max_points(N: int, L: int) -> int:
    """The largest J Proposition 3.2 allows: N²L²⌊log₃(N+2)⌋."""
    M, _, Lhat = sizes(N, L)
    return M * Lhat


def _exact_samples(ys: Sequence[Any], eps: Any) -> tuple[list[fmpq], fmpq]:
    try:
        eps = as_fmpq(eps)
        ys = [as_fmpq(y) for y in ys]
    except TypeError as exc:
        raise UserError(f"ys and eps must be exact rationals (int, Fraction, fmpq): {exc}") from None
    if eps <= 0:
        raise UserError(f"eps = {eps}: must be > 0")
    if not ys:
        raise UserError("ys is empty: Proposition 3.2 needs J >= 1 samples")
    for j, y in enumerate(ys):
        if y < 0:
            raise UserError(f"ys[{j}] = {y}: the samples must be >= 0")
        if j and abs(y - ys[j - 1]) > eps:
            raise UserError(f"ys[{j}] - ys[{j - 1}] = {y - ys[j - 1]}: the increments must be at "
                            f"most eps = {eps} in absolute value")
    return ys, eps


def point_fit_values(ys: Sequence[Any], eps: Any) -> list[fmpq]:
    """The values Proposition 3.2's network takes at j = 0, …, J−1: ε⌊y_j/ε⌋ (exact fmpq).
    Validates like ``point_fit_network`` except for the size J (UserError on negative y, an
    increment > ε, ε ≤ 0)."""
    ys, eps = _exact_samples(ys, eps)
    return floor_multiples(ys, eps)


def index_network(N: int, L: int) -> Node:
    """φ1: one input, φ1(mL̂ + k) = m for m < M, k < L̂ (and φ1(ML̂) = M); width ≤ 8N+2,
    depth L+1."""
    M, _, Lhat = sizes(N, L)
    xs, ms = [], []
    for m in range(M):
        if Lhat > 1:
            xs += [fmpq(m * Lhat), fmpq(m * Lhat + Lhat - 1)]
            ms += [fmpq(m), fmpq(m)]
        else:
            xs += [fmpq(m), fmpq(2 * m + 1, 2)]
            ms += [fmpq(m), fmpq(2 * m + 1, 2)]
    xs.append(fmpq(M * Lhat))
    ms.append(fmpq(M))
    return fit_deep(xs, ms, N, 2 * N * L - 1, 4 * N, L)


def point_fit_network(ys: Sequence[Any], eps: Any, N: int, L: int) -> Node:
    """Proposition 3.2's network: ONE input x, ONE output.

    Arguments: ``ys`` = (y_0, …, y_{J−1}), exact non-negative rationals (int, fractions.Fraction
    or flint.fmpq); ``eps`` > 0 exact rational with |y_j − y_{j−1}| ≤ eps; integers N, L ≥ 1
    with J = len(ys) ≤ N²L²⌊log₃(N+2)⌋ (``max_points(N, L)``).

    Guarantees (certified by the entries syz-point-fit and syz-point-fit-range):
    * φ(j) = eps·⌊y_j/eps⌋ exactly for j = 0, …, J−1 (``point_fit_values(ys, eps)``), hence
      0 ≤ y_j − φ(j) < eps;
    * 0 ≤ φ(x) ≤ max_j y_j for every real x;
    * width ≤ 16N+30 and depth ≤ 6L+10 (measured: depth 5L+4).
    Nothing is claimed at non-integer x or at integers outside 0..J−1 beyond the range.

    Raises ``constructive.errors.UserError`` (one line naming the input) when N or L < 1,
    J = 0 or J > N²L²⌊log₃(N+2)⌋, a y_j < 0, an increment exceeds eps, or eps ≤ 0.
    """
    check_sizes(N, L)
    ys, eps = _exact_samples(ys, eps)
    M, _, Lhat = sizes(N, L)
    if len(ys) > M * Lhat:
        raise UserError(f"J = {len(ys)} samples: Proposition 3.2 allows at most "
                        f"N^2 L^2 floor(log3(N+2)) = {M * Lhat} for N = {N}, L = {L}")
    padded = list(ys) + [ys[-1]] * (M * Lhat - len(ys))
    rows = [padded[m * Lhat:(m + 1) * Lhat] for m in range(M)]
    phi1 = index_network(N, L)
    carry_x = identity_layers(1, phi1.depth)
    to_mk = affine([[1, 0], [-Lhat, 1]], [0, 0])  # (φ1(x), x) ↦ (m, k) = (φ1, x − L̂φ1)
    return network(stack(phi1, carry_x), to_mk, increment_fit_network(rows, eps, N, L))


def build_point_fit(params: dict, target: Any = None) -> Node:
    N, L, J = int(params["N"]), int(params["L"]), int(params["J"])
    eps = as_fmpq(params["eps"])
    return point_fit_network(point_fit_samples(J, eps, int(params["seed"])), eps, N, L)


def point_fit_samples(J: int, eps: Any, seed: int) -> list[fmpq]:
    """The seeded instance data: the increment walk of ``increment_samples``."""
    return increment_samples(J, eps, seed)
