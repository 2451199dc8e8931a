"""Certification methods for Proposition 3.1 and Theorems 2.1/1.1 of the optimal-rate paper.

Prop 3.1 (``step-function``): exact 1-D enumeration of φ on [0, 1]; on every claimed step
[k/K, (k+1)/K − δ·1{k ≤ K−2}] the PL function is compared with k at both ends and at every
breakpoint inside (a PL function's extremes on an interval are there).

Theorems (``syz-cells``, ``syz-cells-lp``, ``syz-cells-mid``): see :mod:`proofs.optimal_rate.cells`.
"""

from __future__ import annotations

import bisect
from dataclasses import replace
from typing import Any

from flint import arb, fmpq

from certify import evidence
from certify.analysis.pl1d import enumerate_1d
from certify.method import ErrorReport, Method
from constructive.ir import Affine, Network, Node
from constructive.numbers import as_fmpq, precision
from proofs.optimal_rate.cells import method_cells_linf, method_cells_lp, method_cells_offtrifling
from proofs.optimal_rate.rate import budget_params, depth31_params, to_cube
from proofs.optimal_rate.stepfn import step_counts


def step_intervals(K: int, delta: fmpq) -> list[tuple[fmpq, fmpq]]:
    """Prop 3.1's claimed steps [k/K, (k+1)/K − δ·1{k ≤ K−2}], k = 0..K−1."""
    return [(fmpq(k, K), fmpq(k + 1, K) - (delta if k <= K - 2 else 0)) for k in range(K)]


def step_error(net: Node, K: int, delta: fmpq) -> tuple[fmpq, list, int]:
    """max over the steps of |φ − k|, exactly, with a witness; and the number of breakpoints."""
    pl = enumerate_1d(net, 0, 1)
    pts = pl.points
    worst, wit = fmpq(0), []
    for k, (a, b) in enumerate(step_intervals(K, delta)):
        inner = pts[bisect.bisect_right(pts, a):bisect.bisect_left(pts, b)]
        for x in (a, b, *inner):
            e = abs(pl(x)[0] - k)
            if e > worst:
                worst, wit = e, [{"x": [str(x)], "error": str(e), "step": k}]
    return worst, wit, len(pts)


def method_step_function(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    N, L, d = int(params["N"]), int(params["L"]), int(params["d"])
    K = step_counts(N, L, d)["K"]
    delta = fmpq(1, 3 * K * int(params["q"]))
    worst, wit, points = step_error(net, K, delta)
    return ErrorReport(worst, worst, wit, set(), {"K": K, "delta": str(delta), "breakpoints": points},
                       evidence=evidence.PIECES)


def method_cells_mid_budget(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Corollary 1.2: Theorem 1.1 (p = ∞) at the N, L the budget (Ñ, L̃) allows."""
    return method_cells_linf(thm, budget_params(params), target, net)


def method_cells_mid_depth31(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """The 1-D depth-31 statement: Theorem 1.1 (p = ∞) at d = 1, L = 1."""
    return method_cells_linf(thm, depth31_params(params), target, net)


def method_cells_bounded(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Theorem 2.5 (E = [−R, R]^d): the first map must be exactly x ↦ (x + R)/(2R) (read from the
    network); then sup_E |f − φ| = sup_[0,1]^d |g − rest|, certified as Theorem 1.1 (p = ∞)."""
    first, rest = _split_first(net, to_cube(int(params["d"]), as_fmpq(params["R"])))
    if first is None:
        with precision(192):
            return ErrorReport(fmpq(0), arb("inf"), [], set(),
                               {"failure": "the first map is not x -> (x + R)/(2R)"})
    return _cuts_to_E(method_cells_linf(thm, params, target, rest), as_fmpq(params["R"]))


def _cuts_to_E(report: ErrorReport, R: fmpq) -> ErrorReport:
    """The grid evidence of the cube's coordinates u moved to x = 2Ru − R: the kernel evaluates
    the whole network (the first map included) on E = [−R, R]^d (``claim.box``, ``rescale``)."""
    def to_E(c: Any) -> str:
        return str(2 * R * fmpq(c) - R) if isinstance(c, str) else c

    ev = report.evidence
    wit = [dict(w, x=[to_E(v) for v in w["x"]],
                **({"box": [[to_E(a), to_E(b)] for a, b in w["box"]]} if "box" in w else {}))
           for w in report.witnesses]
    if not ev or ev.get("kind") != "grid":
        return replace(report, witnesses=wit)
    return replace(report, witnesses=wit,
                   evidence=evidence.grid([[fmpq(to_E(c)) for c in axis] for axis in ev["cuts"]]))


def method_cells_lp_bounded(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Theorem 2.5 for p < ∞ (E = [−R, R]^d): the first map must be exactly x ↦ (x + R)/(2R);
    then ‖f − φ‖_{L^p(E)} = (2R)^{d/p} ‖g − rest‖_{L^p([0,1]^d)} (the change of variables has
    Jacobian (2R)^d), the latter certified as Theorem 1.1 (p < ∞), both bounds scaled."""
    d, R, p = int(params["d"]), as_fmpq(params["R"]), as_fmpq(params["p"])
    first, rest = _split_first(net, to_cube(d, R))
    if first is None:
        with precision(192):
            return ErrorReport(fmpq(0), arb("inf"), [], set(),
                               {"failure": "the first map is not x -> (x + R)/(2R)"})
    inner = method_cells_lp(thm, params, target, rest)
    with precision(192):
        scale = arb(2 * R) ** (arb(d) / arb(p))
        report = ErrorReport(arb(inner.lower) * scale, arb(inner.upper) * scale, [], inner.gadgets_used,
                             {**inner.details, "volume_factor": f"(2R)^(d/p) = {scale.str(12)}"},
                             inner.range_ok, inner.hypothesis_ok, evidence=inner.evidence)
    return _cuts_to_E(report, R)


def _split_first(net: Node, want: Affine) -> tuple[Any, Any]:
    """(first map, the rest) when the network starts with exactly ``want``, else (None, None)."""
    nodes = net.nodes if isinstance(net, Network) else ()
    first = nodes[0] if nodes else None
    if not (isinstance(first, Affine) and first.W == want.W and first.b == want.b):
        return None, None
    return first, Network(tuple(nodes[1:]))


RATE_METHODS = (
    Method("step-function", method_step_function),
    Method("syz-cells", method_cells_offtrifling),
    Method("syz-cells-lp", method_cells_lp),
    Method("syz-cells-mid", method_cells_linf),
    Method("syz-cells-mid-budget", method_cells_mid_budget),
    Method("syz-cells-mid-depth31", method_cells_mid_depth31),
    Method("syz-cells-mid-bounded", method_cells_bounded),
    Method("syz-cells-lp-bounded", method_cells_lp_bounded),
)
