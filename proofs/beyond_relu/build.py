"""ReLU emulation by other activations (Zhang, Lu, Zhao, "Beyond ReLU"; note: beyond-relu.md).

:func:`emulate` substitutes every ReLU neuron of a ReLU MLP by a small ϱ-gadget (Prop 10 of the
final version, Prop 3.1 of v1) and returns an :class:`Emulation`: the ϱ-network (a plain IR
``Network`` with one ``Gadget`` node per substituted layer, so the certifier can read the gadget's
parameters and rebuild it), and the parameters chosen.

Routes (gadget kinds, see :class:`proofs.beyond_relu.plans.Plan`):

========  =====================================  ======================  ===========================
kind      gadget                                  widthvec                used for
========  =====================================  ======================  ===========================
relu      identity substitution                   [1]                     ReLU (exact)
kink0     [ϱ(st) − ϱ(s(t−M₀))]/(s(L₂−L₁)) − …     [2]                     𝒜_{1,0}: LeakyReLU (exact, s=1), SELU/ELU α≠1
relu2     [ReLU²(t+t₀) − ReLU²(t)]/(2t₀)          [2]                     ReLU² (𝒜_{1,1}, note §6.2; error t₀/2)
one       w₁ϱ(Kt) + b₁                            [1]                     𝒜̃₂ (Thm 9, Table 2)
two       w(ϱ(Kt) − ϱ(K(t−M₀))) + c               [2]                     𝒜₂ (Thm 8)
a3        Γ_η(u(Kt), v(t)), 3-neuron product      [2, 3]                  𝒜₃, final Prop 13
a3v1      same with the 6-neuron product          [2, 6]                  𝒜₃, v1 Prop 3.4
a2v1      v1 step ϱ(Kt+T₀) − ϱ(Kt), 6-product     [3, 6]                  𝒜₂ᵛ¹, v1 Prop 3.4
========  =====================================  ======================  ===========================

Every weight is rational: the transcendental constants (ϱ(x₀), ϱ'(x₁), ϱ''(x₀), ln 2, 1/π …)
are rounded to 2^-bits and the certifier accounts for the rounding, because it analyses the
gadget *as built*.  Parameter choice (K, δ, η, t₀, s) starts from the note's error bands with a
budget τ per neuron: τ = eps / (2·S), S = max_i (Σ_ℓ |W_L|⋯|W_ℓ| 1)_i (quantitative Prop 10).
The working precision is chosen from the cancellation the gadget performs
(prec ≈ 2·log₂(1/η) + log₂(1/δ) + log₂(K·M/τ) + 64).  Those choices rest on float estimates,
so :func:`emulate` then tightens τ until the rigorous band of the gadget it built
(``proofs.beyond_relu.bands``, the routine the certifier re-runs on the network) propagates to
at most eps: a builder meets what it promises or raises :class:`TuningError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from flint import arb, fmpq, fmpq_mat

from constructive.activations import ActivationFunction, lookup
from constructive.activations.catalogue import NAMES, derivatives, parse_activation, witness
from constructive.errors import UserError
from constructive.ir import Network, Parallel, activation, affine, affine_from, network
from constructive.network_files import exact_number
from constructive.numbers import as_fmpq, precision
from constructive.tuning import (Attempt, TuningError,  # noqa: F401 (TuningError: public)
                                 halve_until_certified)
from proofs.beyond_relu.bands import GadgetBand, GadgetShapeError, gadget_band
from proofs.beyond_relu.lemmas import certify_derivative, derivative_setup, identity_bound, product_bound
from proofs.beyond_relu.plans import Plan, _log2, _pow2_below, _round, make_plan, plan_from_gadget, route
from proofs.beyond_relu.source import (activation_from_params, current_network_file, default_relu_network,
                                       input_box, layers_from_params, lemma_activation, load_relu_network,
                                       using_network)
from proofs.beyond_relu.table2 import table2_activation, table2_rows, table2_shift

VERSIONS = ("v1", "final", "kink", "a2", "a2tilde")


def hidden_ranges(layers, box) -> list[list[tuple[fmpq, fmpq]]]:
    """Exact interval enclosures of every hidden pre-activation on the box."""
    lo = [as_fmpq(a) for a, _ in box]
    hi = [as_fmpq(b) for _, b in box]
    out = []
    for k, (W, b) in enumerate(layers[:-1]):
        nlo, nhi = [], []
        for i in range(W.nrows()):
            a = c = b[i, 0]
            for j in range(W.ncols()):
                w = W[i, j]
                if w >= 0:
                    a += w * lo[j]
                    c += w * hi[j]
                else:
                    a += w * hi[j]
                    c += w * lo[j]
            nlo.append(a)
            nhi.append(c)
        out.append(list(zip(nlo, nhi)))
        lo = [max(v, fmpq(0)) for v in nlo]
        hi = [max(v, fmpq(0)) for v in nhi]
    return out


def propagate(layers, tau: fmpq) -> list[list[fmpq]]:
    """e_1 = 0, e_{ℓ+1} = |W_ℓ|(τ + e_ℓ): bounds of the pre-activation errors, last = output."""
    e = [fmpq(0)] * layers[0][0].nrows()
    out = [e]
    for W, _ in layers[1:]:
        e = [sum((abs(W[i, j]) * (tau + e[j]) for j in range(W.ncols())), fmpq(0))
             for i in range(W.nrows())]
        out.append(e)
    return out


def lipschitz_sum(layers) -> fmpq:
    return max(propagate(layers, fmpq(1))[-1])


# ---------------------------------------------------------------------------------------------
# the emulation


def emulation_upper(layers, ranges, tau: fmpq, M: fmpq) -> tuple[fmpq, list]:
    """Quantitative Prop 10 from a gadget band τ on [−M, M]: (max_i e_{L+1,i}, problems).  The
    bound is valid when no problem is listed, i.e. every perturbed pre-activation stays in
    [−M, M]; the builder tunes with it and the certifier re-derives its bound with it."""
    errs = propagate(layers, tau)
    problems = []
    for l, r in enumerate(ranges):
        if any(max(abs(a), abs(b)) + e > M for (a, b), e in zip(r, errs[l])):
            problems.append(f"layer {l + 1}: perturbed pre-activations may leave [-{M}, {M}]")
    return max(errs[-1]), problems


@dataclass
class Emulation:
    net: Network
    relu_layers: list
    plan: Plan
    tau: fmpq          # the per-neuron budget the last plan aimed at
    M: fmpq            # the gadget domain [−M, M]
    box: list
    version: str
    eps: fmpq
    band: Optional[GadgetBand] = None   # the rigorous band the builder tuned with (check=True)
    upper: Optional[fmpq] = None        # its propagated bound (≤ eps); the certifier redoes it
    rounds: int = 0


def emulation_network(layers, plan: Plan) -> Network:
    g = plan.gadget()
    part = network(g)
    nodes: list = []
    for k, (W, b) in enumerate(layers):
        nodes.append(affine_from(W, b))
        if k < len(layers) - 1:
            nodes.append(Parallel((part,) * W.nrows()))
    return Network(tuple(nodes))


#: rounds of the tuning loop; each aims the plan at a smaller per-neuron budget
TUNING_ROUNDS = 10


def emulate(relu_layers: Any, rho: Any, eps: Any, box: Any = 2, version: str = "final",
            check: bool = True) -> Emulation:
    """A ϱ-network within ``eps`` of the ReLU network on ``box``.

    With ``check`` (the default, and what the registry builders use) the gadget's scales are
    tightened until the rigorous band (:func:`proofs.beyond_relu.bands.gadget_band`, the routine
    the certifier re-runs on the network it is handed) propagates to at most ``eps``; after
    :data:`TUNING_ROUNDS` rounds :class:`TuningError` is raised.  Without it the float-estimated
    plan is returned untested.

    ``relu_layers``: ``[(W, b), …]`` (exact matrices or nested lists) or a path; ``rho``: an
    activation or a name (``"srs:alpha=5,beta=3"``); ``box``: ``A`` for [−A, A]^d or a list of
    (lo, hi); ``version``: ``v1`` (6N, 2L), ``final`` (3N, 2L), ``kink`` ((k+2)N, L),
    ``a2`` (2N, L), ``a2tilde`` (N, L).
    """
    if version not in VERSIONS:
        raise UserError(f"unknown version {version!r}; allowed: {', '.join(VERSIONS)}")
    eps = as_fmpq(eps) if not isinstance(eps, float) else exact_number(eps, "eps")
    if eps <= 0:
        raise UserError(f"eps must be positive, got {eps}")
    act = rho if isinstance(rho, ActivationFunction) else (
        lookup(rho) if ":" not in rho else parse_activation(rho))
    if isinstance(relu_layers, str):
        layers = load_relu_network(relu_layers)
    else:
        layers = [(W if isinstance(W, fmpq_mat) else fmpq_mat([[as_fmpq(v) for v in r] for r in W]),
                   b if isinstance(b, fmpq_mat) else fmpq_mat([[as_fmpq(v)] for v in b]))
                  for W, b in relu_layers]
    bx = input_box(box, layers[0][0].ncols())
    ranges = hidden_ranges(layers, bx)
    need = max((max(abs(a), abs(b)) for r in ranges for a, b in r), default=fmpq(0))
    M = fmpq(int(need.floor()) + 2)
    S = lipschitz_sum(layers)
    tau = eps / (2 * S) if S > 0 else eps
    plan = make_plan(act, version, tau, M)
    if not check:
        return Emulation(emulation_network(layers, plan), layers, plan, tau, M, bx, version, eps)
    rounds = []

    def attempt(tau: fmpq) -> Attempt:
        plan = make_plan(act, version, tau, M)
        rounds.append(tau)
        try:
            prec = int(plan.p.get("prec", fmpq(0))) + 64
            band = gadget_band(plan.kind, plan.body(), M, plan.p.get("eta"), prec)
            upper, problems = emulation_upper(layers, ranges, band.tau, M)
        except GadgetShapeError:
            raise  # the plan built a body of another shape than its kind: a bug, not a miss
        except ArithmeticError:  # no finite band at these scales: tighten and retry
            return Attempt(None, None, False)
        ok = not problems and upper <= eps
        return Attempt(Emulation(emulation_network(layers, plan), layers, plan, tau, M, bx, version,
                                 eps, band, upper, len(rounds)) if ok else None, upper, ok)

    # most bands scale linearly with the budget: aim below the miss, at least halving
    return halve_until_certified(tau, attempt, eps, TUNING_ROUNDS,
                                 f"{version} emulation by {act.key} at eps = {eps}", adaptive=True)


# ---------------------------------------------------------------------------------------------
# registry builders


def build_emulation(params: dict, target: Any = None, version: Optional[str] = None) -> Network:
    version = version or str(params.get("version", "final"))
    em = emulate(layers_from_params(params), activation_from_params(params), params["eps"],
                 params.get("A", 2), version, check=True)
    return em.net


def build_v1(params: dict, target: Any = None) -> Network:
    return build_emulation(params, target, "v1")


def build_final(params: dict, target: Any = None) -> Network:
    return build_emulation(params, target, "final")


def build_kink(params: dict, target: Any = None) -> Network:
    return build_emulation(params, target, "kink")


def build_a2(params: dict, target: Any = None) -> Network:
    return build_emulation(params, target, "a2")


def build_a2tilde(params: dict, target: Any = None) -> Network:
    return build_emulation(params, target, "a2tilde")


def build_single_neuron(params: dict, target: Any = None) -> Network:
    """x ↦ ϱ(x): the activation whose class membership is certified."""
    act = parse_activation(str(params.get("rho", "sigmoid")))
    return network(affine([[1]], [0]), activation(1, act), affine([[1]], [0]))


def build_table2(params: dict, target: Any = None) -> Network:
    """The single neuron of a Table 2 row with K = 1: x ↦ ϱ(x) − b₁ (b₁ = ln 2 for Softplus,
    rounded to 2^-64; the constants concern the band of ϱ(Kx)/K, certified from ϱ itself)."""
    row = table2_rows()[str(params.get("constant", "C4"))]
    act = table2_activation(row)
    c = -_round(table2_shift(row), 64) if "shift" in row else fmpq(0)
    return network(affine([[1]], [0]), activation(1, act), affine([[1]], [c]))


__all__ = ["emulate", "Emulation", "Plan", "TuningError", "default_relu_network", "load_relu_network",
           "hidden_ranges", "propagate", "lipschitz_sum", "emulation_upper", "route", "make_plan",
           "plan_from_gadget", "emulation_network", "using_network", "current_network_file", "NAMES"]


# ---------------------------------------------------------------------------------------------
# lemma-level networks with registry entries of their own (Lemma 15, Lemma 16, v1 Lemma 7.1)
# and Theorem 6.  Each builder estimates its scale from Taylor coefficients, then halves it until
# the independent certifier (proofs.beyond_relu.check) confirms the tolerance; it returns only the network.


def product_network(act: ActivationFunction, x0: fmpq, eta: fmpq, c: fmpq, beta: fmpq,
                    six: bool = False) -> Network:
    """Γ(x, y) on R²: the 3-neuron mixed second difference (final Lemma 16)
    c[ϱ(x0 + ηx + ηy) − ϱ(x0 + ηy) − ϱ(x0 + ηx)] + β, or with ``six`` the 6-neuron symmetric
    one (v1 Lemma 7.1) c[ϱ(x0 ± η(x + y)) − ϱ(x0 ± ηx) − ϱ(x0 ± ηy)] + β."""
    if six:
        rows = [[eta, eta], [-eta, -eta], [eta, 0], [-eta, 0], [0, eta], [0, -eta]]
        out = [c, c, -c, -c, -c, -c]
    else:
        rows = [[eta, eta], [0, eta], [eta, 0]]
        out = [c, -c, -c]
    return network(affine(rows, [x0] * len(rows)), activation(len(rows), act), affine([out], [beta]))


def _taylor(act: ActivationFunction, x: fmpq, order: int) -> list[float]:
    with precision(128):
        return [float(v.mid()) for v in derivatives(act, arb(x), order)]


def build_product(params: dict, six: bool) -> Network:
    act = lemma_activation(params)
    A, eps = as_fmpq(params["A"]), as_fmpq(params["eps"])
    x0 = as_fmpq(witness(act).second["x0"])
    d = _taylor(act, x0, 4)
    Af, ef = float(A), float(eps)
    r3, r4 = abs(d[3] / d[2]), (abs(d[4]) + 0.1) / abs(d[2])
    if six:   # bound ≈ (3/4) A⁴ η² |ϱ''''/ϱ''|
        eta = _pow2_below(math.sqrt(ef / (2 * Af ** 4 * r4)))
    else:     # bound ≈ A³ η |ϱ'''/ϱ''| + 2 A⁴ η² |ϱ''''/ϱ''|
        eta = _pow2_below(min(ef / (2 * Af ** 3 * r3 + 1e-300), math.sqrt(ef / (8 * Af ** 4 * r4))))

    def attempt(eta: fmpq) -> Attempt:
        bits = 2 * _log2(1 / float(eta)) + _log2(1 / ef) + 64
        with precision(bits + 64):
            s0, _, s2 = derivatives(act, arb(x0), 2)
            k = 2 if six else 1
            c = _round(1 / (k * arb(eta) ** 2 * s2), bits)
            beta = _round(k * arb(c) * s0, bits)
        net = product_network(act, x0, eta, c, beta, six)
        upper = product_bound(net, A)["upper"]
        return Attempt(net, upper, upper <= eps)

    return halve_until_certified(eta, attempt, eps, 12, f"{'6' if six else '3'}-neuron product "
                                 f"by {act.key} on [-{A}, {A}]^2")


def build_product3(params: dict, target: Any = None) -> Network:
    return build_product(params, six=False)


def build_product6(params: dict, target: Any = None) -> Network:
    return build_product(params, six=True)


def identity_network(act: ActivationFunction, x1: fmpq, delta: fmpq, av: fmpq, bv: fmpq) -> Network:
    """Lemma 15: x ↦ a_v ϱ(x1 + δx) + b_v with a_v ≈ 1/(δϱ'(x1)), b_v ≈ −a_v ϱ(x1)."""
    return network(affine([[delta]], [x1]), activation(1, act), affine([[av]], [bv]))


def build_identity(params: dict, target: Any = None) -> Network:
    act = lemma_activation(params)
    M, eps = as_fmpq(params["M"]), as_fmpq(params["eps"])
    x1 = as_fmpq(witness(act).first["x1"])
    d = _taylor(act, x1, 3)
    Mf, ef = float(M), float(eps)
    r2, r3 = abs(d[2] / d[1]), (abs(d[3]) + 0.1) / abs(d[1])
    delta = _pow2_below(min(ef / (Mf * Mf * r2 + 1e-300), math.sqrt(3 * ef / (Mf ** 3 * r3))))

    def attempt(delta: fmpq) -> Attempt:
        bits = _log2(1 / float(delta)) + _log2(1 / ef) + 64
        with precision(bits + 64):
            r, r1 = derivatives(act, arb(x1), 1)
            av = _round(1 / (arb(delta) * r1), bits)
            bv = _round(-arb(av) * r, bits)
        net = identity_network(act, x1, delta, av, bv)
        upper = identity_bound(net, M)["upper"]
        return Attempt(net, upper, upper <= eps)

    return halve_until_certified(delta, attempt, eps, 12, f"identity gadget by {act.key} on [-{M}, {M}]")


def build_derivative(params: dict, target: Any = None) -> Network:
    """Theorem 6: the ϱ^(k)-network with the ReLU network's affine maps (default instance or
    ``--network FILE``), every ϱ^(k) neuron replaced by the k + 1 neurons of Prop 11."""
    layers = layers_from_params(params)
    act = lemma_activation(params)
    k = int(params.get("k", 1))
    eps = as_fmpq(params["eps"])
    box = input_box(params.get("A", 2), layers[0][0].ncols())
    M, D, S = derivative_setup(layers, box, act, k)
    tau = eps / (2 * S) if S > 0 else eps
    # band (k η / 2)·sup|ϱ^(k+1)| ≤ τ
    eta = _pow2_below(float(2 * tau) / (k * float(D) + 1e-300))

    def attempt(eta: fmpq) -> Attempt:
        prec = fmpq(64 + k * _log2(1 / float(eta)) + _log2(1 / float(tau)))
        plan = Plan("deriv", act, {"M": M, "k": fmpq(k), "eta": eta, "prec": prec})
        net = emulation_network(layers, plan)
        res = certify_derivative(net, layers, box, act, k, witnesses=0)
        return Attempt(net, res["upper"], bool(res["ok"] and res["upper"] <= eps))

    return halve_until_certified(eta, attempt, eps, 8, f"order-{k} derivative emulation by {act.key}")
