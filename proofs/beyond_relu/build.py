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

import contextlib
import contextvars
import json
import math
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterator, Optional, Sequence

from flint import arb, fmpq, fmpq_mat

from constructive.errors import UserError
from constructive.activations.catalogue import (NAMES, derivatives, make_activation,
                                               parse_activation, witness)
from constructive.activations import ActivationFunction, lookup
from proofs.beyond_relu.bands import GadgetBand, GadgetShapeError, gadget_band
from proofs.beyond_relu.plans import (Plan, _log2, _pow2_below, _round, make_plan,
                                       plan_from_gadget, route)
from constructive.ir import Network, Parallel, activation, affine, affine_from, network
from constructive.numbers import as_fmpq, precision

VERSIONS = ("v1", "final", "kink", "a2", "a2tilde")


# ---------------------------------------------------------------------------------------------
# ReLU networks: the default instance and files


def default_relu_network() -> list[tuple[fmpq_mat, fmpq_mat]]:
    """A fixed width-8, depth-3 ReLU network R^2 → R with weights in {k/8 : |k| ≤ 4}."""
    rng = random.Random(2307_06555)
    sizes = [2, 8, 8, 8, 1]
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        W = [[fmpq(rng.randint(-4, 4), 8) for _ in range(a)] for _ in range(b)]
        bias = [fmpq(rng.randint(-4, 4), 8) for _ in range(b)]
        layers.append((fmpq_mat(W), fmpq_mat([[v] for v in bias])))
    return layers


def relu_net_from_layers(layers: Sequence[tuple[fmpq_mat, fmpq_mat]]) -> Network:
    nodes = []
    for k, (W, b) in enumerate(layers):
        nodes.append(affine_from(W, b))
        if k < len(layers) - 1:
            nodes.append(activation(W.nrows()))
    return network(*nodes)


def _exact(v: Any, where: str) -> fmpq:
    if isinstance(v, bool) or v is None:
        raise UserError(f"{where}: {v!r} is not a number")
    if isinstance(v, float):
        if not math.isfinite(v):
            raise UserError(f"{where}: weight {v} is not finite")
        f = Fraction(v)
        return fmpq(f.numerator, f.denominator)
    if isinstance(v, str):
        if v.strip().lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
            raise UserError(f"{where}: weight {v!r} is not finite")
        try:
            return as_fmpq(v)
        except (ValueError, ZeroDivisionError):
            raise UserError(f"{where}: {v!r} is not a rational number") from None
    if isinstance(v, int):
        return fmpq(v)
    raise UserError(f"{where}: {v!r} is not a number")


def _check_layers(raw: list[tuple[str, Any, Any]]) -> list[tuple[fmpq_mat, fmpq_mat]]:
    """raw = [(layer name, W rows, b)]: exact matrices; shape chain checked."""
    out = []
    prev = None
    for name, W, b in raw:
        if not isinstance(W, list) or not W or not all(isinstance(r, list) for r in W):
            raise UserError(f"layer {name}: weight is not a non-empty matrix")
        cols = len(W[0])
        if cols == 0 or any(len(r) != cols for r in W):
            raise UserError(f"layer {name}: ragged or empty weight matrix")
        if not isinstance(b, list) or len(b) != len(W):
            raise UserError(f"layer {name}: bias has {len(b) if isinstance(b, list) else '?'} entries, "
                            f"weight has {len(W)} rows")
        if prev is not None and cols != prev:
            raise UserError(f"layer {name}: takes {cols} inputs but the previous layer gives {prev}")
        Wq = [[_exact(v, f"layer {name}") for v in r] for r in W]
        bq = [_exact(v, f"layer {name}") for v in b]
        out.append((fmpq_mat(Wq), fmpq_mat([[v] for v in bq])))
        prev = len(W)
    if not out:
        raise UserError("the network file has no layers")
    return out


