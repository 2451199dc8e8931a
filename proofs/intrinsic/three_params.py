"""Shen, Yang, Zhang — Theorem 2.3 (three intrinsic parameters s, v, b): the project's deep variant.

The paper proves |s·φ(x, v) + b − f(x)| ≤ ε with a fixed φ, but gives no size, multiplies a_ℓ
by 4^{ϱ(β)} with an approximate multiplier whose accuracy it never makes explicit (Lemma A.4),
and recovers a_1..a_n from v with a floor surrogate of ONE hidden layer of width ≈ 2^{mn}
(Lemma A.3), which cannot be materialised for any non-trivial size.  This module is therefore
**not the paper's construction** but an exact, buildable variant with the same statement:

* Lemma A.3 done deep (:func:`store_params_network`): the P = m·n bits of v are read one per
  hidden layer with b = σ(2^P(2y − 1) + 1) − σ(2^P(2y − 1)), exact on the dyadic grid 2^{−P}Z;
* the products a_ℓ·4^{ϱ(β)} are computed exactly by binary selection over the digits of
  ϱ(β) − 1 (y ← y + σ((4^{2^k} − 1)y − M_k(1 − β_k)), exact for y ≥ 0 and β_k ∈ {0, 1}),
  instead of an approximate multiplier;
* the rest is the Theorem 2.2 network of :mod:`proofs.intrinsic.build` (bit-extraction chains,
  mid repair over the 3^d shifts, s·y + b).

Only v (the bias of one first-layer ReLU neuron), s and b depend on f; every other weight
depends on (d, ε, λ, α) only.  The network is exact over Q and, on every cell Q_β, constant
equal to s·Σ_ℓ 2^{−ℓ}ξ_{β,ℓ} + b; its error is ≤ 5λd^{α/2}2^{−αn} ≤ ε/2 as in Theorem 2.2.
"""

from __future__ import annotations

import itertools
import random
from typing import Any, Sequence

from flint import fmpq

from constructive.errors import UserError
from constructive.ir import (GadgetSpec, Network, activation, affine, gadget, identity_layers,
                             linear_identity, network, parallel, repeat)
from constructive.numbers import as_fmpq
from proofs.intrinsic.build import (delta_linf, grid_points, mid_tree, output_map, pack_coefficients, phi2,
                                    quantised_bits, scale_and_shift, shifts, step_function)

__all__ = [
    "pack_params", "unpack_params", "store_params_network", "store_params_values",
    "build_store_params", "choose_n", "select_powers", "three_params_core",
    "three_params_phi", "three_params_values", "build_three_params", "cell_boxes",
]


# ------------------------------------------------------------------------------------------------
# Lemma A.3, deep: n parameters in one number


def pack_params(a: Sequence[fmpq], m: int) -> fmpq:
    """v = Σ_{i=1..n} 2^{−m(i−1)} a_i for a_i ∈ {k/2^m : 0 ≤ k < 2^m} (the v of Lemma A.3)."""
    total = 0
    for x in a:
        x = as_fmpq(x)
        k = x * 2 ** m
        if k.q != 1 or not 0 <= k.p < 2 ** m:
            raise UserError(f"parameter {x} is not of the form k/2^{m} with 0 <= k < 2^{m}")
        total = total * 2 ** m + int(k.p)
    return fmpq(total, 2 ** (m * len(a)))


def unpack_params(v: fmpq, m: int, n: int) -> list[fmpq]:
    """a_i = ⌊2^{mi} v⌋/2^m − ⌊2^{m(i−1)} v⌋ (the paper's recovery formula), for v ∈ [0, 1)."""
    v = as_fmpq(v)
    return [fmpq(int((v * 2 ** (m * i)).floor()), 2 ** m) - int((v * 2 ** (m * (i - 1))).floor())
            for i in range(1, n + 1)]


