"""Rigorous bands of the ReLU-emulation gadgets ("Beyond ReLU"), read from a gadget body.

τ ≥ sup_{|t| ≤ M} |g(t) − ReLU(t)| for a gadget g: R → R, in arb balls and exact rationals only.
Every number a band uses is read back from the body it is given (its weights, biases and
activation), never from the plan that produced it: a plan's parameters only serve to split a
product of weights (the two-layer routes' η) and as working precision, which affect tightness,
never soundness.  Bodies whose weights break the relations a band's argument needs raise
:class:`GadgetShapeError`.

Kinds of argument:

* piecewise-linear / piecewise-quadratic gadgets with exact activations (ReLU, LeakyReLU, ReLU²):
  exact evaluation at the breakpoints and the vertices of the quadratic pieces — the exact sup;
* one-hidden-layer gadgets (𝒜̃₂, 𝒜₂, scaled kinks): branch and bound over a geometric
  partition of [−M, M] around the kink 0, each box enclosed by min(naive ball evaluation,
  mean-value form f(m) + f'(T)(T − m)) with f' from arb Taylor series;
* the Prop 12 (k = 1) gadget of CELU/ELU: closed form (:func:`band_kink1`);
* two-layer S-shaped gadgets g = Γ(u(t), v(t)) (u the step, v the identity gadget):
  |g − ReLU| ≤ |Γ(u, v) − uv| + |u|·|v − t| + |t|·|u − 1_{t>0}|, with
  - |t|·|u − 1_{t>0}| ≤ S₁ and |u| ≤ U by branch and bound as above,
  - v(t) − t = (a_vϱ(x₁) + b_v) + t·(a_vδϱ'(ξ) − 1), ξ ∈ x₁ + δ·[0, t] (mean value) ⇒ S₂,
  - the mixed second difference equals η²uv·ϱ''(ξ), ξ ∈ x₀ + η[−(U+V), U+V]; the symmetric one
    equals h²ϱ''(ξ) (Taylor with mean-value remainder) ⇒ the product band, plus the exact
    rounding of the output bias.

This module imports nothing above ``constructive``: the builder tunes its scales with it and the
certifier (``proofs.beyond_relu.check``) re-derives its bound with it from the network it is handed.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from flint import arb, fmpq

from constructive.activations.catalogue import derivatives
from constructive.evaluate import evaluate
from constructive.ir import Activation, Affine, Network
from constructive.numbers import Ball, Exact, as_fmpq, precision


class GadgetShapeError(ArithmeticError):
    """The body is not of the shape the band's argument needs (no rigorous band)."""


# ---------------------------------------------------------------------------------------------
# branch and bound


def hull(a: fmpq, b: fmpq) -> arb:
    return arb(a).union(arb(b))


def _upper(x: arb) -> arb:
    return abs(x).upper()


def order_key(u: arb) -> float:
    if not u.is_finite():
        return math.inf
    return float(u.mid()) + float(u.rad())  # ordering only, never a verdict


def sup_abs(fv: Callable[[arb], arb], fd: Optional[Callable[[arb], arb]], cuts: list,
            rel: float = 1.02, cap: int = 4000) -> tuple[arb, arb, int]:
    """Rigorous (upper, lower) of sup |f| over the union of [cuts[k], cuts[k+1]].

    Each box is bounded by min(|naive|, |mean-value form|); the box of largest bound is bisected
    until the bound is within ``rel`` of the best point value or ``cap`` boxes were evaluated.
    """
    def bound(a: fmpq, b: fmpq) -> arb:
        T = hull(a, b)
        best = _upper(fv(T))
        if fd is not None and b > a:
            m = (a + b) / 2
            u = _upper(fv(arb(m)) + fd(T) * hull(a - m, b - m))
            if u.is_finite() and (not best.is_finite() or u < best):
                best = u
        return best

    heap: list = []
    lower = arb(0)
    evals = 0

    def push(a: fmpq, b: fmpq) -> None:
        nonlocal lower, evals
        u = bound(a, b)
        evals += 1
        v = abs(fv(arb((a + b) / 2))).lower()
        if v > lower:
            lower = v
        heapq.heappush(heap, (-order_key(u), evals, a, b, u))

    for a, b in zip(cuts, cuts[1:]):
        if b > a:
            push(a, b)
    while heap and evals < cap:
        _, _, a, b, u = heap[0]
        if u.is_finite() and u <= lower * arb(rel):
            break
        heapq.heappop(heap)
        m = (a + b) / 2
        push(a, m)
        push(m, b)
    upper = max((h[4] for h in heap), key=order_key, default=arb(0))
    return upper, lower, evals


