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

from certify import architecture as arch
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
        # near the kink the bound converges slowly for large K: allow more boxes (cheap here)
        up, lo, n = sup_abs(fv, fd, cuts, cap=40000)
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
        # |t|·|u − 1_{t>0}| is nearly flat (≈ C/K) on the whole tail of slowly converging steps
        # (Softsign: t/(2(1+Kt))), so a 2 % stopping rule would split every tail box down to
        # ratio 1.02; 25 % slack costs at most a quarter of a term budgeted at τ/8
        S1, S1lo, n1 = sup_abs(lambda T: T * (u(T) - ind(T)),
                               lambda T: (u(T) - ind(T)) + T * du(T), cuts, rel=1.25)
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


def band_kink1(plan, M: fmpq, prec: int) -> GadgetBand:
    """Prop 12 (k = 1) gadget of CELU(α) / ELU(α = 1), analysed in closed form.

    g(t) = ϱ(1 + δt)/δ − 1/δ − (α/(ηs))[ϱ(st + η) − ϱ(st)] + α/s with ϱ(y) = y (y ≥ 0),
    α(e^{y/α} − 1) (y < 0).  If δM ≤ 1 the first two terms are exactly t on [−M, M], so
    ReLU − g = D(t) := α ψ(t) − min(t, 0), ψ(t) = [ϱ(st + η) − ϱ(st) − η]/(ηs).  With σ = st/α:
    * t ≥ 0: both arguments ≥ 0, ψ = 0, D = 0;
    * −η/s < t < 0: ϱ(st + η) = st + η, ψ = α(1 + σ − e^σ)/(ηs) ∈ [−ασ²/(2ηs), 0] (e^σ ≤ 1 + σ + σ²/2
      for σ ≤ 0), so D ∈ (α/s)[−σ − ασ²/(2η), −σ] ⊂ [0, η/s] (0 < −σ < η/α);
    * t ≤ −η/s: D = (α/s)(e^σ − 1 − σ + (r − 1)e^σ), r = α(e^{η/α} − 1)/η ≥ 1, so
      0 ≤ D ≤ sM²/(2α) + α(r − 1)/s.
    Hence sup_{[−M, M]} |g − ReLU| ≤ max(η/s, sM²/(2α) + α(r − 1)/s); the lower bound is D(−M)
    evaluated in balls from the network's own activation kernel.
    """
    q = plan.p
    s, eta, dl, al = q["s"], q["eta"], q["delta"], q["alpha"]
    act = plan.act
    pa = dict(act.params)
    want = as_fmpq(pa.get("alpha", 1))
    if act.name not in ("elu", "celu") or want != al or (act.name == "elu" and al != 1):
        raise ArithmeticError(f"kink1 gadget needs CELU(alpha) or ELU(alpha = 1) with alpha = {al}; "
                              f"got {act.key}")
    if not (dl * M <= 1 and s > 0 and eta > 0 and al > 0):
        raise ArithmeticError("kink1 gadget: needs delta*M <= 1 and positive s, eta, alpha")
    with precision(prec):
        A_ = arb(al)
        r1 = A_ * ((arb(eta) / A_).exp() - 1) / arb(eta) - 1
        left = arb(s) * arb(M) ** 2 / (2 * A_) + A_ * r1 / arb(s)
        tau = left.max(arb(eta) / arb(s))
        ev = evaluate(plan.body(), [[-M]], Ball(prec))[0][0]  # ReLU(−M) = 0
        low = abs(ev).lower()
        terms = {"middle eta/s": (arb(eta) / arb(s)).str(6, radius=False),
                 "left sM^2/(2 alpha) + alpha(r-1)/s": left.str(6, radius=False),
                 "at t = -M": ev.str(6, radius=True)}
        return GadgetBand(_q_upper(tau), low, "closed form (Prop 12, k = 1, CELU/ELU exponential "
                          "branch; see certify.beyond.band_kink1)", terms, 1)


