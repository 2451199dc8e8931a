"""Theorem 2.5 of the optimal-rate paper on a bounded domain E ⊊ [−R, R]^d (txt p. 14–15).

E is a finite union of closed axis-aligned boxes, a preset of :func:`presets` or the user's
``[lo,hi]x[lo,hi];...`` (rational ends, overlaps allowed: :func:`disjoint_union` rewrites the
union with disjoint interiors), given in the coordinates u = (x + R)/(2R) of the unit cube, so
E = {2Ru − R : u ∈ U}; f(x) = t(u) on E with
t the target, of which only the values on U are read by the construction.  The proof extends
f from E to the cube keeping its modulus, builds Theorem 1.1's network for the extension g, and
puts the change of variables in front.  Two extensions, both with ω_g ≤ λ r^α (the target's
modulus) on the whole cube and g = t on U:

* d = 1 (:class:`IntervalExtension`, exact): t on U, linear across every gap [b, a] between two
  consecutive intervals, constant beyond the first and last.  Proof: g = h∘clamp with clamp onto
  [min U, max U] 1-Lipschitz; h(x) = Σ θ_i t(p_i) with θ a probability vector on points p_i ∈ U
  of barycentre x, and for x < y the monotone coupling of the two vectors has every p ≤ q, so
  |h(x) − h(y)| ≤ λ Σ π_ij |q_j − p_i|^α ≤ λ (Σ π_ij (q_j − p_i))^α = λ (y − x)^α (Jensen, r^α
  concave).  Every target of dimension 1 is supported.
* d = 2 (:class:`McShaneExtension`): g(u) = inf_{v ∈ U} t(v) + λ‖u − v‖^α, which has modulus
  λ r^α (an infimum of such functions; ‖·‖^α is a metric for α ≤ 1) and equals t on U (t's
  modulus holds on U).  The construction reads g only at the grid points x_β; off U it takes
  the upper end of a rigorous branch-and-bound enclosure [lo, hi] ∋ g(x_β) with
  hi − lo ≤ tol = ω̄(√d/K)/2 (:func:`grid_tolerance`), i.e. a value in [g, g + tol]: Theorem 1.1's
  cell error bound then gains at most tol (and ε at most tol), far inside its constant 131.  Every target of
  dimension 2 is supported (the enclosures are the target's own).  A constant target (λ = 0)
  is its own extension, read exactly: the bound is then 0 and no enclosure is tight enough.

Soundness does not rest on the extension: the certificate measures |f − φ| on E only
(:mod:`proofs.optimal_rate.domain_methods`), against the target itself.
"""

from __future__ import annotations

import heapq
import math
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Sequence

from flint import arb, fmpq

from certify.registry import parse_box_union
from constructive.errors import UserError
from constructive.ir import network
from constructive.numbers import as_fmpq, precision
from constructive.targets import arb_to_fmpq_bounds
from proofs.optimal_rate.offtrifling import omega_up
from proofs.optimal_rate.rate import build_linf, build_lp, check_target, to_cube
from proofs.optimal_rate.stepfn import step_counts

Box = list[tuple[fmpq, fmpq]]
PREC = 128
MAX_BOXES, MAX_DENOMINATOR = 16, 2 ** 20  # as the parameter E of claims.toml
MAX_SPLITS = 4000  # per grid point; past it the best value found so far is used (still ≥ g)


@lru_cache(maxsize=1)
def presets() -> dict[str, list[str]]:
    """The named domains U ⊆ [0, 1]^d: parameter E's ``presets`` in claims.toml, per name one
    union of boxes for d = 1 and one for d = 2 (the checker kernel reads the same table)."""
    with open(Path(__file__).with_name("claims.toml"), "rb") as f:
        entries = tomllib.load(f)["theorem"]
    return next(t for t in entries if t["id"] == "syz-bounded-domain-boxes")["parameters"]["E"]["presets"]


def volume(box: Sequence[tuple[fmpq, fmpq]]) -> fmpq:
    v = fmpq(1)
    for a, b in box:
        v *= b - a
    return v


def intersect(a: Sequence[tuple[fmpq, fmpq]], b: Sequence[tuple[fmpq, fmpq]]) -> Optional[Box]:
    """The closed intersection of two boxes (possibly degenerate), or None when empty."""
    out = [(max(p, r), min(q, s)) for (p, q), (r, s) in zip(a, b)]
    return out if all(lo <= hi for lo, hi in out) else None


def subtract(box: Box, other: Box) -> list[Box]:
    """Closed boxes with interiors disjoint from each other and from ``other`` whose union is
    the closure of box ∖ other (``box`` itself when the two share no interior)."""
    common = intersect(box, other)
    if common is None or volume(common) == 0:
        return [box]
    out, rest = [], list(box)
    for axis, (lo, hi) in enumerate(common):
        a, b = rest[axis]
        if a < lo:
            out.append(rest[:axis] + [(a, lo)] + rest[axis + 1:])
        if hi < b:
            out.append(rest[:axis] + [(hi, b)] + rest[axis + 1:])
        rest[axis] = (lo, hi)
    return out


