"""Certification methods of Zhang, Zhao, Zhong, Zhou, "Why shallow networks struggle with
approximating and learning high frequency" (arXiv 2306.17301).

Every method returns a rigorous enclosure [lower, upper] of one scalar whose claimed bound is in
claims.toml; evidence is the exact data the bound was derived from (biases, shifts with their
exact inertia counts, root brackets).  The checker kernel has no checker for these methods and
lists their bounds as trusted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flint import arb, fmpq, fmpq_mat

from certify import evidence
from certify.method import ErrorReport, Method, methods
from certify.progress import advance
from constructive.ir import Node
from proofs.shallow_networks import gram, leaky, roots, spectrum

MODES_TABLE = {(1, 23): 24, (2, 23): 10, (3, 23): 6, (10, 23): 2,
               (1, 52): 1351, (2, 52): 172, (3, 52): 55, (10, 52): 5}  # p. 21


def method_closed_form(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Closed form (p. 8, App. E.1, E.2, ReLU^m) = exact integral, entry by entry."""
    power = int(params["m"]) if str(params["kernel"]) == "power" else 1
    f = gram.features_of(net, power)
    closed, exact = gram.closed_form_gram(f), gram.integral_gram(f)
    worst, wit = fmpq(0), []
    for i in range(f.n):
        for j in range(f.n):
            diff = abs(closed[i, j] - exact[i, j])
            if diff > worst:
                worst = diff
                wit = [{"x": [str(f.breakpoints[i]), str(f.breakpoints[j])], "error": str(diff),
                        "closed_form": str(closed[i, j]), "integral": str(exact[i, j])}]
    details = {"n": f.n, "kernel": str(params["kernel"]), "entries": f.n * f.n}
    if f.activation == "relu" and power == 1 and set(f.signs) == {1}:
        details["second_form_of_eq4_agrees"] = all(
            gram.relu_kernel(x, y) == gram.relu_kernel_expanded(x, y)
            for x in f.breakpoints for y in f.breakpoints)
    if set(f.signs) == {-1, 1}:
        details["G_phi_equals_Gpp_plus_Gpm_reflected"] = all(
            gram.signed_block_kernel(1, 1, x, y) + gram.signed_block_kernel(1, -1, x, -y)
            == gram.symmetrised_kernel(x, y) for x in f.breakpoints for y in f.breakpoints)
    # the kernel reads the features off the stored network and the closed form off the statement
    return ErrorReport(worst, worst, wit, set(), details, evidence={"kind": "gram"})