def _bit_block(i: int, P: int) -> Network:
    """One bit: (a_1..a_{i−1}, y, acc) ↦ (a_1..a_{i−1}, 2y − b, 2acc + b), one hidden layer.

    b = σ(2^{P+1}y − 2^P + 1) − σ(2^{P+1}y − 2^P) is 1 if 2y ≥ 1 and 0 if 2y ≤ 1 − 2^{−P};
    for every real input b ∈ [0, 1], so 0 ≤ acc ≤ 2^t − 1 after t steps whatever y is.
    """
    k = i - 1                         # completed parameters carried along
    dim = k + 2
    rows = [[1 if c == r else 0 for c in range(dim)] for r in range(dim)]
    rows.append([0] * k + [2 ** (P + 1), 0])
    rows.append([0] * k + [2 ** (P + 1), 0])
    bias = [0] * dim + [1 - 2 ** P, -2 ** P]
    out = [[1 if c == r else 0 for c in range(dim + 2)] for r in range(k)]
    out.append([0] * k + [2, 0, -1, 1])      # y' = 2y − b
    out.append([0] * k + [0, 2, 1, -1])      # acc' = 2acc + b
    return network(affine(rows, bias), activation(dim + 2), affine(out, [0] * dim))


def store_params_network(m: int, n: int) -> Network:
    """φ0: v ↦ (a_1, …, a_n) exactly for v = Σ 2^{−m(i−1)} a_i, a_i ∈ 2^{−m}{0..2^m−1}.

    One hidden layer per bit (depth m·n, width n + 3); the m steps of block i are one ``repeat``.
    For every real input the outputs lie in [0, 1 − 2^{−m}].
    """
    if m < 1 or n < 1:
        raise UserError(f"store_params_network needs m >= 1 and n >= 1, got m={m}, n={n}")
    P = m * n
    nodes: list = []
    for i in range(1, n + 1):
        k = i - 1
        # (a_1..a_{i−1}, y) ↦ (a_1..a_{i−1}, y, acc = 0)
        enter = [[1 if c == r else 0 for c in range(k + 1)] for r in range(k + 1)] + [[0] * (k + 1)]
        nodes.append(affine(enter, [0] * (k + 2)))
        nodes.append(repeat(_bit_block(i, P), m))
        # (a.., y, acc) ↦ (a.., a_i = acc/2^m, y)
        leave = [[1 if c == r else 0 for c in range(k + 2)] for r in range(k)]
        leave.append([0] * k + [0, fmpq(1, 2 ** m)])
        leave.append([0] * k + [1, 0])
        nodes.append(affine(leave, [0] * (k + 2)))
    nodes.append(affine([[1 if c == r else 0 for c in range(n + 1)] for r in range(n)], [0] * n))
    body = network(*nodes)
    spec = GadgetSpec(
        statement=(f"(a_1..a_{n}) recovered exactly from v = Σ 2^(-{m}(i-1)) a_i, a_i ∈ 2^-{m}"
                   f"{{0..2^{m}-1}} (the points v ∈ 2^-{P} Z ∩ [0,1)); outputs in [0, 1] for every "
                   "real input"),
        reference=lambda vals: unpack_params(vals[0], m, n),
        domain="points", range=(fmpq(0), fmpq(1)),
        source="intrinsic Lemma A.3 (project's deep variant: one bit per layer)")
    return network(gadget("store-params", body, spec, m=m, n=n))


def store_params_values(params: dict) -> tuple[fmpq, list[fmpq]]:
    """(v, [a_1..a_n]) for registry params {"m", "n", "seed"}: a_i = randrange(2^m)/2^m drawn in
    order from ``random.Random(seed)``, v = Σ 2^{−m(i−1)} a_i."""
    m, n, seed = int(params["m"]), int(params["n"]), int(params.get("seed", 0))
    rng = random.Random(seed)
    a = [fmpq(rng.randrange(2 ** m), 2 ** m) for _ in range(n)]
    return pack_params(a, m), a


