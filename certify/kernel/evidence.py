"""Evidence checkers: from a certificate's evidence to re-derived error bounds.

Each checker knows the region and the norm a method's statement is about (from the installed
claims: K, δ, p are the statement's derived quantities), takes only cut points or points from the
certificate, and computes the bounds itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from flint import arb, fmpq, fmpq_mpoly, fmpq_mpoly_ctx, fmpq_poly

from certify.kernel import ridge, sigma
from certify.kernel.claims import Statement, boxes_of, rational
from certify.kernel.errors import KernelError, Undecided
from certify.kernel.formula import ball, evaluate
from certify.kernel.grid import (BOX_BY_BOX, COARSE, WALKS, Grid, TargetExpression, parse_cuts, same_signs,
                                 volume)
from certify.kernel.network import StoredNetwork, rank_one
from certify.kernel.stored import decode

MAX_WITNESSES = 4096
MAX_RIDGE_DEGREE = 8  # claimed values of sums of ridge functions
MAX_PIECES = 2 ** 17   # boxes of a claim.pieces statement (certify.registry has the same limit)
CHUNK = 2048           # boxes evaluated in one exact batch


@dataclass
class Bounds:
    upper: arb
    lower: Optional[arb]
    what: str
    range_ok: Optional[bool] = None
    trusted: tuple = ()
    inside: Optional[Callable[[list], bool]] = None  # the statement's region, for witnesses
    loose: int = 0  # boxes bounded by interval propagation only (the bound may not decide)
    tighten: Optional[Callable[[], "Bounds"]] = None  # the same check, more carefully, when undecided


def need_kind(evidence: dict, kind: str) -> None:
    if evidence.get("kind") != kind:
        raise KernelError(f"evidence kind {evidence.get('kind')!r}; this method needs {kind!r}")


def _one_input(net: StoredNetwork, check: str) -> None:
    if net.input_dim != 1 or net.layers[-1].rows != 1:
        raise KernelError(f"{check} speaks about networks of one input and one output")


def _cube(d: int) -> list:
    return [(fmpq(0), fmpq(1))] * d


def region(stmt: Statement, env: dict, d: int) -> list:
    """The box the statement's norm is over: ``claim.box = [lo, hi]`` on every axis, else [0, 1]."""
    if "box" not in stmt.claim:
        return _cube(d)
    lo, hi = (_exact(stmt.formula(str(t), env, "box"), "box") for t in stmt.claim["box"])
    if not lo < hi:
        raise KernelError(f"the statement's box [{lo}, {hi}] is empty")
    return [(lo, hi)] * d


MAX_DATA = 10**6


def instance_data(stmt: Statement, cert: dict) -> dict:
    """The instance's data named by ``claim.data`` (a bit string, or nested lists of rationals,
    from the certificate's details), for the statement's formulas to subscript.  The claim is then
    about this instance: the data are as stored, and the network must meet the claim for them.
    Only a field that is itself a string of 0s and 1s is a bit string: inside a list, "10" is ten."""
    details, out, size = cert.get("details") or {}, {}, [0]

    def parse(v: Any, where: str) -> Any:
        size[0] += 1
        if size[0] > MAX_DATA:
            raise KernelError(f"instance data over {MAX_DATA} entries")
        if isinstance(v, list):
            return [parse(x, where) for x in v]
        return rational(v, where)

    for name in stmt.claim.get("data", ()):
        if not isinstance(details, dict) or name not in details:
            raise KernelError(f"details.{name}, the instance's data, is missing")
        v, where = details[name], f"details.{name}"
        bits = isinstance(v, str) and len(v) > 1 and not set(v) - {"0", "1"}
        out[name] = parse(list(v) if bits else v, where)
    return out


def with_instance(stmt: Statement, cert: dict, env: dict) -> dict:
    """``env`` with the instance's data and the statement's ``claim.let`` quantities of them
    (worked out once here, not once per piece); returns the data."""
    data = instance_data(stmt, cert)
    env.update(data)
    for name, text in stmt.claim.get("let", {}).items():
        env[name] = stmt.formula(text, env, f"let {name}")
    return data


def _exact(v: Any, name: str) -> fmpq:
    if not isinstance(v, fmpq):
        raise KernelError(f"{name} = {v} is not an exact rational")
    return v


def _int(v: Any, name: str) -> int:
    v = _exact(v, name)
    if v.q != 1 or v < 1:
        raise KernelError(f"{name} = {v} is not a positive integer")
    return int(v.p)


