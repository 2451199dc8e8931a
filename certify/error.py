"""Error bounds and the certification methods named in ``proofs/*.toml``.

Each method returns an :class:`ErrorReport`: a rigorous lower bound (from exactly evaluated
witnesses or cell-wise infima) and a rigorous upper bound of the error in the claimed norm,
plus the gadget specifications it relied on.  Upper bounds come from exact analysis (1-D
enumeration, cell-wise affine analysis, region enumeration) or exact interval enclosures; the
only approximations are arb balls around transcendental values, whose radii are accounted for.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import sympy
from flint import arb, fmpq

from certify import evidence
from certify.boxes import analyse_boxes, bisect_widest
from certify.errors import UserError
from certify.ranges import output_range
from constructive.evaluate import evaluate
from constructive.ir import Gadget, Node, walk
from constructive.numbers import Exact, as_fmpq, precision

PREC = 192


@dataclass
class ErrorReport:
    lower: Any  # fmpq or arb: a rigorous lower bound of the error
    upper: Any  # fmpq or arb: a rigorous upper bound of the error
    witnesses: list = field(default_factory=list)  # [{"x": [...], "error_lower": "..."}]
    gadgets_used: set = field(default_factory=set)
    details: dict = field(default_factory=dict)
    range_ok: Optional[bool] = None
    # False when the instance provably violates the theorem's hypothesis (the theorem then
    # claims nothing, so a large error is no violation of it); None when not examined
    hypothesis_ok: Optional[bool] = None
    # data from which the kernel re-derives the bounds (certify/evidence.py); None: none emitted
    evidence: Optional[dict] = None


# ------------------------------------------------------------------------------------------
# exact formulas → balls


def to_arb(expr: sympy.Expr) -> arb:
    """Rigorous arb enclosure of an exact sympy expression (no floats on the way)."""
    expr = sympy.sympify(expr)
    if expr.is_Rational:
        return arb(fmpq(int(expr.p), int(expr.q)))
    if expr.is_Add:
        return sum((to_arb(a) for a in expr.args), arb(0))
    if expr.is_Mul:
        out = arb(1)
        for a in expr.args:
            out *= to_arb(a)
        return out
    if expr.is_Pow:
        base, exp = expr.args
        if exp.is_Integer:
            b = to_arb(base)
            e = int(exp)
            return b ** e if e >= 0 else 1 / b ** (-e)
        return to_arb(base) ** to_arb(exp)
    if isinstance(expr, sympy.log):
        return to_arb(expr.args[0]).log() if len(expr.args) == 1 else \
            to_arb(expr.args[0]).log() / to_arb(expr.args[1]).log()
    if expr is sympy.pi:
        return arb.pi()
    if isinstance(expr, (sympy.Min, sympy.Max)):
        vals = [to_arb(a) for a in expr.args]
        out = vals[0]
        for v in vals[1:]:
            out = out.min(v) if isinstance(expr, sympy.Min) else out.max(v)
        return out
    if isinstance(expr, (sympy.floor, sympy.ceiling)):
        v = sympy.Integer(expr)  # sympy decides integer parts exactly
        return arb(int(v))
    raise ValueError(f"cannot enclose {expr!r} rigorously")


def bound_value(thm: Any, params: dict, target: Any) -> sympy.Expr:
    """The claimed bound with ω replaced by the target's certified modulus λ r^α."""
    expr = thm.substitute(thm.claim.get("bound", "0"), params, target)
    lam = sympy.Rational(str(target.lam)) if target is not None else 0
    alpha = sympy.Rational(str(target.alpha)) if target is not None else 1
    r = sympy.Symbol("r")
    return expr.replace(sympy.Function("omega"), sympy.Lambda(r, lam * r ** alpha))


def compare(upper: Any, lower: Any, bound: sympy.Expr) -> str:
    """HOLDS / VIOLATED / INCONCLUSIVE from rigorous bounds."""
    bound = sympy.sympify(bound)
    if bound.is_Rational and isinstance(upper, fmpq) and isinstance(lower, fmpq):
        b = fmpq(int(bound.p), int(bound.q))
        return "HOLDS" if upper <= b else ("VIOLATED" if lower > b else "INCONCLUSIVE")
    with precision(PREC):
        b = to_arb(bound)
        u = upper if isinstance(upper, arb) else arb(upper)
        lo = lower if isinstance(lower, arb) else arb(lower)
        if u <= b:
            return "HOLDS"
        if lo > b:
            return "VIOLATED"
    return "INCONCLUSIVE"


