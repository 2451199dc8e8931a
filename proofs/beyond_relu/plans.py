"""Gadget plans of the ReLU emulations ("Beyond ReLU"): the route a version's proof takes for an
activation, and the scale parameters (K, δ, η, t₀, s) of its gadget.

:func:`make_plan` chooses the parameters from float estimates of the error bands (a choice, never
a verdict); the builder (``proofs.beyond_relu.build.emulate``) then tightens them until the
rigorous band of ``proofs.beyond_relu.bands`` meets the budget.  A :class:`Plan` rebuilds its
gadget body; the parameters ride on the gadget node so that a certifier can read them, and it
re-derives the band from the body's weights, not from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from flint import arb, fmpq

from constructive.activations import RELU, ActivationFunction
from constructive.activations.catalogue import derivatives, parse_activation, witness
from constructive.errors import UserError
from constructive.ir import Gadget, GadgetSpec, Network, activation, affine, network
from constructive.numbers import as_fmpq, precision

SOURCE = "Zhang, Lu, Zhao, Deep Network Approximation: Beyond ReLU to Diverse Activation Functions"


# ---------------------------------------------------------------------------------------------
# gadget plans


def _round(x: arb, bits: int) -> fmpq:
    """A rational with denominator 2^bits within 2^-bits of the ball's midpoint."""
    m = x.mid()
    n = (m * arb(2) ** bits).floor().unique_fmpz() if (m * arb(2) ** bits).floor().is_exact() else \
        (m * arb(2) ** bits).mid().floor().unique_fmpz()
    return fmpq(int(n), 2 ** bits)


@dataclass(frozen=True)
class Plan:
    """A gadget R → R: its kind, activation and rational parameters (enough to rebuild it)."""

    kind: str
    act: ActivationFunction
    p: dict = field(default_factory=dict)  # name → fmpq

    def params(self) -> dict:
        return {"kind": self.kind, "rho": self.act.key,
                **{k: str(v) for k, v in sorted(self.p.items())}}

    @property
    def width_depth(self) -> tuple[int, int]:
        if self.kind == "deriv":
            return (int(self.p["k"]) + 1, 1)
        return {"relu": (1, 1), "kink0": (2, 1), "kink1": (3, 1), "relu2": (2, 1), "one": (1, 1),
                "two": (2, 1), "a3": (3, 2), "a3v1": (6, 2), "a2v1": (6, 2)}[self.kind]

    def body(self) -> Network:
        q = self.p
        A = self.act
        if self.kind == "relu":
            return network(affine([[1]], [0]), activation(1, RELU), affine([[1]], [0]))
        if self.kind == "kink0":
            s, M0, L1, L2 = q["s"], q["M0"], q["L1"], q["L2"]
            w = 1 / (s * (L2 - L1))
            return network(affine([[s], [s]], [0, -s * M0]), activation(2, A),
                           affine([[w, -w]], [-L1 * M0 / (L2 - L1)]))
        if self.kind == "kink1":
            # Prop 12 with k = 1 for CELU(α) / ELU(α = 1) (kink at 0, L1 = 1/α, L2 = 0):
            # ReLU(t) ≈ t − α·ψ(t), ψ(t) = [ϱ(st + η) − ϱ(st) − η·ϱ'(0)]/(ηs) (finite difference of
            # ϱ' at the ε-scale s), and t = [ϱ(1 + δt) − ϱ(1)]/δ exactly while 1 + δt ≥ 0 (Lemma 15
            # at x1 = 1, where ϱ is the identity): three neurons, rational weights.
            s, eta, dl, al = q["s"], q["eta"], q["delta"], q["alpha"]
            w = al / (eta * s)
            return network(affine([[s], [s], [dl]], [eta, 0, 1]), activation(3, A),
                           affine([[-w, w, 1 / dl]], [al / s - 1 / dl]))
        if self.kind == "deriv":
            # Theorem 6 / Prop 11: ϱ^(k)(t) ≈ Σ_ℓ (−1)^ℓ C(k, ℓ) ϱ(t + ℓη) / (−η)^k
            k, eta = int(q["k"]), q["eta"]
            return network(affine([[1]] * (k + 1), [l * eta for l in range(k + 1)]),
                           activation(k + 1, A),
                           affine([[fmpq((-1) ** l * math.comb(k, l)) / (-eta) ** k
                                    for l in range(k + 1)]], [0]))
        if self.kind == "relu2":
            t0 = q["t0"]
            return network(affine([[1], [1]], [t0, 0]), activation(2, A),
                           affine([[1 / (2 * t0), -1 / (2 * t0)]], [0]))
        if self.kind == "one":
            return network(affine([[q["K"]]], [0]), activation(1, A), affine([[q["w"]]], [q["c"]]))
        if self.kind == "two":
            K, M0 = q["K"], q["M0"]
            return network(affine([[K], [K]], [0, -K * M0]), activation(2, A),
                           affine([[q["w"], -q["w"]]], [q["c"]]))
        # two-layer S-shaped routes: first layer gives (u, v)
        K, d, x1, x0, eta = q["K"], q["delta"], q["x1"], q["x0"], q["eta"]
        au, bu, av, bv, c, beta = q["au"], q["bu"], q["av"], q["bv"], q["c"], q["beta"]
        if self.kind == "a2v1":
            T0 = q["T0"]
            first = affine([[K], [K], [d]], [T0, 0, x1])
            U = [au, -au, 0]   # u = au (z1 − z2) + bu
            V = [0, 0, av]
        else:
            first = affine([[K], [d]], [0, x1])
            U = [au, 0]
            V = [0, av]
        n1 = len(U)
        if self.kind == "a3":
            rows = [([eta * (U[j] + V[j]) for j in range(n1)], x0 + eta * (bu + bv)),
                    ([eta * V[j] for j in range(n1)], x0 + eta * bv),
                    ([eta * U[j] for j in range(n1)], x0 + eta * bu)]
            out = affine([[c, -c, -c]], [beta])
        else:  # 6-neuron product of v1
            rows = []
            for sgn in (1, -1):
                rows.append(([sgn * eta * (U[j] + V[j]) for j in range(n1)], x0 + sgn * eta * (bu + bv)))
            for sgn in (1, -1):
                rows.append(([sgn * eta * U[j] for j in range(n1)], x0 + sgn * eta * bu))
            for sgn in (1, -1):
                rows.append(([sgn * eta * V[j] for j in range(n1)], x0 + sgn * eta * bv))
            out = affine([[c, c, -c, -c, -c, -c]], [beta])
        second = affine([r for r, _ in rows], [b for _, b in rows])
        return network(first, activation(n1, A), second, activation(len(rows), A), out)

    def gadget(self) -> Gadget:
        what = f"the derivative of order {self.p['k']}" if self.kind == "deriv" else "ReLU"
        spec = GadgetSpec(statement=f"{what} on [-M, M] (M = {self.p.get('M')}) by a {self.kind} "
                                    f"gadget of {self.act.key}",
                          domain=((-self.p["M"], self.p["M"]),), source=SOURCE)
        return Gadget(f"zlz-{self.kind}", self.body(), spec,
                      tuple(sorted({k: str(v) for k, v in self.p.items()}.items())) +
                      (("kind", self.kind), ("rho", self.act.key)))


