"""Shen, Yang, Zhang — *Achieving Arbitrary Accuracy with Fixed Number of Neurons* (JMLR 2022):
the 1-D chain Thm 14 → Thm 15 → Thm 6 with σ = EUAF.

Builders return networks only (``f(params, target) -> Network``); ``certify.analysis.sigma_cells``
bounds the errors.  Project choices (recorded in ``proofs/fixed_sigma/claims.toml``): π is replaced by a
dyadic α close to π chosen by the point fit; the fitted value on I_k is f at the midpoint of I_k
(the proof uses the right end; any point of I_k works); w₀ comes from LLL (``point_fit``).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from flint import fmpq

from constructive.errors import UserError
from constructive.gadgets import euaf as eg
from constructive.gadgets.point_fit import Fit, fit
from constructive.ir import Network, affine, gadget, network, stack
from constructive.numbers import as_fmpq
from constructive.targets import arb_to_fmpq_bounds

NINE_TENTHS = fmpq(9, 10)


def rational_value(target: Any, u: fmpq) -> tuple[fmpq, fmpq]:
    """(rational approximation, rigorous lower bound of |f|) of the target at u ∈ [0, 1]."""

    lo, hi = arb_to_fmpq_bounds(target.ball([u]))
    mid = (lo + hi) / 2
    low_abs = max(lo, -hi, fmpq(0))
    return mid, low_abs


def check_eps(eps: Any) -> fmpq:
    e = as_fmpq(eps)
    if e <= 0:
        raise UserError(f"eps={e} is not allowed; use eps > 0")
    return e


def half_network(values: list[fmpq], M: fmpq, eta: fmpq, seed: int = 0) -> tuple[Network, Fit]:
    """Thm 14's width-2, depth-3 network: 2Mσ(w₀σ(−α − Kx + σ(2Kx)/2) + w₀ + 2m₀) − M equals
    2Mσ₁(w₀/(α+k)) − M ≈ values[k−1] on I_k, for x ∈ [0, 1]."""
    K = len(values)
    if K < 1:
        raise UserError("K must be >= 1")
    xi = [min(max((v + M) / (2 * M), fmpq(0)), fmpq(1)) for v in values]
    f = fit(xi, eta=eta, seed=seed)
    w0, alpha = f.w0, f.alpha
    m0 = abs(int(w0.p) // int(w0.q)) + 1
    sig = eg.sig
    body = network(affine([[2 * K], [1]], [0, 0]), sig(2),
                   affine([[fmpq(1, 2), -K]], [-alpha]), sig(1),
                   affine([[w0]], [w0 + 2 * m0], intrinsic=[("W", 0, 0), ("b", 0)]), sig(1),
                   affine([[2 * M]], [-M]))
    return network(gadget("euaf-half", body, None, K=K, M=str(M))), f


def choose_M(lows: list[fmpq]) -> fmpq:
    """M = 1 + max of rigorous lower bounds of |f| at the sample points (so M ≤ ‖f‖ + 1)."""
    return 1 + max(lows, default=fmpq(0))


def build_half(params: dict, target: Any) -> Network:
    """Thm 14 on [0, 1]: the fitted value on I_k is f at the midpoint of I_k."""
    eps = check_eps(params["eps"])
    K = int(params["K"])
    if K < 1:
        raise UserError(f"K={K} is not allowed; use K >= 1")
    samples = [rational_value(target, fmpq(4 * k - 3, 4 * K)) for k in range(1, K + 1)]
    M = choose_M([s[1] for s in samples])
    vals = [min(max(s[0], 1 - M), M - 1) for s in samples]
    net, _ = half_network(vals, M, eps / (8 * M), seed=int(params.get("seed", 0)))
    return net


# ------------------------------------------------------------------------------------------
# Theorem 15 on [0, 9/10] and Theorem 6 on [a, b]


def choose_K(target: Any, eps: fmpq, scale: fmpq) -> int:
    """K with λ_g (1/(4K))^α ≤ 0.6ε for g(x) = f(scale·x) (builder's choice only)."""
    lam = float(target.lam) * float(scale) ** float(target.alpha)
    a = float(target.alpha)
    if lam == 0:
        return 10
    K = math.ceil((lam / (0.6 * float(eps))) ** (1 / a) / 4) + 1
    return max(10, K)


def four_copy_values(target: Any, K: int, right: fmpq, to_unit: Callable[[fmpq], fmpq]
                     ) -> tuple[list[list[fmpq]], list[fmpq]]:
    """The values the four copies i = 1..4 fit (Thm 15): copy i, interval k, at the midpoint of
    its good half [(2k−2)/2K − i/4K, (2k−1)/2K − i/4K] ∩ [0, right], mapped by ``to_unit`` into
    the target's domain; with the lower ends of the target's enclosures there (for M)."""
    all_vals: list[list[fmpq]] = []
    lows: list[fmpq] = []
    for i in range(1, 5):
        vals = []
        for k in range(1, K + 1):
            lo = max(fmpq(2 * k - 2, 2 * K) - fmpq(i, 4 * K), fmpq(0))
            hi = min(fmpq(2 * k - 1, 2 * K) - fmpq(i, 4 * K), right)
            x = (lo + hi) / 2 if lo <= hi else fmpq(0)
            v, low = rational_value(target, to_unit(x))
            vals.append(v)
            lows.append(low)
        all_vals.append(vals)
    return all_vals, lows


def build_nine_tenths(target: Any, eps: fmpq, to_unit: Callable[[fmpq], fmpq], scale: fmpq,
                      K: int = 0, seed: int = 0) -> Network:
    """Thm 15: φ(x) = Σ_{i=1}^4 φ_i(x + i/4K)·ψ̂(2Kx + i/2) on [0, 9/10], products exact (Lemma 16)."""
    K = K or choose_K(target, eps, scale)
    if K < 10:
        raise UserError(f"K={K} is not allowed here; Theorem 15 needs K >= 10")
    copies = []
    all_vals, lows = four_copy_values(target, K, NINE_TENTHS, to_unit)
    M = choose_M(lows)
    eta = 3 * eps / (20 * M)
    for i, vals in enumerate(all_vals, start=1):
        vals = [min(max(v, 1 - M), M - 1) for v in vals]
        half, _ = half_network(vals, M, eta, seed=seed + i)
        left = network(affine([[1]], [fmpq(i, 4 * K)]), half)
        right = network(affine([[2 * K]], [fmpq(i, 2)]), eg.psi_hat(K), eg.identity_pad(1))
        copies.append(network(stack(left, right), eg.product(M)))
    return network(stack(*copies), affine([[1, 1, 1, 1]], [0]))


def build_thm15(params: dict, target: Any) -> Network:
    eps = check_eps(params["eps"])
    return build_nine_tenths(target, eps, lambda x: x, fmpq(1), int(params.get("K", 0)))


def interval(params: dict) -> tuple[fmpq, fmpq]:
    a, b = as_fmpq(params["a"]), as_fmpq(params["b"])
    if not a < b:
        raise UserError(f"interval [a, b] = [{a}, {b}] is empty; need a < b")
    return a, b


def build_thm6(params: dict, target: Any) -> Network:
    """Thm 6 on [a, b]: F(t) = f((t−a)/(b−a)); t ↦ x = (9/10)(t−a)/(b−a), g(x) = f(10x/9)."""
    eps = check_eps(params["eps"])
    a, b = interval(params)
    inner = build_nine_tenths(target, eps, lambda x: x * 10 / 9, fmpq(10, 9), int(params.get("K", 0)))
    s = NINE_TENTHS / (b - a)
    return network(affine([[s]], [-s * a]), inner)
