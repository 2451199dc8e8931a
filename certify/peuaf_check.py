"""Certification methods of ``proofs/peuaf.toml`` (PEUAF paper, arXiv 2407.09580)."""

from __future__ import annotations

from typing import Any

import sympy as sp
from flint import arb, fmpq, fmpq_mat, fmpq_poly, fmpz_mat

from certify.error import ErrorReport
from certify.fixed_sigma_check import Rat, X, identity_on
from constructive.evaluate import evaluate
from constructive.numbers import as_fmpq, precision


def certify_witness(thm: Any, params: dict, target: Any, net: Any) -> ErrorReport:
    """PEUAF_w ∈ 𝒜: (i) x ↦ PEUAF_w(x/w) equals σ₁ on [0, 2R] by exact cell analysis against
    the pieces x − 2n / 2n + 2 − x; with PEUAF_w(x/w) = σ₁(w·x/w) for x ≥ 0 and the period 2 of σ₁
    this gives all of [0, ∞); (ii) the softsign t/(1−t) is analytic on (−∞, 0) and not a polynomial
    (its third derivative 6/(1−t)⁴ never vanishes); (iii) PEUAF_1 = σ at rational points."""
    from constructive.euaf import peuaf, sigma_exact

    periods = int(params.get("periods", 4))
    ok, ncells = True, 0
    for n in range(periods):
        for a, b, ref in ((2 * n, 2 * n + 1, Rat(X - 2 * n, fmpq_poly([1]))),
                          (2 * n + 1, 2 * n + 2, Rat(fmpq_poly([2 * n + 2, -1]), fmpq_poly([1])))):
            good, c = identity_on(net, ref, fmpq(a), fmpq(b))
            ok &= good
            ncells += c
    t = sp.Symbol("t")
    soft = t / (1 - t)
    d3 = sp.simplify(sp.diff(soft, t, 3))
    analytic = sp.simplify(d3 - 6 / (1 - t) ** 4) == 0  # ≠ 0 on (−∞, 0): not a polynomial
    pts = [fmpq(k, 7) for k in range(-21, 22)]
    peuaf1 = all(peuaf(1).exact(x) == sigma_exact(x) for x in pts)
    holds = ok and analytic and peuaf1
    return ErrorReport(lower=fmpq(0), upper=fmpq(0) if holds else fmpq(1),
                       details={"triangle_wave_cells": ncells, "triangle_wave_identity": ok,
                                "interval_checked": f"[0, {2 * periods}] (period 2 covers [0, oo))",
                                "softsign_third_derivative": str(d3), "not_polynomial": analytic,
                                "peuaf_1_equals_sigma": peuaf1})


def _gamma_bound(x0: fmpq, delta: fmpq, M: fmpq) -> fmpq:
    """M²·(((1−x₀)/(1−x₀−2δM))³ − 1): by Γ_δ − xy = xy·(∫∫ ρ″(x₀+δ(sx+ty)) ds dt/ρ″(x₀) − 1)
    and the monotone ratio ((1−x₀)/(1−x₀−u))³ on |u| ≤ 2δM (needs x₀ + 2δM ≤ 0)."""
    return M * M * (((1 - x0) / (1 - x0 - 2 * delta * M)) ** 3 - 1)