def _cell_axis(K: int, delta: fmpq) -> list[tuple[fmpq, fmpq]]:
    """The statement's cells along one axis: [k/K, (k+1)/K − δ·1{k ≤ K−2}] (erratum E5)."""
    return [(fmpq(k, K), fmpq(k + 1, K) - (delta if k <= K - 2 else 0)) for k in range(K)]


def _in_cells(box: list, axis: list) -> bool:
    return all(any(a <= lo and hi <= b for a, b in axis) for lo, hi in box)


def grid_offtrifling(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                     evidence: dict, cert: dict) -> Bounds:
    """sup |f − φ| over the union of the cells Q_β (the complement of the trifling region)."""
    need_kind(evidence, "grid")
    axis = _cell_axis(_int(env["K"], "K"), _exact(env["delta"], "delta"))
    cuts = parse_cuts(evidence.get("cuts"), _cube(target.dim))
    for i, c in enumerate(cuts):
        if not {a for iv in axis for a in iv} <= set(c):
            raise KernelError(f"grid evidence axis {i} does not cut at every cell end")
    return _sup(stmt, env, net, target, cuts, lambda box: _in_cells(box, axis), "in the cells")


def grid_sup(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
             evidence: dict, cert: dict) -> Bounds:
    """sup |f − φ| over the statement's box ([0, 1]^d unless ``claim.box`` says otherwise)."""
    need_kind(evidence, "grid")
    box = region(stmt, env, target.dim)
    cuts = parse_cuts(evidence.get("cuts"), box)
    keep = within(stmt, cert, box, cuts) or (lambda g: True)
    return _sup(stmt, env, net, target, cuts, keep, "in the statement's region")


def _sup(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression, cuts: list,
         keep: Callable, where: str) -> Bounds:
    modulus = (env["lam"], env["alpha"]) if "lam" in env else None
    claim = ball(stmt.formula(str(stmt.claim.get("bound", "0")), env, "bound", modulus))
    return _sup_on(Grid(net, cuts, keep), target, cuts, keep, where, WALKS, claim)


def _sup_on(grid: Grid, target: TargetExpression, cuts: list, keep: Callable, where: str,
            how: int, claim: arb) -> Bounds:
    boxes = grid.box_bounds(target, how, claim)
    if not boxes:
        raise KernelError(f"the grid has no box {where}")
    # a witness counts only at a point of the region (the grid's span, kept by ``keep``)
    inside = lambda x: all(c[0] <= v <= c[-1] for v, c in zip(x, cuts)) and keep([(v, v) for v in x])  # noqa: E731
    stuck = any(not (b.tight or b.shortcut) and b.sup > claim for b in boxes)  # no level helps
    counted = f"{len(boxes)}" if len(boxes) == len(grid.boxes) else f"{len(boxes)} of {len(grid.boxes)}"
    return Bounds(_max(b.sup for b in boxes), _max(b.inf for b in boxes),
                  f"grid evidence ({counted} boxes {where}, {sum(b.affine for b in boxes)} affine)",
                  inside=inside, loose=sum(not b.tight for b in boxes),
                  tighten=None if stuck else
                  _again(boxes, how, lambda h: _sup_on(grid, target, cuts, keep, where, h, claim)))


def _again(boxes: list, how: int, check: Callable[[int], Bounds]) -> Optional[Callable[[], Bounds]]:
    """The same check at the next level of Grid.box_bounds, where some box took a shortcut."""
    if how == BOX_BY_BOX or not any(b.shortcut for b in boxes):
        return None
    return lambda: check(how + 1)


def grid_lp(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
            evidence: dict, cert: dict) -> Bounds:
    """‖f − φ‖_{L^p(box)} ≤ (Σ_boxes vol · sup^p)^(1/p); the grid's boxes partition the box."""
    need_kind(evidence, "grid")
    p = stmt.formula(str(stmt.claim.get("p", "p")), env, "p")
    p = _exact(p, "p")
    if p < 1:
        raise KernelError(f"p = {p} < 1")
    box = region(stmt, env, target.dim)
    cuts = parse_cuts(evidence.get("cuts"), box)
    return _lp_sum(Grid(net, cuts, within(stmt, cert, box, cuts)), target, p, COARSE)


