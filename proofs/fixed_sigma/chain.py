"""Theorems 15 and 6 of the fixed-σ paper: the four-copy chain φ = Σ φ_i(x + i/4K)·ψ̂(2Kx + i/2).

The chain is read from the network as built (fan-out, each copy's Theorem 14 network, shift map,
ψ̂ and its own product gadget) and certified cell by cell with the exact σ analysis of
:mod:`certify.analysis.sigma_cells`; Lemma 16 is proved for each copy's product from its weights.
"""

from __future__ import annotations

from typing import Any, Optional

from flint import fmpq

from certify import evidence
from certify.analysis.sigma_cells import (CELLS_PER_PIECE, AnalysisFailed, Cell, Rat, cells, combine,
                                          exact_lower, gadget_param, half_range, is_affine, is_scalar_affine,
                                          sup_error, unknown_upper)
from certify.analysis.trifling import oscillation_hypothesis
from certify.method import ErrorReport
from constructive.ir import Affine, Gadget, Network, Node, Parallel, _tokens
from constructive.numbers import as_fmpq
from proofs.fixed_sigma.specs import identity_spec


def _merge_pieces(copies: list[list[tuple[fmpq, fmpq, Rat]]], weights: list[fmpq],
                  bias: fmpq) -> list[Cell]:
    """Common refinement of per-copy piece lists (each covering the same interval, sorted)."""
    pts = sorted({p for pieces in copies for lo, hi, _ in pieces for p in (lo, hi)})
    idx = [0] * len(copies)
    out = []
    for a, b in zip(pts, pts[1:]):
        terms = []
        for j, pieces in enumerate(copies):
            while pieces[idx[j]][1] <= a and idx[j] + 1 < len(pieces):
                idx[j] += 1
            terms.append(pieces[idx[j]][2])
        out.append(Cell(a, b, [combine(weights, terms, bias)]))
    return out


def _read_copy(copy: Any, i: int) -> tuple[fmpq, Gadget, Network, Gadget]:
    """(shift, Thm 14 gadget, ψ̂ branch, product gadget) of copy i, read back exactly: the copy
    must be x ↦ (x, x), then (x + shift ↦ φ_i, the ψ̂ branch) side by side, then the product."""
    cn = copy.nodes if isinstance(copy, Network) else ()
    if not (len(cn) == 3 and is_affine(cn[0], [[1], [1]], [0, 0]) and isinstance(cn[1], Parallel)
            and len(cn[1].parts) == 2 and isinstance(cn[2], Gadget) and cn[2].name == "euaf-product"):
        raise AnalysisFailed(f"copy {i} is not x ↦ (x, x), (φ_i, ψ̂ branch), product gadget")
    left, right = cn[1].parts
    ln = left.nodes if isinstance(left, Network) else ()
    if not (len(ln) == 2 and is_scalar_affine(ln[0]) and ln[0].W[0, 0] == 1
            and isinstance(ln[1], Gadget) and ln[1].name == "euaf-half"):
        raise AnalysisFailed(f"copy {i}: φ_i is not a Thm 14 gadget of x + shift")
    if not (isinstance(right, Network) and right.in_dim == 1 and right.out_dim == 1):
        raise AnalysisFailed(f"copy {i}: the ψ̂ branch is not a 1-D network")
    return ln[0].b[0, 0], ln[1], right, cn[2]


def _product_lemma(prod: Gadget, M: fmpq, proved: dict) -> tuple[bool, dict]:
    """Lemma 16 for this very product gadget (its own affine maps and squares): Γ(x, y) = xy on
    [−M, M]².  Each distinct (M, exact content) is proved once per ``proved`` (a dict compares
    keys exactly: every weight as an exact rational, every activation with its parameters)."""

    key = (str(M), tuple(_tokens(prod)))
    if key not in proved:
        proved[key] = identity_spec("euaf-product-exact", {"M": M}, net=network_of(prod)).proof()
    return proved[key]


def network_of(node: Node) -> Network:
    return node if isinstance(node, Network) else Network((node,))


