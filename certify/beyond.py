"""Rigorous sup-norm certificates for ReLU emulations ("Beyond ReLU", Zhang–Lu–Zhao).

The argument (quantitative Prop 10; note §8), checked here from the built network only:

1. **Structure.**  The ϱ-network must be L₀, G, L₁, G, …, L_L where L_ℓ are *exactly* the ReLU
   network's affine maps and every G is a layer of copies of one gadget g: R → R.  The gadget's
   parameters are read from the node and the gadget is rebuilt from them; its digest must equal
   the node's body, so the parameters are facts about the network, not reports of the builder.
2. **Ranges.**  Exact interval propagation of the ReLU network on the box gives every hidden
   pre-activation h_ℓ,i ∈ [lo, hi] (rationals).
3. **Gadget band.**  τ ≥ sup_{|t| ≤ M} |g(t) − ReLU(t)|, rigorously (arb balls), by kind:
   * piecewise-linear / piecewise-quadratic gadgets with exact activations (LeakyReLU, ReLU²):
     exact evaluation at the breakpoints (and vertices) — the exact sup;
   * one-hidden-layer gadgets (𝒜̃₂, 𝒜₂, scaled kinks): branch and bound over a geometric
     partition of [−M, M] around the kink 0, each box enclosed by min(naive ball evaluation,
     mean-value form f(m) + f'(T)(T − m)) with f' from arb Taylor series;
   * two-layer S-shaped gadgets g = Γ(u(t), v(t)) (u the step, v the identity gadget):
     |g − ReLU| ≤ |Γ(u, v) − uv| + |u|·|v − t| + |t|·|u − 1_{t>0}|, with
     - |t|·|u − 1_{t>0}| ≤ S₁ and |u| ≤ U by branch and bound as above,
     - v(t) − t = (a_vϱ(x₁) + b_v) + t·(a_vδϱ'(ξ) − 1), ξ ∈ x₁ + δ·[0, t] (mean value) ⇒ S₂,
     - the mixed second difference equals η²uv·ϱ''(ξ), ξ ∈ x₀ + η[−(U+V), U+V]; the symmetric one
       equals h²ϱ''(ξ) (Taylor with mean-value remainder) ⇒ the product band, plus the exact
       rounding of the output bias.
4. **Propagation.**  With e₁ = 0 and e_{ℓ+1} = |W_ℓ|(τ + e_ℓ) (exact rationals): as long as
   |h_ℓ,i| + e_ℓ,i ≤ M, |g(h̃) − ReLU(h)| ≤ |g(h̃) − ReLU(h̃)| + |h̃ − h| ≤ τ + e_ℓ.  The output
   error is at most max_i e_{L+1,i}.

Sampling only ever gives lower bounds (Ball evaluation at exact points against the exact ReLU
network).  No float enters a bound.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from flint import arb, fmpq

from certify.error import ErrorReport
from certify.errors import UserError
from constructive.activation_catalogue import derivatives
from constructive.evaluate import evaluate
from constructive.ir import Affine, Gadget, Network, Node, Parallel
from constructive.numbers import Ball, Exact, as_fmpq, precision

_NETWORK_FILE: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("zlz_network", default=None)


@contextlib.contextmanager
def using_network(path: Optional[str]) -> Iterator[None]:
    """Within the block, the emulation theorems use the ReLU network of ``path`` (JSON or a
    PyTorch state dict) instead of the default instance; the file is validated first."""
    if path:
        from constructive.beyond_relu import load_relu_network

        load_relu_network(path)
    token = _NETWORK_FILE.set(path)
    try:
        yield
    finally:
        _NETWORK_FILE.reset(token)


def current_network_file() -> Optional[str]:
    return _NETWORK_FILE.get()


# ---------------------------------------------------------------------------------------------
# branch and bound


def _hull(a: fmpq, b: fmpq) -> arb:
    return arb(a).union(arb(b))


def _upper(x: arb) -> arb:
    return abs(x).upper()


def sup_abs(fv: Callable[[arb], arb], fd: Optional[Callable[[arb], arb]], cuts: list,
            rel: float = 1.02, cap: int = 4000) -> tuple[arb, arb, int]:
    """Rigorous (upper, lower) of sup |f| over the union of [cuts[k], cuts[k+1]].

    Each box is bounded by min(|naive|, |mean-value form|); the box of largest bound is bisected
    until the bound is within ``rel`` of the best point value or ``cap`` boxes were evaluated.
    """
    def bound(a: fmpq, b: fmpq) -> arb:
        T = _hull(a, b)
        best = _upper(fv(T))
        if fd is not None and b > a:
            m = (a + b) / 2
            mv = fv(arb(m)) + fd(T) * _hull(a - m, b - m)
            u = _upper(mv)
            if u.is_finite() and (not best.is_finite() or u < best):
                best = u
        return best

    heap = []
    lower = arb(0)
    evals = 0
    for a, b in zip(cuts, cuts[1:]):
        if b <= a:
            continue
        u = bound(a, b)
        evals += 1
        v = abs(fv(arb((a + b) / 2))).lower()
        if v > lower:
            lower = v
        heapq.heappush(heap, (-_key(u), evals, a, b, u))
    while heap and evals < cap:
        negk, _, a, b, u = heap[0]
        if u.is_finite() and u <= lower * arb(rel):
            break
        heapq.heappop(heap)
        m = (a + b) / 2
        for lo, hi in ((a, m), (m, b)):
            uu = bound(lo, hi)
            evals += 1
            v = abs(fv(arb((lo + hi) / 2))).lower()
            if v > lower:
                lower = v
            heapq.heappush(heap, (-_key(uu), evals, lo, hi, uu))
    upper = max((h[4] for h in heap), key=_key, default=arb(0))
    return upper, lower, evals


def _key(u: arb) -> float:
    if not u.is_finite():
        return math.inf
    return float(u.mid()) + float(u.rad())  # ordering only, never a verdict


def geometric_cuts(M: fmpq, smallest: fmpq) -> list:
    """−M … −M/2^J, 0, M/2^J … M with M/2^J ≤ smallest."""
    J = 0
    while M / 2 ** J > smallest and J < 400:
        J += 1
    pos = [M / 2 ** j for j in range(J, -1, -1)]
    return [-x for x in reversed(pos)] + [fmpq(0)] + pos


# ---------------------------------------------------------------------------------------------
# gadget bands


@dataclass
class GadgetBand:
    tau: fmpq                    # rational upper bound of sup |g − ReLU| on [−M, M]
    lower: Any                   # a lower bound (arb or fmpq)
    method: str
    terms: dict = field(default_factory=dict)
    evaluations: int = 0


def _q_upper(x: arb) -> fmpq:
    """A rational ≥ every point of the ball."""
    u = x.upper()
    e = 2 ** 200
    n = (u * e).ceil().unique_fmpz() if (u * e).ceil().is_exact() else None
    if n is None:
        raise ArithmeticError("bound is not finite")
    return fmpq(int(n), e)


def _layers_of(body: Network) -> list:
    return list(body.nodes)


def band_exact_pl(plan, M: fmpq) -> GadgetBand:
    """Exact sup over [−M, M] for exactly evaluable gadgets with polynomial pieces (degree ≤ 2)."""
    body = plan.body()
    first: Affine = body.nodes[0]
    bps = {fmpq(0), -M, M}
    for i in range(first.W.nrows()):
        w, b = first.W[i, 0], first.b[i, 0]
        if w != 0:
            t = -b / w
            if -M < t < M:
                bps.add(t)
    pts = sorted(bps)
    cand = set(pts)
    for a, b in zip(pts, pts[1:]):  # fit the quadratic on each piece, add its vertex
        m = (a + b) / 2
        ya, ym, yb = (_err_exact(body, x) for x in (a, m, b))
        h = (b - a) / 2
        c2 = (ya - 2 * ym + yb) / (2 * h * h)
        c1 = (yb - ya) / (2 * h)
        if c2 != 0:
            v = m - c1 / (2 * c2)
            if a < v < b:
                cand.add(v)
    worst = max(abs(_err_exact(body, x)) for x in cand)
    return GadgetBand(worst, worst, "exact evaluation at breakpoints and vertices (pieces of degree ≤ 2)",
                      {"breakpoints": [str(p) for p in pts]})


def _err_exact(body: Network, x: fmpq) -> fmpq:
    y = evaluate(body, [[x]], Exact())[0][0]
    return y - (x if x > 0 else fmpq(0))


def band_one_layer(plan, M: fmpq, prec: int) -> GadgetBand:
    body = plan.body()
    first, _, out = body.nodes
    act = plan.act
    rows = [(first.W[i, 0], first.b[i, 0], out.W[0, i]) for i in range(first.W.nrows())]
    c = out.b[0, 0]

    def fv(T: arb) -> arb:
        s = arb(c)
        for w, b, o in rows:
            s += arb(o) * act.ball(arb(w) * T + arb(b))
        return s - T.nonnegative_part() if not (T < 0) else s

    def fd(T: arb) -> arb:
        s = arb(0)
        for w, b, o in rows:
            s += arb(o) * arb(w) * derivatives(act, arb(w) * T + arb(b), 1)[1]
        return s - 1 if T >= 0 else (s if T <= 0 else s - arb(0).union(arb(1)))

    K = max(abs(w) for w, _, _ in rows)
    cuts = geometric_cuts(M, fmpq(1, 64) / K)
    # further kinks of the shifted neurons inside [−M, M]
    extra = [-b / w for w, b, _ in rows if w != 0 and -M < -b / w < M and -b / w != 0]
    cuts = sorted(set(cuts) | set(extra))
    with precision(prec):
        up, lo, n = sup_abs(fv, fd, cuts)
        return GadgetBand(_q_upper(up), lo, "branch and bound: naive ∩ mean-value ball enclosures "
                          "on a geometric partition around the kink", {"sup": up.str(8, radius=True)}, n)


def band_two_layer(plan, M: fmpq, prec: int) -> GadgetBand:
    q = plan.p
    act = plan.act
    K, d, x1, x0, eta = (q[k] for k in ("K", "delta", "x1", "x0", "eta"))
    au, bu, av, bv, c, beta = (q[k] for k in ("au", "bu", "av", "bv", "c", "beta"))
    T0 = q.get("T0")
    terms: dict = {}
    with precision(prec):
        A = lambda v: arb(v)

        def u(T: arb) -> arb:
            y = A(K) * T
            if T0 is None:
                return A(au) * act.ball(y) + A(bu)
            return A(au) * A(T0) * derivatives(act, y.union(y + A(T0)), 1)[1] + A(bu)

        def du(T: arb) -> arb:
            y = A(K) * T
            if T0 is None:
                return A(au) * A(K) * derivatives(act, y, 1)[1]
            return A(au) * A(K) * (derivatives(act, y + A(T0), 1)[1] - derivatives(act, y, 1)[1])

        def ind(T: arb) -> arb:
            return arb(1) if T > 0 else (arb(0) if T < 0 else arb(0).union(arb(1)))

        cuts = geometric_cuts(M, fmpq(1, 64) / K)
        S1, S1lo, n1 = sup_abs(lambda T: T * (u(T) - ind(T)),
                               lambda T: (u(T) - ind(T)) + T * du(T), cuts)
        U, Ulo, n2 = sup_abs(u, du, cuts)
        # identity gadget: v(t) − t = (av ϱ(x1) + bv) + t (av δ ϱ'(ξ) − 1)
        c0 = A(av) * act.ball(A(x1)) + A(bv)
        S2 = abs(c0)
        pieces = 32
        for k in range(pieces):
            a, b = -M + 2 * M * k / pieces, -M + 2 * M * (k + 1) / pieces
            tmax = max(abs(a), abs(b))
            span = _hull(min(a, fmpq(0)), max(b, fmpq(0)))
            g = A(av) * A(d) * derivatives(act, A(x1) + A(d) * span, 1)[1] - 1
            S2 = S2.max(abs(c0) + A(tmax) * abs(g)) if k else abs(c0) + A(tmax) * abs(g)
        S2 = S2.upper()
        Uu, V = U.upper(), (A(M) + S2).upper()
        R = (Uu + V).upper()
        xi = A(x0) + A(eta) * _hull(fmpq(0), fmpq(0)).union(arb(0)) + A(eta) * R.union(-R)
        s2 = derivatives(act, xi, 2)[2]
        s0 = act.ball(A(x0))
        if plan.kind == "a3":
            P = abs(A(c) * A(eta) ** 2 * s2 - 1).upper()
            prod = Uu * V * P
            bias = abs(A(beta) - A(c) * s0)
        else:
            P = abs(2 * A(c) * A(eta) ** 2 * s2 - 1).upper()
            prod = (R * R + Uu * Uu + V * V) * P / 2
            bias = abs(A(beta) - 2 * A(c) * s0)
        tau = (S1 + Uu * S2 + prod + bias).upper()
        terms = {"step |t||u-1{t>0}|": S1.str(6, radius=False), "sup|u|": Uu.str(6, radius=False),
                 "identity |v-t|": S2.str(6, radius=False), "product": prod.str(6, radius=False),
                 "bias rounding": bias.upper().str(6, radius=False)}
        return GadgetBand(_q_upper(tau), S1lo, "decomposition Γ(u,v) − ReLU: step and |u| by branch and "
                          "bound, identity and product by mean-value/Taylor remainders in arb", terms,
                          n1 + n2 + pieces)


def gadget_band(plan, M: fmpq) -> GadgetBand:
    prec = int(plan.p.get("prec", fmpq(0))) + 64
    prec = max(prec, 256)
    if plan.kind == "relu":
        return GadgetBand(fmpq(0), fmpq(0), "identity substitution (exact)")
    if plan.act.exact is not None and plan.kind in ("kink0", "relu2"):
        return band_exact_pl(plan, M)
    if plan.kind in ("kink0", "one", "two", "relu2"):
        return band_one_layer(plan, M, prec)
    return band_two_layer(plan, M, prec)


# ---------------------------------------------------------------------------------------------
# the emulation certificate


@dataclass
class EmulationBound:
    ok: bool
    error_upper: fmpq
    error_lower: Any
    tau: fmpq
    M: fmpq
    M_needed: fmpq
    plan: Any
    band: Optional[GadgetBand]
    reasons: list
    witnesses: list
    seconds: float


def _check_structure(net: Node, layers: list) -> tuple[Optional[Gadget], list]:
    from constructive.beyond_relu import plan_from_gadget

    problems = []
    nodes = list(net.nodes) if isinstance(net, Network) else []
    if len(nodes) != 2 * len(layers) - 1:
        return None, [f"expected {2 * len(layers) - 1} nodes (affine / gadget layers), found {len(nodes)}"]
    gadget = None
    for k, node in enumerate(nodes):
        if k % 2 == 0:
            W, b = layers[k // 2]
            if not isinstance(node, Affine) or node.W != W or node.b != b:
                problems.append(f"node {k} is not the ReLU network's affine map {k // 2}")
        else:
            if not isinstance(node, Parallel) or len(node.parts) != layers[k // 2][0].nrows():
                problems.append(f"node {k} is not a layer of {layers[k // 2][0].nrows()} gadgets")
                continue
            for part in node.parts:
                inner = part.nodes if isinstance(part, Network) else (part,)
                if len(inner) != 1 or not isinstance(inner[0], Gadget):
                    problems.append(f"node {k}: a part is not a single gadget")
                    break
                g = inner[0]
                if gadget is None:
                    plan = plan_from_gadget(g)
                    if plan.body().digest != g.body.digest:
                        problems.append(f"gadget {g.name}: body differs from the one its parameters define")
                    gadget = g
                elif g is not gadget and g.body.digest != gadget.body.digest:
                    problems.append(f"node {k}: gadgets differ")
    return gadget, problems


def certify_emulation(net: Node, layers: list, box: list, witnesses: int = 6) -> EmulationBound:
    from constructive.beyond_relu import hidden_ranges, plan_from_gadget, propagate, relu_net_from_layers

    t0 = time.perf_counter()
    gadget, problems = _check_structure(net, layers)
    ranges = hidden_ranges(layers, box)
    need = max((max(abs(a), abs(b)) for r in ranges for a, b in r), default=fmpq(0))
    if gadget is None or problems:
        return EmulationBound(False, fmpq(10) ** 9, fmpq(0), fmpq(0), fmpq(0), need, None, None,
                              problems or ["no gadget found"], [], time.perf_counter() - t0)
    plan = plan_from_gadget(gadget)
    M = plan.p["M"]
    try:
        band = gadget_band(plan, M)
    except ArithmeticError as exc:
        return EmulationBound(False, fmpq(10) ** 9, fmpq(0), fmpq(0), M, need, plan, None,
                              [f"gadget band not finite ({exc}): no rigorous bound"], [],
                              time.perf_counter() - t0)
    errs = propagate(layers, band.tau)
    reasons = list(problems)
    for l, r in enumerate(ranges):
        for (a, b), e in zip(r, errs[l]):
            if max(abs(a), abs(b)) + e > M:
                reasons.append(f"layer {l + 1}: perturbed pre-activations may leave [-{M}, {M}]")
                break
    upper = max(errs[-1])
    # lower bound: the emulation at exact points in ball arithmetic vs the exact ReLU network
    lower, wit = _witness(net, layers, box, int(plan.p.get("prec", fmpq(0))) + 128, witnesses)
    return EmulationBound(not reasons, upper, lower, band.tau, M, need, plan, band, reasons, wit,
                          time.perf_counter() - t0)


def _witness(net, layers, box, prec: int, n: int) -> tuple[Any, list]:
    import random

    from constructive.beyond_relu import relu_net_from_layers

    rng = random.Random(7)
    pts = [[a + (b - a) * fmpq(rng.randrange(0, 2 ** 16), 2 ** 16) for a, b in box] for _ in range(n)]
    pts.append([(a + b) / 2 for a, b in box])
    cols = [list(c) for c in zip(*pts)]
    ref = evaluate(relu_net_from_layers(layers), cols, Exact())
    got = evaluate(net, cols, Ball(max(prec, 256)))
    best, where = arb(0), None
    with precision(max(prec, 256)):
        for j, x in enumerate(pts):
            for i in range(len(ref)):
                e = abs(got[i][j] - arb(ref[i][j]))
                if e.lower() > best.lower():
                    best, where = e, x
    wit = [{"x": [str(v) for v in where], "error": best.str(10, radius=True)}] if where else []
    return best.lower(), wit


# ---------------------------------------------------------------------------------------------
# registry method


def method_emulation(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    from constructive.activation_catalogue import witness
    from constructive.beyond_relu import _box, _layers_from_params, lipschitz_sum

    layers = _layers_from_params(params)
    box = _box(params.get("A", 2), layers[0][0].ncols())
    res = certify_emulation(net, layers, box)
    plan = res.plan
    w = witness(plan.act) if plan is not None else None
    N = max(W.nrows() for W, _ in layers[:-1]) if len(layers) > 1 else 0
    upper = res.error_upper if res.ok else fmpq(10) ** 9
    details = {
        "relu_network": {"source": current_network_file() or "default width-8 depth-3 instance",
                         "digest": _relu_digest(layers), "width": N, "depth": len(layers) - 1,
                         "box": [[str(a), str(b)] for a, b in box],
                         "lipschitz_sum": str(lipschitz_sum(layers))},
        "activation": plan.act.key if plan else None,
        "class_witness": None if w is None else {"classes": list(w.classes), "checks": list(w.checks)},
        "gadget": None if plan is None else {**plan.params(), "width_depth": list(plan.width_depth)},
        "working_precision_bits": None if plan is None else int(plan.p.get("prec", fmpq(0))) + 64,
        "gadget_band": None if res.band is None else {"tau": str(res.tau), "tau_approx": f"{float(res.tau):.6g}",
                                                      "method": res.band.method, "terms": res.band.terms,
                                                      "evaluations": res.band.evaluations},
        "domain_M": str(res.M), "max_abs_preactivation": str(res.M_needed),
        "error_upper_approx": f"{float(res.error_upper):.6g}", "problems": res.reasons,
        "seconds": round(res.seconds, 3),
    }
    return ErrorReport(res.error_lower if res.ok else fmpq(0), upper, res.witnesses, set(), details)


def _relu_digest(layers) -> str:
    from constructive.beyond_relu import relu_net_from_layers

    return relu_net_from_layers(layers).digest


__all__ = ["certify_emulation", "gadget_band", "sup_abs", "geometric_cuts", "method_emulation",
           "using_network", "current_network_file", "EmulationBound", "GadgetBand"]
