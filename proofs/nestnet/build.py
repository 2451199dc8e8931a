"""Shen, Yang, Zhang — *Neural Network Architecture Beyond Width and Depth* (NestNet, NeurIPS 2022).

Height-s networks are IR networks whose hidden neurons use ReLU, the identity, or a one-input
sub-network of smaller height (``Activation`` with a ``Network`` function).  This module holds

* :func:`nest_params` — the paper's parameter count (§2.1): Σ #L over the affine maps of the
  network (#L = (d₁+1)d₂, the dense count of the plain layered view) plus, for every *distinct*
  activation network (by object identity, however often it is reused), its own count; identity
  and ReLU are free.  :func:`height` is the IR's ``Node.height``.
* :class:`MemoInterpreter` — exact evaluation that runs each distinct activation network once per
  distinct input value (all entries of all neurons using it are batched through it together and
  remembered), instead of once per entry as the plain interpreter does.
* the builders of Theorem A.1 (off the trifling region), Theorem 2.1 (L^p, p < ∞) and
  Corollary 2.2 (same network, Hölder bound); the gadgets are in
  :mod:`proofs.nestnet.gadgets`.

Builders return networks only; ``proofs/nestnet/check.py`` measures and certifies them.
"""

from __future__ import annotations

import math
import os
from typing import Any, Optional

import numpy as np
from flint import arb, fmpq

from constructive.architecture import layers, sequence
from constructive.errors import UserError
from constructive.evaluate import Interpreter
from constructive.gadgets.mid import mid_gadget
from constructive.ir import Activation, Network, Node, affine, network, parallel
from constructive.numbers import Exact, QMatrix, as_fmpq, precision
from constructive.tuning import exact_constant
from proofs.nestnet.gadgets import point_fit_b2, step_b1

# ------------------------------------------------------------------------------------------------
# counting


def _level_items(net: Node) -> list:

    return sequence(net)


def nested_activations(net: Node) -> list[Network]:
    """The distinct activation networks used by the hidden neurons of ``net`` (this level only)."""
    seen: dict[int, Network] = {}
    for item in _level_items(net):
        if isinstance(item, Activation):
            for f in item.functions:
                if isinstance(f, Network) and id(f) not in seen:
                    seen[id(f)] = f
    return list(seen.values())


def nest_params(net: Node, _memo: Optional[dict] = None) -> int:
    """The paper's count: Σ_i #L_i + Σ_{distinct ρ_j} count(ρ_j), recursively (NestNet §2.1)."""

    memo = {} if _memo is None else _memo
    key = id(net)
    if key in memo:
        return memo[key][1]
    own = sum(layer.dense() for layer in layers(net))
    total = own + sum(nest_params(f, memo) for f in nested_activations(net))
    memo[key] = (net, total)
    return total


def height(net: Node) -> int:
    return net.height


# ------------------------------------------------------------------------------------------------
# memoised exact evaluation


