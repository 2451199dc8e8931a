"""Builders of Theorems 2.1 and 1.1 (and the corollaries that reuse them) of the optimal-rate paper,
with the δ the proof of Theorem 1.1 asks for (txt p. 9–10):

* off Ω (Theorem 2.1): δ = 1/(3Kq), q ≥ 1 a parameter (any δ ∈ (0, 1/(3K)] is allowed);
* p < ∞: K·d·δ·(2|f(0)| + 2ω(√d))^p ≤ ω(r)^p, r = (N²L² log₃(N+2))^{−1/d}, and δ ≤ 1/(3K);
* p = ∞: d·ω(δ) ≤ ω(r), i.e. δ ≤ r·d^{−1/α} for ω(t) = λt^α, and δ ≤ 1/(3K).
The δ are powers of two below a rigorous lower bound of the right-hand side (arb).
"""

from __future__ import annotations

from typing import Any

from flint import arb, fmpq

from constructive.errors import UserError
from constructive.numbers import as_fmpq, precision
from proofs.optimal_rate.offtrifling import offtrifling_network, repaired_network
from proofs.optimal_rate.stepfn import step_counts

PREC = 160


def rate_radius(d: int, N: int, L: int) -> arb:
    """r = (N²L² log₃(N+2))^{−1/d}."""
    return (arb(N * N * L * L) * arb(N + 2).log() / arb(3).log()) ** (arb(-1) / d)


def _power_of_two_below(x: arb) -> fmpq:
    """The largest 2^−e (e ≥ 0) with 2^−e ≤ x (x > 0 rigorously), or ValueError."""
    if not x > 0:
        raise ValueError("δ bound not provably positive")
    e = 0
    while not arb(fmpq(1, 2 ** e)) <= x:
        e += 1
        if e > 4000:
            raise ValueError("δ below 2^-4000")
    return fmpq(1, 2 ** e)


def delta_offtrifling(d: int, N: int, L: int, q: int) -> fmpq:
    return fmpq(1, 3 * step_counts(N, L, d)["K"] * q)


def delta_lp(target: Any, d: int, N: int, L: int, p: fmpq) -> fmpq:
    K = step_counts(N, L, d)["K"]
    if as_fmpq(target.lam) == 0:  # ω ≡ 0: the bound is 0 and the strips must be exact anyway,
        return fmpq(1, 3 * K)     # so δ has nothing to balance
    with precision(PREC):
        lam, al = arb(target.lam), arb(target.alpha)
        f0 = abs(target.ball([fmpq(0)] * d, prec=PREC))
        big = 2 * f0 + 2 * lam * arb(d) ** (al / 2)
        small = lam * rate_radius(d, N, L) ** al
        pp = arb(p)
        bound = (small / big) ** pp / (K * d) if big > 0 else arb(1)
        return min(fmpq(1, 3 * K), _power_of_two_below(bound))


def delta_linf(target: Any, d: int, N: int, L: int) -> fmpq:
    K = step_counts(N, L, d)["K"]
    with precision(PREC):
        bound = rate_radius(d, N, L) * arb(d) ** (-1 / arb(target.alpha))
        return min(fmpq(1, 3 * K), _power_of_two_below(bound))


def _ints(params: dict) -> tuple[int, int, int]:
    return int(params["d"]), int(params["N"]), int(params["L"])


def check_target(target: Any, d: int) -> None:
    if target.dim != d:
        raise UserError(f"the target has dimension {target.dim}, the theorem d = {d}")


def build_offtrifling(params: dict, target: Any) -> Any:
    d, N, L = _ints(params)
    return offtrifling_network(target, d, N, L, delta_offtrifling(d, N, L, int(params["q"])))


def build_lp(params: dict, target: Any) -> Any:
    d, N, L = _ints(params)
    return offtrifling_network(target, d, N, L, delta_lp(target, d, N, L, as_fmpq(params["p"])))


def build_linf(params: dict, target: Any) -> Any:
    d, N, L = _ints(params)
    return repaired_network(target, d, N, L, delta_linf(target, d, N, L))


def budget_to_NL(d: int, Nt: int, Lt: int) -> tuple[int, int]:
    """Corollary 1.2's bookkeeping: N = ⌊Ñ/(3^{d+4}d)⌋, L = ⌊(L̃ − 18 − 2d)/11⌋, so that
    3^{d+3}·max{d⌊N^{1/d}⌋, N+2} ≤ 3^{d+4}dN ≤ Ñ, 11L + 18 + 2d ≤ L̃, N ≥ Ñ/(3^{d+5}d) and
    L ≥ (L̃ − 18 − 2d)/22 (⌊x⌋ ≥ x/2 for x ≥ 1)."""
    N, L = Nt // (3 ** (d + 4) * d), (Lt - 18 - 2 * d) // 11
    if N < 1 or L < 1:
        raise UserError(f"Corollary 1.2 needs Nt >= 3^(d+4) d = {3 ** (d + 4) * d} and "
                        f"Lt >= 29 + 2d = {29 + 2 * d}")
    return N, L


def budget_params(params: dict) -> dict:
    d = int(params["d"])
    N, L = budget_to_NL(d, int(params["Nt"]), int(params["Lt"]))
    return {"d": d, "N": N, "L": L}


def depth31_params(params: dict) -> dict:
    return {"d": 1, "N": int(params["N"]), "L": 1}


def build_budget(params: dict, target: Any) -> Any:
    return build_linf(budget_params(params), target)


def build_depth31(params: dict, target: Any) -> Any:
    return build_linf(depth31_params(params), target)


def to_cube(d: int, R: fmpq) -> Any:
    """x ↦ (x + R)/(2R): [−R, R]^d onto [0, 1]^d (Theorem 2.5's change of variables)."""
    from constructive.ir import affine

    return affine([[fmpq(1) / (2 * R) if j == i else 0 for j in range(d)] for i in range(d)],
                  [fmpq(1, 2)] * d)


def build_bounded(params: dict, target: Any) -> Any:
    """Theorem 2.5 on E = [−R, R]^d, f(x) = g((x + R)/(2R)) with g the target on [0, 1]^d:
    φ(x) = φ_g((x + R)/(2R)), φ_g Theorem 1.1's (p = ∞) network for g."""
    from constructive.ir import network

    d = int(params["d"])
    return network(to_cube(d, as_fmpq(params["R"])), build_linf(params, target))


def build_bounded_lp(params: dict, target: Any) -> Any:
    """Theorem 2.5 for p < ∞ on E = [−R, R]^d: φ(x) = φ_g((x + R)/(2R)), φ_g Theorem 1.1's
    (p < ∞) network for g, the target on [0, 1]^d."""
    from constructive.ir import network

    d = int(params["d"])
    return network(to_cube(d, as_fmpq(params["R"])), build_lp(params, target))
