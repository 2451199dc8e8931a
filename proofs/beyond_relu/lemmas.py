"""Lemma-level certificates of "Beyond ReLU": Lemma 15 (identity), Lemma 16 / v1 Lemma 7.1
(products) and Theorem 6 (derivatives).  The bounds read every number from the network's own
weights; the shape is checked first."""

from __future__ import annotations

import math
import time
from typing import Any, Optional

from flint import arb, fmpq

from certify import evidence
from certify.method import ErrorReport
from constructive.activations.catalogue import derivatives
from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.ir import Affine, Network, Node
from constructive.numbers import Ball, as_fmpq, precision
from constructive.tuning import TuningError
from proofs.beyond_relu.bands import GadgetShapeError, body_activation
from proofs.beyond_relu.bands import hull as _hull
from proofs.beyond_relu.bands import order_key as _key
from proofs.beyond_relu.bands import q_upper as _q_upper
from proofs.beyond_relu.plans import plan_from_gadget
from proofs.beyond_relu.source import input_box, layers_from_params, lemma_activation, relu_net_from_layers
from proofs.beyond_relu.structure import check_structure as _check_structure
from proofs.beyond_relu.structure import relu_digest as _relu_digest
from proofs.beyond_relu.structure import relu_size
from proofs.beyond_relu.structure import source_of as _source


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


def _report(r: dict) -> ErrorReport:
    """The method's report; a witness above the certified upper bound is an internal
    contradiction, reported as no bound (never a HOLDS)."""
    details = {k: (str(v) if isinstance(v, fmpq) else v) for k, v in r.items() if k not in ("upper", "lower")}
    wit = [r["witness"]] if r.get("witness") else []
    if r["lower"] > arb(r["upper"]):
        details["problems"] = ["a witness exceeds the certified upper bound: internal contradiction"]
        return ErrorReport(fmpq(0), fmpq(10) ** 9, wit, set(), details)
    return ErrorReport(r["lower"], r["upper"], wit, set(), details)


def _shape_failure(exc: Exception, net: Node = None, A: fmpq = None, dim: int = 1) -> ErrorReport:
    """A network that is not of the lemma's shape has no upper bound (a mutant or a builder
    bug); its error at the grid points of [−A, A]^dim, evaluated in balls, is still a lower
    bound (the claimed function: x, or xy)."""
    lower, wit = fmpq(0), []
    if net is not None:
        grid = [A * fmpq(j - 4, 4) for j in range(9)]
        pts = [(x,) for x in grid] if dim == 1 else [(x, y) for x in grid for y in grid]
        with precision(256):
            vals = evaluate(net, [list(c) for c in zip(*pts)], Ball(256))[0]
            for p, v in zip(pts, vals):
                err = abs(v - arb(p[0] * (p[1] if dim == 2 else 1)))
                if err.lower() > lower:
                    lower = fmpq(*_as_ratio(err.lower()))
                    wit = [{"x": [str(c) for c in p], "error": err.str(10, radius=True)}]
    return ErrorReport(lower, fmpq(10) ** 9, wit, set(), {"problems": [str(exc)]})


def _as_ratio(x: arb) -> tuple[int, int]:
    """An exact rational no larger than the (exact, binary) arb value x."""
    m, e = x.mid().man_exp()
    return (int(m) * 2 ** int(e), 1) if e >= 0 else (int(m), 2 ** int(-e))