class MemoInterpreter(Interpreter):
    """Exact evaluation with nested activations batched and memoised per (network, value)."""

    def __init__(self) -> None:
        super().__init__(Exact())
        self.cache: dict[int, tuple[Network, dict]] = {}
        self.calls = 0  # distinct values actually pushed through activation networks

    def nested(self, function: Network, X: QMatrix) -> QMatrix:
        key = id(function)
        if key not in self.cache:
            self.cache[key] = (function, {})
        memo = self.cache[key][1]
        den = X.den
        nums = [int(v) for v in X.num.flat]
        missing = list(dict.fromkeys(v for v in nums if (den, v) not in memo))
        if missing:
            self.calls += len(missing)
            batch = np.empty((1, len(missing)), dtype=object)
            batch[0, :] = missing
            out = self.run(function, QMatrix(batch, den))
            for v, y in zip(missing, out.num[0]):
                memo[(den, v)] = (int(y), out.den)
        vals = [memo[(den, v)] for v in nums]
        dens = {d for _, d in vals}
        common = math.lcm(*dens)
        arr = np.empty(len(vals), dtype=object)
        arr[:] = [y * (common // d) for y, d in vals]
        r, c = X.shape
        return QMatrix(arr.reshape(r, c), common)


def evaluate_memo(net: Node, xs: list, interp: Optional[MemoInterpreter] = None) -> list[list[fmpq]]:
    """Exact values of ``net`` at the points ``xs`` (each a coordinate list); one row per output."""
    interp = interp or MemoInterpreter()
    cols = [[as_fmpq(v) for v in x] for x in xs]
    X = interp.ctx.points(cols)
    Y = interp.run(net, X)
    return interp.ctx.entries(Y)


# ------------------------------------------------------------------------------------------------
# the theorems


def iroot_pow(n: int, e: int, d: int) -> int:
    """⌊n^(e/d)⌋ exactly: the largest K with K^d ≤ n^e."""
    N = n ** e
    K = int(round(N ** (1.0 / d))) if N < 2 ** 1000 else 1 << (N.bit_length() // d)
    while K ** d > N:
        K -= 1
    while (K + 1) ** d <= N:
        K += 1
    return K


def grid_K(d: int, s: int, n: int) -> int:
    """K = ⌊n^((s+1)/d)⌋ (exact integer root)."""
    return iroot_pow(n, s + 1, d)


def _pow2_at_most(q: fmpq) -> fmpq:
    """The largest 2^(−e) (e ≥ 0) that is ≤ q (q > 0)."""
    e = 0
    while fmpq(1, 2 ** e) > q:
        e += 1
    return fmpq(1, 2 ** e)


def offtrifling_delta(K: int) -> fmpq:
    """δ = the largest power of two ≤ 1/(3K)."""
    return _pow2_at_most(fmpq(1, 3 * K))


def modulus_upper(target: Any, r: Any) -> arb:
    return arb(target.lam) * arb(r) ** arb(target.alpha) if target.lam else arb(0)


def lp_delta(target: Any, d: int, s: int, n: int, p: fmpq, K: int) -> fmpq:
    """δ ≤ 1/(3K), a power of two with K d δ (2|f(0)| + 2ω̄(√d))^p ≤ (ω̄(n^(−(s+1)/d))/16)^p, ω̄ = λ r^α
    the target's certified modulus.  The proof of Thm 2.1 (txt p. 17–18) asks for the inequality
    without the factor 1/16; the smaller δ also satisfies it and keeps the trifling region's
    share of the L^p error small, so the certified bounds follow the rate closely."""
    with precision(192):
        f0 = abs(target.ball([fmpq(0)] * d, prec=192))
        big = 2 * f0 + 2 * modulus_upper(target, arb(d).sqrt())
        small = modulus_upper(target, arb(n) ** (-arb(s + 1) / d)) / 16
        pp = arb(p)
        if big == 0 or not (small > 0):
            return offtrifling_delta(K)
        rhs = small ** pp / (arb(K) * d * big ** pp)
        lo = rhs.lower()
        # a dyadic rational below the ball
        e = 0
        while arb(fmpq(1, 2 ** e)) > lo:
            e += 1
            if e > 100000:
                raise UserError("the trifling width for this L^p instance underflows; use a smaller p")
    return min(fmpq(1, 2 ** e), offtrifling_delta(K))


def memory_budget_bytes() -> int:
    """NESTNET_MEMORY_MB (default 4096): the budget a single instance may need."""
    raw = os.environ.get("NESTNET_MEMORY_MB", "4096")
    try:
        mb = float(raw)
    except ValueError:
        raise UserError(f"NESTNET_MEMORY_MB={raw!r} is not a number of megabytes") from None
    return int(mb * 2 ** 20)


def estimate_bytes(d: int, s: int, n: int) -> int:
    """A coarse estimate of the memory an instance needs: exact columns (2^d corners per cell,
    about 16 rows) of numbers with the bits of the stored blocks and the gap denominators, plus
    the stored blocks themselves.  (derived — not in the paper)"""
    nt = 2 * n
    K = grid_K(d, s, n)
    bits = nt ** s + sum(nt ** i for i in range(1, s + 1)) + 64
    cols = (K ** d) * (2 ** d)
    return cols * 16 * (bits // 8 + 32) + 4 * nt * (nt ** s) // 8


def check_instance(d: int, s: int, n: int) -> None:
    if s < 1 or n < 1 or d < 1:
        raise UserError(f"NestNet needs s, n, d >= 1; got s={s}, n={n}, d={d}")
    need, budget = estimate_bytes(d, s, n), memory_budget_bytes()
    if need > budget:
        raise UserError(f"the instance d={d}, s={s}, n={n} needs about {need / 2 ** 20:.0f} MiB, more "
                        f"than the memory budget {budget / 2 ** 20:.0f} MiB (set NESTNET_MEMORY_MB "
                        "to raise it)")


def _dyadic(x: arb, bits: int) -> fmpq:
    return fmpq(int((x * 2 ** bits).mid().floor().unique_fmpz()), 2 ** bits)


def grid_index(beta: tuple, K: int) -> int:
    """2K^d ψ₁(β) = β_d + 2 Σ_{i<d} β_i K^{d−i} (Step 2 of the proof of Thm A.1)."""
    d = len(beta)
    return beta[-1] + 2 * sum(beta[i] * K ** (d - 1 - i) for i in range(d - 1))


def samples(target: Any, d: int, K: int) -> tuple[list[fmpq], fmpq, fmpq]:
    """Rational samples y_j ≥ 0 of f̃ = f − c on the grid j = 2K^d ψ₁(β), linear in between,
    with c ≈ f(0) − ω̄(√d) (dyadic); returns (ys, ε = max |y_j − y_(j−1)|, c).  A constant target
    (λ = 0) gets c = f(0) exactly, so that the network meets the bound 0 (:func:`exact_constant`)."""
    import itertools

    bits = 2 * K.bit_length() + 24
    with precision(bits + 64):
        if target.lam == 0:
            c = exact_constant(target, d)
        else:
            f0 = target.ball([fmpq(0)] * d, prec=bits + 64)
            c = _dyadic(f0 - modulus_upper(target, arb(d).sqrt()), bits)
        known: dict[int, fmpq] = {}
        for beta in itertools.product(range(K), repeat=d):
            x = [fmpq(b, K) for b in beta]
            if getattr(target, "rational_valued", False):
                v = target.exact(x) - c
                v = fmpq(int((v * 2 ** bits).floor()), 2 ** bits)
            else:
                v = _dyadic(target.ball(x, prec=bits + 64) - arb(c), bits)
            known[grid_index(beta, K)] = max(v, fmpq(0))
    J = max(known) + 1
    ys: list[fmpq] = []
    keys = sorted(known)
    for a, b in zip(keys, keys[1:]):
        ya, yb = known[a], known[b]
        for j in range(a, b):
            ys.append(ya + (yb - ya) * fmpq(j - a, b - a))
    ys.append(known[keys[-1]])
    assert len(ys) == J
    eps = max((abs(b - a) for a, b in zip(ys, ys[1:])), default=fmpq(0))
    eps = max(eps, fmpq(1, 2 ** bits))
    return ys, eps, c


def printed_samples(ys: list[fmpq], d: int, K: int) -> tuple[list[fmpq], fmpq]:
    """Step 3.3 as printed (txt p. 23): y_j = g(j/(2K²)) instead of g(j/(2K^d)), with g the
    piecewise linear function through (i/(2K^d), ys[i]); the same for d = 2, not for d = 1."""
    out = []
    for j in range(len(ys)):
        t = fmpq(j) * K ** d / K ** 2  # the index i = 2K^d · j/(2K²)
        i = min(int(t.floor()), len(ys) - 2) if len(ys) > 1 else 0
        out.append(ys[i] if len(ys) == 1 else ys[i] + (ys[i + 1] - ys[i]) * (t - i))
    eps = max([abs(b - a) for a, b in zip(out, out[1:])] + [fmpq(1, 2 ** 64)])
    return out, eps


def aux_network(d: int, s: int, n: int, delta: fmpq, target: Any, printed: bool = False) -> Network:
    """Theorem A.1: φ = ψ₂ ∘ ψ₁ ∘ Φ₁ + c with Φ₁ = d copies of Prop B.1 (r = s, ñ = 2n, J = K−1,
    δ̃ = Kδ) on Kx_i, ψ₁ the affine index map and ψ₂ Prop B.2 (ñ = 2n) through the samples
    (``printed``: the samples of Step 3.3 as printed, :func:`printed_samples`)."""
    check_instance(d, s, n)
    K = grid_K(d, s, n)
    nt = 2 * n
    step = step_b1(s, nt, K * delta, K - 1)
    copy = network(affine([[K]], [0]), step)
    phi1 = parallel(*([copy] * d)) if d > 1 else copy
    psi1 = affine([[2 * K ** (d - 1 - i) for i in range(d - 1)] + [1]], [0])
    ys, eps, c = samples(target, d, K)
    if printed:
        ys, eps = printed_samples(ys, d, K)
    psi2 = point_fit_b2(ys, eps, nt, s)
    return network(phi1, psi1, psi2, affine([[1]], [c]))


def _ds(params: dict) -> tuple[int, int, int]:
    d, s, n = int(params["d"]), int(params["s"]), int(params["n"])
    if s < 1 or n < 1:
        raise UserError(f"NestNet needs s >= 1 and n >= 1; got s={s}, n={n}")
    return d, s, n


def chosen_delta(K: int, fraction: Any) -> fmpq:
    """Theorem A.1's δ, arbitrary in (0, 1/(3K)]: ``fraction`` t ∈ (0, 1] gives δ = t/(3K) (t = 1
    is the endpoint); t = 0 keeps the project's default, the largest power of two ≤ 1/(3K)."""
    t = as_fmpq(fraction)
    if not 0 <= t <= 1:
        raise UserError(f"delta_fraction={t} is not allowed; use a rational in [0, 1]")
    return offtrifling_delta(K) if t == 0 else t / (3 * K)


def build_offtrifling(params: dict, target: Any) -> Network:
    d, s, n = _ds(params)
    K = grid_K(d, s, n)
    return aux_network(d, s, n, chosen_delta(K, params.get("delta_fraction", 0)), target)


def build_offtrifling_printed(params: dict, target: Any) -> Network:
    """Theorem A.1 with Step 3.3's samples as printed, y_j = g(j/(2K²)) (d = 1 only: for d = 2
    the printed and the corrected samples agree)."""
    d, s, n = _ds(params)
    if d != 1:
        raise UserError(f"d={d} is not allowed; the printed samples g(j/(2K^2)) differ from "
                        "g(j/(2K^d)) only for d = 1")
    K = grid_K(d, s, n)
    return aux_network(d, s, n, chosen_delta(K, params.get("delta_fraction", 0)), target,
                       printed=True)


def build_lp(params: dict, target: Any) -> Network:
    d, s, n = _ds(params)
    K = grid_K(d, s, n)
    check_instance(d, s, n)
    p = as_fmpq(params.get("p", 2))
    return aux_network(d, s, n, lp_delta(target, d, s, n, p, K), target)


def linf_delta(d: int, s: int, n: int, K: int, alpha: Any = 1) -> fmpq:
    """p = ∞ (txt p. 18): a power of two δ ≤ 1/(3K) with d·ω̄(δ) ≤ ω̄(n^(−(s+1)/d)) for
    ω̄ = λ r^α, i.e. δ ≤ d^(−1/α) n^(−(s+1)/d)."""
    if d > 2:
        raise UserError(f"the p = ∞ construction (mid repair) is built for d <= 2; got d={d}")
    alpha = as_fmpq(alpha)
    with precision(128):
        rhs = arb(d) ** (-1 / arb(alpha)) * arb(n) ** (-arb(s + 1) / d)
        lo = rhs.lower()
        e = 0
        while arb(fmpq(1, 2 ** e)) > lo:
            e += 1
    return min(offtrifling_delta(K), fmpq(1, 2 ** e))


def linf_shifts(d: int, delta: fmpq) -> list[tuple]:
    """The 3^d shifts, coordinate 1 varying fastest (consecutive triples differ in x₁)."""
    out = []
    for m in range(3 ** d):
        out.append(tuple(delta * ((m // 3 ** i) % 3 - 1) for i in range(d)))
    return out


def build_linf(params: dict, target: Any) -> Network:
    """Thm 2.1, p = ∞ (d ≤ 2): Theorem A.2's repair of the Theorem A.1 network g: 3^d shifted
    copies g(x + t), then d levels of mid (coordinate 1 innermost; Lu et al. Lemma 3.1)."""

    d, s, n = _ds(params)
    if d > 2:
        raise UserError(f"the p = ∞ construction is built for d <= 2; got d={d}")
    K = grid_K(d, s, n)
    delta = linf_delta(d, s, n, K, target.alpha)
    g = aux_network(d, s, n, delta, target)
    sh = linf_shifts(d, delta)
    fan = affine([[1 if j == i else 0 for j in range(d)] for _ in sh for i in range(d)],
                 [t for shift in sh for t in shift])
    mid = mid_gadget()
    levels = [parallel(*([mid] * 3 ** (d - i))) for i in range(1, d + 1)]
    return network(fan, parallel(*([g] * 3 ** d)), *levels, affine([[1]], [0]))


__all__ = ["linf_delta", "build_linf","nest_params", "height", "nested_activations", "MemoInterpreter", "evaluate_memo",
           "grid_K", "iroot_pow", "offtrifling_delta", "lp_delta", "build_offtrifling", "build_lp",
           "aux_network", "check_instance", "estimate_bytes", "memory_budget_bytes", "samples"]