# ------------------------------------------------------------------------------------------
# cells and boxes


def trifling_cells(d: int, K: int, delta: fmpq) -> list[list[tuple[fmpq, fmpq]]]:
    """The closed cells Q_β (with the indicator 1{β_i ≤ K−2}: erratum E5)."""
    axis = [(fmpq(k, K), fmpq(k + 1, K) - (delta if k <= K - 2 else 0)) for k in range(K)]
    return [list(reversed(c)) for c in itertools.product(axis, repeat=d)]


def trifling_slabs(d: int, K: int, delta: fmpq) -> list[list[tuple[fmpq, fmpq]]]:
    """Closed boxes covering Ω: coordinate i in a strip [k/K − δ, k/K], the others in [0, 1]."""
    out = []
    for i in range(d):
        for k in range(1, K):
            box = [(fmpq(0), fmpq(1))] * d
            box[i] = (fmpq(k, K) - delta, fmpq(k, K))
            out.append(box)
    return out


def shifted_grid(d: int, K: int, delta: fmpq) -> list[list[tuple[fmpq, fmpq]]]:
    """Boxes between all cell and strip ends of the 3 shifted grids, per axis, inside [0, 1]."""
    pts = {fmpq(0), fmpq(1)}
    for k in range(1, K):
        for end in (fmpq(k, K) - delta, fmpq(k, K)):
            for t in (-delta, fmpq(0), delta):
                v = end + t
                if 0 < v < 1:
                    pts.add(v)
    axis = sorted(pts)
    segs = list(zip(axis, axis[1:]))
    return [list(reversed(c)) for c in itertools.product(segs, repeat=d)]


def box_error(target: Any, box: Sequence[tuple[fmpq, fmpq]], lo: fmpq, hi: fmpq) -> tuple[fmpq, fmpq]:
    """Rigorous (inf, sup) of |f − φ| over the box when φ(box) ⊆ [lo, hi] and f(box) ⊆ enclosure."""
    flo, fhi = target.enclose(box)
    upper = max(abs(fhi - lo), abs(hi - flo))
    if hi < flo:
        lower = flo - hi
    elif fhi < lo:
        lower = lo - fhi
    else:
        lower = fmpq(0)
    return lower, upper


def _witness_errors(net: Node, target: Any, points: list[list[fmpq]]) -> list[tuple[list[fmpq], arb]]:
    """|f(x) − φ(x)| at exact points: φ exactly, f as a ball."""
    if not points:
        return []
    out = evaluate(net, [list(c) for c in zip(*points)], Exact())[0]
    res = []
    with precision(PREC):
        for x, y in zip(points, out):
            fx = arb(target.exact(x)) if getattr(target, "rational_valued", False) else target.ball(x, PREC)
            res.append((x, abs(fx - arb(y))))
    return res


def falsify(net: Node, target: Any, d: int, budget: int = 64, seed: int = 0,
            extra: Sequence[Sequence[fmpq]] = (), steered: int = 24) -> tuple[Optional[list], arb]:
    """Search exact witnesses of large |f − φ|: a grid, random rationals, given points and a
    ``hypothesis.target``-steered search (``steered`` examples).

    Returns the best point and a ball for its error; only ever a lower bound.
    """
    rng = random.Random(seed)
    m = max(2, int(round(budget ** (1 / d))))
    grid = [list(reversed(c)) for c in itertools.product([fmpq(2 * i + 1, 2 * m) for i in range(m)], repeat=d)]
    rand = [[fmpq(rng.randrange(0, 2 ** 20), 2 ** 20) for _ in range(d)] for _ in range(budget)]
    pts = grid[:budget] + rand + [list(p) for p in extra]
    best, best_err = None, arb(0)
    for x, e in _witness_errors(net, target, pts):
        if best is None or e.lower() > best_err.lower():
            best, best_err = x, e
    if steered:
        x, e = steer(net, target, d, examples=steered, seed=seed)
        if x is not None and e.lower() > best_err.lower():
            best, best_err = x, e
    return best, best_err