def method_product(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    # the kernel re-derives the sup over the statement's square by Taylor forms (smooth-sup)
    try:
        report = _report(product_bound(net, as_fmpq(params["A"])))
    except UserError as exc:
        report = _shape_failure(exc, net, as_fmpq(params["A"]), 2)
    report.evidence = evidence.PIECES
    return report


def method_identity(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    # the kernel re-derives the sup over the statement's interval by Taylor forms (smooth-sup)
    try:
        report = _report(identity_bound(net, as_fmpq(params["M"])))
    except UserError as exc:
        report = _shape_failure(exc, net, as_fmpq(params["M"]), 1)
    report.evidence = evidence.PIECES
    return report


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
        try:
            M = fmpq(int(_q_upper(need).floor()) + 2)
            D = _q_upper(_sup_deriv(act, -M - 1, M + 1, k + 1))
        except ArithmeticError as exc:  # e.g. the derivatives of a large box overflow every ball
            raise TuningError(f"no finite scale for Theorem 6's gadgets on this source network and "
                              f"box ({exc}); a smaller box (A) can be certified") from None
    return M, D, max(_prop_lip(layers, fmpq(1), D)[-1])


def _may_leave(h: arb, e: fmpq, M: fmpq) -> bool:
    """Might a pre-activation enclosed by h, perturbed by e, leave [−M, M]?  A ball that is not
    finite (a large box overflows it) encloses nothing: it may."""
    try:
        return _q_upper(abs(h).upper()) + e > M
    except ArithmeticError:
        return True


def read_derivative_gadget(body: Node, k: int) -> fmpq:
    """η of the Prop 11 gadget, with every weight checked: rows 1, biases ℓη, output weights
    (−1)^ℓ C(k, ℓ)/(−η)^k, output bias 0."""

    nodes = list(body.nodes) if isinstance(body, Network) else []
    if len(nodes) != 3 or not isinstance(nodes[0], Affine) or not isinstance(nodes[2], Affine) \
            or nodes[0].W.ncols() != 1 or nodes[0].W.nrows() != k + 1 or nodes[2].W.nrows() != 1:
        raise GadgetShapeError(f"expected one hidden layer of {k + 1} neurons")
    first, out = nodes[0], nodes[2]
    eta = first.b[1, 0]
    want = [fmpq((-1) ** l * math.comb(k, l)) / (-eta) ** k for l in range(k + 1)] if eta > 0 else []
    if not (eta > 0 and all(first.W[l, 0] == 1 and first.b[l, 0] == l * eta and out.W[0, l] == want[l]
                            for l in range(k + 1)) and out.b[0, 0] == 0):
        raise GadgetShapeError("the weights are not those of the forward difference")
    return eta


def certify_derivative(net: Node, layers: list, box: list, act, k: int, witnesses: int = 6) -> dict:
    """Theorem 6, quantitatively.  The ϱ-network must be the ReLU network's affine maps with every
    hidden neuron a copy of one Prop 11 gadget g(t) = Σ_ℓ (−1)^ℓ C(k, ℓ) ϱ(t + ℓη)/(−η)^k (η and
    every other weight read from the network's body, :func:`read_derivative_gadget`), for the same
    ϱ and k as the target ϱ^(k)-network.
    g(t) = ∫ B(s) ϱ^(k)(t + s) ds with B the cardinal B-spline density of the k-th forward
    difference on [0, kη] (mean kη/2), so |g(t) − ϱ^(k)(t)| ≤ (kη/2)·sup_{[t, t+kη]} |ϱ^(k+1)| =: τ
    on [−M, M].  With Lip = sup_{[−M, M]} |ϱ^(k+1)|: e_{ℓ+1} = |W_ℓ|(τ + Lip·e_ℓ), valid while
    the enclosed pre-activations plus e_ℓ stay in [−M, M]; the output error is ≤ max e_{L+1}."""

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
    try:
        if body_activation(gadget.body).key != act.key:
            raise GadgetShapeError(f"the gadget's neurons are not {act.key}")
        eta = read_derivative_gadget(gadget.body, k)
    except GadgetShapeError as exc:
        res["problems"] = [f"gadget body: {exc}"]
        return res
    M = plan.p["M"]
    prec = int(plan.p.get("prec", fmpq(0))) + 64
    with precision(max(prec, 128)):
        D = _q_upper(_sup_deriv(act, -M, M + k * eta, k + 1))
        tau = k * eta * D / 2
        ranges = _deriv_ranges(layers, box, act, k)
        errs = _prop_lip(layers, tau, D)
        for l, r in enumerate(ranges):
            if any(_may_leave(h, e, M) for h, e in zip(r, errs[l])):
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
        if lower > arb(upper):
            problems.append("a witness exceeds the certified upper bound: internal contradiction")
    res.update(ok=not problems, upper=upper, lower=lower, tau=tau, M=M, eta=eta, lip=D,
               witnesses=wit, problems=problems, seconds=round(time.perf_counter() - t0, 3),
               plan=plan)
    return res


def method_thm6(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    layers = layers_from_params(params)
    act = lemma_activation(params)
    k = int(params.get("k", 1))
    box = input_box(params.get("A", 2), layers[0][0].ncols())
    r = certify_derivative(net, layers, box, act, k)
    N, L = relu_size(layers)
    details = {"target": f"{act.key}^({k})-network with the affine maps of the "
                         f"{_source(params)} (width {N}, depth {L})",
               "relu_network_digest": _relu_digest(layers), "problems": r["problems"]}
    if "tau" in r:
        details.update(gadget=r["plan"].params(), gadget_band_tau=f"{float(r['tau']):.6g}",
                       lipschitz_rho_k=f"{float(r['lip']):.6g}", domain_M=str(r["M"]),
                       error_upper_approx=f"{float(r['upper']):.6g}")
    upper = r["upper"] if r["ok"] else fmpq(10) ** 9
    return ErrorReport(r["lower"] if r["ok"] else fmpq(0), upper, r.get("witnesses", []), set(), details,
                       evidence=_derivative_evidence(layers, r, act, k))


def _derivative_evidence(layers: list, r: dict, act: Any, k: int) -> Optional[dict]:
    """The kernel's emulation-sup with a ρ^(k) target: the affine maps (as a ReLU network), the
    gadget body, M, τ as the aim; no gadget where none was read (nothing is then shown)."""
    relu, _ = evidence.stored_network(relu_net_from_layers(layers))
    if relu is None:
        return None
    out = {"kind": "emulation", "relu": relu, "target": {"activation": act.key, "order": k}}
    gadget = evidence.stored_network(r["plan"].body())[0] if "tau" in r else None
    if gadget is not None:
        out.update(gadget=gadget, M=str(r["M"]), tau=str(r["tau"]))
    return out