def plan_from_gadget(g: Gadget) -> Plan:
    """Rebuild the plan a gadget node claims (the certifier checks the digests agree)."""
    d = dict(g.params)
    kind, rho = d.pop("kind"), d.pop("rho")
    name, _, rest = rho.partition("(")
    act = parse_activation(name + (":" + rest.rstrip(")").replace(" ", "") if rest else ""))
    return Plan(kind, act, {k: as_fmpq(v) for k, v in d.items()})


def route(act: ActivationFunction, version: str) -> str:
    """The gadget kind a version's proof uses for ``act``."""
    name = act.name
    w = witness(act)
    if name == "relu":
        return "relu"
    if version in ("v1", "final", "kink"):
        if name == "leaky_relu" or (version == "kink" and w.kink and w.kink["k"] == 0):
            return "kink0"
        if name == "relu2":
            return "relu2"
    if version == "kink" and name in ("elu", "celu") and w.kink and w.kink["k"] == 1:
        return "kink1"
    if version == "kink":
        raise UserError(f"Theorem 7 route for {name}: only 𝒜_{{1,0}} (LeakyReLU, ELU/SELU with α ≠ 1) "
                        "and ReLU² are implemented; Prop 12 with k ≥ 1 for ELU(α=1)/CELU is not")
    if version == "a2tilde" or (version == "final" and "A2~" in w.classes):
        if "A2~" not in w.classes:
            raise UserError(f"{name} is not in 𝒜̃₂ (classes {', '.join(w.classes) or 'none'})")
        return "one"
    if version == "a2":
        if "A2" not in w.classes and "A2~" not in w.classes:
            raise UserError(f"{name} is not in 𝒜₂ (classes {', '.join(w.classes) or 'none'})")
        return "two"
    if version == "final":
        if "A3" in w.classes:
            return "a3"
    if version == "v1":
        if "A3" in w.classes:
            return "a3v1"
        if "A2v1" in w.classes:
            return "a2v1"
    raise UserError(f"no {version} route for {name} (classes {', '.join(w.classes) or 'none'})")