def _lp_sum(grid: Grid, target: TargetExpression, p: fmpq, how: int) -> Bounds:
    boxes = grid.box_bounds(target, how)
    pp = arb(p)
    up, lo = arb(0), arb(0)
    for b in boxes:
        v = arb(volume(b.box))
        if b.sup > 0:
            up += v * b.sup ** pp
        if b.inf > 0:
            lo += v * b.inf ** pp
    upper = arb((up ** (1 / pp)).upper()) if up > 0 else arb(0)
    lower = arb((lo ** (1 / pp)).lower()) if lo > 0 else arb(0)
    return Bounds(upper, lower, f"grid evidence ({len(boxes)} boxes, "
                                f"{sum(b.affine for b in boxes)} affine; L^{p} sum)",
                  loose=sum(not b.tight for b in boxes),
                  tighten=_again(boxes, how, lambda h: _lp_sum(grid, target, p, h)))


def within(stmt: Statement, cert: dict, box: list, cuts: list) -> Optional[Callable[[list], bool]]:
    """``claim.within``: the region is the union of the boxes of a parameter of kind ``boxes``
    (given in the cube's coordinates, mapped onto the statement's box).  Every mapped end must be
    a cut, so each grid box lies inside the union or shares no interior point with it."""
    name = stmt.claim.get("within")
    if name is None:
        return None
    spec, params = stmt.parameters.get(name, {}), cert.get("params") or {}
    if spec.get("kind") != "boxes":
        raise KernelError(f"claim.within names {name!r}, not a parameter of kind boxes")
    union = [[(lo + (hi - lo) * a, lo + (hi - lo) * b) for (a, b), (lo, hi) in zip(u, box)]
             for u in boxes_of(name, str(params.get(name)), spec, params)]
    for axis, c in enumerate(cuts):
        if not {end for u in union for end in u[axis]} <= set(c):
            raise KernelError(f"grid evidence axis {axis} does not cut at every end of {name}'s boxes")
    return lambda g: any(all(a <= lo and hi <= b for (lo, hi), (a, b) in zip(g, u)) for u in union)


def _line(net: StoredNetwork, cuts: list[fmpq]) -> tuple[list, bool]:
    """φ at the cuts, and whether φ is affine on every segment and on both rays beyond."""
    outputs, masks = net.run([[c] for c in cuts])
    affine = all(same_signs([masks[k], masks[k + 1]]) for k in range(len(cuts) - 1))
    rays = net.slope_signs([cuts[0]], [cuts[0] - 1]) and net.slope_signs([cuts[-1]], [cuts[-1] + 1])
    return [o[0] for o in outputs], affine and rays


def _ray_slopes(net: StoredNetwork, cuts: list[fmpq]) -> tuple[fmpq, fmpq]:
    (left,), (far_left,) = net.run([[cuts[0]]])[0][0], net.run([[cuts[0] - 1]])[0][0]
    (right,), (far_right,) = net.run([[cuts[-1]]])[0][0], net.run([[cuts[-1] + 1]])[0][0]
    return left - far_left, far_right - right


def real_cuts(evidence: dict) -> list[fmpq]:
    raw = evidence.get("cuts")
    if not isinstance(raw, list) or len(raw) < 2:
        raise KernelError("line evidence needs at least two cuts")
    cuts = [rational(v, "line evidence") for v in raw]
    if any(a >= b for a, b in zip(cuts, cuts[1:])):
        raise KernelError("line evidence cuts must increase")
    return cuts


def cut(a: fmpq, b: fmpq, cuts: list) -> list[tuple[fmpq, fmpq]]:
    """[a, b] cut at the points strictly inside it."""
    ends = [a] + [c for c in cuts if a < c < b] + [b]
    return list(zip(ends, ends[1:]))


def line_identity(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                  evidence: dict, cert: dict) -> Bounds:
    """φ = the evidence's (one-input ReLU) network on the intervals of claim.pieces: both affine
    between consecutive cuts (every neuron keeps one weak sign at the two ends, the test of
    ``line-range``), so comparing them at the cuts decides it; a cut where they differ gives
    the exact gap."""
    need_kind(evidence, "line")
    _one_input(net, "line-identity")
    other = decode(evidence.get("network"))
    if other.input_dim != 1 or other.layers[-1].rows != 1 or not other.plain:
        raise KernelError("line-identity compares with a one-input, one-output ReLU network")
    cuts, worst = real_cuts(evidence), fmpq(0)
    intervals = [(lo[0], hi[0]) for lo, hi, _ in statement_boxes(stmt, env, 1)]
    for a, b in intervals:
        points = [[t] for t in [a] + [c for c in cuts if a < c < b] + [b]]
        values = []
        for side in (net, other):
            outputs, masks = side.run(points)
            if not all(same_signs([masks[k], masks[k + 1]]) for k in range(len(points) - 1)):
                raise KernelError("a network is not affine between the cuts (every kink is a cut)")
            values.append([y[0] for y in outputs])
        worst = max([worst] + [abs(u - v) for u, v in zip(*values)])
    return Bounds(arb(worst), arb(worst), f"both networks exact at the cuts of the "
                  f"{len(intervals)} claimed intervals, affine between them",
                  trusted=("the other network is the one the evidence stores (check --rebuild "
                           "compares it with the builder's)",))


