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
"""

from __future__ import annotations

from typing import Any

from flint import arb, fmpq

from certify.errors import UserError
from constructive.euaf import peuaf
from constructive.ir import Network, activation, affine, network
from constructive.numbers import as_fmpq, precision


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
