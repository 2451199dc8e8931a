"""PEUAF (Wang, Zhang et al., "Don't Fear Peculiar Activation Functions: EUAF and Beyond",
arXiv 2407.09580, preprint 30 July 2024): the networks behind the project's PEUAF entries.

* ``witness(w)``: the one-neuron network x ↦ PEUAF_w(x/w), which equals the triangle wave
  σ₁(x) = |x − 2⌊(x+1)/2⌋| for every x ≥ 0 — the class-𝒜 witness (derived: the paper never
  states PEUAF_w ∈ 𝒜 explicitly).  PEUAF_w is the softsign x/(1−x) on (−∞, 0), analytic and
  not a polynomial there.
* ``second_difference(x0, delta, w)``: Γ_δ(x, y) = [ρ(x₀+δx+δy) − ρ(x₀+δy) − ρ(x₀+δx) + ρ(x₀)]
  / (δ² ρ″(x₀)) (txt p. 7–8), one hidden layer of 4 PEUAF neurons, with x₀ < 0 in the softsign
  part (ρ″(x₀) = 2/(1−x₀)³).  Γ_δ(x, 0) = Γ_δ(0, y) = 0 exactly.
* ``independence_values(K, lo, hi)``: the numbers ρ((α+β)/2 + k w₀), k = 1..K, of Lemma 3 with
  (α, β) = (lo, hi) ⊆ (−∞, 0) and the transcendental w₀ = π(β−α)/(8K) (|w₀| < (β−α)/(2K)).
* ``half_network`` / ``build_half``: Theorem 2 (txt p. 5–6), width 2, depth 3:
  φ(x) = u₁σ(w₁ρ(c + (ψ(2Kx)/2 + 1)w₀) + 2m₀) + v₁ with σ = ρ(·/w) on [0, ∞) (the witness),
  c = (α+β)/2, w₀ a dyadic approximation of π(β−α)/(8(K+1)) (Lemma 3's interval) and w₁ from
  the LLL fit with general values a_k = ρ(c + k w₀) (``proofs.peuaf.fit``).  The paper's
  "ψ(2kx)/2 − 1" is read as ψ(2Kx)/2 + 1 (its Eq. (2); note peuaf.md §3).
* ``build_uniform``: Theorem 3 (txt p. 6–8) on [a, b] → z ∈ [0, 1/2]:
  φ(z) = Σ_{i=1}^4 Γ_δ(φ_i(z + i/4K), ψ̂(2Kz + i/2)), ψ̂(y) = σ(y + 1 − σ(y + 1)), all in ρ.
  Width 16, depth 4.  Γ_δ(x, 0) = 0 exactly, so the bad halves vanish exactly.
"""

from __future__ import annotations

from typing import Any

from flint import arb, fmpq

from constructive.activations.euaf import peuaf
from constructive.errors import UserError
from constructive.gadgets.sigma_fit import (check_eps, choose_K, choose_M, four_copy_values, interval,
                                            rational_value)
from constructive.ir import Network, activation, affine, gadget, network, stack
from constructive.numbers import as_fmpq, precision
from proofs.peuaf.fit import fit_values, lattice_bits


def _w(params: dict) -> fmpq:
    return as_fmpq(params.get("w", 1))


def witness(w: Any) -> Network:
    """x ↦ PEUAF_w(x / w): one hidden neuron (σ₁ on [0, ∞))."""
    rho = peuaf(w)
    ww = as_fmpq(w)
    return network(affine([[1 / ww]], [0]), activation(1, rho), affine([[1]], [0]))


def build_witness(params: dict, target: Any) -> Network:
    return witness(_w(params))


def rho2(x0: fmpq) -> fmpq:
    """ρ″(x₀) = 2/(1 − x₀)³ for x₀ < 0 (softsign part, any w)."""
    return 2 / (1 - x0) ** 3


def second_difference(x0: Any, delta: Any, w: Any = 1) -> Network:
    x0, delta = as_fmpq(x0), as_fmpq(delta)
    if x0 >= 0:
        raise UserError(f"x0={x0} is not allowed; the second difference needs x0 < 0 (softsign part)")
    if delta <= 0:
        raise UserError(f"delta={delta} is not allowed; use delta > 0")
    c = 1 / (delta ** 2 * rho2(x0))
    first = affine([[delta, delta], [0, delta], [delta, 0], [0, 0]], [x0, x0, x0, x0])
    return network(first, activation(4, peuaf(w)), affine([[c, -c, -c, c]], [0]))


def build_second_difference(params: dict, target: Any) -> Network:
    return second_difference(params["x0"], params["delta"], params.get("w", 1))