def load_relu_network(path: str) -> list[tuple[fmpq_mat, fmpq_mat]]:
    """A ReLU MLP from JSON (``{"layers": [{"W": …, "b": …} | {"type": "relu"}, …]}``) or a
    PyTorch state dict of ``Linear`` layers (``*.weight`` / ``*.bias``; ReLU between them)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1)
    except OSError as exc:
        raise UserError(f"cannot read network file {path!r}: {exc.strerror}") from None
    if head in (b"{", b"[", b" ", b"\n"):
        try:
            with open(path) as fh:
                data = json.load(fh)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"network file {path!r} is not valid JSON: {exc}") from None
        items = data.get("layers") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise UserError(f"network file {path!r}: expected a list of layers under 'layers'")
        raw = []
        expect_linear = True
        for k, item in enumerate(items):
            name = f"{k} ({item.get('type', 'linear') if isinstance(item, dict) else type(item).__name__})"
            if not isinstance(item, dict):
                raise UserError(f"layer {name}: not an object")
            typ = str(item.get("type", "linear")).lower()
            if typ == "relu":
                if expect_linear:
                    raise UserError(f"layer {name}: ReLU must follow a linear layer")
                expect_linear = True
                continue
            if typ != "linear":
                raise UserError(f"layer {name}: type {typ!r} is not linear or relu (only ReLU MLPs)")
            if not expect_linear and "type" in item:
                raise UserError(f"layer {name}: two linear layers without a ReLU between them")
            raw.append((name, item.get("W", item.get("weight")), item.get("b", item.get("bias"))))
            expect_linear = "type" not in item
        if items and isinstance(items[-1], dict) and str(items[-1].get("type", "")).lower() == "relu":
            # a final ReLU would be dropped by the layer list below: the output must be linear
            raise UserError(f"network file {path!r}: the last layer is a ReLU; the output layer "
                            "must be linear")
        return _check_layers(raw)
    try:
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types on a bad file
        raise UserError(f"network file {path!r} is neither JSON nor a PyTorch state dict: "
                        f"{str(exc).splitlines()[0][:120]}") from None
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    if not isinstance(state, dict):
        raise UserError(f"network file {path!r}: not a state dict")
    groups: dict[str, dict] = {}
    order: list[str] = []
    for key, value in state.items():
        prefix, _, leaf = str(key).rpartition(".")
        if leaf not in ("weight", "bias"):
            raise UserError(f"layer {prefix or key}: entry {key!r} is not a Linear weight or bias")
        if prefix not in groups:
            groups[prefix] = {}
            order.append(prefix)
        groups[prefix][leaf] = value
    raw = []
    for prefix in order:
        g = groups[prefix]
        W, b = g.get("weight"), g.get("bias")
        if W is None or not hasattr(W, "dim") or W.dim() != 2:
            raise UserError(f"layer {prefix}: weight is not a 2-D Linear weight "
                            f"(shape {tuple(W.shape) if W is not None else None})")
        if b is None:
            b_list = [0] * W.shape[0]
        else:
            if b.dim() != 1:
                raise UserError(f"layer {prefix}: bias is not 1-D")
            b_list = [float(v) for v in b.double().tolist()]
        raw.append((prefix, [[float(v) for v in row] for row in W.double().tolist()], b_list))
    return _check_layers(raw)


# ---------------------------------------------------------------------------------------------
# interval propagation and the Lipschitz budget (exact)


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


class TuningError(RuntimeError):
    """The construction could not bring its certified band within the budget: a bug or a limit
    of the construction, never a verdict."""


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


def _box(box: Any, d: int) -> list[tuple[fmpq, fmpq]]:
    if isinstance(box, (int, float, str, fmpq, Fraction)):
        A = as_fmpq(box)
        box = [(-A, A)] * d
    box = [(as_fmpq(a), as_fmpq(b)) for a, b in box]
    if len(box) != d:
        raise UserError(f"the box has {len(box)} sides but the network has {d} inputs")
    for a, b in box:
        if a > b:
            raise UserError(f"box side [{a}, {b}] has lower end above upper end")
    return box


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
    eps = as_fmpq(eps) if not isinstance(eps, float) else _exact(eps, "eps")
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
    bx = _box(box, layers[0][0].ncols())
    ranges = hidden_ranges(layers, bx)
    need = max((max(abs(a), abs(b)) for r in ranges for a, b in r), default=fmpq(0))
    M = fmpq(int(need.floor()) + 2)
    S = lipschitz_sum(layers)
    tau = eps / (2 * S) if S > 0 else eps
    plan = make_plan(act, version, tau, M)
    if not check:
        return Emulation(emulation_network(layers, plan), layers, plan, tau, M, bx, version, eps)
    trail = []
    for k in range(TUNING_ROUNDS):
        try:
            prec = int(plan.p.get("prec", fmpq(0))) + 64
            band = gadget_band(plan.kind, plan.body(), M, plan.p.get("eta"), prec)
            upper, problems = emulation_upper(layers, ranges, band.tau, M)
        except GadgetShapeError:
            raise  # the plan built a body of another shape than its kind: a bug, not a miss
        except ArithmeticError as exc:  # no finite band at these scales: tighten and retry
            band, upper, problems = None, None, [str(exc)]
        if not problems and upper <= eps:
            return Emulation(emulation_network(layers, plan), layers, plan, tau, M, bx, version, eps,
                             band, upper, k + 1)
        trail.append("no band" if upper is None else f"{float(upper / eps):.3g}")  # display only
        # aim below the miss (most bands scale linearly with the budget), at least halving
        shrink = fmpq(1, 2) if not upper else min(fmpq(1, 2), max(fmpq(1, 1024), eps / (2 * upper)))
        tau = tau * shrink
        plan = make_plan(act, version, tau, M)
    raise TuningError(f"{version} emulation by {act.key} at eps = {eps}: the certified band still "
                      f"misses after {TUNING_ROUNDS} rounds (upper/eps per round: {', '.join(trail)})")


# ---------------------------------------------------------------------------------------------
# registry builders


def stand_in_relu_network(sizes: Sequence[int], seed: int = 2307_06555) -> list:
    """A fixed ReLU network of the given layer sizes with weights in {k/8 : |k| ≤ 4}, scaled by
    1/(fan-in) so that pre-activations stay O(1): a stand-in of the *size* of a source network
    (Corollaries 4 and 5 are architecture bookkeeping: Theorem 1 applied to a network of that size)."""
    rng = random.Random(seed)
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        W = [[fmpq(rng.randint(-4, 4), 8 * a) for _ in range(a)] for _ in range(b)]
        bias = [fmpq(rng.randint(-4, 4), 8) for _ in range(b)]
        layers.append((fmpq_mat(W), fmpq_mat([[v] for v in bias])))
    return layers


def corollary_sizes(params: dict) -> Optional[list[int]]:
    """Layer sizes of the source ReLU network of Corollary 4 (q pieces: width ⌈3q/2⌉q, depth
    2⌈log₂ q⌉ + 1, Chen–Garudadri–Rao) or Corollary 5 (block g: width 69d + 48, depth 5,
    ℝ^{5d+5} → ℝ^{5d+5}, Zhang–Shen–Yang); None for the other entries."""
    if "q" in params:
        q = int(params["q"])
        w = -(-3 * q // 2) * q
        depth = 2 * max(0, math.ceil(math.log2(q)) if q > 1 else 0) + 1
        return [1] + [w] * depth + [1]
    if "dim" in params:
        d = int(params["dim"])
        return [5 * d + 5] + [69 * d + 48] * 5 + [5 * d + 5]
    return None


_NETWORK_FILE: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("zlz_network", default=None)


@contextlib.contextmanager
def using_network(path: Optional[str]) -> Iterator[None]:
    """Within the block, the emulation theorems use the ReLU network of ``path`` (JSON or a
    PyTorch state dict) instead of the default instance; the file is validated first."""
    if path:
        load_relu_network(path)
    token = _NETWORK_FILE.set(path)
    try:
        yield
    finally:
        _NETWORK_FILE.reset(token)


def current_network_file() -> Optional[str]:
    return _NETWORK_FILE.get()


def _layers_from_params(params: dict) -> list:
    sizes = corollary_sizes(params)
    if sizes is not None:
        return stand_in_relu_network(sizes)
    path = current_network_file()
    return load_relu_network(path) if path else default_relu_network()


def _act_from_params(params: dict) -> ActivationFunction:
    return lookup(str(params.get("rho", "sigmoid")))


def build_emulation(params: dict, target: Any = None, version: Optional[str] = None) -> Network:
    version = version or str(params.get("version", "final"))
    em = emulate(_layers_from_params(params), _act_from_params(params), params["eps"],
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
    from proofs.beyond_relu.check import TABLE2

    name, p, b1, *_ = TABLE2[str(params.get("constant", "C4"))]
    act = make_activation(name, **p)
    c = -_round(arb(2).log(), 64) if b1 == "log2" else fmpq(0)
    return network(affine([[1]], [0]), activation(1, act), affine([[1]], [c]))


__all__ = ["emulate", "Emulation", "Plan", "TuningError", "default_relu_network", "load_relu_network",
           "hidden_ranges", "propagate", "lipschitz_sum", "emulation_upper", "route", "make_plan",
           "plan_from_gadget", "emulation_network", "using_network", "current_network_file", "NAMES"]


# ---------------------------------------------------------------------------------------------
# lemma-level networks with registry entries of their own (Lemma 15, Lemma 16, v1 Lemma 7.1)
# and Theorem 6.  Each builder estimates its scale from Taylor coefficients, then halves it until
# the independent certifier (proofs.beyond_relu.check) confirms the tolerance; it returns only the network.


def _lemma_act(params: dict) -> ActivationFunction:
    return parse_activation(str(params.get("rho", "sigmoid")))


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
    from proofs.beyond_relu.check import product_bound

    act = _lemma_act(params)
    A, eps = as_fmpq(params["A"]), as_fmpq(params["eps"])
    x0 = as_fmpq(witness(act).second["x0"])
    d = _taylor(act, x0, 4)
    Af, ef = float(A), float(eps)
    r3, r4 = abs(d[3] / d[2]), (abs(d[4]) + 0.1) / abs(d[2])
    if six:   # bound ≈ (3/4) A⁴ η² |ϱ''''/ϱ''|
        eta = _pow2_below(math.sqrt(ef / (2 * Af ** 4 * r4)))
    else:     # bound ≈ A³ η |ϱ'''/ϱ''| + 2 A⁴ η² |ϱ''''/ϱ''|
        eta = _pow2_below(min(ef / (2 * Af ** 3 * r3 + 1e-300), math.sqrt(ef / (8 * Af ** 4 * r4))))
    for _ in range(12):
        bits = 2 * _log2(1 / float(eta)) + _log2(1 / ef) + 64
        with precision(bits + 64):
            s0, _, s2 = derivatives(act, arb(x0), 2)
            k = 2 if six else 1
            c = _round(1 / (k * arb(eta) ** 2 * s2), bits)
            beta = _round(k * arb(c) * s0, bits)
        net = product_network(act, x0, eta, c, beta, six)
        if product_bound(net, A)["upper"] <= eps:
            return net
        eta = eta / 2
    return net


def build_product3(params: dict, target: Any = None) -> Network:
    return build_product(params, six=False)


def build_product6(params: dict, target: Any = None) -> Network:
    return build_product(params, six=True)


def identity_network(act: ActivationFunction, x1: fmpq, delta: fmpq, av: fmpq, bv: fmpq) -> Network:
    """Lemma 15: x ↦ a_v ϱ(x1 + δx) + b_v with a_v ≈ 1/(δϱ'(x1)), b_v ≈ −a_v ϱ(x1)."""
    return network(affine([[delta]], [x1]), activation(1, act), affine([[av]], [bv]))


def build_identity(params: dict, target: Any = None) -> Network:
    from proofs.beyond_relu.check import identity_bound

    act = _lemma_act(params)
    M, eps = as_fmpq(params["M"]), as_fmpq(params["eps"])
    x1 = as_fmpq(witness(act).first["x1"])
    d = _taylor(act, x1, 3)
    Mf, ef = float(M), float(eps)
    r2, r3 = abs(d[2] / d[1]), (abs(d[3]) + 0.1) / abs(d[1])
    delta = _pow2_below(min(ef / (Mf * Mf * r2 + 1e-300), math.sqrt(3 * ef / (Mf ** 3 * r3))))
    for _ in range(12):
        bits = _log2(1 / float(delta)) + _log2(1 / ef) + 64
        with precision(bits + 64):
            r, r1 = derivatives(act, arb(x1), 1)
            av = _round(1 / (arb(delta) * r1), bits)
            bv = _round(-arb(av) * r, bits)
        net = identity_network(act, x1, delta, av, bv)
        if identity_bound(net, M)["upper"] <= eps:
            return net
        delta = delta / 2
    return net


def build_derivative(params: dict, target: Any = None) -> Network:
    """Theorem 6: the ϱ^(k)-network with the ReLU network's affine maps (default instance or
    ``--network FILE``), every ϱ^(k) neuron replaced by the k + 1 neurons of Prop 11."""
    from proofs.beyond_relu.check import certify_derivative, derivative_setup

    layers = _layers_from_params(params)
    act = _lemma_act(params)
    k = int(params.get("k", 1))
    eps = as_fmpq(params["eps"])
    box = _box(params.get("A", 2), layers[0][0].ncols())
    M, D, S = derivative_setup(layers, box, act, k)
    tau = eps / (2 * S) if S > 0 else eps
    # band (k η / 2)·sup|ϱ^(k+1)| ≤ τ
    eta = _pow2_below(float(2 * tau) / (k * float(D) + 1e-300))
    for _ in range(8):
        prec = fmpq(64 + k * _log2(1 / float(eta)) + _log2(1 / float(tau)))
        plan = Plan("deriv", act, {"M": M, "k": fmpq(k), "eta": eta, "prec": prec})
        net = emulation_network(layers, plan)
        res = certify_derivative(net, layers, box, act, k, witnesses=0)
        if res["ok"] and res["upper"] <= eps:
            return net
        eta = eta / 2
    return net