def _zero_on(right: Network, a: fmpq, b: fmpq, i: int) -> None:
    zero = Rat.const(fmpq(0))
    for c in cells(right, a, b, CELLS_PER_PIECE):
        if not c.outputs[0].equals(zero):
            raise AnalysisFailed(f"copy {i}: ψ̂ is not 0 on [{c.lo}, {c.hi}]")


def analyse_chain(params: dict, target: Any, net: Node, proved: Optional[dict] = None) -> ErrorReport:
    """Thm 15 / Thm 6: compositional exact analysis of φ = Σ_i φ_i(x + i/4K)·ψ̂(2Kx + i/2),
    every part read from ``net``; AnalysisFailed when a step cannot be shown.

    For copy i the good halves (x + i/4K ∈ I_k) are analysed by exact cells of the whole copy
    (φ_i is constant there, ψ̂ affine, the product exact); on the bad halves ψ̂ ≡ 0 is shown by
    exact cells of the copy's ψ̂ branch, φ_i ∈ [−M, M] by :func:`half_range` of the copy's Thm 14
    gadget, and Lemma 16 proved for the copy's own product gadget then gives Γ(φ_i, 0) = 0.  The
    four piece lists are merged with the network's output weights and the sup error is bounded
    cell by cell against the target's rigorous enclosures.  ``proved``: Lemma 16 results by
    exact gadget content, shared between calls on the parts of one network.
    """
    proved = {} if proved is None else proved
    eps = as_fmpq(params["eps"])
    nodes = list(net.nodes) if isinstance(net, Network) else []
    if "a" in params:
        a, b = as_fmpq(params["a"]), as_fmpq(params["b"])
        pre = nodes.pop(0) if nodes else None
        if not is_scalar_affine(pre):
            raise AnalysisFailed("the network does not start with the input map of [a, b]")
        s, t = pre.W[0, 0], pre.b[0, 0]
        if not (s > 0 and s * a + t == 0 and s * b + t == fmpq(9, 10)):
            raise AnalysisFailed("the input map does not send [a, b] onto [0, 9/10]")
        to_unit = lambda x: x * 10 / 9  # noqa: E731  t = a + (b−a)·10x/9, F(t) = f(10x/9)
    else:
        to_unit = lambda x: x  # noqa: E731
    if len(nodes) != 3:
        raise AnalysisFailed("not the structure fan-out, four copies, sum of Theorem 15")
    fan, par, out = nodes
    if not is_affine(fan, [[1]] * 4, [0] * 4):
        raise AnalysisFailed("the four copies do not all read x")
    if not isinstance(par, Parallel) or len(par.parts) != 4:
        raise AnalysisFailed("not the four-copy structure of Theorem 15")
    if not (isinstance(out, Affine) and out.W.nrows() == 1 and out.W.ncols() == 4):
        raise AnalysisFailed("the output map is not a weighted sum of the four copies")
    lo, hi = fmpq(0), fmpq(9, 10)
    copies, products = [], []
    ncells = 0
    K = None
    for i, copy in enumerate(par.parts, start=1):
        shift, half, right, prod = _read_copy(copy, i)
        Mp = gadget_param(prod, "M")
        K = int(gadget_param(half, "K"))
        if Mp <= 0 or K < 1:
            raise AnalysisFailed(f"copy {i}: gadget parameters M={Mp}, K={K} out of range")
        if shift != fmpq(i, 4 * K):
            raise AnalysisFailed(f"copy {i} is not shifted by i/4K")
        body_rng = half_range(half.body, lo + shift, hi + shift)
        if body_rng is None or body_rng[0] < -Mp or body_rng[1] > Mp:
            raise AnalysisFailed(f"copy {i}: φ_i is not shown to lie in [−M, M]")
        # Γ(φ_i, 0) = 0 on the bad halves rests on Lemma 16 for this copy's own product gadget
        prod_ok, prod_info = _product_lemma(prod, Mp, proved)
        if not prod_ok:
            raise AnalysisFailed(f"copy {i}: its product gadget is not shown to be xy on "
                                 f"[−{Mp}, {Mp}]² (Lemma 16)")
        products.append(dict(prod_info, copy=i, M=str(Mp)))
        pieces = []
        zero = Rat.const(fmpq(0))
        cur = lo
        for k in range(1, K + 2):
            a_ = max(fmpq(2 * k - 2, 2 * K) - shift, lo)
            b_ = min(fmpq(2 * k - 1, 2 * K) - shift, hi)
            if cur < a_:
                bad_hi = min(a_, hi)
                _zero_on(right, cur, bad_hi, i)  # ψ̂ branch ≡ 0 on the bad half
                pieces.append((cur, bad_hi, zero))
                cur = bad_hi
            if a_ < b_:
                for c in cells(copy, a_, b_, CELLS_PER_PIECE):
                    pieces.append((c.lo, c.hi, c.outputs[0]))
                    ncells += 1
                cur = b_
            if cur >= hi:
                break
        if cur < hi:
            _zero_on(right, cur, hi, i)
            pieces.append((cur, hi, zero))
        copies.append(pieces)
    weights = [out.W[0, j] for j in range(4)]
    merged = _merge_pieces(copies, weights, out.b[0, 0])
    leaves: set = set()
    lower, upper, witness, _ = sup_error(None, target, lo, hi, to_unit, goal=eps, cell_list=merged,
                                         leaves=leaves)
    if "a" in params:
        wx = None if witness is None else a + (b - a) * witness * 10 / 9
    else:
        wx = witness
    wits = [{"x": [str(wx)], "error_lower": str(lower)}] if wx is not None else []
    # the kernel's sigma-sup cuts the network's input interval where the enclosures were taken
    cuts = leaves if "a" not in params else {a + (b - a) * x * 10 / 9 for x in leaves}
    return ErrorReport(lower=lower, upper=upper, witnesses=wits, evidence=evidence.line(cuts),
                       details={"K": K, "product_gadgets": products, "cells": len(merged),
                                "copy_cells": ncells,
                                "method": "compositional exact cells (good halves), ψ̂ ≡ 0 and "
                                          "Lemma 16 of each copy's own product on the bad halves, "
                                          "rigorous target enclosures"})