def interpolant_identity(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                         evidence: dict, cert: dict) -> Bounds:
    """φ equals the CPwL interpolant of f at i/(n−1) (constant beyond [0, 1]) on all of R."""
    need_kind(evidence, "line")
    n = _int(env["n"], "n")
    nodes = [fmpq(i, n - 1) for i in range(n)]
    values = []
    for x in nodes:
        v = target.value([x])
        if not isinstance(v, fmpq):
            raise KernelError(f"the target is not exactly rational at the node {x}")
        values.append(v)
    cuts = real_cuts(evidence)
    if not set(nodes) <= set(cuts):
        raise KernelError("line evidence does not cut at every interpolation node")
    ys, affine = _line(net, cuts)
    if not affine:
        raise KernelError("the network is not affine between the cuts (or beyond them)")

    def reference(x: fmpq) -> fmpq:
        if x <= 0:
            return values[0]
        if x >= 1:
            return values[-1]
        k = min(int((x * (n - 1)).floor()), n - 2)
        t = x * (n - 1) - k
        return values[k] + t * (values[k + 1] - values[k])

    worst = max(abs(y - reference(x)) for x, y in zip(cuts, ys))
    sl, sr = _ray_slopes(net, cuts)
    if sl != 0 or sr != 0:
        raise KernelError("the network is not constant beyond the cuts: the difference is unbounded")
    worst = max(worst, abs(ys[0] - values[0]), abs(ys[-1] - values[-1]))
    return Bounds(arb(worst), arb(worst), f"line evidence ({len(cuts)} cuts, rays checked)")


def line_range(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
               evidence: dict, cert: dict) -> Bounds:
    """sup over R of the distance of φ from the claimed range [lo, hi] (``claim.range``): φ is
    affine between the cuts and beyond them, so the distance peaks at a cut or grows on a ray."""
    need_kind(evidence, "line")
    _one_input(net, "line-range")
    lo, hi = (_exact(stmt.formula(str(t), env, "range"), "range") for t in stmt.claim["range"])
    cuts = real_cuts(evidence)
    ys, affine = _line(net, cuts)
    if not affine:
        raise KernelError("the network is not affine between the cuts (or beyond them)")
    worst = max(max(lo - y, y - hi, fmpq(0)) for y in ys)
    if _ray_slopes(net, cuts) != (0, 0):
        return Bounds(arb("inf"), arb(worst), "line evidence: φ is unbounded on a ray")
    return Bounds(arb(worst), arb(worst), f"line evidence ({len(cuts)} cuts, rays constant)")


def split_range(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                evidence: dict, cert: dict) -> Bounds:
    """sup over R^d of the distance of φ from ``claim.range``, through the hidden layer of one
    ReLU the evidence names: φ = tail(u) with u ≥ 0, so φ's range lies in the tail's range on
    [0, ∞), followed exactly from kink to kink up to the evidence's reach and shown affine beyond.
    That range may be larger than φ's, so a bound that misses the claim decides nothing (loose);
    the lower bound is φ's exact distance at the witnesses, anywhere in R^d."""
    lo, hi = (_exact(stmt.formula(str(t), env, "range"), "range") for t in stmt.claim["range"])
    (t_lo, t_hi), k, ys = _tail_range(net, evidence, cert)
    upper = arb("inf") if t_lo is None else arb(max(lo - t_lo, t_hi - hi, fmpq(0)))
    lower = max([max(lo - y, y - hi, fmpq(0)) for y in ys], default=fmpq(0))
    return Bounds(upper, arb(lower), f"exact range of the network's tail after layer {k} "
                  "(one ReLU) on [0, ∞)", loose=1)