def build_store_params(params: dict, target: Any = None) -> Network:
    """Registry builder for Lemma A.3: x ↦ φ0(σ(0·x + v)) = (a_1..a_n).

    The lemma's network φ0 is fixed and v is its input; to keep the certifier's point-wise
    machinery, the built network has ONE DUMMY INPUT x ∈ [0, 1] with weight 0, and v is the bias
    of the single first-layer ReLU neuron (tagged intrinsic).  The output is therefore constant
    in x and must equal ``store_params_values(params)[1]``.  ``target`` is ignored.
    """
    m, n = int(params["m"]), int(params["n"])
    v, _ = store_params_values(params)
    first = affine([[0]], [v], intrinsic=[("b", 0)])
    return network(first, activation(1), store_params_network(m, n))


# ------------------------------------------------------------------------------------------------
# Theorem 2.3, deep variant


def choose_n(lam: Any, alpha: Any, d: int, eps: Any) -> int:
    """The least n ≥ 1 with 5λ d^{α/2} 2^{−αn} ≤ ε/2, decided exactly.

    With α = p/q both sides are positive, so the inequality is equivalent to its 2q-th power
    (5λ)^{2q} d^p ≤ (ε/2)^{2q} 2^{2pn}, an inequality between rationals.
    """
    lam, alpha, eps = as_fmpq(lam), as_fmpq(alpha), as_fmpq(eps)
    if eps <= 0:
        raise UserError(f"eps={eps} is not allowed; use eps > 0")
    if not 0 < alpha <= 1:
        raise UserError(f"alpha={alpha} is not allowed; use 0 < alpha <= 1")
    if lam <= 0:
        return 1
    p, q = int(alpha.p), int(alpha.q)
    lhs = (5 * lam) ** (2 * q) * fmpq(d) ** p
    rhs = (eps / 2) ** (2 * q)
    n = 1
    while lhs > rhs * fmpq(2) ** (2 * p * n):
        n += 1
    return n


def select_powers(d: int, n: int) -> Network:
    """(β_1..β_d, a_1..a_n) ↦ (4^{ϱ(β)} a_1, …, 4^{ϱ(β)} a_n), ϱ(β) = 1 + Σ_i β_i K^{i−1}, K = 2^n;
    exact when β ∈ {0..K−1}^d and a_ℓ ∈ [0, 1/3).  No multiplier: binary selection.

    Start from Y = 4a_ℓ and run over the D = dn binary digits of e = ϱ(β) − 1 (coordinate by
    coordinate, most significant bit of β_i first; digit t of β_i is bit e_k = (i−1)n + t of e):

    * the digit: with w = β_i/K (an n-bit dyadic, shifted left once per digit),
      b = σ(2^{n+1}w − 2^n + 1) − σ(2^{n+1}w − 2^n) is 1 if 2w ≥ 1 and 0 if 2w ≤ 1 − 2^{−n};
      then w ← 2w − b;
    * the select: Y ← Y + σ((c − 1)Y − M(1 − b)), c = 4^{2^{e_k}}, M = 4^{2^{e_k} + J}, which is
      c·Y for b = 1 and Y for b = 0 because 0 ≤ (c − 1)Y < M (Y ≤ (4/3)4^{J−1} throughout).

    The digit of step k and the select of step k − 1 share a hidden layer, so the depth is D + 1
    and the width d + 2 + 2n.  Off the cells (β fractional, b ∈ (0, 1)) every carried value stays
    non-negative (w ∈ [0, 1], 0 ≤ Y ≤ cY), so the ReLU carries remain exact.
    """
    K, D, J = 2 ** n, d * n, (2 ** n) ** d
    nodes: list = []
    # an affine expression over the previous layer: (coefficient dict, constant)
    expr: dict = {("w", j): ({j: fmpq(1, K)}, 0) for j in range(d)}
    expr.update({("Y", l): ({d + l: 4}, 0) for l in range(n)})
    prev_b = None     # (coeffs, const) of the previous digit, None before the first
    dim_prev = d + n

    def lin(*terms):
        coeffs, const = {}, 0
        for scale, (cf, c0) in terms:
            for idx, v in cf.items():
                coeffs[idx] = coeffs.get(idx, 0) + scale * v
            const += scale * c0
        return coeffs, const

    for k in range(D + 1):
        rows: list = []
        names: list = []
        if k < D:
            i, t = divmod(k, n)
            t = n - 1 - t
            for j in range(i, d):
                rows.append(expr[("w", j)]); names.append(("w", j))
            W = expr[("w", i)]
            rows.append(lin((2 ** (n + 1), W), (1, ({}, 1 - 2 ** n)))); names.append(("u1",))
            rows.append(lin((2 ** (n + 1), W), (1, ({}, -2 ** n)))); names.append(("u2",))
        for l in range(n):
            rows.append(expr[("Y", l)]); names.append(("y", l))
        if prev_b is not None:
            e_bit, b = prev_b
            c, M = 4 ** (2 ** e_bit), 4 ** (2 ** e_bit + J)
            for l in range(n):
                rows.append(lin((c - 1, expr[("Y", l)]), (M, b), (1, ({}, -M)))); names.append(("z", l))
        Wm = [[cf.get(col, 0) for col in range(dim_prev)] for cf, _ in rows]
        nodes += [affine(Wm, [c0 for _, c0 in rows]), activation(len(rows))]
        pos = {nm: idx for idx, nm in enumerate(names)}
        # read-outs of this layer for the next one
        new: dict = {}
        if k < D:
            for j in range(i, d):
                new[("w", j)] = ({pos[("w", j)]: 1}, 0)
            new[("w", i)] = ({pos[("w", i)]: 2, pos[("u1",)]: -1, pos[("u2",)]: 1}, 0)
            prev_b = (i * n + t, ({pos[("u1",)]: 1, pos[("u2",)]: -1}, 0))
        for l in range(n):
            cf = {pos[("y", l)]: 1}
            if ("z", l) in pos:
                cf[pos[("z", l)]] = 1
            new[("Y", l)] = (cf, 0)
        expr, dim_prev = new, len(rows)
    nodes.append(affine([[expr[("Y", l)][0].get(col, 0) for col in range(dim_prev)] for l in range(n)],
                        [0] * n))
    body = network(*nodes)
    spec = GadgetSpec(statement="(β, a) ↦ 4^{ϱ(β)}·a exactly for β ∈ {0..K-1}^d, a ∈ [0, 1/3)",
                      source="project (exact replacement of the Lemma A.4 multiplier)")
    return network(gadget("select-powers", body, spec, d=d, n=n))


