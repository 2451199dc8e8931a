"""Certification of Theorem 1 (KST-form targets) and Theorem 4 (exact classification) of
Shen, Yang, Zhang (JMLR 2022) with σ = EUAF, compositionally.

Theorem 1.  The network is read back (not trusted): a selection layer, (2d+1)·d one-dimensional
sub-networks ψ_{i,j}, the sums ψ_i = Σ_j ψ_{i,j}, one σ layer, 2d+1 sub-networks φ_i and the
sum.  Each sub-network is certified on [0, 1] against its own 1-D function with the exact
compositional analysis of Theorem 6 (``certify_chain``): e_i = sup|g_i − φ_i|,
δ_{i,j} = sup|h_{i,j} − ψ_{i,j}|.  The inner sums h_i = Σ_j h_{i,j} are enclosed in [1/4, 3/4]
(rigorously, when the KST data is made), so ψ_i ∈ [1/4 − δ_i, 3/4 + δ_i] ⊆ [0, 1] (δ_i = Σ_j δ_{i,j})
and σ is the identity there.  Then, for every x,

    |f(x) − φ(x)| ≤ Σ_i |g_i(h_i) − g_i(ψ_i)| + |g_i(ψ_i) − φ_i(ψ_i)| ≤ Σ_i ω_{g_i}(δ_i) + e_i,

with ω_{g_i} the certified modulus of g_i.  The paper's bookkeeping (e_i < ε/(4d+2),
δ_{i,j} < δ/d, ω_{g_i}(δ) < ε/(4d+2)) is reported alongside.
"""

from __future__ import annotations

from typing import Any, Optional

import sympy as sp
from flint import arb, fmpq

from certify.analysis.sigma_cells import Rat, identity_on, unknown_upper
from certify.method import AnalysisFailed, ErrorReport
from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.ir import Activation, Affine, Gadget, Network, Parallel
from constructive.numbers import as_fmpq, precision
from constructive.targets import arb_to_fmpq_bounds
from proofs.fixed_sigma.chain import analyse_chain
from proofs.fixed_sigma.classify import plan_from_params
from proofs.fixed_sigma.kst import kst_from_params, refuse_large_fits


def _omega_upper(t: Any, r: fmpq) -> fmpq:

    if r <= 0 or t.lam == 0:
        return fmpq(0)
    with precision(128):
        return arb_to_fmpq_bounds(t.omega_ball(arb(r)))[1]


def _is_matrix(A: Affine, rows: list[list[int]]) -> bool:
    if A.W.nrows() != len(rows) or A.W.ncols() != len(rows[0]):
        return False
    return all(A.W[r, c] == rows[r][c] for r in range(len(rows)) for c in range(len(rows[0]))) \
        and all(A.b[r, 0] == 0 for r in range(len(rows)))


def check_target_matches(target: Any, kst: Any) -> None:
    diff = sp.expand(target.expr - kst.expr)
    if diff != 0 and sp.simplify(diff) != 0:
        raise UserError(f"target {target.name!r} is not the composition of the KST data "
                        f"(d={kst.d}); pass --target '{kst.expr}' or pick the matching kst")


