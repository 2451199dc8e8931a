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
from constructive.numbers import Exact
from proofs.optimal_rate.build import bit_patterns
from proofs.optimal_rate.deepen import random_shallow, shallow_network
from proofs.optimal_rate.interpolation import interpolation_samples


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
    return ErrorReport(worst, worst, wit, set(), {"points": len(points)})


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
    return ErrorReport(worst, worst, wit, set(), {"samples": len(xs), "kinks": len(kinks),
                                                   "kinks_inside_linear_intervals": inside})


def method_deepen_identity(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma 4.2: the deep network equals the seeded widthvec [N, NL] network on all of R^d,
    decided exactly by region enumeration (certify.analysis.regions.check_identity)."""
    d, N, L, seed = (int(params[k]) for k in ("d", "N", "L", "seed"))
    shallow = shallow_network(*random_shallow(d, N, L, seed))
    result = check_identity(net, shallow)
    if result.holds:
        return ErrorReport(fmpq(0), fmpq(0), [], set(), {"regions": result.regions,
                                                         "shallow_widthvec": [N, N * L]})
    err = abs(result.difference)
    wit = [{"x": [str(v) for v in result.witness], "error": str(err)}]
    return ErrorReport(err, arb("inf"), wit, set(), {"regions": result.regions})


def method_partial_bitsums_deep(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Lemma 4.5 on its whole finite domain: φ(bin0.θ_1…θ_(Ln), k) = Σ_(i≤k) θ_i for every
    θ ∈ {0,1}^(Ln) and k = 1..Ln, by exact evaluation at all Ln·2^(Ln) points."""
    bits_total = int(params["n"]) * int(params["L"])
    points = [([theta, fmpq(k)], sum(bits[:k])) for theta, bits in bit_patterns(bits_total)
              for k in range(1, bits_total + 1)]
    worst, wit = exact_on_points(net, points)
    return ErrorReport(worst, worst, wit, set(), {"points": len(points)})


METHODS = methods(
    Method("pl1d-exact", method_pl1d_exact),
    Method("partial-bitsums", method_partial_bitsums),
    Method("two-layer-interp", method_two_layer_interp),
    Method("deepen-identity", method_deepen_identity),
    Method("partial-bitsums-deep", method_partial_bitsums_deep),
)