def three_params_core(d: int, n: int, delta: fmpq) -> Network:
    """(x_1..x_d, a_1..a_n) ↦ φ2(4^{ϱ(g(x))}·a): Σ_ℓ 2^{−ℓ}θ_{ϱ(β),ℓ} on Q_β, in [0, 1] on R^{d+n}."""
    K = 2 ** n
    J = K ** d
    carry = network(linear_identity(n), activation(n))
    body = network(parallel(*([step_function(K, delta)] * d), carry), select_powers(d, n),
                   phi2(n, J))
    spec = GadgetSpec(statement="Σ_ℓ 2^-ℓ θ_{ϱ(β),ℓ} on Q_β when a_ℓ = Σ_j θ_{j,ℓ} 4^-j; values in "
                                "[0, 1] for every real input",
                      range=(fmpq(0), fmpq(1)), source="intrinsic Thm A.1 (deep product variant)")
    return network(gadget("three-params-core", body, spec, d=d, n=n, delta=str(delta)))


def three_params_phi(d: int, n: int, delta: fmpq) -> Network:
    """The f-independent part φ: (σ(x_1 + 1), …, σ(x_d + 1), σ(v)) ↦ value in [0, 1]."""
    K = 2 ** n
    m = 2 * K ** d
    extract = parallel(identity_layers(d, m * n, nonnegative=True), store_params_network(m, n))
    sh = shifts(d, delta)
    # (u, a) ↦ ((u − 1 + shift, a) for every shift)
    rows, bias = [], []
    for shift in sh:
        for i in range(d):
            rows.append([1 if col == i else 0 for col in range(d + n)]); bias.append(shift[i] - 1)
        for l in range(n):
            rows.append([1 if col == d + l else 0 for col in range(d + n)]); bias.append(0)
    core = three_params_core(d, n, delta)
    body = network(extract, affine(rows, bias), parallel(*([core] * len(sh))), mid_tree(d),
                   activation(1))
    spec = GadgetSpec(statement="φ(x, v): Σ_ℓ 2^-ℓ ξ_{β,ℓ} on Q_β for the packed v, mid-repaired; "
                                "values in [0, 1] for every real input",
                      range=(fmpq(0), fmpq(1)), source="intrinsic Thm 2.3 (project's deep variant)")
    return network(gadget("three-params-phi", body, spec, d=d, n=n, delta=str(delta)))