def steer(net: Node, target: Any, d: int, examples: int = 40, seed: int = 0) -> tuple[Optional[list], arb]:
    """A hypothesis search steered by ``hypothesis.target`` toward large |f − φ| (lower bound)."""
    from hypothesis import HealthCheck, Phase, given, settings, strategies as st
    from hypothesis import target as steer_to

    found: dict = {"x": None, "e": arb(0)}
    coord = st.integers(min_value=0, max_value=2 ** 24).map(lambda k: fmpq(k, 2 ** 24))

    @settings(max_examples=examples, database=None, derandomize=True, deadline=None,
              phases=[Phase.generate, Phase.target], suppress_health_check=list(HealthCheck))
    @given(st.lists(coord, min_size=d, max_size=d))
    def search(x: list) -> None:
        (_, e), = _witness_errors(net, target, [x])
        lo = e.lower()
        steer_to(float(lo.mid()) if lo > 0 else 0.0)  # guidance only, never a verdict
        if lo > found["e"].lower():
            found["x"], found["e"] = x, e

    search()
    return found["x"], found["e"]


# ------------------------------------------------------------------------------------------
# methods


def _lower_from(best: Optional[list], err: arb) -> tuple[fmpq, list]:
    if best is None:
        return fmpq(0), []
    lo = max(err.lower(), arb(0))
    low = fmpq(int((lo * 2 ** 64).floor().unique_fmpz()), 2 ** 64)
    return max(low, fmpq(0)), [{"x": [str(v) for v in best], "error": err.str(10, radius=True)}]


def _range_check(net: Node, claim_range: Optional[Sequence[str]]) -> tuple[Optional[bool], set, list]:
    if not claim_range:
        return None, set(), []
    ivs, used = output_range(net)
    lo, hi = as_fmpq(claim_range[0]), as_fmpq(claim_range[1])
    ok = all(a is not None and b is not None and a >= lo and b <= hi for a, b in ivs)
    return ok, used, [[str(a), str(b)] for a, b in ivs]


def cells_analysis(net: Node, target: Any, boxes: list) -> tuple[list, set]:
    results, used = analyse_boxes(net, boxes)
    errs = [box_error(target, r.box, r.lo[0], r.hi[0]) for r in results]
    return list(zip(results, errs)), used


def cell_grid(net: Node, d: int, K: int, delta: fmpq, strips: bool) -> dict:
    """Grid evidence at the cell ends: the kernel finds the network affine on the cells and
    bounds it by exact interval propagation on the strips (kinks there can number 4^n)."""
    axis = sorted({a for iv in trifling_cells(1, K, delta) for a in iv[0]} | {fmpq(0), fmpq(1)})
    return evidence.grid([axis] * d)


def _with_kinks(net: Node, axis: list, d: int) -> list:
    """In 1-D, the cuts plus every neuron-level kink in [0, 1] of a piecewise-linear network."""
    if d != 1:
        return axis
    try:
        from certify.pl1d import enumerate_1d

        kinks = enumerate_1d(net, fmpq(0), fmpq(1), max_points=20000, minimal=False).points
    except (UserError, ValueError):
        return axis
    return sorted(set(axis) | set(kinks))


