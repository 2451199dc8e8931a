"""Rigorous sup-norm certificates for ReLU emulations ("Beyond ReLU", Zhang–Lu–Zhao).

The argument (quantitative Prop 10; note §8), checked here from the built network only:

1. **Structure** (:func:`proofs.beyond_relu.structure.check_structure`).  The ϱ-network must be
   L₀, G, L₁, G, …, L_L where L_ℓ are *exactly* the ReLU network's affine maps and every G is a
   layer of copies of one gadget g: R → R, each copy equal entry by entry (compared afresh, not by
   a cached digest) to the body its parameters define.
2. **Ranges.**  Exact interval propagation of the ReLU network on the box gives every hidden
   pre-activation h_ℓ,i ∈ [lo, hi] (rationals).
3. **Gadget band** (:func:`proofs.beyond_relu.bands.gadget_band`).  τ ≥ sup_{|t| ≤ M} |g(t) −
   ReLU(t)|, rigorously, with every weight, bias and activation *read from the body in the
   network* and checked against the relations its argument needs (exact breakpoints, branch and
   bound, closed form, or the two-layer decomposition Γ(u, v) − ReLU; see that module).  The
   builder tunes its scales with the same routine; this module re-runs it on the network it is
   handed and never sees the builder's number.
4. **Propagation** (:func:`proofs.beyond_relu.build.emulation_upper`).  With e₁ = 0 and
   e_{ℓ+1} = |W_ℓ|(τ + e_ℓ) (exact rationals): as long as |h_ℓ,i| + e_ℓ,i ≤ M,
   |g(h̃) − ReLU(h)| ≤ |g(h̃) − ReLU(h̃)| + |h̃ − h| ≤ τ + e_ℓ.  The output error is at most
   max_i e_{L+1,i}.

Sampling only ever gives lower bounds (Ball evaluation at exact points against the exact ReLU
network); a lower bound above the upper bound is an internal contradiction and never HOLDS.
No float enters a bound.

Table 2 lives in :mod:`proofs.beyond_relu.table2`, the lemma-level certificates (Lemmas 15, 16,
v1 Lemma 7.1, Theorem 6) in :mod:`proofs.beyond_relu.lemmas`; both are re-exported here because the
registry names their methods ``proofs.beyond_relu.check:…``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

from flint import arb, fmpq

from certify import evidence
from certify.method import ErrorReport, Method, methods
from constructive.activations.catalogue import parse_activation, witness
from constructive.evaluate import evaluate
from constructive.ir import Node
from constructive.numbers import Ball, Exact, precision
from proofs.beyond_relu.bands import (GadgetBand, GadgetShapeError, gadget_band, geometric_cuts,  # noqa: F401
                                      sup_abs)
from proofs.beyond_relu.build import emulation_upper, hidden_ranges, lipschitz_sum
from proofs.beyond_relu.lemmas import (certify_derivative, derivative_setup, identity_bound,  # noqa: F401
                                       method_identity, method_product, method_thm6, product_bound,
                                       read_derivative_gadget)
from proofs.beyond_relu.plans import plan_from_gadget
from proofs.beyond_relu.source import (current_network_file, input_box, layers_from_params,  # noqa: F401
                                       relu_net_from_layers, using_network)
from proofs.beyond_relu.structure import (EmulationArchitecture, check_structure,  # noqa: F401
                                          measure_emulation, relu_digest, relu_size, same_network, source_of)
from proofs.beyond_relu.table2 import method_table2, table2_constant, table2_rows  # noqa: F401

NO_BOUND = fmpq(10) ** 9


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


def certify_emulation(net: Node, layers: list, box: list, witnesses: int = 6) -> EmulationBound:
    """The bound of the module docstring for ``net`` as an emulation of ``layers`` on ``box``."""
    t0 = time.perf_counter()
    gadget, problems = check_structure(net, layers)
    ranges = hidden_ranges(layers, box)
    need = max((max(abs(a), abs(b)) for r in ranges for a, b in r), default=fmpq(0))

    def fail(plan, M, why: list) -> EmulationBound:
        return EmulationBound(False, NO_BOUND, fmpq(0), fmpq(0), M, need, plan, None, why, [],
                              time.perf_counter() - t0)

    if gadget is None or problems:
        return fail(None, fmpq(0), problems or ["no gadget found"])
    plan, M = None, fmpq(0)
    try:
        plan = plan_from_gadget(gadget)  # kind, domain M, the split η, precision: never evidence
        M = plan.p["M"]
        prec = int(plan.p.get("prec", fmpq(0))) + 64
        band = gadget_band(plan.kind, gadget.body, M, plan.p.get("eta"), prec)
    except (ArithmeticError, KeyError, ValueError) as exc:  # GadgetShapeError included
        return fail(plan, M, [f"gadget band: {exc}; no rigorous bound"])
    upper, reasons = emulation_upper(layers, ranges, band.tau, M)
    # lower bound: the emulation at exact points in ball arithmetic vs the exact ReLU network
    lower, wit = _witness(net, layers, box, prec + 64, witnesses)
    if lower > arb(upper):
        reasons.append("a witness exceeds the certified upper bound: internal contradiction")
    return EmulationBound(not reasons, upper, lower, band.tau, M, need, plan, band, reasons, wit,
                          time.perf_counter() - t0)


def _witness(net, layers, box, prec: int, n: int) -> tuple[Any, list]:
    import random

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
# registry methods


def method_emulation(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    layers = layers_from_params(params)
    box = input_box(params.get("A", 2), layers[0][0].ncols())
    res = certify_emulation(net, layers, box)
    plan = res.plan
    w = witness(plan.act) if plan is not None else None
    N, L = relu_size(layers)
    upper = res.error_upper if res.ok else NO_BOUND
    details = {
        "relu_network": {"source": source_of(params),
                         "digest": relu_digest(layers), "width": N, "depth": L,
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
    }  # no timings here: details must come out equal when the certificate is rebuilt
    return ErrorReport(res.error_lower if res.ok else fmpq(0), upper, res.witnesses, set(), details,
                       evidence=_emulation_evidence(layers, res))


def _emulation_evidence(layers: list, res: EmulationBound) -> Optional[dict]:
    """What the kernel's emulation-sup reads: the ReLU network, the gadget body, its domain M
    and the band τ the certifier found (only the kernel's aim when it halves boxes); no gadget
    where none was read (the kernel then shows no bound either)."""
    relu, _ = evidence.stored_network(relu_net_from_layers(layers))
    if relu is None:
        return None
    gadget = None if res.plan is None or res.band is None else evidence.stored_network(res.plan.body())[0]
    if gadget is None:
        return {"kind": "emulation", "relu": relu}
    return {"kind": "emulation", "relu": relu, "gadget": gadget, "M": str(res.M), "tau": str(res.tau)}



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



__all__ = ["certify_emulation", "gadget_band", "sup_abs", "geometric_cuts", "method_emulation",
           "method_corollary", "method_membership", "method_table2", "method_product",
           "method_identity", "method_thm6", "using_network", "current_network_file",
           "EmulationBound", "EmulationArchitecture", "GadgetBand", "GadgetShapeError",
           "check_structure", "same_network", "table2_rows", "table2_constant", "product_bound",
           "identity_bound", "certify_derivative", "derivative_setup", "read_derivative_gadget",
           "relu_size", "measure_emulation"]


METHODS = methods(
    Method("beyond-emulation", method_emulation, measure=measure_emulation, network_option=using_network),
    Method("beyond-corollary", method_corollary),
    Method("beyond-identity", method_identity),
    Method("beyond-membership", method_membership),
    Method("beyond-product", method_product),
    Method("beyond-table2", method_table2),
    Method("beyond-thm6", method_thm6, measure=measure_emulation),
)
