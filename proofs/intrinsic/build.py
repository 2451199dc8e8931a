"""Shen, Yang, Zhang — *Deep Network Approximation in Terms of Intrinsic Parameters* (ICML 2022).

Builders return networks only; the certifier measures and bounds them.  The realisation keeps
each of the paper's intrinsic parameters in one weight of the plain layered network: the scalar
bottlenecks φ1(x) = 4^{ϱ(β)} > 0, L(φ1) ≥ 0 and φ2 ∈ [0, 1] pass through one ReLU neuron each
(exact, since the values are non-negative), so the weights a_ℓ, s and b are not smeared over a
merged matrix.  Depths and widths are therefore the project's (the paper states parameter
counts only); see ``proofs/intrinsic/claims.toml``.
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

from flint import arb, fmpq

from constructive.gadgets.bits import bit_extractor
from constructive.gadgets.cpwl import cpwl_network
from constructive.gadgets.mid import mid_gadget
from constructive.ir import GadgetSpec, Network, activation, affine, gadget, network, parallel
from constructive.numbers import as_fmpq, precision
from constructive.tuning import exact_constant

# ------------------------------------------------------------------------------------------------
# f-independent pieces


def step_function(K: int, delta: fmpq) -> Network:
    """g: PL through (k/K, k) and ((k+1)/K − δ, k), flat outside [0, 1]; g = β_i on the cells."""
    xs: list[fmpq] = []
    ys: list[int] = []
    for k in range(K):
        xs += [fmpq(k, K), fmpq(k + 1, K) - delta]
        ys += [k, k]
    xs.append(fmpq(1))
    ys.append(K - 1)
    return cpwl_network(xs, ys, name="step")


def exponential_map(J: int) -> Network:
    """h: PL through (j, 4^j) for j = 1..J, flat outside [1, J]."""
    js = list(range(1, J + 1))
    return cpwl_network(js, [4 ** j for j in js], name="exponential")


def phi1(d: int, n: int, delta: fmpq) -> Network:
    """φ1(x) = h(ϱ(g(x1), …, g(xd))) = 4^{ϱ(β)} on every cell Q_β, ϱ(β) = 1 + Σ β_i K^{i−1}."""
    K = 2 ** n
    g = step_function(K, delta)
    rho = affine([[K ** i for i in range(d)]], [1])
    body = network(parallel(*([g] * d)), rho, activation(1), exponential_map(K ** d), activation(1))
    spec = GadgetSpec(statement="φ1 = 4^{ϱ(β)} on every cell Q_β", source="intrinsic Thm A.1 proof, step 2")
    return network(gadget("phi1", body, spec, d=d, n=n, delta=str(delta)))


def phi2(n: int, J: int) -> Network:
    """φ2(y) = Σ_ℓ 2^{−ℓ} φ_{2,ℓ}(y_ℓ), every φ_{2,ℓ} the same bit extractor; ends in a ReLU (φ2 ≥ 0)."""
    chain = bit_extractor(J)
    combine = affine([[fmpq(1, 2 ** l) for l in range(1, n + 1)]], [0])
    body = network(parallel(*([chain] * n)), combine, activation(1))
    spec = GadgetSpec(statement="φ2 = Σ 2^-ℓ θ_ℓ on packed inputs; φ2(R^n) ⊆ [0, 1]",
                      range=(fmpq(0), fmpq(1)), source="intrinsic Thm A.1 proof, step 4")
    return network(gadget("phi2", body, spec, n=n, J=J))


# ------------------------------------------------------------------------------------------------
# f-dependent pieces


def grid_points(d: int, K: int) -> list[tuple[int, ...]]:
    """All β ∈ {0..K−1}^d in the order of ϱ (β_1 varies fastest)."""
    return [tuple(reversed(b)) for b in itertools.product(range(K), repeat=d)]


def scale_and_shift(target: Any, d: int, bits: int = 96) -> tuple[fmpq, fmpq]:
    """Rational s ≥ 2ω̄(√d) and b ≈ f(0) − ω̄(√d), with ω̄(r) = λ r^α the target's modulus.

    A constant target (λ = 0) gets s = 0 and b = f(0) exactly: the theorems' bound is then 0,
    which a rounded b would miss (:func:`exact_constant`)."""
    lam, alpha = target.lam, target.alpha
    if lam == 0:
        return fmpq(0), exact_constant(target, d)
    with precision(bits + 32):
        w = arb(lam) * arb(d) ** (arb(alpha) / 2)
        s = _dyadic_above(2 * w, bits)
        f0 = target.ball([fmpq(0)] * d, prec=bits + 32)
        b = _dyadic_near(f0.mid() - w.mid(), bits)
    return s, b


def _dyadic_above(x: arb, bits: int) -> fmpq:
    """A dyadic rational ≥ every point of the ball ``x``."""
    scale = 2 ** bits
    return fmpq(int((x.upper() * scale).ceil().unique_fmpz()) + 1, scale)


def _dyadic_near(x: arb, bits: int) -> fmpq:
    scale = 2 ** bits
    return fmpq(int((x * scale).floor().unique_fmpz()), scale)


def quantised_bits(target: Any, d: int, n: int, s: fmpq, b: fmpq) -> list[list[int]]:
    """ξ_{β,ℓ}: the n-bit truncation of f̃(x_β) = (f(x_β) − b)/s, clipped to [0, 2^n − 1]."""
    K = 2 ** n
    rows = []
    for beta in grid_points(d, K):
        point = [fmpq(bi, K) for bi in beta]
        if s == 0:
            q = 0
        elif getattr(target, "rational_valued", False):
            q = int(((target.exact(point) - b) / s * 2 ** n).floor())
        else:
            with precision(64 + 4 * n):
                v = (target.ball(point, prec=64 + 4 * n) - arb(b)) / arb(s) * 2 ** n
                q = int(v.mid().floor().unique_fmpz())
        q = min(max(q, 0), 2 ** n - 1)
        rows.append([(q >> (n - l)) & 1 for l in range(1, n + 1)])
    return rows


def pack_coefficients(bits: Sequence[Sequence[int]], n: int) -> list[fmpq]:
    """a_ℓ = Σ_j θ_{j,ℓ} 4^{−j} (digit j of a_ℓ is the ℓ-th bit of cell j)."""
    J = len(bits)
    out = []
    for l in range(n):
        total = 0
        for row in bits:
            total = 4 * total + row[l]
        out.append(fmpq(total, 4 ** J))
    return out


def packing_map(a: Sequence[fmpq]) -> Network:
    """L(t) = (a_1 t, …, a_n t), followed by a ReLU neuron per output (the products are ≥ 0)."""
    n = len(a)
    return network(affine([[v] for v in a], [0] * n, intrinsic=[("W", i, 0) for i in range(n)]),
                   activation(n))


def output_map(s: fmpq, b: fmpq) -> Network:
    return network(affine([[s]], [b], intrinsic=[("W", 0, 0), ("b", 0)]))


# ------------------------------------------------------------------------------------------------
# Theorems


def delta_lp(d: int, n: int, p: fmpq) -> fmpq:
    """δ = 2^{−⌈p(n+1)⌉ − ⌈log₂ d⌉} / (3·2^n): below 1/(3K) and below 2^{−p(n+1)}/(dK)."""
    return fmpq(1, 3 * 2 ** n * 2 ** (int((p * (n + 1)).ceil()) + (d - 1).bit_length()))


def delta_linf(d: int, n: int, alpha: fmpq) -> fmpq:
    """δ = min{1/(3K), 2^{−⌈(n−1+⌈log₂ d⌉)/α⌉}}, so that d·ω_f̃(δ) ≤ 2^{−n} with ω̄ = λ r^α."""
    e = int((fmpq(n - 1 + (d - 1).bit_length()) / alpha).ceil())
    return min(fmpq(1, 3 * 2 ** n), fmpq(1, 2 ** max(e, 0)))


def aux_network(d: int, n: int, delta: fmpq, bits: Sequence[Sequence[int]]) -> Network:
    """Theorem A.1: φ2 ∘ L ∘ φ1 with L built from the packed bits."""
    J = (2 ** n) ** d
    a = pack_coefficients(bits, n)
    body = network(phi1(d, n, delta), packing_map(a), phi2(n, J))
    K = 2 ** n
    axis = tuple((fmpq(k, K), fmpq(k + 1, K) - (delta if k <= K - 2 else 0)) for k in range(K))
    spec = GadgetSpec(statement="φ2∘L∘φ1 = Σ_ℓ 2^-ℓ ξ_{β,ℓ} on Q_β; values in [0, 1] on R^d",
                      range=(fmpq(0), fmpq(1)), cells=(axis,) * d, source="intrinsic Thm A.1")
    return network(gadget("aux-offtrifling", body, spec, d=d, n=n, delta=str(delta)))


def build_aux(params: dict, target: Any) -> Network:
    """Thm A.1 for a target with values in [0, 1] (no scaling: s = 1, b = 0)."""
    d, n = params["d"], params["n"]
    # δ is arbitrary in (0, 1/(3K)]: the entry's delta_fraction picks δ = delta_fraction/(3K)
    delta = as_fmpq(params.get("delta_fraction", 1)) / (3 * 2 ** n)
    bits = quantised_bits(target, d, n, fmpq(1), fmpq(0))
    return aux_network(d, n, delta, bits)


def build_lp(params: dict, target: Any) -> Network:
    """Thm 2.1: s·(φ2∘L∘φ1) + b with n + 2 intrinsic parameters."""
    d, n, p = params["d"], params["n"], as_fmpq(params["p"])
    s, b = scale_and_shift(target, d)
    bits = quantised_bits(target, d, n, s, b)
    return network(aux_network(d, n, delta_lp(d, n, p), bits), output_map(s, b))


def shifts(d: int, delta: fmpq) -> list[tuple[fmpq, ...]]:
    """The 3^d shifts of ψ_{1,d}, ordered so consecutive triples differ in coordinate 1."""
    out = []
    for m in range(3 ** d):
        digits = [(m // 3 ** i) % 3 - 1 for i in range(d)]
        out.append(tuple(delta * t for t in digits))
    return out


def mid_tree(d: int) -> Network:
    """d levels of mid over consecutive triples: 3^d values ↦ one."""
    mid = mid_gadget()
    levels = [parallel(*([mid] * 3 ** (d - i))) for i in range(1, d + 1)]
    return network(*levels)


def build_linf(params: dict, target: Any) -> Network:
    """Thm 2.2: 3^d shifted copies of the Thm A.1 network, d levels of mid, then s·y + b."""
    d, n = params["d"], params["n"]
    s, b = scale_and_shift(target, d)
    bits = quantised_bits(target, d, n, s, b)
    delta = delta_linf(d, n, target.alpha)
    core = aux_network(d, n, delta, bits)
    fan = affine([[1 if j == i else 0 for j in range(d)] for _ in range(3 ** d) for i in range(d)],
                 [t for shift in shifts(d, delta) for t in shift])
    repaired = network(fan, parallel(*([core] * 3 ** d)), mid_tree(d), activation(1))
    spec = GadgetSpec(statement="mid repair: |φ_d − f̃| ≤ ε + dω_f̃(δ) everywhere",
                      range=(fmpq(0), fmpq(1)), source="intrinsic Lemma A.2")
    return network(gadget("trifling-mid-repair", repaired, spec, d=d, delta=str(delta)),
                   output_map(s, b))


def build_repair(params: dict, target: Any) -> Network:
    """Lemma A.2 instance: the mid repair of the Thm A.1 network for a target with values in [0, 1]."""
    d, n = params["d"], params["n"]
    delta = delta_linf(d, n, fmpq(1))
    bits = quantised_bits(target, d, n, fmpq(1), fmpq(0))
    core = aux_network(d, n, delta, bits)
    fan = affine([[1 if j == i else 0 for j in range(d)] for _ in range(3 ** d) for i in range(d)],
                 [t for shift in shifts(d, delta) for t in shift])
    return network(fan, parallel(*([core] * 3 ** d)), mid_tree(d))