def method_cells_offtrifling(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    v = thm.values(params, target)
    d, K = params["d"], int(v[sympy.Symbol("K")])
    delta = _q(v[sympy.Symbol("delta")])
    cells = trifling_cells(d, K, delta)
    pairs, used = cells_analysis(net, target, cells)
    upper = max(e[1] for _, e in pairs)
    constant = sum(1 for r, _ in pairs if r.constant)
    # witnesses only where the claim is made: in the cells, not in the trifling region
    best, err = None, arb(0)
    for x, e in _witness_errors(net, target, [[(a + b) / 2 for a, b in c] for c in cells[:4096]]):
        if best is None or e.lower() > err.lower():
            best, err = x, e
    lower, wit = _lower_from(best, err)
    lower = max(lower, max(e[0] for _, e in pairs))
    ok, used_r, ranges = _range_check(net, thm.claim.get("range"))
    return ErrorReport(lower, upper, wit, used | used_r,
                       {"cells": len(cells), "constant_cells": constant, "output_range": ranges}, ok,
                       evidence=cell_grid(net, d, K, delta, strips=False))


def oscillation_hypothesis(target: Any, h: fmpq, bound: fmpq, steps: int = 4) -> tuple[Optional[bool], str]:
    """Is |f(x) − f(y)| < ``bound`` whenever |x − y| < h, on [0, 1]?

    True when the certified modulus gives λ h^α < bound; False with an exact witness pair at
    distance < h whose difference is provably ≥ bound (searched on a grid of step h/steps);
    None when neither is shown.
    """
    with precision(PREC):
        if arb(target.lam) * arb(h) ** arb(target.alpha) < arb(bound):
            return True, f"λ h^α < {bound} by the certified modulus"
        n = int((1 / h).ceil()) * steps
        xs = [fmpq(i, n) for i in range(n + 1)]
        vals = [target.ball([x], PREC) for x in xs]
        for i in range(n + 1):
            for j in range(i + 1, min(i + steps, n + 1)):  # |x_j − x_i| < h
                if abs(vals[j] - vals[i]) >= arb(bound):
                    return False, (f"|f({xs[j]}) − f({xs[i]})| ≥ {bound} at distance "
                                   f"{xs[j] - xs[i]} < {h}")
    return None, "not decided"


def lp_bounds(cell_errors: Sequence[tuple[Sequence[tuple[fmpq, fmpq]], fmpq, fmpq]],
              measure_omega: fmpq, sup_omega: fmpq, p: fmpq) -> tuple[arb, arb]:
    """Rigorous (lower, upper) of ‖f − φ‖_{L^p([0,1]^d)} from cells and a trifling region.

    ``cell_errors`` lists (box, inf, sup) of |f − φ| on disjoint cells; the rest of the cube,
    of measure ``measure_omega``, contributes at most measure · ``sup_omega``^p.
    """
    with precision(PREC):
        pp = arb(p)
        upper_p, lower_p = arb(0), arb(0)
        for box, lo, hi in cell_errors:
            vol = fmpq(1)
            for a, b in box:
                vol *= b - a
            if hi > 0:
                upper_p += arb(vol) * arb(hi) ** pp
            if lo > 0:
                lower_p += arb(vol) * arb(lo) ** pp
        if measure_omega > 0 and sup_omega > 0:
            upper_p += arb(measure_omega) * arb(sup_omega) ** pp
        upper = upper_p ** (1 / pp) if upper_p > 0 else arb(0)
        lower = lower_p ** (1 / pp) if lower_p > 0 else arb(0)
        return (arb(lower.lower()) if lower > 0 else arb(0)), upper


def method_cells_lp(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    v = thm.values(params, target)
    d, K = params["d"], int(v[sympy.Symbol("K")])
    delta = _q(v[sympy.Symbol("delta")])
    p = _q(thm.substitute(thm.claim.get("p", "p"), params, target))
    cells = trifling_cells(d, K, delta)
    slabs = trifling_slabs(d, K, delta)
    cell_pairs, used = cells_analysis(net, target, cells)
    # on the strips only a sup bound is needed: plain interval propagation with gadget specs
    slab_pairs = []
    for box in slabs:
        (iv,), used_s = output_range(net, [(a, b) for a, b in box])
        used |= used_s
        if iv[0] is None or iv[1] is None:
            raise ValueError("the network is not provably bounded on the trifling region")
        slab_pairs.append((None, box_error(target, box, iv[0], iv[1])))
    measure_omega = 1 - (1 - (K - 1) * delta) ** d
    sup_omega = max((e[1] for _, e in slab_pairs), default=fmpq(0))
    lower, upper = lp_bounds([(r.box, lo, hi) for r, (lo, hi) in cell_pairs], measure_omega,
                             sup_omega, p)
    constant = sum(1 for r, _ in cell_pairs if r.constant)
    return ErrorReport(lower, upper, [], used,
                       {"cells": len(cells), "constant_cells": constant,
                        "trifling_measure": str(measure_omega), "trifling_sup": str(sup_omega),
                        "p": str(p)}, evidence=cell_grid(net, d, K, delta, strips=True))


def method_boxes_sup(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    v = thm.values(params, target)
    d = target.dim
    K = int(v[sympy.Symbol("K")])
    delta = _q(v[sympy.Symbol("delta")])
    boxes = shifted_grid(d, K, delta)
    pairs, used = cells_analysis(net, target, boxes)
    upper = max(e[1] for _, e in pairs)
    best, err = falsify(net, target, d, extra=[[(a + b) / 2 for a, b in c] for c in boxes[:256]])
    lower, wit = _lower_from(best, err)
    lower = max(lower, max(e[0] for _, e in pairs))
    exact_boxes = sum(1 for r, _ in pairs if r.exact)
    # no kernel evidence: on the strips the bound rests on the mid-of-three-copies argument
    # (gadget specifications), which a flat grid cannot re-derive without 4^n boxes
    return ErrorReport(lower, upper, wit, used, {"boxes": len(boxes), "exact_boxes": exact_boxes})


def method_bit_extraction(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    from constructive.gadgets.bits import pack_bits, theta_for

    J = params["J"]
    theta = theta_for(J, params["seed"])
    a = pack_bits(theta)
    out = evaluate(net, [[4 ** j * a for j in range(1, J + 1)]], Exact())[0]
    diffs = [abs(o - t) for o, t in zip(out, theta)]
    worst = max(diffs)
    wit = []
    if worst > 0:
        j = diffs.index(worst) + 1
        wit = [{"x": [str(4 ** j * a)], "error": str(worst), "j": j}]
    ok, used, ranges = _range_check(net, thm.claim.get("range"))
    return ErrorReport(worst, worst, wit, used, {"J": J, "theta": "".join(map(str, theta)),
                                                 "output_range": ranges}, ok,
                       evidence={"kind": "points"})


def method_pl1d_exact(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    from certify.pl1d import enumerate_1d, pl_from_points

    from constructive.gadgets.cpwl import node_value

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


def method_identity(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    gadget = next(g for g in walk(net) if isinstance(g, Gadget) and g.spec and g.spec.reference)
    result = certify_reference_identity(gadget)
    err = result.difference if not result.holds else fmpq(0)
    wit = [{"x": [str(v) for v in result.witness], "error": str(err)}] if not result.holds else []
    return ErrorReport(abs(err), abs(err), wit, set(), {"regions": result.regions})


def certify_reference_identity(gadget: Gadget) -> Any:
    """Region enumeration: the gadget equals its exact reference on all of R^d."""
    from certify.regions import check_identity

    d = gadget.in_dim
    # the median's kinks are the hyperplanes x_i = x_j
    kinks = [(tuple(fmpq(1) if k == i else (fmpq(-1) if k == j else fmpq(0)) for k in range(d)), fmpq(0))
             for i in range(d) for j in range(i + 1, d)]
    return check_identity(gadget.body, lambda x: gadget.spec.reference(list(x))[0], kinks=kinks)


def method_store_params(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    from constructive.three_params import store_params_values

    v, a = store_params_values(params)
    out = [row[0] for row in evaluate(net, [[fmpq(0)]], Exact())]
    diffs = [abs(o - t) for o, t in zip(out, a)]
    worst = max(diffs) if diffs else fmpq(0)
    if len(out) != len(a):
        worst = fmpq(1)
    return ErrorReport(worst, worst, [], set(), {"v": str(v), "a": [str(x) for x in a]},
                       evidence={"kind": "points"})


def ball_sup_error(net: Node, target: Any, box: Sequence[tuple[fmpq, fmpq]], goal: arb,
                   max_boxes: int = 20000, prec: int = 128) -> tuple[arb, int]:
    """Branch and bound: a rigorous upper bound of sup |f − φ| over ``box``.

    The network is evaluated on arb balls covering each sub-box (interval arithmetic, sound for
    every activation with a ball kernel) and the target by its certified enclosure; boxes whose
    bound is above ``goal`` are bisected along their widest side, largest bound first, until
    all are below it or ``max_boxes`` were examined.  Returns the bound, the number of boxes
    examined and the leaf boxes (the kernel's evidence).
    """
    import heapq

    from constructive.numbers import Ball

    ctx = Ball(prec)

    def bounds(boxes: list) -> list[arb]:
        with precision(prec):
            cols = [[arb(fmpq_mid(a, b), fmpq_rad(a, b)) for a, b in bx] for bx in boxes]
            out = evaluate(net, [list(c) for c in zip(*cols)], ctx)[0]
            res = []
            for bx, y in zip(boxes, out):
                flo, fhi = target.enclose(bx, prec)
                ylo, yhi = y.lower(), y.upper()
                res.append(max(abs(arb(fhi) - ylo), abs(yhi - arb(flo))).upper())
            return res

    heap: list = []
    counter = 0
    for bx, u in zip([list(box)], bounds([list(box)])):
        heapq.heappush(heap, (-float(u.mid()), counter, bx, u))
    examined = 1
    while heap and examined < max_boxes:
        if all(item[3] <= goal for item in heap):
            break
        batch = []
        while heap and len(batch) < 64:
            item = heapq.heappop(heap)
            if item[3] <= goal:
                heapq.heappush(heap, item)
                break
            batch.append(item[2])
        if not batch:
            break
        children = [half for bx in batch for half in bisect_widest(bx)]
        for bx, u in zip(children, bounds(children)):
            counter += 1
            heapq.heappush(heap, (-float(u.mid()), counter, bx, u))
        examined += len(children)
    worst = max(item[3] for item in heap)
    return worst, examined, [item[2] for item in heap]


def fmpq_mid(a: fmpq, b: fmpq) -> fmpq:
    return (a + b) / 2


def fmpq_rad(a: fmpq, b: fmpq) -> arb:
    return arb((b - a) / 2).upper()


def method_ball_bnb(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Sup error on [0,1]^d by ball branch and bound (any activation with a ball kernel)."""
    d = target.dim
    best, err = falsify(net, target, d)
    lower, wit = _lower_from(best, err)
    with precision(PREC):
        bound = to_arb(bound_value(thm, params, target))
        # refine until the upper bound is within a factor 3/2 of the witness (tight tables),
        # or at least below the claim
        goal = arb(3 * lower / 2) if lower > 0 else bound
        goal = goal if goal < bound else bound
    upper, examined, leaves = ball_sup_error(net, target, [(fmpq(0), fmpq(1))] * d, goal)
    cuts = [sorted({a for box in leaves for a in box[i]}) for i in range(d)]
    if d == 1:
        cuts = [_with_kinks(net, cuts[0], 1)]
    return ErrorReport(lower, upper, wit, set(), {"boxes": examined}, evidence=evidence.grid(cuts))


CELL_BUDGET_ENV = "CERTIFY_MAX_CELLS"
CELL_BUDGET = 2 ** 12  # K^d cells, K = 2^n: n = 12 in 1-D takes minutes, each n more 4x longer


def cells_precheck(params: dict) -> None:
    """Refuse, before any work, an instance of the SYZ cell methods over the cell budget."""
    import os

    if "n" not in params:  # n derived from eps and the target: checked when the target is known
        return
    budget = int(os.environ.get(CELL_BUDGET_ENV, CELL_BUDGET))
    cells = 2 ** (params["n"] * params["d"])
    if cells > budget:
        raise UserError(f"n={params['n']}, d={params['d']} means {cells} cells (2^(n d)), over the "
                        f"work budget of {budget} (cost grows about 4x per cell doubling); set "
                        f"{CELL_BUDGET_ENV} to allow more")


for _method in (method_cells_lp, method_cells_offtrifling, method_boxes_sup):
    _method.precheck = cells_precheck  # type: ignore[attr-defined]


METHODS: dict[str, Callable[..., ErrorReport]] = {
    "ball-bnb": method_ball_bnb,
    "cells-offtrifling": method_cells_offtrifling,
    "cells-lp": method_cells_lp,
    "boxes-sup": method_boxes_sup,
    "bit-extraction": method_bit_extraction,
    "pl1d-exact": method_pl1d_exact,
    "identity": method_identity,
    "store-params": method_store_params,
}


def _q(expr: Any) -> fmpq:
    e = sympy.nsimplify(expr) if not isinstance(expr, sympy.Basic) else sympy.simplify(expr)
    if not e.is_Rational:
        raise ValueError(f"expected an exact rational, got {expr}")
    return fmpq(int(e.p), int(e.q))
