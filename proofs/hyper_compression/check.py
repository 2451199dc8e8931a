"""Certification methods of the hyper-compression package: the covering radius of the codec's
winding codebook (k = 1 exactly with its three-distance gap structure, k = 2 exactly by clipped
Voronoi cells, k ≥ 3 bracketed by box branch-and-bound) and the codec's per-weight round-trip
error against that radius, all in exact arithmetic.

The network handed in is the encoder's score layer (row θ = (2p_θ, −|p_θ|²)); its codebook must
be the codec's winding exactly (checked entry by entry), otherwise nothing is shown (upper bound
∞, INCONCLUSIVE) — the claims are about the codec's codebook, not about an arbitrary point set.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from flint import arb, fmpq

from certify import evidence
from certify.method import ErrorReport, Method, methods
from certify.progress import advance
from constructive.errors import UserError
from constructive.ir import Node
from proofs.hyper_compression import boxes, gaps, voronoi
from proofs.hyper_compression.points import (FRAC_BITS, PointSet, codec_direction, first_difference,
                                             read_codebook)

SQRT_BITS = 64  # the covering radius is √(exact rational): enclosed between binary fractions 2^-64 apart
BNB_TOL = Fraction(1, 32)  # the box bound certifies (1 + tol) × the exact lower bound
BNB_MAX_BOXES = 2_000_000


def sqrt_bounds(q: fmpq) -> tuple[fmpq, fmpq]:
    """Binary fractions lo ≤ √q ≤ hi with hi − lo = 2^-SQRT_BITS (exact integer square roots)."""
    num, den = int(q.p), int(q.q)
    s = math.isqrt((num << (2 * SQRT_BITS)) // den)
    hi = s if s * s * den == num << (2 * SQRT_BITS) else s + 1
    return fmpq(s, 1 << SQRT_BITS), fmpq(hi, 1 << SQRT_BITS)


def _codebook(net: Node, k: int, a_fixed: tuple[int, ...]) -> tuple[PointSet, dict]:
    points = read_codebook(net)
    if points.k != k:
        raise UserError(f"the score layer takes {points.k} inputs; this entry is about k = {k}")
    diff = first_difference(points, a_fixed)
    info = {"direction_fixed": list(a_fixed), "frac_bits": FRAC_BITS, "denominator": points.den,
            "codebook_is_winding": diff is None}
    if diff is not None:
        info["first_differing_theta"] = diff
    return points, info


def _unknown(details: dict, lower: fmpq) -> ErrorReport:
    """Nothing shown: the network's codebook is not the codec's (the claim is not about it)."""
    details.setdefault("why_no_bound", "the score layer's codebook differs from the codec's winding")
    return ErrorReport(lower=lower, upper=arb("inf"), details=details)


def covering_k1(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Exact gaps (three-distance theorem) and the exact covering radius on [0, 1] or the circle."""
    domain = params["domain"]
    points, details = _codebook(net, 1, codec_direction(1))
    structure = gaps.three_distance(points)
    radius = gaps.covering_radius_1d(points, domain)
    recheck = gaps.nearest_distance_1d(points, radius.worst, domain)
    details.update(
        domain=domain, norm="|x - y| (circle distance on the torus)", points=points.n,
        gaps={str(g): c for g, c in sorted(structure.gaps.items())},
        predicted_gaps={str(g): c for g, c in sorted(structure.predicted.items())},
        distinct_gaps=len(structure.gaps), three_distance_holds=structure.agrees and len(structure.gaps) <= 3,
        u=structure.u, v=structure.v, radius=str(radius.radius), worst_point=str(radius.worst),
        radius_times_n=float(radius.radius * points.n))
    if recheck != radius.radius:  # the exact nearest distance of the worst point must be the radius
        raise AssertionError(f"covering radius {radius.radius} but the worst point is {recheck} away")
    if not details["codebook_is_winding"] or not details["three_distance_holds"]:
        if not details["three_distance_holds"]:
            details["why_no_bound"] = "the gaps are not the three-distance theorem's"
        return _unknown(details, radius.radius)
    return ErrorReport(lower=radius.radius, upper=radius.radius,
                       witnesses=[{"x": [str(radius.worst)], "error_lower": str(radius.radius)}],
                       details=details, evidence=evidence.PIECES)