def geometric_cuts(M: fmpq, smallest: fmpq) -> list:
    """−M … −M/2^J, 0, M/2^J … M with M/2^J ≤ smallest."""
    J = 0
    while M / 2 ** J > smallest and J < 400:
        J += 1
    pos = [M / 2 ** j for j in range(J, -1, -1)]
    return [-x for x in reversed(pos)] + [fmpq(0)] + pos


def q_upper(x: arb) -> fmpq:
    """A rational ≥ every point of the ball (ArithmeticError past 2^4096: flint aborts the
    process, rather than raising, when asked for the integer of a far larger number)."""
    u = x.upper()
    if not u.is_finite() or abs(u) > arb(2) ** 4096:
        raise ArithmeticError("bound is not finite")
    e = 2 ** 200
    c = (u * e).ceil()
    if not c.is_exact():
        raise ArithmeticError("bound is not finite")
    return fmpq(int(c.unique_fmpz()), e)


# ---------------------------------------------------------------------------------------------
# reading a body


@dataclass
class GadgetBand:
    tau: fmpq                    # rational upper bound of sup |g − ReLU| on [−M, M]
    lower: Any                   # a lower bound (arb or fmpq)
    method: str
    terms: dict = field(default_factory=dict)
    evaluations: int = 0


def body_activation(body: Network):
    """The one activation every neuron of the body uses."""
    fs = {f for n in body.nodes if isinstance(n, Activation) for f in n.functions}
    if len(fs) != 1 or not all(hasattr(f, "ball") for f in fs):
        raise GadgetShapeError("the gadget's neurons do not all use one catalogue activation")
    return fs.pop()


def _one_hidden_layer(body: Network) -> tuple[Affine, Affine]:
    n = list(body.nodes)
    if len(n) != 3 or not isinstance(n[0], Affine) or not isinstance(n[1], Activation) \
            or not isinstance(n[2], Affine) or n[0].W.ncols() != 1 or n[2].W.nrows() != 1:
        raise GadgetShapeError("expected a one-hidden-layer gadget R -> R")
    return n[0], n[2]


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise GadgetShapeError(what)


# two-layer routes: the product layer's rows as coefficients of (ηU, ηV) and the output signs
_PRODUCT_ROWS = {"a3": ([(1, 1), (0, 1), (1, 0)], [1, -1, -1]),
                 "a3v1": ([(1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1)], [1, 1, -1, -1, -1, -1])}


def read_two_layer(kind: str, body: Network, eta: fmpq) -> dict:
    """K, δ, x₁, (T₀), a_u, b_u, a_v, b_v, x₀, c, β of Γ_η(u(t), v(t)), read from the weights.

    The product layer only fixes ηa_u, ηa_v, ηb_u, ηb_v; ``eta`` (> 0) splits them.  Any split
    describes the same function, so it decides tightness, not soundness.  Every weight of the
    body is checked against the relations the decomposition needs.
    """
    n = list(body.nodes)
    _require(len(n) == 5 and all(isinstance(n[k], Affine) for k in (0, 2, 4))
             and all(isinstance(n[k], Activation) for k in (1, 3)), "expected a two-layer gadget")
    first, second, out = n[0], n[2], n[4]
    rows, signs = _PRODUCT_ROWS["a3" if kind == "a3" else "a3v1"]
    n1 = 3 if kind == "a2v1" else 2
    _require(first.W.ncols() == 1 and first.W.nrows() == n1 and second.W.nrows() == len(rows)
             and out.W.nrows() == 1 and eta > 0, "the gadget's layers have the wrong sizes")
    W1, b1 = first.W, first.b
    K, d, x1 = W1[0, 0], W1[n1 - 1, 0], b1[n1 - 1, 0]
    T0 = None
    if kind == "a2v1":  # u = a_u (ϱ(Kt + T₀) − ϱ(Kt)) + b_u
        T0 = b1[0, 0]
        _require(W1[1, 0] == K and b1[1, 0] == 0 and T0 > 0, "step neurons ϱ(Kt + T0), ϱ(Kt) expected")
    else:
        _require(b1[0, 0] == 0, "step neuron ϱ(Kt) expected")
    _require(K > 0, "the step scale K must be positive")
    W2, b2 = second.W, second.b
    at = {r: i for i, r in enumerate(rows)}
    pU = [W2[at[(1, 0)], j] for j in range(n1)]
    pV = [W2[at[(0, 1)], j] for j in range(n1)]
    wantU = [pU[0], -pU[0], fmpq(0)] if kind == "a2v1" else [pU[0], fmpq(0)]
    wantV = [fmpq(0)] * (n1 - 1) + [pV[-1]]
    _require(pU == wantU and pV == wantV,
             "the product layer does not read (u, v) from the step and identity neurons")
    x0 = b2[at[(1, 0)], 0] + b2[at[(0, 1)], 0] - b2[at[(1, 1)], 0]
    ebu, ebv = b2[at[(1, 0)], 0] - x0, b2[at[(0, 1)], 0] - x0
    c = out.W[0, 0]
    for i, ((a, b), s) in enumerate(zip(rows, signs)):
        _require(all(W2[i, j] == a * pU[j] + b * pV[j] for j in range(n1))
                 and b2[i, 0] == x0 + a * ebu + b * ebv, f"product neuron {i} breaks the product's shape")
        _require(out.W[0, i] == s * c, f"output weight {i} breaks the product's shape")
    return {"K": K, "delta": d, "x1": x1, "T0": T0, "x0": x0, "eta": eta,
            "au": pU[0] / eta, "bu": ebu / eta, "av": pV[-1] / eta, "bv": ebv / eta,
            "c": c, "beta": out.b[0, 0]}