def _sample_sup(f, lo: float = -60.0, hi: float = 60.0) -> float:
    """A float estimate of sup|f| (only to *choose* parameters; never a verdict)."""
    import mpmath

    pts = [lo + (hi - lo) * k / 2400 for k in range(2401)]
    pts += [s * 10 ** (e / 8) for e in range(-16, 97) for s in (1, -1)]
    with mpmath.workdps(30):
        return max(abs(float(f(mpmath.mpf(t)))) for t in pts)


def make_plan(act: ActivationFunction, version: str, tau: fmpq, M: fmpq) -> Plan:
    """Choose the gadget and its parameters so that its error on [−M, M] should be ≤ τ."""
    kind = route(act, version)
    w = witness(act)
    tf = float(tau)
    Mf = float(M)
    bits = max(64, int(math.log2(1 / tf)) + 40)
    p: dict[str, fmpq] = {"M": M}
    if kind == "relu":
        return Plan(kind, act, p)
    if kind == "kink0":
        L1, L2 = (as_fmpq(act.params[0][1]) if act.name == "leaky_relu" else None), fmpq(1)
        s = fmpq(1)
        if act.name != "leaky_relu":
            with precision(128):
                lam = [as_fmpq(v) for k, v in act.params if k == "lam"]
                L2 = lam[0] if lam else fmpq(1)
                a = [as_fmpq(v) for k, v in act.params if k == "alpha"][0]
                L1 = L2 * a
            # ψ_s error ≈ s·M²·|ϱ''|/2 ⇒ s ≈ τ/(M²·|L1|·...)
            s = fmpq(1, 2 ** max(0, math.ceil(math.log2(4 * Mf * Mf * float(abs(L1) + 1) / tf))))
        p.update(s=s, M0=M, L1=L1, L2=L2)
        return Plan(kind, act, p)
    if kind == "relu2":
        p["t0"] = fmpq(1, 2 ** math.ceil(math.log2(1 / tf)))
        return Plan(kind, act, p)
    if kind == "kink1":
        # error band (proofs.beyond_relu.bands.band_kink1): max(η/s, sM²/(2α) + α(r − 1)/s), r − 1 ≈ η/(2α)
        al = as_fmpq(dict(act.params).get("alpha", 1))
        s = _pow2_below(2 * float(al) * tf / (3 * Mf * Mf))
        eta = _pow2_below(float(s) * tf / 3)
        dl = _pow2_below(1 / Mf)
        p.update(s=s, eta=eta, delta=dl, alpha=al,
                 prec=fmpq(64 + _log2(1 / float(eta)) + _log2(1 / float(s)) + _log2(1 / tf)))
        return Plan(kind, act, p)
    f = lambda y: act.mp(y)
    if kind in ("one", "two"):
        lp = 1 if w.h_form is None else float(sympy_value(w.h_form["lim_plus"]))
        lm = 0 if w.h_form is None else float(sympy_value(w.h_form["lim_minus"]))
        b1 = sympy_value(w.h_form["b1"]) if w.h_form else 0
        if kind == "one":
            C = _sample_sup(lambda y: (y if y > 0 else 0) - (f(y) - b1) / lp)
            K = _pow2_above(2 * C / tf)
            with precision(bits + 64):
                wgt = fmpq(1) / (K * _round(arb(lp) if lp != 1 else arb(1), bits)) if lp != 1 else fmpq(1) / K
                if act.name == "selu":
                    wgt = 1 / (K * [as_fmpq(v) for k, v in act.params if k == "lam"][0])
                c = -_round(_arb_of(w.h_form["b1"]) * arb(wgt), bits + 32) if b1 else fmpq(0)
            p.update(K=K, w=wgt, c=c)
            return Plan(kind, act, p)
        # two neurons: ψ(t) − ψ(t − M0) − L1 M0/(L2 − L1)
        gap = lp - lm
        C = _sample_sup(lambda y: (y if y > 0 else 0) - (f(y) - b1 - lm * y) / gap)
        K = _pow2_above(4 * C / tf)
        M0 = M + 1
        with precision(bits + 64):
            g = _arb_of(w.h_form["lim_plus"]) - _arb_of(w.h_form["lim_minus"])
            wgt = _round(1 / (g * arb(K)), bits + 2 * int(math.log2(K)) + 8)
            c = -_round(_arb_of(w.h_form["lim_minus"]) * arb(M0) / g, bits + 16)
        p.update(K=K, M0=M0, w=wgt, c=c)
        return Plan(kind, act, p)
    # S-shaped two-layer routes
    if kind == "a2v1":
        L1, L2 = sympy_value(w.v1_step["L1"]), sympy_value(w.v1_step["L2"])
        step = lambda y: (f(y + 1) - f(y) - L1) / (L2 - L1)
    else:
        L1, L2 = sympy_value(w.s_limits["L1"]), sympy_value(w.s_limits["L2"])
        step = lambda y: (f(y) - L1) / (L2 - L1)
    Cs = _sample_sup(lambda y: y * (step(y) - (1 if y > 0 else 0)))
    Umax = max(1.0, _sample_sup(step))
    K = _pow2_above(8 * Cs / tf)
    x0 = as_fmpq(w.second["x0"])
    x1 = as_fmpq(w.first["x1"])
    V = Mf + 1
    with precision(256):
        d0 = derivatives(act, arb(x0), 4)
        d1 = derivatives(act, arb(x1), 3)
        r2 = abs(float(d1[2].mid())) + abs(float(d1[3].mid())) + 0.1
        r3 = abs(float(d0[3].mid())) + abs(float(d0[4].mid())) + 0.1
    # identity error ≈ M·(|ϱ''|/|ϱ'|)·δM  (first-order ball bound),  product ≈ U V (U+V) η |ϱ'''/ϱ''|
    delta = _pow2_below(tf / (8 * Umax * Mf * Mf * r2 / abs(float(d1[1].mid()))))
    eta = _pow2_below(tf / (8 * Umax * V * (Umax + V) * 2 * r3 / abs(float(d0[2].mid()))))
    if kind != "a3":
        eta = _pow2_below(tf / (8 * (Umax + V) ** 2 * 2 * r3 / abs(float(d0[2].mid()))))
    prec = 64 + 2 * _log2(1 / eta) + _log2(1 / delta) + _log2(float(K) * Mf / tf)
    rb = prec + 16
    with precision(prec + 64):
        if kind == "a2v1":
            L1a = _arb_of(w.v1_step["L1"])
            L2a = _arb_of(w.v1_step["L2"])
        else:
            L1a = _arb_of(w.s_limits["L1"])
            L2a = _arb_of(w.s_limits["L2"])
        au = _round(1 / (L2a - L1a), rb + _log2(float(K) * Mf))
        bu = _round(-L1a / (L2a - L1a), rb + _log2(float(K) * Mf))
        r, r1 = derivatives(act, arb(x1), 1)
        av = _round(1 / (arb(delta) * r1), rb)
        bv = _round(-arb(av) * r, rb)
        s0, _, s2 = derivatives(act, arb(x0), 2)
        if kind == "a3":
            c = _round(1 / (arb(eta) ** 2 * s2), rb)
            beta = _round(arb(c) * s0, rb)
        else:
            c = _round(1 / (2 * arb(eta) ** 2 * s2), rb)
            beta = _round(2 * arb(c) * s0, rb)
    p.update(K=K, delta=delta, x1=x1, x0=x0, eta=eta, au=au, bu=bu, av=av, bv=bv, c=c, beta=beta,
             prec=fmpq(prec))
    if kind == "a2v1":
        p["T0"] = fmpq(1)
    return Plan(kind, act, p)


def _log2(x: float) -> int:
    return max(0, int(math.ceil(math.log2(x))))


def _pow2_above(x: float) -> fmpq:
    return fmpq(2 ** max(0, math.ceil(math.log2(max(x, 1.0)))))


def _pow2_below(x: float) -> fmpq:
    return fmpq(1, 2 ** max(0, math.ceil(math.log2(1 / x))))


def sympy_value(text: str) -> float:
    import sympy

    return float(sympy.sympify(text))


def _arb_of(text: str) -> arb:
    """A ball near a constant such as ``pi/2`` or ``log(2)`` (100 digits; only to choose rounded
    weights, whose rounding the band reads back from the network)."""
    import sympy

    return arb(str(sympy.N(sympy.sympify(text), 100)))
