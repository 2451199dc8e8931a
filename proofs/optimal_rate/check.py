"""Certification methods of the optimal-rate paper (Shen, Yang, Zhang, JMPA 2022)."""

from __future__ import annotations

from typing import Any

from flint import arb, fmpq

from certify import evidence
from certify.analysis.pl1d import enumerate_1d, pl_from_points
from certify.analysis.regions import check_identity
from certify.method import ErrorReport, Method, methods
from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.gadgets.cpwl import node_value
from constructive.ir import Node
from constructive.numbers import Exact, as_fmpq
from proofs.optimal_rate.build import bit_patterns
from proofs.optimal_rate.deepen import random_shallow, shallow_network
from proofs.optimal_rate.domain_methods import DOMAIN_METHODS
from proofs.optimal_rate.increments import floor_multiples, increment_rows, random_bits, sizes
from proofs.optimal_rate.interpolation import interpolation_samples
from proofs.optimal_rate.pointfit import point_fit_samples
from proofs.optimal_rate.range_checks import range_excess_1d, range_excess_probed
from proofs.optimal_rate.rate_methods import RATE_METHODS


def method_pl1d_exact(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    n = params["n"]
    xs = [fmpq(i, n - 1) for i in range(n)]
    reference = pl_from_points(xs, [node_value(target, x) for x in xs])
    pl = enumerate_1d(net)
    diff = pl.max_abs_difference(reference)
    value, where = diff if isinstance(diff, tuple) else (diff, None)
    if value is None:
        raise UserError("the network and the reference differ unboundedly")
    wit = [{"x": [str(where)], "error": str(value)}] if value else []
    cuts = set(evidence.breakpoints_1d(net)) | set(xs)
    return ErrorReport(value, value, wit, set(), {"breakpoints": len(pl.points)},
                       evidence=evidence.line(cuts))


def exact_on_points(net: Node, points: list[tuple[list, fmpq]]) -> tuple[fmpq, list]:
    """max |φ(x) − y| over the (x, y) of a finite claim, by one exact batched evaluation, and the
    first point where it is reached as the witness."""
    out = evaluate(net, [list(c) for c in zip(*(x for x, _ in points))], Exact())[0]
    worst, wit = fmpq(0), []
    for (x, want), got in zip(points, out):
        if abs(got - want) > worst:
            worst = abs(got - want)
            wit = [{"x": [str(v) for v in x], "error": str(worst), "value": str(got),
                    "claimed": str(want)}]
    return worst, wit


def method_partial_bitsums(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma 4.4 on its whole finite domain: φ(bin0.θ₁…θ_n, i) = Σ_{j≤i} θ_j for every
    θ ∈ {0,1}^n and i = 0..n, by exact evaluation at all (n+1)·2^n points."""
    n = int(params["n"])
    points = [([theta, fmpq(i)], sum(bits[:i])) for theta, bits in bit_patterns(n) for i in range(n + 1)]
    worst, wit = exact_on_points(net, points)
    return ErrorReport(worst, worst, wit, set(), {"points": len(points)}, evidence=evidence.PIECES)


def method_two_layer_interp(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma 4.1 (i): φ(x_i) = y_i at all N1(N2+1)+1 seeded samples, by exact evaluation; (ii)
    is reported in ``details``: the kinks of φ (exact 1-D enumeration) strictly inside an interval
    [x_(i−1), x_i] on which the lemma says φ is linear."""
    N1, N2 = int(params["N1"]), int(params["N2"])
    xs, ys = interpolation_samples(N1, N2, int(params["seed"]))
    worst, wit = exact_on_points(net, [([x], y) for x, y in zip(xs, ys)])
    exceptions = {(N2 + 1) * j for j in range(1, N1 + 1)}
    kinks = enumerate_1d(net).points
    inside = sum(1 for i in range(1, len(xs)) if i not in exceptions
                 for t in kinks if xs[i - 1] < t < xs[i])
    # the samples are the instance's data: the statement's pieces subscript x[i], y[i]
    return ErrorReport(worst, worst, wit, set(), {"samples": len(xs), "kinks": len(kinks),
                                                   "kinks_inside_linear_intervals": inside,
                                                   "x": [str(v) for v in xs],
                                                   "y": [str(v) for v in ys]},
                       evidence=evidence.PIECES)


def method_deepen_identity(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma 4.2: the deep network equals the seeded widthvec [N, NL] network on all of R^d,
    decided exactly by region enumeration (certify.analysis.regions.check_identity)."""
    d, N, L, seed = (int(params[k]) for k in ("d", "N", "L", "seed"))
    shallow = shallow_network(*random_shallow(d, N, L, seed))
    result = check_identity(net, shallow)
    # the kernel's relu-identity compares the two networks' normal forms
    other = {"kind": "network", "network": evidence.stored_network(shallow)[0]}
    if result.holds:
        return ErrorReport(fmpq(0), fmpq(0), [], set(), {"regions": result.regions,
                                                         "shallow_widthvec": [N, N * L]}, evidence=other)
    err = abs(result.difference)
    wit = [{"x": [str(v) for v in result.witness], "error": str(err)}]
    return ErrorReport(err, arb("inf"), wit, set(), {"regions": result.regions}, evidence=other)


def method_partial_bitsums_deep(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma 4.5 on its whole finite domain: φ(bin0.θ_1…θ_(Ln), k) = Σ_(i≤k) θ_i for every
    θ ∈ {0,1}^(Ln) and k = 1..Ln, by exact evaluation at all Ln·2^(Ln) points."""
    bits_total = int(params["n"]) * int(params["L"])
    points = [([theta, fmpq(k)], sum(bits[:k])) for theta, bits in bit_patterns(bits_total)
              for k in range(1, bits_total + 1)]
    worst, wit = exact_on_points(net, points)
    return ErrorReport(worst, worst, wit, set(), {"points": len(points)}, evidence=evidence.PIECES)


def method_index_bitsums(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma 4.6 on its whole finite domain: φ(m, k) = Σ_(j≤k) θ_(m,j) for the seeded bits,
    every m < M = N²L and k < Ln, by exact evaluation at all M·Ln points."""
    N, L = int(params["N"]), int(params["L"])
    bits = random_bits(N, L, int(params["seed"]))
    M, n, Lhat = sizes(N, L)
    points = [([fmpq(m), fmpq(k)], fmpq(sum(bits[m][:k + 1]))) for m in range(M)
              for k in range(Lhat)]
    worst, wit = exact_on_points(net, points)
    # lists, not bit strings: a one-bit row "1" would read as the number 1 (Ln = 1)
    return ErrorReport(worst, worst, wit, set(), {"points": len(points), "M": M, "n": n,
                                                  "theta": [[str(b) for b in row] for row in bits]},
                       evidence=evidence.PIECES)


def _increment_instance(params: dict) -> tuple:
    N, L, eps = int(params["N"]), int(params["L"]), as_fmpq(params["eps"])
    rows = increment_rows(N, L, eps, int(params["seed"]), str(params.get("data", "seeded")))
    return rows, eps, sizes(N, L)


def method_increment_fit(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma 4.7 (i) on its whole finite domain: φ(m, k) = ε⌊y_(m,k)/ε⌋ for every m < M,
    k < Ln, by exact evaluation (this implies |φ − y| ≤ ε there)."""
    rows, eps, (M, n, Lhat) = _increment_instance(params)
    points = [([fmpq(m), fmpq(k)], floor_multiples([rows[m][k]], eps)[0]) for m in range(M)
              for k in range(Lhat)]
    worst, wit = exact_on_points(net, points)
    return ErrorReport(worst, worst, wit, set(), {"points": len(points), "M": M, "n": n,
                                                  "y_max": str(max(max(r) for r in rows)),
                                                  "y": [[str(v) for v in r] for r in rows]},
                       evidence=evidence.PIECES)


def method_increment_fit_range(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma 4.7 (ii): 0 ≤ φ ≤ y_max on all of R², as sup dist(φ, [0, y_max]) = 0; the upper
    bound is the exact range of the network's width-1 tail (the clip), the lower bound exact
    values on the grid and at half-integer probes around it (range_checks)."""
    rows, eps, (M, n, Lhat) = _increment_instance(params)
    probes = [[fmpq(a, 2), fmpq(b, 2)] for a in range(-2, 2 * M + 3) for b in range(-2, 2 * Lhat + 3)]
    y_max = max(max(r) for r in rows)
    upper, lower, wit, details = range_excess_probed(net, y_max, probes)
    details["y"] = [str(v) for r in rows for v in r]  # the samples, row by row (claim.data)
    return ErrorReport(lower, upper, wit, set(), details,
                       evidence=evidence.split(net, fmpq(0), y_max))


def method_point_fit(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Proposition 3.2 at its J points: φ(j) = ε⌊y_j/ε⌋ for j < J (seeded y), exactly."""
    J, eps = int(params["J"]), as_fmpq(params["eps"])
    ys = point_fit_samples(J, eps, int(params["seed"]))
    points = [([fmpq(j)], v) for j, v in enumerate(floor_multiples(ys, eps))]
    worst, wit = exact_on_points(net, points)
    return ErrorReport(worst, worst, wit, set(), {"points": J, "y_max": str(max(ys)),
                                                  "y": [str(v) for v in ys]},
                       evidence=evidence.PIECES)


def method_point_fit_range(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Proposition 3.2's range: 0 ≤ φ ≤ max y on all of R, as sup dist(φ, [0, max y]) = 0,
    decided exactly by 1-D piecewise-linear enumeration of the whole network."""
    J, eps = int(params["J"]), as_fmpq(params["eps"])
    ys = point_fit_samples(J, eps, int(params["seed"]))
    upper, lower, wit, details = range_excess_1d(net, max(ys))
    details["y"] = [str(v) for v in ys]
    return ErrorReport(lower, upper, wit, set(), details,
                       evidence=evidence.line({fmpq(0), fmpq(J)} | set(evidence.breakpoints_1d(net))))


METHODS = methods(
    Method("pl1d-exact", method_pl1d_exact),
    Method("partial-bitsums", method_partial_bitsums),
    Method("two-layer-interp", method_two_layer_interp),
    Method("deepen-identity", method_deepen_identity),
    Method("partial-bitsums-deep", method_partial_bitsums_deep),
    Method("index-bitsums", method_index_bitsums),
    Method("increment-fit", method_increment_fit),
    Method("increment-fit-range", method_increment_fit_range),
    Method("point-fit", method_point_fit),
    Method("point-fit-range", method_point_fit_range),
    *RATE_METHODS,
    *DOMAIN_METHODS,
)