def gadget_band(plan, M: fmpq) -> GadgetBand:
    prec = int(plan.p.get("prec", fmpq(0))) + 64
    prec = max(prec, 256)
    if plan.kind == "relu":
        return GadgetBand(fmpq(0), fmpq(0), "identity substitution (exact)")
    if plan.kind == "kink1":
        return band_kink1(plan, M, prec)
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
    from constructive.beyond_relu import hidden_ranges, plan_from_gadget, propagate

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
    N, L = relu_size(layers)
    upper = res.error_upper if res.ok else fmpq(10) ** 9
    details = {
        "relu_network": {"source": _source(params),
                         "digest": _relu_digest(layers), "width": N, "depth": L,
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


@dataclass(frozen=True)
class EmulationArchitecture(arch.Architecture):
    """The ϱ-network's architecture plus the size (N, L) of the ReLU network it emulates.

    N and L are measured from the ReLU network itself (the default instance, or the file of
    ``--network``), never taken from the registry.  The factor claims are integers:
    ``width_factor`` = ⌈width/N⌉, so "width ≤ kN" ⇔ width_factor ≤ k for an integer k, and
    ``width_gap`` = width_factor·N − width, so "width = N" ⇔ width_factor = 1 and width_gap = 0
    (the same for depth with L).
    """

    relu_width: int = 0
    relu_depth: int = 0
    width_factor: int = 0
    depth_factor: int = 0
    width_gap: int = 0
    depth_gap: int = 0

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.update(relu_width=self.relu_width, relu_depth=self.relu_depth,
                 width_factor=self.width_factor, depth_factor=self.depth_factor,
                 width_over_N=f"{self.width}/{self.relu_width}", depth_over_L=f"{self.depth}/{self.relu_depth}")
        return d


def relu_size(layers) -> tuple[int, int]:
    """(width N, depth L) of a ReLU MLP given as its affine layers."""
    hidden = [W.nrows() for W, _ in layers[:-1]]
    return (max(hidden) if hidden else 0), len(hidden)


def measure_emulation(net: Node) -> EmulationArchitecture:
    """``arch.measure`` plus N, L of the ReLU network in use (default instance or file)."""
    from constructive.beyond_relu import _layers_from_params

    base = arch.measure(net)
    N, L = relu_size(_layers_from_params({}))
    wf = -(-base.width // N) if N else base.width
    df = -(-base.depth // L) if L else base.depth
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    return EmulationArchitecture(**fields, relu_width=N, relu_depth=L, width_factor=wf, depth_factor=df,
                                 width_gap=wf * N - base.width, depth_gap=df * L - base.depth)


method_emulation.measure = measure_emulation  # type: ignore[attr-defined]


def _source(params: dict) -> str:
    from constructive.beyond_relu import corollary_sizes

    sizes = corollary_sizes(params)
    if sizes is not None:
        return f"stand-in network of the source's size, layer sizes {sizes}"
    return current_network_file() or "default width-8 depth-3 instance"


def _relu_digest(layers) -> str:
    from constructive.beyond_relu import relu_net_from_layers

    return relu_net_from_layers(layers).digest


__all__ = ["certify_emulation", "gadget_band", "sup_abs", "geometric_cuts", "method_emulation",
           "using_network", "current_network_file", "EmulationBound", "GadgetBand"]


# ---------------------------------------------------------------------------------------------
# Table 2 (final version, p. 9): the single-neuron constants C1 … C9


#: constant → (activation, activation parameters, b1 (bias removed), sign (+1: sup g, −1: sup −g),
#:             printed value, digits printed after the point (None: printed exactly), closed form)
TABLE2 = {
    "C1": ("elu", {}, None, 1, "1", None, "1"),
    "C2": ("softplus", {}, "log2", 1, "0.693", 3, "log(2)"),
    "C3": ("gelu", {}, None, 1, "0.170", 3, None),
    "C4": ("silu", {}, None, 1, "0.278", 3, None),
    "C5": ("swish", {"beta": "3/2"}, None, 1, "0.278", 3, None),
    "C6": ("mish", {}, None, 1, "0.309", 3, None),
    "C7": ("xdsilu", {}, None, 1, "0.131", 3, None),
    "C7tilde": ("xdsilu", {}, None, -1, "0.265", 3, None),
    "C8": ("xsoftsign01", {}, None, 1, "0.5", None, "1/2"),
    "C9": ("xarctan01", {}, None, 1, "0.318", 3, "1/pi"),
}
TABLE2_R = 40  # branch and bound on [−R, R]; analytic tails outside


def _tail(name: str, R: arb, params: dict) -> arb:
    """Upper bound of |g(y)| for |y| ≥ R (g(y) = ReLU(y) − ϱ(y)), from monotone majorants:
    GELU (σ=1): |g| = |y|(1 − Φ(|y|)) ≤ φ(|y|) (Mills) ≤ φ(R);
    SiLU: |g| = |y|σ(−|y|) ≤ |y|e^{−|y|} ≤ R e^{−R} (decreasing for y ≥ 1);
    Swish(β): |g(y)| = |g_SiLU(βy)|/β ≤ R e^{−βR} (βR ≥ 1);
    Mish: y > 0: y(1 − tanh(sp y)) ≤ 2y e^{−2 sp y} ≤ 2y e^{−2y}; y < 0: |y| tanh(sp y) ≤ |y| sp y ≤ |y|e^{y};
    x·dSiLU: 1 − dSiLU(y) = (1 − σ)(1 − yσ) ⇒ |g| ≤ y(1 + y)e^{−y} for y > 0 and
    |y dSiLU(y)| ≤ |y|(1 + |y|)e^{−|y|} for y < 0, decreasing for |y| ≥ 2."""
    if name == "gelu":
        return (-(R * R) / 2).exp() / (2 * arb.pi()).sqrt()
    if name == "silu":
        return R * (-R).exp()
    if name == "swish":
        return R * (-arb(as_fmpq(params["beta"])) * R).exp()
    if name == "mish":
        return (2 * R * (-2 * R).exp()).max(R * (-R).exp())
    if name == "xdsilu":
        return R * (1 + R) * (-R).exp()
    raise KeyError(name)


def max_bb(fv: Callable[[arb], arb], fd: Callable[[arb], arb], cuts: list, tol: fmpq,
           cap: int = 20000) -> tuple[arb, arb, int]:
    """Rigorous (upper, lower) of sup f over [cuts[0], cuts[-1]] (signed, not |f|): each box is
    bounded by min(naive, mean-value form f(m) + f'(T)(T − m)); the box of largest upper bound
    is bisected until upper − lower ≤ tol or ``cap`` boxes were evaluated."""
    def bound(a: fmpq, b: fmpq) -> arb:
        T = _hull(a, b)
        best = fv(T).upper()
        m = (a + b) / 2
        mv = (fv(arb(m)) + fd(T) * _hull(a - m, b - m)).upper()
        if mv.is_finite() and (not best.is_finite() or mv < best):
            best = mv
        return best

    lower = None
    heap: list = []
    n = 0
    for a, b in zip(cuts, cuts[1:]):
        for x in (a, (a + b) / 2, b):
            v = fv(arb(x)).lower()
            lower = v if lower is None or v > lower else lower
        u = bound(a, b)
        n += 1
        heapq.heappush(heap, (-_key(u), n, a, b, u))
    while heap and n < cap:
        _, _, a, b, u = heap[0]
        if u.is_finite() and u - lower <= arb(tol):
            break
        heapq.heappop(heap)
        m = (a + b) / 2
        v = fv(arb(m)).lower()
        if v > lower:
            lower = v
        for lo, hi in ((a, m), (m, b)):
            uu = bound(lo, hi)
            n += 1
            heapq.heappush(heap, (-_key(uu), n, lo, hi, uu))
    upper = max((h[4] for h in heap), key=_key)
    return upper, lower, n


def table2_constant(key: str, prec: int = 128) -> dict:
    """A rigorous enclosure [lo, hi] of one Table 2 constant, with the argument used.

    g(y) = ReLU(y) − (ϱ(y) − b₁), and ReLU(x) − (ϱ(Kx) − b₁)/K = g(Kx)/K, so the band of the
    one-neuron gadget is [inf g, sup g]/K for every K > 0 and x ∈ ℝ.
    * closed forms (C1, C2, C8, C9): g is monotone in |y| with an explicit limit —
      ELU: g = α(1 − e^{y}) on y < 0, 0 on y ≥ 0, increasing to α as y → −∞ (C1 = 1);
      Softplus: g = ln 2 − ln(1 + e^{−|y|}) ↑ ln 2;  x·(Softsign/2 + ½): g = |y|/(2(1 + |y|)) ↑ ½;
      x·(Arctan/π + ½): g = |y|·arctan(1/|y|)/π ↑ 1/π (arctan(t)/t decreases in t > 0).
      The enclosure is the limit; a point value at |y| = 2^40 is given as a lower bound.
    * the others: branch and bound of ±g on [−R, R] (R = 40, cuts at the integers, 0 among them
      so ReLU is affine on every box) plus the analytic tail bound of :func:`_tail`.
    """
    from constructive.activation_catalogue import make_activation

    name, params, b1, sign, printed, ndig, closed = TABLE2[key]
    act = make_activation(name, **params)
    t0 = time.perf_counter()
    with precision(prec):
        shift = arb(2).log() if b1 == "log2" else arb(0)

        def g(T: arb) -> arb:
            r = T if T >= 0 else (arb(0) if T <= 0 else T.nonnegative_part())
            return sign * (r - act.ball(T) + shift)

        def dg(T: arb) -> arb:
            r1 = arb(1) if T > 0 else (arb(0) if T < 0 else arb(0).union(arb(1)))
            return sign * (r1 - derivatives(act, T, 1)[1])

        if closed is not None:
            value = {"1": arb(1), "log(2)": arb(2).log(), "1/2": arb(fmpq(1, 2)), "1/pi": 1 / arb.pi()}[closed]
            far = fmpq(2 ** 40)
            point = g(arb(-far)).max(g(arb(far)))
            lo, hi, evals = value, value, 2
            how = (f"closed form {closed}: g monotone in |y| with this limit (see docstring); "
                   f"g(±2^40) ≥ {point.lower().str(12, radius=False)}")
            lower_pt = point.lower()
        else:
            R = TABLE2_R
            cuts = [fmpq(k) for k in range(-R, R + 1)]
            up, lo_b, evals = max_bb(g, dg, cuts, fmpq(1, 10 ** 10))
            tail = _tail(name, arb(R), params).upper()
            hi = up.max(tail)
            lo, lower_pt = lo_b, lo_b
            how = (f"branch and bound of {'+' if sign > 0 else '−'}g on [−{R}, {R}] ({evals} boxes) "
                   f"+ analytic tail ≤ {tail.str(3, radius=False)} for |y| ≥ {R}")
        enclosure = lo.union(hi)
        if name == "swish":  # the row reads C5/(βK): C5 = β·sup g (and equals C4 by scaling)
            beta = arb(as_fmpq(params["beta"]))
            enclosure, hi, lower_pt = enclosure * beta, hi * beta, lower_pt * beta
            how += f"; times β = {params['beta']} (the row's band is C5/(βK))"
        p = arb(as_fmpq(printed))
        # agreement: |C − printed| ≤ half a unit of the last printed digit (0 when printed exactly)
        half = fmpq(1, 2 * 10 ** ndig) if ndig is not None else fmpq(0)
        dist_hi = abs(enclosure - p).upper()
        dist_lo = abs(enclosure - p).lower()
        extra = {}
        if key in ("C4", "C5"):
            w = (1 / arb(1).exp()).lambertw()
            extra["W(1/e)"] = w.str(15, radius=True)
            extra["agrees_with_W(1/e)"] = bool(w.overlaps(enclosure))
        rel = enclosure.rad() / abs(enclosure.mid()) if not enclosure.mid().is_zero() else arb(0)
        digits = int(math.floor(-math.log10(max(float(rel.upper()), 1e-60))))
        return {"constant": key, "activation": act.key, "enclosure": enclosure.str(12, radius=True),
                "lower": lower_pt, "upper": hi, "printed": printed, "half_unit": half,
                "distance_upper": dist_hi, "distance_lower": dist_lo, "digits": digits, "method": how,
                "evaluations": evals, "seconds": round(time.perf_counter() - t0, 3), **extra}


def method_table2(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Error = |C − printed| / (half a unit of the last printed digit); the claim is ≤ 1.  For a
    constant printed exactly (C1 = 1, C8 = 0.5) the error is 0 when the enclosure is that exact
    number and 10^9 otherwise.  Fewer than 4 certified digits → no finite upper bound (10^9)."""
    key = str(params.get("constant", "C4"))
    d = table2_constant(key)
    half = d["half_unit"]
    with precision(128):
        if half == 0:
            exact = arb(as_fmpq(d["printed"]))
            same = d["distance_upper"] <= 0
            upper, lower = (fmpq(0), fmpq(0)) if same else (fmpq(10) ** 9, fmpq(0))
        else:
            upper = _q_upper(d["distance_upper"] / arb(half))
            lower = d["distance_lower"] / arb(half)
        if d["digits"] < 4:
            upper = fmpq(10) ** 9
    details = {k: (v.str(12, radius=True) if isinstance(v, arb) else v) for k, v in d.items()}
    details["claim"] = (f"|{key} − {d['printed']}| ≤ {half} (half a unit of the printed digit), "
                        f"and ≥ 4 certified digits ({d['digits']})")
    return ErrorReport(lower, upper, [], set(), details)


def method_corollary(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Corollaries 4 and 5 as architecture bookkeeping: the emulation of a stand-in ReLU network
    of the source's size, certified as in :func:`method_emulation` (the claims are formulas in q
    or d, so the default measurement is used)."""
    return method_emulation(thm, params, target, net)


#: the paper's class assignments (final version, §2.1 and Table 1, pp. 3–8)
PAPER_CLASSES = {
    "relu": {"A10"}, "leaky_relu": {"A10"}, "relu2": {"A11"}, "elu": {"A2~"}, "celu": {"A2~"},
    "selu": {"A2~"}, "softplus": {"A2~"}, "gelu": {"A2~"}, "silu": {"A2~"}, "swish": {"A2~"},
    "mish": {"A2~"}, "sigmoid": {"A3"}, "tanh": {"A3"}, "arctan": {"A3"}, "softsign": {"A3"},
    "dsilu": {"A3"}, "srs": {"A3"}, "xsoftsign": {"A2"}, "xarctan": {"A2"},
}


def method_membership(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Error = number of the paper's class assignments for ϱ that the verified witness does not
    reproduce (claim: 0).  The witness is computed from ϱ itself (sympy limits, arb balls)."""
    from constructive.activation_catalogue import parse_activation, witness

    act = parse_activation(str(params.get("rho", "sigmoid")))
    w = witness(act)
    want = PAPER_CLASSES.get(act.name, set())
    missing = sorted(want - set(w.classes))
    n = fmpq(len(missing))
    details = {"activation": act.key, "paper_classes": sorted(want), "verified_classes": list(w.classes),
               "missing": missing, "checks": list(w.checks),
               "kink": w.kink, "h_form": w.h_form, "s_limits": w.s_limits, "second": w.second,
               "first": w.first, "v1_step": w.v1_step}
    return ErrorReport(n, n, [], set(), details)


# ---------------------------------------------------------------------------------------------
# Lemma 15 (identity), Lemma 16 / v1 Lemma 7.1 (products), Theorem 6 (derivatives).  The bounds
# read every number from the network's own weights; the shape is checked first.


def _one_layer(net: Node, n_in: int) -> tuple[Affine, Any, Affine]:
    nodes = list(net.nodes) if isinstance(net, Network) else []
    if len(nodes) != 3 or not isinstance(nodes[0], Affine) or not isinstance(nodes[2], Affine):
        raise UserError("expected a one-hidden-layer network (affine, activation, affine)")
    fs = set(nodes[1].functions)
    if len(fs) != 1 or nodes[0].W.ncols() != n_in or nodes[2].W.nrows() != 1:
        raise UserError(f"expected one activation and a map R^{n_in} -> R")
    return nodes[0], fs.pop(), nodes[2]


def _sup_deriv(act, lo: fmpq, hi: fmpq, order: int, pieces: int = 64) -> arb:
    """Upper bound of sup |ϱ^(order)| on [lo, hi] (arb on a partition)."""
    best = arb(0)
    for j in range(pieces):
        a, b = lo + (hi - lo) * j / pieces, lo + (hi - lo) * (j + 1) / pieces
        v = abs(derivatives(act, _hull(a, b), order)[order]).upper()
        best = v if j == 0 else best.max(v)
    return best


def _prec_for(*qs: fmpq) -> int:
    return 128 + sum(int(q.q).bit_length() + int(q.p).bit_length() for q in qs)


def product_bound(net: Node, A: fmpq) -> dict:
    """sup_{[−A, A]²} |Γ(x, y) − xy| for the 3- or 6-neuron product network.

    3 neurons (final Lemma 16, rows (η, η), (0, η), (η, 0), bias x0, output c(1, −1, −1), β):
    the mixed difference ϱ(x0+ηx+ηy) − ϱ(x0+ηx) − ϱ(x0+ηy) + ϱ(x0) = ∫₀^{ηx}∫₀^{ηy} ϱ''(x0+s+t)
    = η²xy·(ϱ''(x0) + mean of ϱ''(x0+s+t) − ϱ''(x0)), and |s + t| averages ≤ η(|x| + |y|)/2, so
    |Γ − xy| ≤ A²|cη²ϱ''(x0) − 1| + |c|η³A³·sup_Ξ|ϱ'''| + |β − cϱ(x0)|, Ξ = x0 + η[−2A, 2A].
    6 neurons (v1 Lemma 7.1, rows ±(η, η), ±(η, 0), ±(0, η), output c(1, 1, −1, −1, −1, −1), β):
    ϱ(x0+h) + ϱ(x0−h) − 2ϱ(x0) = h²ϱ''(x0) + h⁴ϱ''''(ξ)/12, xy = ½((x+y)² − x² − y²), so
    |Γ − xy| ≤ 3A²|2cη²ϱ''(x0) − 1| + |c|η⁴(18A⁴/12)·sup_Ξ|ϱ''''| + |β − 2cϱ(x0)|.
    The lower bound is the largest |Γ − xy| over a 5×5 grid, evaluated in balls.
    """
    first, act, out = _one_layer(net, 2)
    n = first.W.nrows()
    eta, x0 = first.W[0, 0], first.b[0, 0]
    c, beta = out.W[0, 0], out.b[0, 0]
    if n == 3:
        rows, outs = [[eta, eta], [0, eta], [eta, 0]], [c, -c, -c]
    elif n == 6:
        rows, outs = [[eta, eta], [-eta, -eta], [eta, 0], [-eta, 0], [0, eta], [0, -eta]], \
            [c, c, -c, -c, -c, -c]
    else:
        raise UserError(f"a product gadget has 3 or 6 neurons, not {n}")
    shape_ok = eta > 0 and all(first.W[i, j] == rows[i][j] for i in range(n) for j in range(2)) and \
        all(first.b[i, 0] == x0 for i in range(n)) and all(out.W[0, i] == outs[i] for i in range(n))
    if not shape_ok:
        raise UserError("the network is not a product gadget of the papers' shape")
    prec = _prec_for(eta, c, beta, x0)
    with precision(prec):
        s0, _, s2 = derivatives(act, arb(x0), 2)
        Aa, e, ca = arb(A), arb(eta), arb(c)
        if n == 3:
            R3 = _sup_deriv(act, x0 - 2 * A * eta, x0 + 2 * A * eta, 3)
            scale = abs(ca * e ** 2 * s2 - 1)
            taylor = abs(ca) * e ** 3 * Aa ** 3 * R3
            bias = abs(arb(beta) - ca * s0)
            up = Aa ** 2 * scale + taylor + bias
        else:
            R4 = _sup_deriv(act, x0 - 2 * A * eta, x0 + 2 * A * eta, 4)
            scale = abs(2 * ca * e ** 2 * s2 - 1)
            taylor = abs(ca) * e ** 4 * 18 * Aa ** 4 * R4 / 12
            bias = abs(arb(beta) - 2 * ca * s0)
            up = 3 * Aa ** 2 * scale + taylor + bias
        grid = [A * fmpq(j - 2, 2) for j in range(5)]
        pts = [(x, y) for x in grid for y in grid]
        vals = evaluate(net, [[x for x, _ in pts], [y for _, y in pts]], Ball(prec))[0]
        low, wit = arb(0), None
        for (x, y), v in zip(pts, vals):
            err = abs(v - arb(x * y))
            if err.lower() > low.lower():
                low, wit = err, (x, y)
        terms = {"scale rounding": scale.upper().str(6, radius=False),
                 "Taylor remainder": taylor.upper().str(6, radius=False),
                 "bias rounding": bias.upper().str(6, radius=False)}
        return {"upper": _q_upper(up), "lower": low.lower(), "neurons": n, "eta": eta, "x0": x0,
                "activation": act.key, "terms": terms, "prec": prec,
                "witness": None if wit is None else {"x": [str(wit[0]), str(wit[1])],
                                                     "error": low.str(10, radius=True)}}


def identity_bound(net: Node, M: fmpq) -> dict:
    """sup_{[−M, M]} |g(x) − x| for Lemma 15's g(x) = a ϱ(x1 + δx) + b.  Taylor with Lagrange
    remainder: g(x) − x = (aϱ(x1) + b) + x(aδϱ'(x1) − 1) + aδ²x²ϱ''(x1)/2 + aδ³x³ϱ'''(ξ)/6, so
    |g − x| ≤ |aϱ(x1) + b| + M|aδϱ'(x1) − 1| + |a|δ²M²|ϱ''(x1)|/2 + |a|δ³M³ sup_Ξ|ϱ'''|/6,
    Ξ = x1 + δ[−M, M]; lower bound from 9 points evaluated in balls."""
    first, act, out = _one_layer(net, 1)
    if first.W.nrows() != 1:
        raise UserError("the identity gadget has one neuron")
    d, x1, a, b = first.W[0, 0], first.b[0, 0], out.W[0, 0], out.b[0, 0]
    if d <= 0:
        raise UserError("the identity gadget needs a positive scale")
    prec = _prec_for(d, x1, a, b)
    with precision(prec):
        r0, r1, r2 = derivatives(act, arb(x1), 2)
        R3 = _sup_deriv(act, x1 - d * M, x1 + d * M, 3)
        Ma, da, aa = arb(M), arb(d), arb(a)
        t0 = abs(aa * r0 + arb(b))
        t1 = Ma * abs(aa * da * r1 - 1)
        t2 = abs(aa) * da ** 2 * Ma ** 2 * abs(r2) / 2
        t3 = abs(aa) * da ** 3 * Ma ** 3 * R3 / 6
        up = t0 + t1 + t2 + t3
        xs = [M * fmpq(j - 4, 4) for j in range(9)]
        vals = evaluate(net, [xs], Ball(prec))[0]
        errs = [abs(v - arb(x)) for x, v in zip(xs, vals)]
        j = max(range(len(xs)), key=lambda i: _key(errs[i]))
        terms = {"offset": t0.upper().str(6, radius=False), "slope": t1.upper().str(6, radius=False),
                 "quadratic": t2.upper().str(6, radius=False), "cubic remainder": t3.upper().str(6, radius=False)}
        return {"upper": _q_upper(up), "lower": errs[j].lower(), "delta": d, "x1": x1,
                "activation": act.key, "terms": terms, "prec": prec,
                "witness": {"x": [str(xs[j])], "error": errs[j].str(10, radius=True)}}


def method_product(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    r = product_bound(net, as_fmpq(params["A"]))
    details = {k: (str(v) if isinstance(v, fmpq) else v) for k, v in r.items() if k not in ("upper", "lower")}
    return ErrorReport(r["lower"], r["upper"], [r["witness"]] if r["witness"] else [], set(), details)


def method_identity(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    r = identity_bound(net, as_fmpq(params["M"]))
    details = {k: (str(v) if isinstance(v, fmpq) else v) for k, v in r.items() if k not in ("upper", "lower")}
    return ErrorReport(r["lower"], r["upper"], [r["witness"]], set(), details)


def _deriv_enclosure(act, h: arb, k: int, pieces: int = 16) -> arb:
    a, b = h.lower(), h.upper()
    out = None
    for j in range(pieces):
        piece = (a + (b - a) * j / pieces).union(a + (b - a) * (j + 1) / pieces)
        v = derivatives(act, piece, k)[k]
        out = v if out is None else out.union(v)
    return out


def _deriv_ranges(layers, box, act, k: int) -> list:
    """Ball enclosures of every hidden pre-activation of the ϱ^(k)-network on the box."""
    vals = [_hull(a, b) for a, b in box]
    out = []
    for W, b in layers[:-1]:
        h = [sum((arb(W[i, j]) * vals[j] for j in range(W.ncols())), arb(b[i, 0])) for i in range(W.nrows())]
        out.append(h)
        vals = [_deriv_enclosure(act, v, k) for v in h]
    return out


def _prop_lip(layers, tau: fmpq, lip: fmpq) -> list:
    """e_1 = 0, e_{ℓ+1} = |W_ℓ|(τ + Lip·e_ℓ): pre-activation error bounds; the last is the output."""
    e = [fmpq(0)] * layers[0][0].nrows()
    out = [e]
    for W, _ in layers[1:]:
        e = [sum((abs(W[i, j]) * (tau + lip * e[j]) for j in range(W.ncols())), fmpq(0))
             for i in range(W.nrows())]
        out.append(e)
    return out


def derivative_setup(layers, box, act, k: int) -> tuple[fmpq, fmpq, fmpq]:
    """(M, D, S) for choosing Theorem 6's scale: the gadget domain [−M, M] (integer, 2 above the
    enclosed pre-activations), D = sup_{[−M−1, M+1]} |ϱ^(k+1)| and the factor S with output error
    ≤ S·τ (Lip = D)."""
    with precision(128):
        need = max(abs(v).upper() for r in _deriv_ranges(layers, box, act, k) for v in r)
        M = fmpq(int(_q_upper(need).floor()) + 2)
        D = _q_upper(_sup_deriv(act, -M - 1, M + 1, k + 1))
    return M, D, max(_prop_lip(layers, fmpq(1), D)[-1])


def certify_derivative(net: Node, layers: list, box: list, act, k: int, witnesses: int = 6) -> dict:
    """Theorem 6, quantitatively.  The ϱ-network must be the ReLU network's affine maps with every
    hidden neuron a copy of one Prop 11 gadget g(t) = Σ_ℓ (−1)^ℓ C(k, ℓ) ϱ(t + ℓη)/(−η)^k (rebuilt
    from its parameters; digests compared), for the same ϱ and k as the target ϱ^(k)-network.
    g(t) = ∫ B(s) ϱ^(k)(t + s) ds with B the cardinal B-spline density of the k-th forward
    difference on [0, kη] (mean kη/2), so |g(t) − ϱ^(k)(t)| ≤ (kη/2)·sup_{[t, t+kη]} |ϱ^(k+1)| =: τ
    on [−M, M].  With Lip = sup_{[−M, M]} |ϱ^(k+1)|: e_{ℓ+1} = |W_ℓ|(τ + Lip·e_ℓ), valid while
    the enclosed pre-activations plus e_ℓ stay in [−M, M]; the output error is ≤ max e_{L+1}."""
    from constructive.beyond_relu import plan_from_gadget

    t0 = time.perf_counter()
    gadget, problems = _check_structure(net, layers)
    res = {"ok": False, "upper": fmpq(10) ** 9, "lower": fmpq(0), "problems": problems}
    if gadget is None or problems:
        return res
    plan = plan_from_gadget(gadget)
    if plan.kind != "deriv" or int(plan.p["k"]) != k or plan.act.key != act.key:
        res["problems"] = [f"gadget {plan.kind} of {plan.act.key} is not the order-{k} derivative "
                           f"gadget of {act.key}"]
        return res
    M, eta = plan.p["M"], plan.p["eta"]
    prec = int(plan.p.get("prec", fmpq(0))) + 64
    with precision(max(prec, 128)):
        D = _q_upper(_sup_deriv(act, -M, M + k * eta, k + 1))
        tau = k * eta * D / 2
        ranges = _deriv_ranges(layers, box, act, k)
        errs = _prop_lip(layers, tau, D)
        for l, r in enumerate(ranges):
            if any(_q_upper(abs(h).upper()) + e > M for h, e in zip(r, errs[l])):
                problems.append(f"layer {l + 1}: perturbed pre-activations may leave [-{M}, {M}]")
        upper = max(errs[-1])
        lower, wit = fmpq(0), []
        if witnesses:
            import random

            rng = random.Random(7)
            pts = [[a + (b - a) * fmpq(rng.randrange(0, 2 ** 16), 2 ** 16) for a, b in box]
                   for _ in range(witnesses)]
            cols = [list(cc) for cc in zip(*pts)]
            got = evaluate(net, cols, Ball(max(prec, 256)))
            vals = [[arb(v) for v in col] for col in cols]
            for W, b in layers[:-1]:
                vals = [[derivatives(act, sum((arb(W[i, j]) * vals[j][p] for j in range(W.ncols())),
                                              arb(b[i, 0])), k)[k] for p in range(len(pts))]
                        for i in range(W.nrows())]
            W, b = layers[-1]
            ref = [[sum((arb(W[i, j]) * vals[j][p] for j in range(W.ncols())), arb(b[i, 0]))
                    for p in range(len(pts))] for i in range(W.nrows())]
            best = arb(0)
            for i in range(len(ref)):
                for p in range(len(pts)):
                    e = abs(got[i][p] - ref[i][p])
                    if e.lower() > best.lower():
                        best, wit = e, [{"x": [str(v) for v in pts[p]], "error": e.str(10, radius=True)}]
            lower = best.lower()
    res.update(ok=not problems, upper=upper, lower=lower, tau=tau, M=M, eta=eta, lip=D,
               witnesses=wit, problems=problems, seconds=round(time.perf_counter() - t0, 3),
               plan=plan)
    return res


def method_thm6(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    from constructive.beyond_relu import _box, _layers_from_params, _lemma_act

    layers = _layers_from_params(params)
    act = _lemma_act(params)
    k = int(params.get("k", 1))
    box = _box(params.get("A", 2), layers[0][0].ncols())
    r = certify_derivative(net, layers, box, act, k)
    N, L = relu_size(layers)
    details = {"target": f"{act.key}^({k})-network with the affine maps of the "
                         f"{_source(params)} (width {N}, depth {L})",
               "relu_network_digest": _relu_digest(layers), "problems": r["problems"]}
    if "tau" in r:
        details.update(gadget=r["plan"].params(), gadget_band_tau=f"{float(r['tau']):.6g}",
                       lipschitz_rho_k=f"{float(r['lip']):.6g}", domain_M=str(r["M"]),
                       error_upper_approx=f"{float(r['upper']):.6g}", seconds=r["seconds"])
    upper = r["upper"] if r["ok"] else fmpq(10) ** 9
    return ErrorReport(r["lower"] if r["ok"] else fmpq(0), upper, r.get("witnesses", []), set(), details)


method_thm6.measure = measure_emulation  # type: ignore[attr-defined]