def read_kink1(body: Network, act) -> dict:
    """s, η, δ, α of the Prop 12 (k = 1) gadget, every weight checked (see :func:`band_kink1`)."""
    first, out = _one_hidden_layer(body)
    _require(first.W.nrows() == 3, "the kink gadget has three neurons")
    s, dl, eta = first.W[0, 0], first.W[2, 0], first.b[0, 0]
    al = as_fmpq(dict(act.params).get("alpha", 1))
    _require(first.W[1, 0] == s and first.b[1, 0] == 0 and first.b[2, 0] == 1
             and s > 0 and eta > 0 and dl > 0 and al > 0, "kink gadget: first layer has the wrong shape")
    w = al / (eta * s)
    _require(out.W[0, 0] == -w and out.W[0, 1] == w and out.W[0, 2] == 1 / dl
             and out.b[0, 0] == al / s - 1 / dl, "kink gadget: output layer has the wrong shape")
    return {"s": s, "eta": eta, "delta": dl, "alpha": al}


# ---------------------------------------------------------------------------------------------
# bands


def band_exact_pl(body: Network, M: fmpq) -> GadgetBand:
    """Exact sup over [−M, M] for one-hidden-layer gadgets of ReLU / LeakyReLU / ReLU² (pieces
    of degree ≤ 2, breakpoints where a neuron's argument is 0 and at 0 for ReLU itself)."""
    first, _ = _one_hidden_layer(body)
    act = body_activation(body)
    _require(act.exact is not None and act.name in ("relu", "leaky_relu", "relu2"),
             "exact band needs ReLU, LeakyReLU or ReLU² neurons")
    bps = {fmpq(0), -M, M}
    for i in range(first.W.nrows()):
        w, b = first.W[i, 0], first.b[i, 0]
        if w != 0 and -M < -b / w < M:
            bps.add(-b / w)
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


def band_one_layer(body: Network, M: fmpq, prec: int) -> GadgetBand:
    """Branch and bound of g − ReLU for any one-hidden-layer gadget, read from its weights."""
    first, out = _one_hidden_layer(body)
    act = body_activation(body)
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
    _require(K > 0, "the gadget ignores its input")
    cuts = geometric_cuts(M, fmpq(1, 64) / K)
    # further kinks of the shifted neurons inside [−M, M]
    extra = [-b / w for w, b, _ in rows if w != 0 and -M < -b / w < M and -b / w != 0]
    cuts = sorted(set(cuts) | set(extra))
    with precision(prec):
        # near the kink the bound converges slowly for large K: allow more boxes (cheap here)
        up, lo, n = sup_abs(fv, fd, cuts, cap=40000)
        return GadgetBand(q_upper(up), lo, "branch and bound: naive ∩ mean-value ball enclosures "
                          "on a geometric partition around the kink", {"sup": up.str(8, radius=True)}, n)