def independence_values(K: int, lo: fmpq, hi: fmpq, prec: int) -> list[arb]:
    """ρ(c + k w₀), k = 1..K, as arb balls (c = (lo+hi)/2, w₀ = π(hi−lo)/(8K))."""
    if not lo < hi <= 0:
        raise UserError(f"analytic interval ({lo}, {hi}) is not allowed; need lo < hi <= 0")
    with precision(prec):
        w0 = arb.pi() * arb(hi - lo) / (8 * K)
        c = arb((lo + hi) / 2)
        out = []
        for k in range(1, K + 1):
            t = c + k * w0
            out.append(t / (1 - t))
        return out


def build_probe(params: dict, target: Any) -> Network:
    """t ↦ ρ(c + t), c = (lo+hi)/2: the analytic branch whose values Lemma 3 probes."""
    c = (as_fmpq(params["lo"]) + as_fmpq(params["hi"])) / 2
    return network(affine([[1]], [c]), activation(1, peuaf(1)), affine([[1]], [0]))


# ------------------------------------------------------------------------------------------
# Theorem 2 (half the points) and Theorem 3 (uniform) with ρ = PEUAF_w


def _rho(width: int, w: fmpq):
    return activation(width, peuaf(w))


def lemma3_w0(K: int, lo: fmpq, hi: fmpq, bits: int) -> fmpq:
    """⌊π(hi−lo)/(8(K+1))·2^bits⌋/2^bits: inside Lemma 3's interval (−(β−α)/2K, (β−α)/2K), and
    c + s·w₀ < hi for every s ∈ [1, K+1] (the index runs to K+1 on the last bad half)."""
    with precision(bits + 32):
        v = arb.pi() * arb(hi - lo) / (8 * (K + 1)) * (1 << bits)
        n = int(v.mid().floor().unique_fmpz())
    return fmpq(n, 1 << bits)


def lemma3_values(K: int, lo: fmpq, hi: fmpq, w0: fmpq) -> list[fmpq]:
    """a_k = ρ(c + k w₀) = t/(1 − t), t = c + k w₀ < 0, exactly."""
    c = (lo + hi) / 2
    return [(c + k * w0) / (1 - (c + k * w0)) for k in range(1, K + 1)]


def _interval(params: dict) -> tuple[fmpq, fmpq]:
    lo, hi = as_fmpq(params.get("lo", -2)), as_fmpq(params.get("hi", 0))
    if not lo < hi <= 0:
        raise UserError(f"analytic interval ({lo}, {hi}) is not allowed; need lo < hi <= 0")
    return lo, hi


