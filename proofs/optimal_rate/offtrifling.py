"""Theorem 2.1 of the optimal-rate paper (statement txt p. 8, proof txt p. 15–23) and the networks
of Theorem 1.1 (txt p. 9–10) built on it.

φ = φ2∘Φ1 + b on R^d, with
* Φ1(x) = (φ1(x_1), …, φ1(x_d)), φ1 Prop 3.1's step function (``stepfn.step_network``): Φ1 = β
  on the cell Q_β;
* the index map j = 2K^d ψ1(β) = β_d + 2K·Σ_{i<d} K^{d−1−i} β_i (ψ1 of the proof, scaled so the
  grid {j/(2K^d)} becomes the integers);
* ψ̃2 = Prop 3.2's point fit (``pointfit.point_fit_network``) with (N, ⌈√2 L⌉) through the grid
  values y_j of the CPwL function g: y = f̃(x_β) at j(β), the filler runs j = 2KI + K..2KI + 2K − 1
  interpolate linearly to the next run's first value (to f̃(1, …, 1) after the last run);
* f̃ = f − b with b = f(0) − ω̄(√d) (f(0) and the values rounded to 2^−P, ω̄(r) = λ r^α the
  target's certified modulus rounded up), so 0 ≤ f̃; the values are clipped at 0 after rounding;
* ε = max{ω̄(√d/K) rounded up, the largest increment of the rounded y}: the increments of the exact
  y are ≤ ω_f(√d/K) (proof, txt p. 22), the rounding adds ≤ 2^{1−P}.
So on Q_β, φ = ε⌊y_{j(β)}/ε⌋ + b, within ω(√d/K) + ε of f (the sharp bound 2ω(√d/K) up to the
rounding, absorbed by the cells' diameter √d(1/K − δ) < √d/K).
"""

from __future__ import annotations

import math
from typing import Any

from flint import arb, fmpq

from constructive.gadgets.mid import mid_gadget
from constructive.ir import Network, affine, gadget, network, parallel
from constructive.numbers import precision
from constructive.tuning import exact_constant
from proofs.optimal_rate.pointfit import point_fit_network
from proofs.optimal_rate.stepfn import step_counts, step_network

BITS = 96


def ceil_sqrt2(L: int) -> int:
    """⌈√2·L⌉ (2L² is never a square for L ≥ 1)."""
    return math.isqrt(2 * L * L) + 1


def _dyadic_up(x: arb) -> fmpq:
    s = 2 ** BITS
    return fmpq(int((x.upper() * s).ceil().unique_fmpz()) + 1, s)


def _dyadic_down(x: arb) -> fmpq:
    s = 2 ** BITS
    return fmpq(int((x.lower() * s).floor().unique_fmpz()) - 1, s)


def _value(target: Any, point: list) -> fmpq:
    """f(point) as an exact rational, or rounded to 2^−BITS."""
    if getattr(target, "rational_valued", False):
        return fmpq(target.exact(point))
    with precision(BITS + 64):
        v = target.ball(point, prec=BITS + 64)
        return fmpq(int((v.mid() * 2 ** BITS).floor().unique_fmpz()), 2 ** BITS)


def omega_up(target: Any, r: arb) -> fmpq:
    """A rational ≥ λ r^α."""
    with precision(BITS + 64):
        return _dyadic_up(arb(target.lam) * r ** arb(target.alpha))


def index_of(beta: tuple, K: int) -> int:
    """j(β) = β_d + 2K Σ_{i<d} K^{d−1−i} β_i."""
    major = 0
    for b in beta[:-1]:
        major = major * K + b
    return 2 * K * major + beta[-1]


def grid_values(target: Any, d: int, K: int) -> tuple[list[fmpq], fmpq, fmpq]:
    """(y_0..y_{2K^d−1}, ε, b) as in the module docstring."""
    if getattr(target, "lam", None) == 0:
        exact_constant(target, d)  # the bound is 0: an irrational constant is refused (INCONCLUSIVE)
    with precision(BITS + 64):
        w = omega_up(target, arb(d).sqrt())
        eps_up = omega_up(target, arb(d).sqrt() / K)
    b = _value(target, [fmpq(0)] * d) - w
    runs = K ** (d - 1)
    ys: list[fmpq] = [fmpq(0)] * (2 * K ** d)

    def ftilde(beta: tuple) -> fmpq:
        v = _value(target, [fmpq(x, K) for x in beta]) - b
        return v if v > 0 else fmpq(0)

    digits = [[(I // K ** (d - 2 - i)) % K for i in range(d - 1)] for I in range(runs)]
    firsts = []
    for I in range(runs):
        for k in range(K):
            ys[2 * K * I + k] = ftilde(tuple(digits[I]) + (k,))
        firsts.append(ys[2 * K * I])
    last = _value(target, [fmpq(1)] * d) - b
    last = last if last > 0 else fmpq(0)
    for I in range(runs):
        v0 = ys[2 * K * I + K - 1]
        v1 = firsts[I + 1] if I + 1 < runs else last
        for t in range(1, K + 1):  # j = 2KI + K − 1 + t, t = 1..K (t = K + 1 is the next run)
            ys[2 * K * I + K - 1 + t] = v0 + (v1 - v0) * fmpq(t, K + 1)
    inc = max((abs(ys[j] - ys[j - 1]) for j in range(1, len(ys))), default=fmpq(0))
    eps = max(eps_up, inc)
    return ys, eps, b


def cell_network(target: Any, d: int, N: int, L: int, delta: fmpq) -> tuple[Network, fmpq]:
    """(φ2∘Φ1 without the output shift, the shift b): Theorem 2.1's network is φ2∘Φ1 + b."""
    K = step_counts(N, L, d)["K"]
    step = step_network(N, L, d, delta)
    Phi1 = gadget("syz-step-map", parallel(*([step] * d)), d=d, N=N, L=L, delta=str(delta))
    ys, eps, b = grid_values(target, d, K)
    fit = point_fit_network(ys, eps, N, ceil_sqrt2(L))
    idx = affine([[2 * K * K ** (d - 2 - i) for i in range(d - 1)] + [1]], [0])
    psi = gadget("syz-grid-fit", network(idx, fit), K=K, eps=str(eps))
    return network(Phi1, psi), b


def offtrifling_network(target: Any, d: int, N: int, L: int, delta: fmpq) -> Network:
    body, b = cell_network(target, d, N, L, delta)
    return network(body, affine([[1]], [b]))


def mid_levels(d: int) -> list:
    """d levels of mid over consecutive triples: 3^d values ↦ one."""
    mid = mid_gadget()
    return [parallel(*([mid] * 3 ** (d - i))) for i in range(1, d + 1)]


def shift_vectors(d: int, delta: fmpq) -> list[tuple]:
    """The 3^d shifts, consecutive triples differing in coordinate 1 (the first mid level)."""
    return [tuple(delta * ((m // 3 ** i) % 3 - 1) for i in range(d)) for m in range(3 ** d)]


def repaired_network(target: Any, d: int, N: int, L: int, delta: fmpq) -> Network:
    """Theorem 2.2 on Theorem 2.1: mid of the 3^d copies φ2∘Φ1(x + t), then + b."""
    body, b = cell_network(target, d, N, L, delta)
    S = 3 ** d
    fan = affine([[1 if j == i else 0 for j in range(d)] for _ in range(S) for i in range(d)],
                 [t for s in shift_vectors(d, delta) for t in s])
    return network(fan, parallel(*([body] * S)), *mid_levels(d), affine([[1]], [b]))