def split_sup(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
              evidence: dict, cert: dict) -> Bounds:
    """sup over R^d of |φ| minus |f(0)|, φ's range taken through a hidden layer of one ReLU as
    in :func:`split_range` (loose, for the same reason)."""
    (t_lo, t_hi), k, ys = _tail_range(net, evidence, cert)
    f0 = abs(target.at([fmpq(0)] * target.dim))
    upper = arb("inf") if t_lo is None else arb((max(abs(t_lo), abs(t_hi)) - f0).upper())
    lower = max([arb((abs(y) - f0).lower()) for y in ys] + [arb((-f0).lower())], key=lambda v: v.mid())
    return Bounds(upper, lower, f"exact range of the network's tail after layer {k} (one ReLU) "
                  "on [0, ∞), |f(0)| enclosed", loose=1)


def range_shown(stmt: Statement, env: dict, net: StoredNetwork) -> bool:
    """Is ``claim.range`` shown over all of R^d through a layer of rank-one weights u·v?  From
    the last such hidden layer k, φ = T(v·h) with T the rest of the network (u its first
    weights, one input), so φ(R^d) ⊆ T(R); T is followed exactly from kink to kink between its
    first layer's kinks widened until both rays beyond are affine, and must be flat on them."""
    lo, hi = (_exact(stmt.formula(str(t), env, "range"), "range") for t in stmt.claim["range"])
    for k in range(len(net.layers) - 2, -1, -1):
        uv = rank_one(net.layers[k]) if net.plain else None
        if uv is None:
            continue
        u, _, first = uv
        tail = StoredNetwork(1, (first,) + net.layers[k + 1:])
        reach = max((abs(first.b[i, 0] / w) for i, w in enumerate(u) if w), default=fmpq(0)) + 1
        for _ in range(8):
            if tail.slope_signs([reach], [reach + 1]) and tail.slope_signs([-reach], [-reach - 1]):
                break
            reach *= 4
        else:
            return False
        ends = [y[0] for y in tail.run([[-reach - 1], [-reach], [reach], [reach + 1]], signs=False)[0]]
        if ends[0] != ends[1] or ends[2] != ends[3]:
            return False  # a ray that is not flat: T is unbounded
        try:
            t_lo, t_hi = tail.walk([(-reach, reach)], 0)
        except Undecided:
            return False
        return lo <= t_lo and t_hi <= hi
    return False


def _tail_range(net: StoredNetwork, evidence: dict, cert: dict) -> tuple[tuple, int, list]:
    """The tail's exact range on [0, ∞) ((None, None) when a ray is not flat), the split layer,
    and φ's exact values at the witnesses."""
    need_kind(evidence, "split")
    k, reach = evidence.get("layer"), rational(evidence.get("reach"), "split evidence reach")
    if k is None:
        raise Undecided("the network has no hidden layer of one ReLU to split at")
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < len(net.layers) - 1 or \
            net.layers[k].relu != (True,) or reach <= 0:
        raise KernelError("split evidence needs a hidden layer of one ReLU and a reach > 0")
    tail = StoredNetwork(1, net.layers[k + 1:])
    if tail.layers[-1].rows != 1:
        raise KernelError("a split speaks about networks of one output")
    t_lo, t_hi = tail.walk([(fmpq(0), reach)], 0)
    if not tail.slope_signs([reach], [reach + 1]):
        raise Undecided(f"the tail after layer {k} has a kink beyond the reach {reach}")
    (at,), (beyond,) = tail.run([[reach], [reach + 1]], signs=False)[0]
    points = [[rational(v, "witness") for v in w["x"]] for w in (cert.get("witnesses") or [])
              if isinstance(w, dict) and isinstance(w.get("x"), list) and len(w["x"]) == net.input_dim]
    ys = [y[0] for y in net.run(points[:MAX_WITNESSES], signs=False)[0]] if points else []
    return ((t_lo, t_hi) if at == beyond else (None, None)), k, ys