def analyse_kst_network(kst: Any, net: Network, goal_out: fmpq, goal_in: fmpq) -> dict:
    """Certified (e_i, δ_{i,j}, ranges) of a Theorem 1 network, read back from its structure;
    AnalysisFailed when a sub-network cannot be certified (no bound is then claimed)."""
    d, n = kst.d, 2 * kst.d + 1
    nodes = list(net.nodes) if isinstance(net, Network) else []
    if len(nodes) != 6:
        raise AnalysisFailed("not the Theorem 1 structure (select, ψ, sums, σ, φ, sum)")
    sel, par_in, sums, act, par_out, out = nodes
    ok = (isinstance(sel, Affine) and isinstance(par_in, Parallel) and isinstance(sums, Affine)
          and isinstance(act, Activation) and isinstance(par_out, Parallel)
          and isinstance(out, Affine))
    if not ok or len(par_in.parts) != n * d or len(par_out.parts) != n:
        raise AnalysisFailed("not the Theorem 1 structure (select, ψ, sums, σ, φ, sum)")
    if not _is_matrix(sel, [[1 if c == j else 0 for c in range(d)] for i in range(n) for j in range(d)]):
        raise AnalysisFailed("the first layer does not route x_j to ψ_{i,j}")
    if not _is_matrix(sums, [[1 if r // d == i else 0 for r in range(n * d)] for i in range(n)]):
        raise AnalysisFailed("the inner sums are not Σ_j ψ_{i,j}")
    if not _is_matrix(out, [[1] * n]):
        raise AnalysisFailed("the output is not Σ_i φ_i")
    if any(getattr(f, "name", None) != "euaf" for f in act.functions):
        raise AnalysisFailed("the middle layer is not σ")
    deltas, e_out, subs = [], [], []
    cuts: dict = {}  # each part's cells, for the kernel
    proved: dict = {}  # Lemma 16 per distinct product gadget content, across the sub-networks
    for i in range(n):
        row = []
        for j in range(d):
            rep = analyse_chain({"eps": goal_in, "a": 0, "b": 1}, kst.h[i][j],
                                par_in.parts[i * d + j], proved)
            row.append(rep.upper)
            cuts.setdefault("inner", []).append(rep.evidence["cuts"])
            subs.append({"sub": f"psi[{i},{j}]", "K": rep.details.get("K"),
                         "upper": float(rep.upper)})
        deltas.append(row)
    for i in range(n):
        rep = analyse_chain({"eps": goal_out, "a": 0, "b": 1}, kst.g[i], par_out.parts[i], proved)
        e_out.append(rep.upper)
        cuts.setdefault("outer", []).append(rep.evidence["cuts"])
        subs.append({"sub": f"phi[{i}]", "K": rep.details.get("K"), "upper": float(rep.upper)})
    return {"deltas": deltas, "e_out": e_out, "subs": subs, "cuts": cuts}


def sample_lower(net: Network, target: Any, per_axis: int) -> tuple[fmpq, list]:
    """Rigorous lower bound of sup|f − φ| from exact evaluation on a grid."""
    import itertools


    axis = [fmpq(k, per_axis - 1) for k in range(per_axis)]
    pts = [list(p) for p in itertools.product(axis, repeat=net.in_dim)]
    vals = evaluate(net, [[p[k] for p in pts] for k in range(net.in_dim)])[0]
    lower, wit = fmpq(0), []
    for p, v in zip(pts, vals):
        lo, hi = arb_to_fmpq_bounds(target.ball(p))
        lb = max(v - hi, lo - v, fmpq(0))
        if lb > lower:
            lower, wit = lb, [{"x": [str(c) for c in p], "error_lower": str(lb)}]
    return lower, wit


def _kst_upper(kst: Any, net: Network, eps: fmpq) -> tuple[fmpq, dict]:
    """The certified upper bound of a Theorem 1 network and its bookkeeping; AnalysisFailed
    when a step cannot be shown."""
    d = kst.d
    e_goal = eps / (4 * d + 2)
    info = analyse_kst_network(kst, net, e_goal, e_goal / 4)
    upper = fmpq(0)
    per_i = []
    psi_ranges_ok = True
    delta = fmpq(0)
    for i in range(2 * d + 1):
        di = sum(info["deltas"][i], fmpq(0))
        delta = max(delta, di)
        lo, hi = kst.inner_bounds[i]
        in_unit = lo - di >= 0 and hi + di <= 1
        psi_ranges_ok &= in_unit
        w = _omega_upper(kst.g[i], di)
        upper += info["e_out"][i] + w
        per_i.append({"i": i, "e_i": float(info["e_out"][i]), "delta_i": float(di),
                      "omega_g_i(delta_i)": float(w), "psi_i_in_[0,1]": in_unit})
    if not psi_ranges_ok:
        raise AnalysisFailed("an inner sum ψ_i is not shown to stay in [0, 1] (σ = id there)")
    # the paper's bookkeeping with δ := d · max_{i,j} δ_{i,j} (so δ_{i,j} ≤ δ/d)
    delta = d * max(x for row in info["deltas"] for x in row)
    book = {
        "eps/(4d+2)": str(e_goal), "delta": float(delta),
        "e_i < eps/(4d+2)": all(e < e_goal for e in info["e_out"]),
        "delta_ij < delta/d": all(x <= delta / d for row in info["deltas"] for x in row),
        "omega_g_i(delta) < eps/(4d+2)": all(_omega_upper(g, delta) < e_goal for g in kst.g),
        "delta <= 1/4": delta <= fmpq(1, 4),
    }
    return upper, {"per_outer": per_i, "bookkeeping": book,
                   "bookkeeping_ok": all(v for k, v in book.items() if isinstance(v, bool)),
                   "subnetworks": info["subs"], "cuts": info["cuts"]}


def precheck_kst(params: dict) -> None:
    """Refuse, before any work, an eps whose sub-networks would fit too many points."""
    refuse_large_fits(kst_from_params(params), as_fmpq(params["eps"]))


def certify_kst(thm: Any, params: dict, target: Any, net: Network) -> ErrorReport:

    kst = kst_from_params(params)
    check_target_matches(target, kst)
    eps = as_fmpq(params["eps"])
    d = kst.d
    details: dict = {"kst": kst.describe()}
    cuts: dict = {}
    try:
        upper, more = _kst_upper(kst, net, eps)
        cuts = more.pop("cuts")
        details.update(more)
        details["method"] = ("compositional: each 1-D sub-network by the exact Theorem 6 analysis, "
                             "inner sums enclosed in [1/4,3/4], moduli of g_i")
    except AnalysisFailed as exc:
        upper = unknown_upper()
        details.update(analysis_failed=str(exc), method="analysis failed: upper bound unknown; "
                       "lower bound from exact evaluation on a grid")
    details["modulus_assumptions"] = [f"g_{i}: {g.certified}" for i, g in enumerate(kst.g)
                                      if g.certified.startswith("assumption")]
    lower, wit = sample_lower(net, target, 5 if d == 1 else 3)
    return ErrorReport(lower=lower, upper=upper, witnesses=wit, details=details,
                       evidence=superposition(kst, net, cuts))


def superposition(kst: Any, net: Network, cuts: dict) -> Optional[dict]:
    """The kernel's evidence: the middle (σ) layer's index among the hidden layers, the
    functions the parts approximate, as formulas in x1 (the kernel finds the parts itself), and
    where the certifier cut each part's domain (the kernel would find the same cells, slower);
    None for a network not of Theorem 1's node structure (the kernel then has nothing to split)."""
    if not isinstance(net, Network) or len(net.nodes) < 6:
        return None
    return {"kind": "superposition", "middle": Network(tuple(net.nodes[:4])).depth - 1,
            "outer": [str(g.expr) for g in kst.g],
            "inner": [[str(h.expr) for h in row] for row in kst.h], "cuts": cuts}


# ------------------------------------------------------------------------------------------
# Theorem 4: exact classification


def certify_classification(thm: Any, params: dict, target: Any, net: Network) -> ErrorReport:
    """φ = r_j exactly on every E_j, by exact analysis on the sets (no sampling in the proof).

    φ = A ∘ R ∘ φ₁ with φ₁ a Theorem 1 network, R the odd-rounding gadget and A affine.  For each
    set: φ₁(E_j) ⊆ Y_j by the compositional enclosure — ψ_i(E_j) ⊆ Σ_j' (h_{i,j'}(E's side j')
    ± δ_{i,j'}) ⊆ [0, 1] (so σ = id), φ_i(ψ_i) ⊆ g_i(that interval) ± e_i, all exact rational
    enclosures of the certified sub-networks; then Y_j lies within 1/2 of one odd integer 2k+1,
    R ≡ 2k+1 on Y_j is proved by exact cell analysis of the gadget, and A(2k+1) = r_j exactly.
    """

    p = plan_from_params(params)
    kst = p.kst
    nodes = list(net.nodes) if isinstance(net, Network) else []
    n = 2 * kst.d + 1
    per_set, ok_all, failure, info = [], True, None, {"subs": []}
    try:
        if len(nodes) != 8 or not isinstance(nodes[6], Gadget) or nodes[6].name != "euaf-round-odd" \
                or not (isinstance(nodes[7], Affine) and nodes[7].W.nrows() == 1
                        and nodes[7].W.ncols() == 1):
            raise AnalysisFailed("not the Theorem 4 structure (Theorem 1 network, odd rounding, "
                                 "affine)")
        phi1, rnd, out = Network(tuple(nodes[:6])), nodes[6], nodes[7]
        info = analyse_kst_network(kst, phi1, fmpq(2, 5), fmpq(1, 50))
    except AnalysisFailed as exc:
        # no set can be shown exact; the exact evaluation below still gives witnesses
        failure, ok_all = str(exc), False
    for k, s in enumerate(p.sets if failure is None else [], start=1):
        ylo, yhi = fmpq(0), fmpq(0)
        entry: dict = {"set": k, "description": s.describe(), "label": str(s.label)}
        try:
            for i in range(n):
                lo = hi = fmpq(0)
                for j in range(kst.d):
                    a, b = kst.h[i][j].enclose([s.box[j]])
                    lo += a - info["deltas"][i][j]
                    hi += b + info["deltas"][i][j]
                if lo < 0 or hi > 1:
                    raise AnalysisFailed(f"ψ_{i} on set {k} is not shown to lie in [0, 1]")
                a, b = kst.g[i].enclose([(lo, hi)])
                ylo += a - info["e_out"][i]
                yhi += b + info["e_out"][i]
            odd = 2 * int(((ylo + yhi) / 4 - fmpq(1, 2)).floor() + 0) + 1
            cands = [c for c in (odd - 2, odd, odd + 2) if c - fmpq(1, 2) <= ylo and yhi <= c + fmpq(1, 2)]
            if not cands or cands[0] < 1:
                raise AnalysisFailed(f"φ₁(E_{k}) ⊆ [{float(ylo):.4g}, {float(yhi):.4g}] is not within "
                                     "1/2 of one positive odd integer")
            y = cands[0]
            M = as_fmpq(dict(rnd.params)["M"])
            if yhi > M:
                raise AnalysisFailed(f"φ₁(E_{k}) exceeds the rounding gadget's domain [0, {M}]")
            round_ok, ncells = identity_on(rnd, Rat.const(fmpq(y)), ylo, yhi)
            value = out.W[0, 0] * y + out.b[0, 0]
            entry.update(phi1_range=[float(ylo), float(yhi)], odd=y, rounding_exact=round_ok,
                         rounding_cells=ncells, output=str(value), equals_label=value == s.label)
            ok = round_ok and value == s.label
        except AnalysisFailed as exc:
            entry["failed"] = str(exc)
            ok = False
        ok_all &= ok
        per_set.append(entry)
    # exact evaluation at points of every set: witnesses only (lower bound of the error)
    lower, wit = fmpq(0), []
    for k, s in enumerate(p.sets, start=1):
        pts = s.samples()
        vals = evaluate(net, [[q[c] for q in pts] for c in range(kst.d)])[0]
        for q, v in zip(pts, vals):
            if v != s.label:
                dev = abs(v - s.label)
                wit.append({"x": [str(c) for c in q], "value": str(v), "label": str(s.label)})
                lower = max(lower, dev)
    # 0 only when exactness is proved on every set (a differing sample point would then be a
    # contradiction, reported as such); otherwise no upper bound is shown
    upper = fmpq(0) if ok_all else unknown_upper()
    # the instance's boxes (a ball's bounding box) and labels, for the statement's pieces
    boxes = {"set_count": len(p.sets), "labels": [str(s.label) for s in p.sets],
             "set_lo": [[str(a) for a, _ in s.box] for s in p.sets],
             "set_hi": [[str(b) for _, b in s.box] for s in p.sets]}
    details = {**boxes, "sets": per_set, "direction_u": [int(c) for c in p.u], "n1": p.n1, "n2": p.n2,
               "kst": kst.describe(), "subnetworks": info["subs"],
               "method": "compositional exact enclosure of φ₁ on each set, exact cell analysis of "
                         "the rounding gadget, exact output map"}
    if failure is not None:
        details["analysis_failed"] = failure
    return ErrorReport(lower=lower, upper=upper, witnesses=wit[:5], details=details,
                       evidence=superposition(kst, net, info.get("cuts", {})))