def covering_k2(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Exact Euclidean covering radius by clipped Voronoi cells."""
    domain = params["domain"]
    points, details = _codebook(net, 2, codec_direction(2))
    result = voronoi.covering_radius_2d(points, domain, progress=lambda d, t: advance("Voronoi cells", d, t))
    lower, _ = sqrt_bounds(result.lower_sq)
    _, upper = sqrt_bounds(result.radius_sq)
    details.update(
        domain=domain, norm="Euclidean (the codec's nearest-codeword metric)", points=points.n,
        radius_squared=str(result.radius_sq), exact=result.exact,
        worst_vertex=[str(c) for c in result.worst], worst_cell_owner_theta=result.owner,
        cell_vertices=result.vertices, clips=result.clips, refinements=result.refinements,
        radius_times_sqrt_n=float(result.radius_sq * points.n) ** 0.5)
    if not details["codebook_is_winding"]:
        return _unknown(details, lower)
    return ErrorReport(lower=lower, upper=upper,
                       witnesses=[{"x": [str(c) for c in result.worst], "error_lower": str(lower)}],
                       details=details, evidence=result.evidence())


def covering_bnb(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Covering radius of [0, 1]^k bracketed: exact lower bound, box branch-and-bound upper bound."""
    k = max(3, int(net.in_dim))  # the method serves any k >= 3; the entry's network says which
    points, details = _codebook(net, k, codec_direction(k))
    def progress(done: int, level: int) -> None:
        advance("box branch-and-bound", done, BNB_MAX_BOXES)

    result = boxes.covering_upper_bound(points, BNB_TOL, BNB_MAX_BOXES, progress=progress)
    lower, _ = sqrt_bounds(result.lower_sq)
    _, upper = sqrt_bounds(result.upper_sq)
    details.update(
        domain="cube", norm="Euclidean (the codec's nearest-codeword metric)", points=points.n,
        lower_squared=str(result.lower_sq), upper_squared=str(result.upper_sq), tolerance=str(BNB_TOL),
        worst_point=[str(c) for c in result.worst], leaves=result.leaves, boxes=result.boxes,
        boxes_per_level=result.levels, deepest_level=result.deepest, exact_rejections=result.exact_rejections,
        upper_times_root_n=float(result.upper_sq) ** 0.5 * points.n ** (1 / k))
    if not details["codebook_is_winding"]:
        return _unknown(details, lower)
    return ErrorReport(lower=lower, upper=upper,
                       witnesses=[{"x": [str(c) for c in result.worst], "error_lower": str(lower)}],
                       details=details, evidence=result.evidence())


def roundtrip(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """The codec's actual output on a seeded tensor against s·R + rounding, per weight, exactly."""
    from gpu.hyperfunction import codec
    from proofs.hyper_compression import roundtrip as rt

    k, bits = int(params["k"]), int(params["bits"])
    tensor = rt.seeded_tensor(int(params["rows"]), int(params["cols"]), int(params["seed"]))
    encoded = codec.get_codec("winding", k=k).encode(tensor, bits, name="seeded")
    decoded = codec.decode(encoded)
    a_fixed = tuple(int(a) for a in encoded.params["direction_fixed"])
    points, details = _codebook(net, k, a_fixed)
    if points.n != int(encoded.params["n"]):
        raise UserError(f"the score layer has {points.n} codewords, "
                        f"the codec stored n = {encoded.params['n']}")
    cells = None
    if k == 1:
        radius_sq = gaps.covering_radius_1d(points, "cube").radius ** 2
        how = "exact (sorted gaps)"
    elif k == 2:
        cells = voronoi.covering_radius_2d(points, "cube")
        radius_sq = cells.radius_sq
        how = "exact (clipped Voronoi cells)"
    else:
        radius_sq = boxes.covering_upper_bound(points, BNB_TOL, BNB_MAX_BOXES).upper_sq
        how = f"certified upper bound (box branch-and-bound, tolerance {BNB_TOL})"
    check = rt.check_roundtrip(tensor, encoded, decoded, list(points.coords), points.den, radius_sq,
                               sqrt_bounds(radius_sq)[1])
    lower, upper = sqrt_bounds(check.worst_ratio_sq)
    details.update(
        k=k, bits=bits, n=points.n, block=int(encoded.params["block"]), weights=check.weights,
        blocks=check.blocks, radius_squared=str(radius_sq), radius_how=how,
        worst_weight=check.worst_index, worst_error=str(check.worst_error),
        max_abs_error=str(check.max_abs_error), max_abs_error_float=float(check.max_abs_error),
        decoder_rounding_ok=check.decode_ok, bits_per_weight=encoded.bits_per_weight(),
        every_weight_within_its_bound=check.total_ok, largest_weight_bound=str(check.largest_bound),
        largest_weight_bound_float=float(check.largest_bound),
        bound="|w - v| <= s*R + 2^-40*s per weight (v the exact decode), "
              "|w_hat - v| <= 2^-24|w_hat| + 2^-52|v|")
    if check.decode_first_bad is not None:
        details["decoder_first_bad_weight"] = check.decode_first_bad
    if not details["codebook_is_winding"] or not check.decode_ok or not check.total_ok:
        if not (check.decode_ok and check.total_ok):
            details["why_no_bound"] = ("the codec's float output is not the exact decode up to rounding"
                                       if not check.decode_ok else "a weight exceeds its round-trip bound")
        return _unknown(details, lower)
    # the kernel's codec-roundtrip: the exact arrays, and for k = 2 the cells' neighbours
    ev = dict(check.evidence, **({"neighbours": cells.evidence()["neighbours"]} if cells is not None else {}))
    return ErrorReport(lower=lower, upper=upper, details=details,
                       evidence=ev if k < 3 else {"kind": "codec"})  # k = 3: the kernel does not follow it


def precheck_roundtrip(params: dict) -> None:
    k, bits = int(params["k"]), int(params["bits"])
    limit = {1: 8, 2: 6, 3: 4}[k]
    if bits > limit:
        raise UserError(f"bits = {bits} is beyond {limit} for k = {k} (codebook of 2^(k*bits) points; "
                        "the exact covering radius is computed for it)")
    if int(params["rows"]) * int(params["cols"]) > 1 << 16:
        raise UserError("rows*cols must be at most 65536 (every weight is checked in exact arithmetic)")


METHODS = methods(
    Method("hc-three-distance", covering_k1),
    Method("hc-voronoi-covering", covering_k2),
    Method("hc-box-covering", covering_bnb),
    Method("hc-codec-roundtrip", roundtrip, precheck=precheck_roundtrip),
)
