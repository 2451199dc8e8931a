"""One-hidden-layer CPwL gadgets used by the points their specification names.

A gadget built by :func:`constructive.gadgets.cpwl.cpwl_network` claims to be the continuous
piecewise-linear function through ``spec.points``.  Its body has one hidden ReLU layer, so the
claim on [x_0, x_n] is decided by one sweep over the sorted kinks: the body is affine between
consecutive kinks, so if every kink inside (x_0, x_n) is one of the knots and the body takes the
stated value at every knot, the body *is* the interpolant there.  The sweep costs O(width · log
width) exact operations, where evaluating the body at every knot costs width², which is what a
step function with 2^n steps or the exponential map through (j, 4^j) cannot afford.

Certified once per gadget instance (cached by identity), then the box analysis reads a box that
lies inside one piece off the two knots around it, in O(log n) steps.
"""

from __future__ import annotations

from typing import Optional

from flint import fmpq

from constructive.ir import Activation, Affine, Gadget, Network

INTERPOLANT = " (interpolant)"  # suffix of a gadget name read through its certified points
_CACHE: dict[int, tuple[Gadget, Optional[tuple[list, list]]]] = {}


def certified_interpolant(g: Gadget) -> Optional[tuple[list[fmpq], list[fmpq]]]:
    """The knots and values ``(xs, ys)`` when the body of ``g`` equals the interpolant of
    ``g.spec.points`` on [xs[0], xs[-1]], else None (the analysis then follows the body)."""
    hit = _CACHE.get(id(g))
    if hit is None or hit[0] is not g:
        hit = (g, _sweep(g))
        _CACHE[id(g)] = hit
    return hit[1]


def _sweep(g: Gadget) -> Optional[tuple[list, list]]:
    spec = g.spec
    if spec is None or spec.points is None or g.in_dim != 1 or g.out_dim != 1:
        return None
    xs = [fmpq(x) for x, _ in spec.points]
    ys = [fmpq(y) for _, y in spec.points]
    if len(xs) < 2 or any(b <= a for a, b in zip(xs, xs[1:])):
        return None
    layer = _one_hidden_layer(g.body)
    if layer is None:
        return None
    w, b, c, slope, d = layer
    lo, hi = xs[0], xs[-1]
    knots = set(xs)
    # f(x) = a x + d + Σ_{i active at x} c_i (w_i x + b_i) = A x + B on each piece, from x_0 on
    A, B = slope, d
    events: list[tuple[fmpq, fmpq, fmpq]] = []  # (kink, ΔA, ΔB) when crossing it left to right
    for wi, bi, ci in zip(w, b, c):
        if ci == 0:
            continue
        if wi == 0:
            if bi > 0:
                B += ci * bi
            continue
        t = -bi / wi
        if t > lo and t < hi and t not in knots:
            return None  # a kink between knots: the body is not the interpolant
        if wi > 0:  # active right of t
            if t < lo:
                A, B = A + ci * wi, B + ci * bi
            elif t < hi:
                events.append((t, ci * wi, ci * bi))
        else:  # active left of t
            if t > lo:
                A, B = A + ci * wi, B + ci * bi
                if t < hi:
                    events.append((t, -ci * wi, -ci * bi))
    events.sort(key=lambda e: e[0])
    k = 0
    for x, y in zip(xs, ys):
        # the value at a knot is the same from either side (continuity): use the left piece,
        # then cross every kink at this knot
        if A * x + B != y:
            return None
        while k < len(events) and events[k][0] == x:
            A, B = A + events[k][1], B + events[k][2]
            k += 1
    return xs, ys


def _one_hidden_layer(body: Network) -> Optional[tuple[list, list, list, fmpq, fmpq]]:
    """(w, b, c, a, d) with body(x) = a x + d + Σ c_i σ(w_i x + b_i), when the body has that
    shape (an affine body is the case of no hidden neuron)."""
    nodes = body.nodes if isinstance(body, Network) else ()
    if len(nodes) == 1 and isinstance(nodes[0], Affine):
        return [], [], [], nodes[0].W[0, 0], nodes[0].b[0, 0]
    if len(nodes) != 3 or not isinstance(nodes[0], Affine) or not isinstance(nodes[1], Activation) \
            or not isinstance(nodes[2], Affine):
        return None
    if any(getattr(f, "name", None) != "relu" for f in nodes[1].functions):
        return None
    first, last = nodes[0], nodes[2]
    width = first.W.nrows()
    w = [first.W[i, 0] for i in range(width)]
    b = [first.b[i, 0] for i in range(width)]
    c = [last.W[0, i] for i in range(width)]
    return w, b, c, fmpq(0), last.b[0, 0]