def certify_second_difference(thm: Any, params: dict, target: Any, net: Any) -> ErrorReport:
    x0, delta, M = as_fmpq(params["x0"]), as_fmpq(params["delta"]), as_fmpq(params["M"])
    from certify.errors import UserError

    if 20 * delta * M > 1 - x0 or x0 >= 0:
        raise UserError(f"x0={x0}, delta={delta}, M={M} are not allowed; the claim needs x0 < 0 and "
                        "20 delta M <= 1 - x0 (arguments stay in the softsign part)")
    # the network's weights are read back: Γ = c·(ρ(A₁) − ρ(A₂) − ρ(A₃) + ρ(A₄))
    A, out = net.nodes[0], net.nodes[2]
    want_first = [[delta, delta], [0, delta], [delta, 0], [0, 0]]
    structure = all(A.W[i, j] == want_first[i][j] for i in range(4) for j in range(2)) and \
        all(A.b[i, 0] == x0 for i in range(4))
    c = 1 / (delta ** 2 * 2 / (1 - x0) ** 3)
    structure &= [out.W[0, j] for j in range(4)] == [c, -c, -c, c] and out.b[0, 0] == 0
    upper = _gamma_bound(x0, delta, M) if structure else fmpq(10) ** 9
    n = 8
    grid = [M * fmpq(2 * k - n, n) for k in range(n + 1)]
    pts = [(x, y) for x in grid for y in grid]
    vals = evaluate(net, [[p[0] for p in pts], [p[1] for p in pts]])[0]
    lower, wit = fmpq(0), []
    for (x, y), v in zip(pts, vals):
        e = abs(v - x * y)
        if e > lower:
            lower, wit = e, [{"x": [str(x), str(y)], "error_lower": str(e)}]
    zero_exact = all(evaluate(net, [[x], [fmpq(0)]])[0][0] == 0 for x in grid)
    return ErrorReport(lower=lower, upper=upper, witnesses=wit,
                       details={"bound_formula": "M^2 (((1-x0)/(1-x0-2 delta M))^3 - 1) = O(delta)",
                                "upper_float": float(upper), "grid_max_error": float(lower),
                                "structure_read_back": structure, "gamma(x, 0) = 0 exactly": zero_exact,
                                "method": "integral form of the second difference with the exact "
                                          "extremes of rho''(x0+u)/rho''(x0); exact evaluation on a "
                                          "9x9 grid for the lower bound"})


def no_relation_below(values: list[arb], H: int, bits: int) -> tuple[bool, dict]:
    """Rigorously: no integer vector c ≠ 0 with max|c_k| ≤ H has Σ c_k a_k = 0.

    Lattice rows (e_k, r_k) with integers r_k, |r_k − N a_k| ≤ 1 (N = 2^bits).  A relation gives
    the lattice vector (c, Σ c_k r_k) with |Σ c_k r_k| = |Σ c_k (r_k − N a_k)| ≤ K H, so its
    squared length is ≤ K H² + K² H².  Every non-zero lattice vector is at least as long as the
    shortest Gram–Schmidt vector of any basis; LLL and exact Gram–Schmidt (fmpq) give that."""
    K = len(values)
    N = 1 << bits
    rows = []
    for k, a in enumerate(values):
        v = a * N
        r = int(v.mid().floor().unique_fmpz())
        if not (abs(v - r) <= 1):
            return False, {"reason": "values not precise enough"}
        rows.append([1 if j == k else 0 for j in range(K)] + [r])
    red = fmpz_mat(rows).lll()
    B = [[fmpq(int(red[i, j])) for j in range(K + 1)] for i in range(K)]
    gs: list[list[fmpq]] = []
    norms = []
    for b in B:
        v = list(b)
        for g, gn in zip(gs, norms):
            mu = sum((x * y for x, y in zip(b, g)), fmpq(0)) / gn
            v = [x - mu * y for x, y in zip(v, g)]
        gs.append(v)
        norms.append(sum((x * x for x in v), fmpq(0)))
    shortest_gs = min(norms)
    need = K * H * H + K * K * H * H
    return shortest_gs > need, {"min_gram_schmidt_sq": str(shortest_gs), "relation_sq_at_most": need,
                                "N_bits": bits}


def certify_independence(thm: Any, params: dict, target: Any, net: Any) -> ErrorReport:
    from constructive.peuaf import independence_values

    K, H = int(params["K"]), int(params["H"])
    lo, hi = as_fmpq(params["lo"]), as_fmpq(params["hi"])
    bits = K * (H.bit_length() + (K * K).bit_length() + 4) + 32
    vals = independence_values(K, lo, hi, bits + 64)
    with precision(bits + 64):
        ok, info = no_relation_below(vals, H, bits)
    import mpmath

    with mpmath.workdps(int(bits * 0.31) + 20):
        rel = mpmath.pslq([mpmath.mpf(v.mid().str(int(bits * 0.31) + 10, radius=False)) for v in vals],
                          maxcoeff=H, maxsteps=10 ** 5)
    info.update(pslq_relation=None if rel is None else [int(c) for c in rel], K=K, H=H,
                values=[v.str(12, radius=False) for v in vals],
                w0="pi*(hi-lo)/(8K) (transcendental, |w0| < (hi-lo)/(2K))")
    return ErrorReport(lower=fmpq(0), upper=fmpq(0) if ok and rel is None else fmpq(1), details=info)
