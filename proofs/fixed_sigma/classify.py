"""Theorem 4 of Shen, Yang, Zhang (JMLR 2022, p. 5; proof §5.2, txt p. 34–36): exact
classification of pairwise disjoint closed sets E_1..E_J ⊆ [0,1]^d with rational labels r_j by a
σ network of width 36d(2d+1), depth 12, at most 5509(d+1)(2d+1) non-zeros.

The paper extends the labels to a continuous g (Lemma 13), approximates 2(n₁g + n₂) + 1 within
1/2 by Theorem 1 (φ₁) and rounds exactly with φ₂(y) = y + 1/2 − σ(y + 3/2); the output is
(φ₂∘φ₁ − 2n₂ − 1)/(2n₁).  Theorem 1 needs g in KST form, which is not constructive, so the
project (variant, recorded in the TOML) builds an explicit KST form itself: a direction u ∈ Z^d
whose projections separate the sets (balls are replaced by their bounding boxes here), the inner
sum z = Σ_j h_{0,j}(x_j) = 1/4 + (u·x − m)/(2(M − m)) ∈ [1/4, 3/4] (m, M: range of u·x on the
cube), and g_0(z) piecewise linear with value y_j = 2(n₁r_j + n₂) + 1 on a plateau around the
projection of E_j; g_i = 0 (with constant h_{i,j} = 1/(2d)) for i ≥ 1.  Sets with no separating
direction are refused (a limitation of this variant, not of the theorem).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from flint import fmpq

from constructive.errors import UserError
from constructive.gadgets import euaf as eg
from constructive.ir import Network, affine, network
from constructive.numbers import as_fmpq
from proofs.fixed_sigma.kst import KST, assemble, make_kst, refuse_large_fits

# named instances: ("box", [(lo, hi)]*d, label) or ("ball", centre, radius, label)
INSTANCES: dict[str, list] = {
    "d2-three": [("box", [("1/20", "1/10"), ("1/10", "9/10")], "0"),
                 ("ball", ("1/2", "1/2"), "1/20", "1/2"),
                 ("box", [("9/10", "19/20"), ("1/5", "4/5")], "1")],
    # (sets placed so that the fitted outer function stays within the fitting budget: the
    # earlier placement, the ball at (1/5, 1/4) with radius 1/10, needed K = 94 points)
    "d2-three-mixed": [("ball", ("1/10", "1/4"), "1/20", "1/3"),
                       ("box", [("9/20", "11/20"), ("1/2", "7/10")], "2/3"),
                       ("box", [("9/10", "19/20"), ("1/10", "1/5")], "0")],
    "d1-two": [("box", [("0", "1/4")], "-1/2"), ("box", [("3/4", "1")], "0")],
    # bad inputs (refused)
    "d2-overlap": [("box", [("0", "1/2"), ("0", "1/2")], "0"),
                   ("ball", ("1/2", "1/2"), "1/10", "1")],
    "d2-irrational": [("box", [("0", "1/4"), ("0", "1/4")], "sqrt(2)"),
                      ("box", [("3/4", "1"), ("3/4", "1")], "1")],
}


@dataclass(frozen=True)
class Set:
    kind: str  # "box" or "ball"
    box: tuple  # ((lo, hi), ...): the box itself, or the bounding box of the ball
    centre: tuple = ()
    radius: fmpq = fmpq(0)
    label: fmpq = fmpq(0)

    def describe(self) -> str:
        if self.kind == "box":
            return "box " + " x ".join(f"[{a}, {b}]" for a, b in self.box)
        return f"ball centre ({', '.join(map(str, self.centre))}) radius {self.radius}"

    def samples(self) -> list[list[fmpq]]:
        """Exact points of the set: corners and centre (box) or centre and axis extremes (ball)."""
        if self.kind == "box":
            pts = [list(p) for p in itertools.product(*self.box)]
            return pts + [[(a + b) / 2 for a, b in self.box]]
        c = list(self.centre)
        out = [c]
        for k in range(len(c)):
            for s in (-1, 1):
                p = list(c)
                p[k] += s * self.radius
                out.append(p)
        return out


def _rat(what: str, v: Any) -> fmpq:
    try:
        return as_fmpq(v)
    except (TypeError, ValueError, ZeroDivisionError):
        raise UserError(f"{what} {v!r} is not an exact rational (labels and sets must be rational)") from None


def parse_sets(raw: list, d: int) -> list[Set]:
    sets = []
    for k, item in enumerate(raw, start=1):
        kind = item[0]
        if kind == "box":
            box = tuple((_rat(f"set {k} bound", a), _rat(f"set {k} bound", b)) for a, b in item[1])
            label = _rat(f"label of set {k}", item[2])
            if len(box) != d or any(not (0 <= a <= b <= 1) for a, b in box):
                raise UserError(f"set {k}: a box needs {d} intervals 0 <= lo <= hi <= 1")
            sets.append(Set("box", box, label=label))
        elif kind == "ball":
            c = tuple(_rat(f"set {k} centre", v) for v in item[1])
            r = _rat(f"set {k} radius", item[2])
            label = _rat(f"label of set {k}", item[3])
            if len(c) != d or r < 0:
                raise UserError(f"set {k}: a ball needs a centre in R^{d} and a radius >= 0")
            box = tuple((x - r, x + r) for x in c)
            if any(not (0 <= a and b <= 1) for a, b in box):
                raise UserError(f"set {k}: the ball must lie in [0, 1]^{d}")
            sets.append(Set("ball", box, c, r, label))
        else:
            raise UserError(f"set {k}: kind {kind!r} is not allowed; use box or ball")
    if len(sets) < 1:
        raise UserError("classification needs at least one set")
    for (i, a), (j, b) in itertools.combinations(enumerate(sets, start=1), 2):
        if intersect(a, b):
            raise UserError(f"classification sets {i} ({a.describe()}) and {j} ({b.describe()}) "
                            "overlap; the sets must be pairwise disjoint")
    return sets


def _clamp(x: fmpq, a: fmpq, b: fmpq) -> fmpq:
    return min(max(x, a), b)


def intersect(a: Set, b: Set) -> bool:
    """Exact test whether two closed boxes/balls meet."""
    if a.kind == "ball" and b.kind == "box":
        a, b = b, a
    if a.kind == "box" and b.kind == "box":
        return all(max(p[0], q[0]) <= min(p[1], q[1]) for p, q in zip(a.box, b.box))
    if a.kind == "box":  # b is a ball: nearest point of the box to the centre
        s = sum((_clamp(c, lo, hi) - c) ** 2 for c, (lo, hi) in zip(b.centre, a.box))
        return s <= b.radius ** 2
    s = sum((x - y) ** 2 for x, y in zip(a.centre, b.centre))
    return s <= (a.radius + b.radius) ** 2


def _proj(u: tuple, box: tuple) -> tuple[fmpq, fmpq]:
    lo = sum((min(c * a, c * b) for c, (a, b) in zip(u, box)), fmpq(0))
    hi = sum((max(c * a, c * b) for c, (a, b) in zip(u, box)), fmpq(0))
    return lo, hi


@dataclass(frozen=True)
class Plan:
    sets: tuple
    d: int
    u: tuple
    n1: int
    n2: int
    ys: tuple  # odd targets y_j = 2(n1 r_j + n2) + 1
    kst: KST
    round_M: fmpq


def separating_direction(sets: list[Set], d: int, bound: int = 6) -> tuple:
    """u ∈ Z^d (|u_k| ≤ bound) maximising the smallest gap between the sets' projections
    (bounding boxes), relative to the projection range of the cube; UserError if none."""
    best, best_gap = None, fmpq(0)
    for u in itertools.product(range(-bound, bound + 1), repeat=d):
        if all(c == 0 for c in u) or math.gcd(*[abs(c) for c in u]) != 1:
            continue
        m, M = _proj(u, tuple((fmpq(0), fmpq(1)) for _ in range(d)))
        ivs = sorted(_proj(u, s.box) for s in sets)
        gap = min((b[0] - a[1] for a, b in zip(ivs, ivs[1:])), default=M - m) / (M - m)
        if gap > best_gap:
            best, best_gap = u, gap
    if best is None:
        raise UserError("no direction separates the sets' bounding boxes (a limitation of the "
                        "project's explicit KST form); use sets separable by a projection")
    return best


def plan(raw: list, d: int) -> Plan:
    sets = parse_sets(raw, d)
    u = separating_direction(sets, d)
    n1 = 1
    for s in sets:
        n1 = n1 * int(s.label.q) // math.gcd(n1, int(s.label.q))
    n2 = max(0, max(-int((n1 * s.label).p) for s in sets))
    ys = tuple(2 * (int((n1 * s.label).p) + n2) + 1 for s in sets)
    m, M = _proj(u, tuple((fmpq(0), fmpq(1)) for _ in range(d)))
    scale = 1 / (2 * (M - m))
    z = [tuple(fmpq(1, 4) + (v - m) * scale for v in _proj(u, s.box)) for s in sets]
    order = sorted(range(len(sets)), key=lambda k: z[k][0])
    # plateaus: the projection widened by a quarter of the neighbouring gaps
    pieces = []
    for a, b in zip(order, order[1:]):
        gap = z[b][0] - z[a][1]
        pieces.append((z[a][1] + gap / 4, z[b][0] - gap / 4, ys[a], ys[b]))
    g0 = str(ys[order[0]])
    for lo, hi, ya, yb in pieces:
        g0 += f" + ({yb - ya})*Min(Max(t - ({lo}), 0), {hi - lo})/({hi - lo})"
    # h_{0,j}(t) = u_j t/(2(M−m)) + c_j with Σ c_j = 1/4 − m/(2(M−m)); put the constant on j = 1
    h0 = [f"({u[j] * scale})*t" + (f" + ({fmpq(1, 4) - m * scale})" if j == 0 else "")
          for j in range(d)]
    g = [g0] + ["0"] * (2 * d)
    h = [h0] + [[f"{fmpq(1, 2 * d)}"] * d for _ in range(2 * d)]
    kst = make_kst(g, h, d)
    return Plan(tuple(sets), d, u, n1, n2, ys, kst, fmpq(max(ys) + 1))


def plan_from_params(params: dict) -> Plan:
    name = str(params.get("sets", "d2-three"))
    if name not in INSTANCES:
        raise UserError(f"unknown classification instance {name!r}; known: {', '.join(INSTANCES)}")
    d = int(params.get("d", 2))
    dims = {len(item[1]) for item in INSTANCES[name]}
    if dims != {d}:
        raise UserError(f"classification instance {name!r} lives in d={dims.pop()}, not d={d}")
    return plan(INSTANCES[name], d)


def _budgets(p: Plan) -> dict:
    """φ₁'s error budgets: g_0 within 2/5 (the rounding's margin), the other g_i within 1/40,
    the h_ij within 1/50."""
    return {"e_outs": [fmpq(2, 5)] + [fmpq(1, 40)] * (2 * p.d), "e_in": fmpq(1, 50)}


def precheck_classification(params: dict) -> None:
    """Refuse, before any work, an instance whose sub-networks would fit too many points."""
    p = plan_from_params(params)
    refuse_large_fits(p.kst, fmpq(1, 2), **_budgets(p), what=f"sets={params.get('sets')}")


def build_classifier(p: Plan) -> Network:
    """φ = (φ₂∘φ₁ − 2n₂ − 1)/(2n₁): φ₁ Theorem 1 (g_0 within 2/5), φ₂ the odd rounding."""
    phi1 = assemble(p.kst, fmpq(1, 2), **_budgets(p))
    return network(phi1, eg.odd_rounding(p.round_M),
                   affine([[fmpq(1, 2 * p.n1)]], [fmpq(-2 * p.n2 - 1, 2 * p.n1)]))


def build_thm4(params: dict, target: Any) -> Network:
    return build_classifier(plan_from_params(params))