def constant_pieces(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                    evidence: dict, cert: dict) -> Bounds:
    """An exact claim over the statement's boxes (claim.pieces): on a box where every ReLU has
    one weak sign at all vertices φ is affine, so its largest distance to the claimed constant
    (or affine) value is taken at a vertex; the boxes and values come from the installed
    statement only."""
    need_kind(evidence, "pieces")
    boxes = statement_boxes(stmt, env, net.input_dim)
    worst = fmpq(0)
    for start in range(0, len(boxes), CHUNK):
        chunk = boxes[start:start + CHUNK]
        corners = [_vertices(lo, hi) for lo, hi, _ in chunk]
        # a point is a box on which φ is trivially affine: no sign masks needed
        outputs, masks = net.run([v for vs in corners for v in vs],
                                 signs=any(len(vs) > 1 for vs in corners))
        k = 0
        for (lo, hi, value), vs in zip(chunk, corners):
            if len(vs) > 1 and not same_signs(masks[k:k + len(vs)]):
                raise Undecided(f"a ReLU changes sign inside the box [{lo}, {hi}]")
            if len(outputs[k]) != len(value):
                raise KernelError(f"the network has {len(outputs[k])} outputs, the claim {len(value)}")
            for y, x in zip(outputs[k:k + len(vs)], vs):  # φ − value is affine: extreme at a vertex
                worst = max(worst, max(abs(a - _at(b, x)) for a, b in zip(y, value)))
            k += len(vs)
    return Bounds(arb(worst), arb(worst), f"exact values at the vertices of the statement's "
                  f"{len(boxes)} boxes, the network shown affine on each")


def sigma_identity(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                   evidence: dict, cert: dict) -> Bounds:
    """φ = value on every interval of claim.pieces (value a polynomial in x1) for a one-input
    network of σ (EUAF), ReLU and identity neurons: on each cell of the cuts inside an interval
    every pre-activation is shown to stay in one piece of its activation, and φ's rational
    function there is compared with the value (:mod:`certify.kernel.sigma`).  A network of
    several inputs must be a sum of ridge functions (:mod:`certify.kernel.ridge`); its values
    are polynomials in the input list x, one output."""
    if net.input_dim > 1 and net.layers[-1].rows == 1:
        need_kind(evidence, "pieces")  # the kernel finds every cell itself
        pieces = statement_boxes(stmt, env, net.input_dim, degree=MAX_RIDGE_DEGREE)
        worst = max((ridge.difference(net.layers, list(zip(lo, hi)), value)
                     for lo, hi, (value,) in pieces), default=fmpq(0))
        if worst > 0:
            return Bounds(arb("inf"), arb(worst), "an exact point where φ differs from the claim")
        return Bounds(arb(0), arb(0), f"exact rational functions of the ridge directions on the "
                      f"{len(pieces)} claimed boxes")
    need_kind(evidence, "line")
    _one_input(net, "sigma-identity")
    cuts, pieces = real_cuts(evidence), statement_boxes(stmt, env, 1, polynomial=True)
    worst = fmpq(0)
    for ((a,), (b,), (value,)) in pieces:
        if not a < b:
            raise KernelError(f"sigma-identity needs intervals, not the point {a}")
        worst = max(worst, sigma.difference(net.layers, cut(a, b, cuts), value))
    if worst > 0:  # φ differs from the claim at an exact point: no upper bound, a lower one
        return Bounds(arb("inf"), arb(worst), "an exact point where φ differs from the claim")
    return Bounds(arb(0), arb(0), f"exact rational functions on the cells of the {len(pieces)} "
                  "claimed intervals")


def sigma_sup(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
              evidence: dict, cert: dict) -> Bounds:
    """sup |f − φ| over the intervals of claim.pieces (no values) for a one-input σ network: φ is
    one rational function on each cell of the cuts (as ``sigma_identity``), its range there taken
    at the cell's ends and critical points (:func:`sigma.range_on`), f enclosed with arb balls.
    Where a neuron sweeps more pieces than are followed, φ is enclosed through it
    (:func:`sigma.enclosed_cells`): exactly again where it cancels, else a superset (loose)."""
    need_kind(evidence, "line")
    _one_input(net, "sigma-sup")
    cuts = real_cuts(evidence)
    intervals = [(lo[0], hi[0]) for lo, hi, _ in statement_boxes(stmt, env, 1)]
    cells = [pair for a, b in intervals for pair in cut(a, b, cuts)]
    e = sigma_error(net.layers, cells, target)
    return Bounds(e.sup, e.inf, f"exact rational functions on {e.cells - e.loose} cells of the "
                  f"{len(intervals)} claimed intervals, φ enclosed on {e.loose} more, the target "
                  "enclosed on each", loose=e.loose)


@dataclass
class CellError:
    sup: arb    # upper bound of |f − φ| on the cells
    inf: arb    # lower bound of sup |f − φ| there
    lo: fmpq    # φ's values lie in [lo, hi] there
    hi: fmpq
    cells: int
    loose: int  # cells where φ is enclosed, not a rational function