def method_tan_tanh_roots(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma 1: exactly one root of tan w tanh w = ±1 in each stated interval, k ≤ k_max.
    The scalar is the number of k not shown (upper) / shown false (lower)."""
    k_max = int(params["k_max"])
    unproven, refuted, wit, intervals = 0, 0, [], []
    for k in range(1, k_max + 1):
        lo, hi, s = roots.stated_interval(k)
        r = roots.check_interval(k, lo, hi, s)
        intervals.append([k, str(lo), str(hi), s, r.lo_sign, r.hi_sign, r.bits, r.verdict])
        if r.verdict != "one root":
            unproven += 1
            if r.verdict != "undecided":
                refuted += 1
                wit = wit or [{"x": [str(k)], "error": "1", "interval_over_pi": [str(lo), str(hi)],
                               "roots_found": r.roots}]
    w_max = float(roots.stated_interval(k_max)[1]) * np.pi
    return ErrorReport(fmpq(refuted), fmpq(unproven), wit, set(),
                       {"k_max": k_max, "largest_bits": roots.bits_for(w_max, 3.0),
                        "intervals": intervals}, evidence=evidence.PIECES)


def method_tan_tanh_gaps(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Corollary 2 for k ≤ k_max; the scalar counts the k not shown (upper) / shown false."""
    k_max = int(params["k_max"])
    unproven, rows = 0, []
    for k in range(1, k_max + 1):
        advance("Corollary 2", k, k_max)
        ok, info = roots.corollary2(k)
        unproven += not ok
        rows.append(info)
    return ErrorReport(fmpq(0), fmpq(unproven), [], set(),
                       {"k_max": k_max, "margins_first": rows[:4], "margin_last": rows[-1]},
                       evidence={"kind": "brackets", "r": [row.get("r", "0") for row in rows]})


def method_leaky_leading(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Corollary 42 on the grid α = i/(points + 1): the scalar is
    max_α max(0.941² − ‖v‖²/2, ∫∫G_α² − 2.754²) (≤ 0 proves μ_(α,1) ∈ [0.941, 2.754]); the
    lower end max_α max(0.941² − ∫∫G_α², ‖v‖²/2 − 2.754²) > 0 would refute it."""
    points = int(params["points"])
    lo2, hi2 = leaky.LOWER ** 2, leaky.UPPER ** 2
    upper = lower = None
    rows = []
    for i in range(1, points + 1):
        alpha = fmpq(i, points + 1)
        low_sq, hs_sq = leaky.bounds_at(alpha)
        u, lw = max(lo2 - low_sq, hs_sq - hi2), max(lo2 - hs_sq, low_sq - hi2)
        upper = u if upper is None else max(upper, u)
        lower = lw if lower is None else max(lower, lw)
        rows.append({"alpha": str(alpha), "lower_sq": str(low_sq), "hs_sq": str(hs_sq),
                     "lower": f"{float(low_sq) ** 0.5:.6f}", "upper": f"{float(hs_sq) ** 0.5:.6f}"})
    as_q = (lambda r: fmpq(int(r.p), int(r.q)))
    details = {"points": points, "grid": rows[:: max(1, points // 5)],
               "whole_interval": leaky.holds_on_unit_interval()}
    # the kernel integrates the statement's G_alpha itself (check operator-norm)
    return ErrorReport(as_q(lower), as_q(upper), [], set(), details, evidence=evidence.PIECES)


def _spectrum(net: Node, every: bool) -> tuple[gram.Features, spectrum.Enclosures]:
    """Enclosures of the Gram spectrum; tight windows for every λ_k or for λ₁ and λ_n only."""
    f = gram.features_of(net)
    if set(f.signs) != {1} or f.activation != "relu":
        raise ValueError("the spectrum certifier is for ReLU features with w = 1")
    tight = set(range(1, f.n + 1)) if every else {1, f.n}
    return f, spectrum.enclose(list(f.breakpoints), tight=tight, bisect={1: 24, f.n: 24},
                               progress=lambda done, total: advance("inertia counts", done, total))


def _ball(lo: fmpq, hi: fmpq) -> arb:
    return arb(lo).union(arb(hi))


def _slope(enc: spectrum.Enclosures, k_lo: int, k_hi: int) -> arb:
    """The least-squares slope of log λ_k against log k over k_lo..k_hi, as a ball."""
    ks = range(k_lo, k_hi + 1)
    xs = [arb(k).log() for k in ks]
    mean = sum(xs, arb(0)) / len(xs)
    denom = sum(((x - mean) ** 2 for x in xs), arb(0))
    return sum(((x - mean) * _ball(enc.lower[k - 1], enc.upper[k - 1]).log()
                for x, k in zip(xs, ks)), arb(0)) / denom


def _evidence(f: gram.Features, enc: spectrum.Enclosures) -> dict:
    return {"kind": "gram",
            "lower": [str(v) for v in enc.lower], "upper": [str(v) for v in enc.upper],
            "argument": "T (G - sI) T^T = M - sN banded, Sylvester inertia counts (spectrum.py)"}


def method_gram_kernel_spectrum(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Theorem 3: max_k |λ_k − (n/2)μ_k| with certified λ_k (exact inertia counts) and
    μ_k = w_k^(−4) (certified root brackets)."""
    f, enc = _spectrum(net, every=True)
    n = f.n
    worst_up, worst_lo, arg, first, brackets = arb(0), arb(0), 1, [], []
    for k in range(1, n + 1):
        advance("roots w_k", k, n)
        mu, r_lo, r_hi = roots.mu_enclosure(k)
        brackets.append([str(r_lo), str(r_hi)])
        lam = _ball(enc.lower[k - 1], enc.upper[k - 1])
        diff = abs(lam - mu * n / 2)
        if k <= 4:
            first.append({"k": k, "lambda_k": lam.str(8), "n_mu_k_over_2": (mu * n / 2).str(8)})
        if diff.upper() > worst_up.upper():
            worst_up, arg = diff, k
        worst_lo = worst_lo.max(arb(diff.lower()))
    details: dict = {"n": n, "argmax_k": arg, "max_deviation": worst_up.str(8), "first": first,
                     "lambda_1": _ball(enc.lower[0], enc.upper[0]).str(12),
                     "six_n3_lambda_min": (_ball(enc.lower[-1], enc.upper[-1]) * 6 * n ** 3).str(8),
                     "inertia_counts": enc.counts}
    if n >= 60:
        details["slope_k10_60"] = _slope(enc, 10, 60).str(6)
    for name, eps in (("single", fmpq(1, 2 ** 23)), ("double", fmpq(1, 2 ** 52))):
        cut = enc.upper[0] * n * eps  # λ_k ≥ nελ₁ for sure when lower_k ≥ n ε upper_1
        details[f"modes_above_n_eps_lambda1_{name}"] = sum(1 for v in enc.lower if v >= cut)
    return ErrorReport(worst_lo.lower(), worst_up.upper(), [], set(), details,
                       evidence=dict(_evidence(f, enc), roots=brackets))


def method_gram_condition(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Theorem 4: the scalar n³/κ = n³ λ_n/λ₁ (κ ≥ n³/bound), λ₁ and λ_n certified."""
    f, enc = _spectrum(net, every=False)
    n = f.n
    upper = fmpq(n ** 3) * enc.upper[-1] / enc.lower[0]
    lower = fmpq(n ** 3) * enc.lower[-1] / enc.upper[0]
    kappa = _ball(enc.lower[0], enc.upper[0]) / _ball(enc.lower[-1], enc.upper[-1])
    details = {"n": n, "kappa": kappa.str(6), "kappa_over_n4": (kappa / n ** 4).str(6),
               "six_n3_lambda_min": (_ball(enc.lower[-1], enc.upper[-1]) * 6 * n ** 3).str(8),
               "lambda_1": _ball(enc.lower[0], enc.upper[0]).str(10)}
    return ErrorReport(lower, upper, [], set(), details, evidence=_evidence(f, enc))


def method_gram_rank(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """The scalar n − rank G (exact fmpq_mat rank): 0 for a nonsingular Gram matrix.  A zero row
    is the witness: G e_i = 0 exactly, so e_i spans part of the kernel."""
    f = gram.features_of(net)
    G = gram.closed_form_gram(f)
    deficiency = f.n - G.rank()
    wit = []
    for i in range(f.n):
        if all(G[i, j] == 0 for j in range(f.n)):
            e = fmpq_mat(f.n, 1)
            e[i, 0] = 1
            assert all(v == 0 for v in (G * e).entries())
            wit.append({"x": [str(f.breakpoints[i])], "error": str(deficiency), "zero_row": i + 1,
                        "null_vector": f"e_{i + 1}", "why": "sigma(x - 1) = 0 on [-1, 1]"})
            break
    return ErrorReport(fmpq(deficiency), fmpq(deficiency), wit, set(),
                       {"n": f.n, "rank": G.rank(), "largest_bias": str(max(f.breakpoints))},
                       evidence={"kind": "gram"})


def method_resolvable_modes(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """The table of p. 21: nearest integer of 2^(bits/(2d + 3)) against the printed counts; the
    scalar is the largest |difference| (each nearest integer decided in arb)."""
    worst, rows, wit = 0, [], []
    for (d, bits), printed in MODES_TABLE.items():
        value = arb(2) ** (arb(bits) / (2 * d + 3))
        nearest = int((value + arb(fmpq(1, 2))).floor().unique_fmpz())
        rows.append({"d": d, "mantissa_bits": bits, "value": value.str(8), "nearest": nearest,
                     "printed": printed})
        if abs(nearest - printed) > worst:
            worst = abs(nearest - printed)
            wit = [{"x": [str(d), str(bits)], "error": str(worst), "nearest": nearest,
                    "printed": printed}]
    return ErrorReport(fmpq(worst), fmpq(worst), wit, set(), {"rows": rows},
                       evidence=evidence.PIECES)


METHODS = methods(
    Method("gram-closed-form", method_closed_form),
    Method("tan-tanh-roots", method_tan_tanh_roots),
    Method("tan-tanh-gaps", method_tan_tanh_gaps),
    Method("leaky-leading-eigenvalue", method_leaky_leading),
    Method("gram-kernel-spectrum", method_gram_kernel_spectrum),
    Method("gram-condition-number", method_gram_condition),
    Method("gram-rank", method_gram_rank),
    Method("resolvable-modes", method_resolvable_modes),
)