def disjoint_union(boxes: Sequence[Box]) -> list[Box]:
    """The union of ``boxes`` as boxes with disjoint interiors (volumes then add up in the L^p
    certificate); boxes that already share no interior come back unchanged, in their order."""
    out: list[Box] = []
    for box in boxes:
        pieces = [list(box)]
        for done in out:
            pieces = [q for p in pieces for q in subtract(p, done)]
        out += pieces
    return out


def domain_boxes(value: str, d: int, disjoint: bool = True) -> list[Box]:
    """The boxes of U ⊆ [0, 1]^d, interiors disjoint: a preset of :func:`presets`, or the
    union of boxes ``[lo,hi]x...;...`` (the parameter's canonical text), overlaps resolved."""
    if d not in (1, 2):
        raise UserError(f"domain E={value[:60]!r} is defined for d = 1 or 2; got d={d}")
    text = presets()[value][d - 1] if value in presets() else value
    try:
        given = parse_box_union(text, MAX_BOXES, MAX_DENOMINATOR)
    except ValueError as why:
        raise UserError(f"domain E={value[:60]!r} is not allowed ({why}); use one of "
                        f"{', '.join(presets())} or boxes [lo,hi]x[lo,hi];... in [0,1]^d") from None
    boxes = [[(fmpq(lo.numerator, lo.denominator), fmpq(hi.numerator, hi.denominator))
              for lo, hi in box] for box in given]
    if any(len(box) != d for box in boxes):
        raise UserError(f"domain E={value[:60]!r} has boxes of {len(boxes[0])} axes; d={d} needs {d}")
    return disjoint_union(boxes) if disjoint else boxes  # as given: the kernel cuts at their ends


def in_domain(boxes: Sequence[Box], u: Sequence[fmpq]) -> bool:
    return any(all(a <= x <= b for x, (a, b) in zip(u, box)) for box in boxes)


def domain_in_E(boxes: Sequence[Box], R: fmpq) -> list[list[list[str]]]:
    """The boxes of E itself (x = 2Ru − R), as text for certificates."""
    return [[[str(2 * R * a - R), str(2 * R * b - R)] for a, b in box] for box in boxes]


class IntervalExtension:
    """The exact 1-D extension (module docstring): t on U, linear across the gaps, constant
    beyond the ends.  Reads the target only at points of U."""

    kind = "interval interpolation (exact; omega_g <= lam r^alpha by Jensen)"

    def __init__(self, target: Any, boxes: Sequence[Box]):
        ivs = sorted((box[0] for box in boxes), key=lambda iv: iv[0])
        merged: list[list[fmpq]] = []
        for a, b in ivs:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.intervals = [(a, b) for a, b in merged]
        self.target, self.dim, self.name = target, 1, f"{target.name}|E extended"
        self.lam, self.alpha = target.lam, target.alpha
        self.rational_valued = target.rational_valued

    def _weights(self, x: fmpq) -> list[tuple[fmpq, fmpq]]:
        """(point of U, weight) with barycentre clamp(x)."""
        ivs = self.intervals
        if x <= ivs[0][0]:
            return [(ivs[0][0], fmpq(1))]
        for k, (a, b) in enumerate(ivs):
            if a <= x <= b:
                return [(x, fmpq(1))]
            if k + 1 < len(ivs) and b < x < ivs[k + 1][0]:
                nxt = ivs[k + 1][0]
                theta = (nxt - x) / (nxt - b)
                return [(b, theta), (nxt, 1 - theta)]
        return [(ivs[-1][1], fmpq(1))]

    def exact(self, point: Sequence[Any]) -> fmpq:
        return sum((w * self.target.exact([p]) for p, w in self._weights(as_fmpq(point[0]))), fmpq(0))

    def ball(self, point: Sequence[Any], prec: int = 128) -> arb:
        with precision(prec):
            return sum((arb(w) * self.target.ball([p], prec) for p, w in
                        self._weights(as_fmpq(point[0]))), arb(0))