def sigma_error(layers: tuple, cells: list, target: TargetExpression) -> CellError:
    """|f − φ| for a one-input σ network over the cells (cut further where a pre-activation
    leaves its piece), f enclosed with arb balls on each (:func:`sigma.enclosed_cells`)."""
    out = CellError(arb(0), arb(0), fmpq(0), fmpq(0), 0, 0)
    for c, d, lo, hi, exact in sigma.enclosed_cells(layers, cells):
        flo, fhi = (arb(v) for v in target.on([(c, d)]))
        out.sup = out.sup.max(arb(((fhi - arb(lo)).max(arb(hi) - flo)).upper()))
        # φ's values lie in [lo, hi] (a superset where not exact): a gap to f's is one still
        gap = (flo - arb(hi)).max(arb(lo) - fhi)
        out.inf = out.inf.max(arb(gap.lower())) if gap > 0 else out.inf
        out.lo, out.hi = (lo, hi) if not out.cells else (min(out.lo, lo), max(out.hi, hi))
        out.cells, out.loose = out.cells + 1, out.loose + (not exact)
    return out


def sigma_range(stmt: Statement, env: dict, net: StoredNetwork, target: TargetExpression,
                evidence: dict, cert: dict) -> Bounds:
    """sup |φ| minus sup |f| over the intervals of claim.pieces for a one-input σ network: φ
    enclosed cell by cell, exactly where its pre-activations stay in pieces the kernel follows,
    else through σ's range over its argument's exact range (:func:`sigma.enclosed_cells`);
    sup |f| bounded below by |f| at the evidence's cuts and the intervals' ends, above by its
    enclosures on the cells; the lower bound is |φ| at the witnesses, exactly."""
    need_kind(evidence, "line")
    _one_input(net, "sigma-range")
    intervals = [(lo[0], hi[0]) for lo, hi, _ in statement_boxes(stmt, env, 1)]
    cuts = [c for c in real_cuts(evidence) if any(a <= c <= b for a, b in intervals)]
    phi, f_hi, cells = fmpq(0), arb(0), 0
    for a, b in intervals:
        for c, d, lo, hi, _ in sigma.enclosed_cells(net.layers, cut(a, b, cuts)):
            phi = max(phi, abs(lo), abs(hi))
            f_hi = _max([f_hi] + [abs(arb(v)) for v in target.on([(c, d)])])
            cells += 1
    f_lo = _max([arb(abs(target.at([x])).lower()) for x in cuts + [a for a, _ in intervals]])
    points = [w["x"][0] for w in (cert.get("witnesses") or [])[:MAX_WITNESSES]
              if isinstance(w, dict) and isinstance(w.get("x"), list) and len(w["x"]) == 1]
    values = [abs(sigma.at(net.layers, x)) for x in (rational(v, "witness") for v in points)
              if any(a <= x <= b for a, b in intervals)]
    lower = arb((arb(max(values, default=fmpq(0))) - f_hi).lower())
    return Bounds(arb((arb(phi) - f_lo).upper()), lower, f"φ enclosed on {cells} cells of the "
                  f"{len(intervals)} claimed intervals, |f| at {len(cuts)} points")


def statement_boxes(stmt: Statement, env: dict, d: int, polynomial: bool = False, degree: int = 1
                    ) -> list[tuple[list, list, list]]:
    """The boxes of claim.pieces with their values (``polynomial``: values are polynomials in x1;
    else exact rationals or, for a family with ``output``, polynomials in the input list x of at
    most ``degree``: affine for the ReLU checks).
    A family with ``axis`` gives lo and hi as one formula per input axis; one with ``output``,
    its value as one formula per output (``outputs`` of them)."""
    families = stmt.claim.get("pieces") or []
    counts = [_count(stmt.formula(str(f["count"]), env, "pieces count")) for f in families]
    if sum(counts) > MAX_PIECES or sum(counts) * 2 ** d > MAX_PIECES * 2:
        raise Undecided(f"{sum(counts)} boxes in dimension {d} exceed the kernel's limit")
    out = []
    for family, count in zip(families, counts):
        for i in range(count):
            scope = dict(env, **{family["index"]: fmpq(i)})
            lo, hi = ([_exact(stmt.formula(t, s, f"pieces {key}"), f"pieces {key}")
                       for t, s in _each(family, key, scope, d)] for key in ("lo", "hi"))
            value = []
            for t, s in _each(family, "value", scope, d):  # a data list stands for as many outputs
                if "output" in family:
                    value.append(_of_degree(stmt.formula(t, dict(s, x=_inputs(d)), "pieces value"),
                                            degree))
                    continue
                v = stmt.formula(t, dict(s, x1=sigma.X) if polynomial else s, "pieces value",
                                 lists=not polynomial)
                value += [_polynomial(v)] if polynomial else \
                    [_exact(u, "pieces value") for u in (v if isinstance(v, list) else [v])]
            if len(lo) != d or len(hi) != d or any(a > b for a, b in zip(lo, hi)):
                raise KernelError(f"piece {i}: [{lo}, {hi}] is not a box of dimension {d}")
            out.append((lo, hi, value))
    return out