def three_params_values(params: dict, target: Any) -> dict:
    """Everything the builder derives: n, K, m, δ, s, b, the bits ξ, a_1..a_n and v."""
    d = int(params["d"])
    if getattr(target, "dim", d) != d:
        raise UserError(f"target has dimension {target.dim}; the parameter d is {d}")
    eps = as_fmpq(params["eps"])
    n = int(params["n"]) if params.get("n") is not None else choose_n(target.lam, target.alpha, d, eps)
    K = 2 ** n
    m = 2 * K ** d
    s, b = scale_and_shift(target, d)
    bits = quantised_bits(target, d, n, s, b)
    a = pack_coefficients(bits, n)
    return {"d": d, "eps": eps, "n": n, "K": K, "m": m, "delta": delta_linf(d, n, as_fmpq(target.alpha)),
            "s": s, "b": b, "bits": bits, "a": a, "v": pack_params(a, m)}


def build_three_params(params: dict, target: Any) -> Network:
    """Theorem 2.3 (deep variant): x ↦ s·φ(σ(x + 1), σ(v)) + b with exactly three intrinsic
    parameters — the bias v of the first-layer neuron σ(v) and the output weight s and bias b.

    params: {"d": int, "eps": rational, optional "n": int overriding the least admissible n
    (then the ε claim need not hold)}.  With K = 2^n, J = K^d, m = 2J the depth is
    2 + mn + (dn + 2) + (2J + 3) + 2d (first layer, Lemma A.3 chain, step functions and
    selection, bit extraction, mid tree and final ReLU) and the width 3^d·(d(2K − 2) + n)
    (the step-function layer of the 3^d copies) once K is moderately large.  Exact evaluation
    costs grow like mn layers on P = mn-bit numbers: d = 1 with n ≤ 9 is practical.
    """
    vals = three_params_values(params, target)
    d, n, delta = vals["d"], vals["n"], vals["delta"]
    first = affine([[1 if c == i else 0 for c in range(d)] for i in range(d)] + [[0] * d],
                   [1] * d + [vals["v"]], intrinsic=[("b", d)])
    return network(first, activation(d + 1), three_params_phi(d, n, delta),
                   output_map(vals["s"], vals["b"]))


def cell_boxes(d: int, n: int, delta: fmpq, refined: bool = False) -> list[tuple[tuple[fmpq, fmpq], ...]]:
    """The closed cells Q_β (in the order of ϱ); with ``refined`` every Q_β is cut further at
    the kinks of the two shifted copies (k/K + δ and (k+1)/K − 2δ).

    The whole Q_β is not a good box for :func:`certify.analysis.boxes.analyse_boxes`: the copies at
    x ± δ cross their strips inside it, so both get demoted and the median enclosure is loose.
    On each refined piece at most one copy per coordinate is off its cells, and for d = 1 the
    mid gadget's interval extension then gives the degenerate enclosure [c, c] (tested); with
    δ = 1/(3K) every Q_β has exactly two pieces."""
    K = 2 ** n

    def pieces(k: int) -> list[tuple[fmpq, fmpq]]:
        lo, hi = fmpq(k, K), (fmpq(k + 1, K) - delta if k < K - 1 else fmpq(1))
        if not refined:
            return [(lo, hi)]
        cuts = sorted({lo, hi} | {c for c in (lo + delta, fmpq(k + 1, K) - 2 * delta) if lo < c < hi})
        return list(zip(cuts, cuts[1:]))

    out = []
    for beta in grid_points(d, K):
        out += list(itertools.product(*[pieces(bi) for bi in beta]))
    return out