class McShaneExtension:
    """g(u) = inf_{v ∈ U} t(v) + λ‖u − v‖^α (module docstring), read at points: t on U, off U
    the upper end of a branch-and-bound enclosure within ``tol``.  Reads the target only on U."""

    kind = "McShane inf_(v in E) f(v) + lam |u - v|^alpha (branch and bound to tol, upper end)"

    def __init__(self, target: Any, boxes: Sequence[Box], tol: fmpq):
        self.target, self.boxes, self.tol = target, [list(b) for b in boxes], tol
        self.dim, self.name = target.dim, f"{target.name}|E extended"
        self.lam, self.alpha = target.lam, target.alpha
        self.rational_valued = False
        self._cache: dict = {}
        self.worst_gap = fmpq(0)  # the largest hi − lo met (> tol only past MAX_SPLITS)

    def _dist_pow(self, u: Sequence[fmpq], box: Box) -> tuple[fmpq, fmpq]:
        """Exact rational bounds of λ·dist(u, box)^α."""
        d2 = sum(((a - x if x < a else x - b if x > b else fmpq(0)) ** 2
                  for x, (a, b) in zip(u, box)), fmpq(0))
        if d2 == 0 or self.lam == 0:
            return fmpq(0), fmpq(0)
        if self.alpha == 1:  # √(p/q) = √(pq)/q, bracketed by integer square roots (exact, fast)
            s = int(d2.p) * int(d2.q) << 80
            r = math.isqrt(s)
            den = int(d2.q) << 40
            return self.lam * fmpq(r, den), self.lam * fmpq(r if r * r == s else r + 1, den)
        with precision(PREC):
            v = arb(self.lam) * arb(d2) ** (arb(self.alpha) / 2)
            return arb_to_fmpq_bounds(v)

    def _lower(self, u: Sequence[fmpq], box: Box) -> fmpq:
        return self.target.enclose(box, PREC)[0] + self._dist_pow(u, box)[0]

    def _upper_at(self, u: Sequence[fmpq], c: list[fmpq]) -> fmpq:
        hi_t = arb_to_fmpq_bounds(self.target.ball(c, PREC))[1]
        return hi_t + self._dist_pow(u, [(x, x) for x in c])[1]

    def bounds(self, u: Sequence[fmpq]) -> tuple[fmpq, fmpq]:
        """Rational lo ≤ g(u) ≤ hi, hi − lo ≤ tol unless MAX_SPLITS is reached."""
        def centre(box: Box) -> list[fmpq]:
            return [(a + b) / 2 for a, b in box]

        best = min(self._upper_at(u, centre(b)) for b in self.boxes)
        heap = [(self._lower(u, b), k, b) for k, b in enumerate(self.boxes)]
        heapq.heapify(heap)
        count = len(heap)
        lo = heap[0][0]
        for _ in range(MAX_SPLITS):
            lo, _, box = heap[0]
            if best - lo <= self.tol:
                break
            heapq.heappop(heap)
            axis = max(range(len(box)), key=lambda i: box[i][1] - box[i][0])
            a, b = box[axis]
            for half in ((a, (a + b) / 2), ((a + b) / 2, b)):
                child = list(box)
                child[axis] = half
                best = min(best, self._upper_at(u, centre(child)))
                low = self._lower(u, child)
                if low < best:
                    count += 1
                    heapq.heappush(heap, (low, count, child))
            if not heap:
                lo = best
                break
            lo = heap[0][0]
        lo = min(lo, best)
        self.worst_gap = max(self.worst_gap, best - lo)
        return lo, best

    def value(self, point: Sequence[Any]) -> fmpq:
        u = tuple(as_fmpq(v) for v in point)
        if u not in self._cache:
            self._cache[u] = self.bounds(u)[1]
        return self._cache[u]

    def ball(self, point: Sequence[Any], prec: int = 128) -> arb:
        u = [as_fmpq(v) for v in point]
        if in_domain(self.boxes, u):
            return self.target.ball(u, prec)
        with precision(prec):
            return arb(self.value(u))


def grid_tolerance(target: Any, d: int, N: int, L: int) -> fmpq:
    """tol = ω̄(√d/K)/2 (an upper bound, a dyadic), the construction's allowance for the
    McShane values; 0 for a constant target."""
    K = step_counts(N, L, d)["K"]
    with precision(PREC + 64):
        return omega_up(target, arb(d).sqrt() / K) / 2


def extension_kind(d: int) -> str:
    """What the builder extends f|_E with (for certificates: the verdict does not rest on it)."""
    if d == 1:
        return IntervalExtension.kind
    return McShaneExtension.kind + " with tol = omega(sqrt(d)/K)/2"


def extension(target: Any, params: dict) -> Any:
    """The extension of the target from U to the cube that Theorem 2.5's proof builds on."""
    d, N, L = int(params["d"]), int(params["N"]), int(params["L"])
    check_target(target, d)
    boxes = domain_boxes(str(params["E"]), d)
    if d == 1:
        return IntervalExtension(target, boxes)
    if target.lam == 0:  # constant on the cube (its modulus is 0): its own extension, exactly
        return target
    return McShaneExtension(target, boxes, grid_tolerance(target, d, N, L))


def domain_network(params: dict, g: Any, lp: bool) -> Any:
    """φ(x) = φ_g((x + R)/(2R)), φ_g Theorem 1.1's network (p = ∞ or p < ∞) for ``g``."""
    d = int(params["d"])
    inner = build_lp(params, g) if lp else build_linf(params, g)
    return network(to_cube(d, as_fmpq(params["R"])), inner)


def build_domain(params: dict, target: Any) -> Any:
    """Theorem 2.5 (p = ∞) on E: Theorem 1.1's network for the extension of f|_E."""
    return domain_network(params, extension(target, params), lp=False)


def build_domain_lp(params: dict, target: Any) -> Any:
    """Theorem 2.5 (p < ∞) on E: Theorem 1.1's L^p network for the extension."""
    return domain_network(params, extension(target, params), lp=True)