def _each(family: dict, key: str, scope: dict, d: int) -> list[tuple[str, dict]]:
    """(formula, scope) pairs of a family's lo, hi or value: one per axis or output where the
    family names one, else its list as written."""
    name, n = ((family.get("axis"), d) if key in ("lo", "hi") else
               (family.get("output"), family.get("outputs")))
    if name is None:
        return [(t, scope) for t in family.get(key, [])]
    if key == "value":
        n = _count(evaluate(str(n), scope, "pieces outputs"))
    return [(family[key][0], dict(scope, **{name: fmpq(k)})) for k in range(n)]


def _inputs(d: int) -> list:
    return list(fmpq_mpoly_ctx.get(("x", d)).gens())  # the input x[0..d-1] as affine forms


def _of_degree(v: Any, degree: int) -> Any:
    if isinstance(v, fmpq) or (isinstance(v, fmpq_mpoly) and v.total_degree() <= degree):
        return v
    raise KernelError(f"pieces value {v} is not a polynomial of degree ≤ {degree} in the input")


def _at(value: Any, x: list) -> fmpq:
    return value if isinstance(value, fmpq) else value(*x)


def _polynomial(v: Any) -> fmpq_poly:
    if isinstance(v, fmpq):
        return fmpq_poly([v])
    if not isinstance(v, fmpq_poly):
        raise KernelError(f"pieces value {v} is not a polynomial in x1 with rational coefficients")
    return v


def _count(v: Any) -> int:
    v = _exact(v, "pieces count")
    if v.q != 1 or v < 0:
        raise KernelError(f"pieces count {v} is not a natural number")
    return int(v.p)


def _vertices(lo: list, hi: list) -> list[list]:
    out = [[]]
    for a, b in zip(lo, hi):
        out = [v + [c] for v in out for c in ((a,) if a == b else (a, b))]
    return out


def witness_lower(net: StoredNetwork, target: TargetExpression, witnesses: Any,
                  inside: Callable[[list], bool]) -> Optional[arb]:
    """The largest |f(x) − φ(x)| over the certificate's witnesses, re-evaluated exactly; a
    witness outside the statement's region is refused (it would bound another norm)."""
    points = witness_points(witnesses, target.dim, inside)
    outputs, _ = net.run(points) if points else ([], None)
    return largest_gap(target, points, [y[0] for y in outputs])


def witness_points(witnesses: Any, dim: int, inside: Callable[[list], bool]) -> list:
    """The witnesses' points, each inside the statement's region."""
    if not isinstance(witnesses, list):
        return []
    if len(witnesses) > MAX_WITNESSES:
        raise KernelError(f"more than {MAX_WITNESSES} witnesses")
    points = []
    for w in witnesses:
        x = w.get("x") if isinstance(w, dict) else None
        if not isinstance(x, list) or len(x) != dim:
            raise KernelError(f"witness {w!r} is not a point of dimension {dim}")
        point = [rational(v, "witness") for v in x]
        if not inside(point):
            raise KernelError(f"witness {x} lies outside the region of the statement")
        points.append(point)
    return points


def largest_gap(target: TargetExpression, points: list, values: list) -> Optional[arb]:
    """A lower bound of max |f(x) − v| over the points x and φ's exact values v there."""
    best = None
    for x, y in zip(points, values):
        e = abs(target.at(x) - arb(y))
        lo = arb(e.lower()) if e > 0 else arb(0)
        best = lo if best is None else best.max(lo)
    return best


def _max(values: Any) -> arb:
    out = None
    for v in values:
        out = v if out is None else out.max(v)
    return ball(out)