def band_two_layer(kind: str, act, q: dict, M: fmpq, prec: int) -> GadgetBand:
    """The decomposition of the module docstring, with ``q`` from :func:`read_two_layer`."""
    K, d, x1, x0, eta = (q[k] for k in ("K", "delta", "x1", "x0", "eta"))
    au, bu, av, bv, c, beta = (q[k] for k in ("au", "bu", "av", "bv", "c", "beta"))
    T0 = q.get("T0")
    with precision(prec):
        A = arb

        def u(T: arb) -> arb:
            y = A(K) * T
            if T0 is None:
                return A(au) * act.ball(y) + A(bu)
            diff = A(au) * (act.ball(y + A(T0)) - act.ball(y)) + A(bu)
            if T.rad() == 0:
                return diff
            # on a box the difference of two balls loses everything far out (Ky wide) and the
            # mean value form ϱ(y + T₀) − ϱ(y) = T₀ϱ'(ξ) everything near the step (ϱ' varies on
            # [y, y + T₀]): both enclose u, so their intersection does
            mv = A(au) * A(T0) * derivatives(act, y.union(y + A(T0)), 1)[1] + A(bu)
            return mv.intersection(diff) if mv.is_finite() and diff.is_finite() else mv

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
        U, _, n2 = sup_abs(u, du, cuts)
        # identity gadget: v(t) − t = (av ϱ(x1) + bv) + t (av δ ϱ'(ξ) − 1)
        c0 = abs(A(av) * act.ball(A(x1)) + A(bv))
        pieces = 32
        S2 = None
        for k in range(pieces):
            a, b = -M + 2 * M * k / pieces, -M + 2 * M * (k + 1) / pieces
            span = hull(min(a, fmpq(0)), max(b, fmpq(0)))
            g = A(av) * A(d) * derivatives(act, A(x1) + A(d) * span, 1)[1] - 1
            e = c0 + A(max(abs(a), abs(b))) * abs(g)
            S2 = e if S2 is None else S2.max(e)
        S2 = S2.upper()
        Uu, V = U.upper(), (A(M) + S2).upper()
        R = (Uu + V).upper()
        s2 = derivatives(act, A(x0) + A(eta) * R.union(-R), 2)[2]
        s0 = act.ball(A(x0))
        if kind == "a3":
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
        return GadgetBand(q_upper(tau), S1lo, "decomposition Γ(u,v) − ReLU: step and |u| by branch and "
                          "bound, identity and product by mean-value/Taylor remainders in arb; every "
                          "number read from the gadget's weights", terms, n1 + n2 + pieces)


def band_kink1(body: Network, M: fmpq, prec: int) -> GadgetBand:
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
    evaluated in balls.  s, η, δ come from the weights, α from the neurons' activation.
    """
    act = body_activation(body)
    if act.name not in ("elu", "celu") or (act.name == "elu" and as_fmpq(dict(act.params).get("alpha", 1)) != 1):
        raise GadgetShapeError(f"kink1 gadget needs CELU(alpha) or ELU(alpha = 1); got {act.key}")
    q = read_kink1(body, act)
    s, eta, dl, al = q["s"], q["eta"], q["delta"], q["alpha"]
    _require(dl * M <= 1, "kink1 gadget: needs delta*M <= 1")
    with precision(prec):
        A_ = arb(al)
        r1 = A_ * ((arb(eta) / A_).exp() - 1) / arb(eta) - 1
        left = arb(s) * arb(M) ** 2 / (2 * A_) + A_ * r1 / arb(s)
        tau = left.max(arb(eta) / arb(s))
        ev = evaluate(body, [[-M]], Ball(prec))[0][0]  # ReLU(−M) = 0
        terms = {"middle eta/s": (arb(eta) / arb(s)).str(6, radius=False),
                 "left sM^2/(2 alpha) + alpha(r-1)/s": left.str(6, radius=False),
                 "at t = -M": ev.str(6, radius=True)}
        return GadgetBand(q_upper(tau), abs(ev).lower(), "closed form (Prop 12, k = 1, CELU/ELU "
                          "exponential branch; see proofs.beyond_relu.bands.band_kink1)", terms, 1)


def gadget_band(kind: str, body: Network, M: fmpq, eta: Optional[fmpq] = None,
                prec: int = 256) -> GadgetBand:
    """The band of ``body`` on [−M, M] by the argument of its ``kind``; raises
    :class:`GadgetShapeError` when the body does not have that kind's shape."""
    act = body_activation(body)
    prec = max(prec, 256)
    if kind == "kink1":
        return band_kink1(body, M, prec)
    if kind in ("relu", "kink0", "relu2") and act.exact is not None:
        return band_exact_pl(body, M)
    if kind in ("kink0", "one", "two", "relu2"):
        return band_one_layer(body, M, prec)
    if kind in ("a3", "a3v1", "a2v1"):
        _require(eta is not None, "the two-layer routes need the product scale eta")
        return band_two_layer(kind, act, read_two_layer(kind, body, eta), M, prec)
    raise GadgetShapeError(f"no band argument for gadget kind {kind!r}")


__all__ = ["GadgetBand", "GadgetShapeError", "gadget_band", "sup_abs", "geometric_cuts", "q_upper",
           "hull", "order_key", "read_two_layer", "read_kink1", "body_activation"]