def half_network(values: list[fmpq], M: fmpq, eta: fmpq, w: Any = 1, lo: Any = -2, hi: Any = 0,
                 seed: int = 0, index_shift: int = 1) -> Network:
    """Theorem 2's network: = 2Mσ₁(w₁a_k + 2m₀) − M ≈ values[k−1] on I_k, x ∈ [0, 1].

    ``index_shift``: the index map is ψ(2Kx)/2 + index_shift, which is k on I_k for +1 (Eq. (2));
    −1 is the map as printed on txt p. 6 (the erratum entry), k − 2 on I_k."""
    if index_shift not in (-1, 1):
        raise UserError(f"index_shift={index_shift} is not allowed; use 1 (Eq. (2)) or -1 (as printed)")

    K = len(values)
    if K < 1:
        raise UserError("K must be >= 1")
    w, lo, hi = as_fmpq(w), as_fmpq(lo), as_fmpq(hi)
    xi = [min(max((v + M) / (2 * M), fmpq(0)), fmpq(1)) for v in values]
    bits_m, log_eta = lattice_bits(K, eta)
    w0 = lemma3_w0(K, lo, hi, bits_m + 2 * log_eta + 16)
    a = lemma3_values(K, lo, hi, w0)
    w1 = fit_values(a, xi, eta=eta, seed=seed).w
    m0 = abs(int(w1.p) // int(w1.q)) + 1  # |w₁ a| < |w₁| < 2m₀ since |a| < 1
    c = (lo + hi) / 2
    body = network(affine([[2 * K / w], [1 / w]], [0, 0]), _rho(2, w),
                   affine([[-w0 / 2, K * w0]], [c + index_shift * w0], intrinsic=[("W", 0, 0), ("W", 0, 1), ("b", 0)]),
                   _rho(1, w),
                   affine([[w1 / w]], [2 * m0 / w], intrinsic=[("W", 0, 0), ("b", 0)]), _rho(1, w),
                   affine([[2 * M]], [-M]))
    return network(gadget("peuaf-half", body, None, K=K, M=str(M), w=str(w), lo=str(lo), hi=str(hi)))


def build_half(params: dict, target: Any, index_shift: int = 1) -> Network:
    """Theorem 2 on [0, 1]; the fitted value on I_k is f at the midpoint of I_k."""

    eps = check_eps(params["eps"])
    K = int(params["K"])
    if K < 1:
        raise UserError(f"K={K} is not allowed; use K >= 1")
    lo, hi = _interval(params)
    samples = [rational_value(target, fmpq(4 * k - 3, 4 * K)) for k in range(1, K + 1)]
    M = choose_M([s[1] for s in samples])
    vals = [min(max(s[0], 1 - M), M - 1) for s in samples]
    return half_network(vals, M, eps / (8 * M), _w(params), lo, hi, int(params.get("seed", 0)),
                        index_shift)


def build_half_printed(params: dict, target: Any) -> Network:
    """Theorem 2 with the index map as printed (txt p. 6), ψ(2Kx)/2 − 1: on I_k it is k − 2, so
    the neuron reads a_(k−2)'s argument ρ(c + (k−2)w₀) while w₁ was fitted to a_k = ρ(c + k w₀)."""
    return build_half(params, target, index_shift=-1)


def psi_hat(K: int, w: fmpq) -> Network:
    """ψ̂(y) = σ₁(y + 1 − σ₁(y + 1)) for y ∈ [−1, 2K] in ρ = PEUAF_w, with
    y + 1 = (2K+1)σ₁((y+1)/(2K+1)); every argument is ≥ 0, where ρ(·/w) = σ₁."""
    c = fmpq(1, 2 * K + 1)
    body = network(affine([[c / w], [1 / w]], [c / w, 1 / w]), _rho(2, w),
                   affine([[(2 * K + 1) / w, -1 / w]], [0]), _rho(1, w))
    return network(gadget("peuaf-psi-hat", body, None, K=K, w=str(w)))


def gamma_delta(x0: fmpq, delta: fmpq, w: fmpq) -> Network:
    return network(gadget("peuaf-gamma", second_difference(x0, delta, w), None, x0=str(x0),
                          delta=str(delta), w=str(w)))


def gamma_gap(x0: fmpq, delta: fmpq, X: fmpq, Y: fmpq) -> fmpq:
    """Sup of |Γ_δ(x, y) − xy| over |x| ≤ X, |y| ≤ Y: XY(((1−x₀)/(1−x₀−δ(X+Y)))³ − 1), valid when
    x₀ + δ(X+Y) ≤ 0 (see ``proofs.peuaf.check.certify_second_difference``)."""
    u = delta * (X + Y)
    if x0 + u > 0:
        raise UserError(f"x0={x0}, delta={delta}: the second difference leaves the softsign part")
    return X * Y * (((1 - x0) / (1 - x0 - u)) ** 3 - 1)


def choose_delta(x0: fmpq, M: fmpq, budget: fmpq) -> fmpq:
    """The largest δ = 2^−n with gamma_gap(x₀, δ, M, 1) ≤ budget (builder's choice only)."""
    delta = fmpq(1)
    while x0 + delta * (M + 1) > 0 or gamma_gap(x0, delta, M, fmpq(1)) > budget:
        delta /= 2
    return delta


def build_uniform(params: dict, target: Any) -> Network:
    """Theorem 3 on [a, b]: t ↦ z = (t − a)/(2(b − a)) ∈ [0, 1/2], F(t) = f(2z).

    Budget (builder's choice; the certifier bounds the error itself): oscillation λ(2/4K)^α ≤ 0.6ε,
    fit 2Mη ≤ 0.15ε, product gap M·(R − 1) ≤ 0.1ε (Σ ψ̂ = 1)."""

    eps = check_eps(params["eps"])
    a, b = interval(params)
    w = _w(params)
    lo, hi = _interval(params)
    x0 = as_fmpq(params.get("x0", -1))
    if x0 >= 0:
        raise UserError(f"x0={x0} is not allowed; the second difference needs x0 < 0")
    K = int(params.get("K", 0)) or choose_K(target, eps, fmpq(2))
    if K < 2:
        raise UserError(f"K={K} is not allowed; Theorem 3 needs K >= 2")
    seed = int(params.get("seed", 0))
    all_vals, lows = four_copy_values(target, K, fmpq(1, 2), lambda z: 2 * z)
    M = choose_M(lows)
    eta = 3 * eps / (40 * M)
    delta = choose_delta(x0, M, eps / 10)
    copies = []
    for i, vals in enumerate(all_vals, start=1):
        vals = [min(max(v, 1 - M), M - 1) for v in vals]
        left = network(affine([[1]], [fmpq(i, 4 * K)]), half_network(vals, M, eta, w, lo, hi, seed + i))
        right = network(affine([[2 * K]], [fmpq(i, 2)]), psi_hat(K, w),
                        affine([[1 / w]], [0]), _rho(1, w), affine([[1]], [0]))  # σ₁ = id on [0, 1]
        copies.append(network(stack(left, right), gamma_delta(x0, delta, w)))
    s = 1 / (2 * (b - a))
    return network(affine([[s]], [-s * a]), stack(*copies), affine([[1, 1, 1, 1]], [0]))