def chain_failed(params: dict, target: Any, net: Node, exc: Exception) -> ErrorReport:
    """The report when :func:`analyse_chain` cannot proceed: upper bound unknown, the lower
    bound from exact evaluation of the network at 129 points of its interval."""
    if "a" in params:
        a, b = as_fmpq(params["a"]), as_fmpq(params["b"])
        pts = [a + (b - a) * fmpq(j, 128) for j in range(129)]
        lower, wit = exact_lower(net, target, pts, lambda t: (t - a) / (b - a))
    else:
        pts = [fmpq(9, 10) * fmpq(j, 128) for j in range(129)]
        lower, wit = exact_lower(net, target, pts, lambda x: x)
    wits = [{"x": [str(wit)], "error_lower": str(lower)}] if wit is not None else []
    return ErrorReport(lower=lower, upper=unknown_upper(), witnesses=wits,
                       details={"analysis_failed": str(exc),
                                "method": "analysis failed: upper bound unknown; lower bound from "
                                          "exact evaluation at 129 points"})


def certify_chain(thm: Any, params: dict, target: Any, net: Node) -> ErrorReport:
    """Thm 15 / Thm 6 (see :func:`analyse_chain`); INCONCLUSIVE with the reason when a step of
    the analysis cannot be shown."""
    try:
        report = analyse_chain(params, target, net)
    except AnalysisFailed as exc:
        report = chain_failed(params, target, net, exc)
    K = params.get("K") or 0
    if K:
        # a user-given K must meet the proof's step 1: |f(x1) - f(x2)| < eps/8 when
        # |x1 - x2| < 1/K (on the target's own scale: x -> 10x/9 for Theorem 6's [a, b] map)

        h = fmpq(10, 9 * K) if "a" in params else fmpq(1, K)
        report.hypothesis_ok, report.details["hypothesis"] = \
            oscillation_hypothesis(target, h, as_fmpq(params["eps"]) / 8)
    return report
