"""Sup errors of networks of smooth activations, by second-order Taylor forms in arb.

Every neuron is carried with its value, gradient and Hessian in the input (forward-mode, chain
rule: an activation f sends (v, g, H) to (f(v), f'(v) g, f''(v) g gᵀ + f'(v) H), f's
derivatives from arb's Taylor series).  At the exact midpoint m of a box with radii r this gives
e(m) and ∇e(m) for the error e = φ − value (value a polynomial of degree ≤ 2, whose derivatives
are exact); over the whole box (balls) it encloses the Hessian, so
|e(x)| ≤ |e(m)| + Σ |∂_i e(m)| r_i + ½ Σ |∂_ij e(box)| r_i r_j.  Boxes that do not meet the
claim's bound are halved along their widest side.
"""

from __future__ import annotations

from flint import arb, arb_series, fmpq

from certify.kernel.errors import KernelError

MAX_BOXES = 4096
MAX_WEIGHTS = 512  # each box carries every neuron's Hessian: keep the network small

FUNCTIONS = {
    "sigmoid": lambda s: 1 / (1 + (-s).exp()),
    "tanh": lambda s: 1 - 2 / ((2 * s).exp() + 1),
    "arctan": lambda s: s.atan(),
    "softplus": lambda s: (1 + s.exp()).log(),
    "silu": lambda s: s / (1 + (-s).exp()),
    "gelu": lambda s: s * (1 + (s * arb(2).rsqrt()).erf()) / 2,  # the standard one (μ 0, σ 1)
}


def _derivatives(act: str, v: arb) -> tuple[arb, arb, arb]:
    """f(v), f'(v), f''(v) for a ball v."""
    if act == "identity":
        return v, arb(1), arb(0)
    if act not in FUNCTIONS:
        raise KernelError(f"activation {act!r} is not one the smooth check follows")
    c = (list(FUNCTIONS[act](arb_series([v, 1], prec=3)).coeffs()) + [arb(0)] * 3)[:3]
    return c[0], c[1], 2 * c[2]  # flint drops trailing zero terms


def jet(layers: tuple, x: list) -> tuple[arb, list, list]:
    """Value, gradient and Hessian of the network's one output at x (points or balls)."""
    d = len(x)
    zero = [arb(0)] * d
    units = [(xi, [arb(int(i == j)) for j in range(d)], [list(zero) for _ in range(d)])
             for i, xi in enumerate(x)]
    for layer in layers:
        out = []
        for i in range(layer.rows):
            v, g, H = arb(layer.b[i, 0]), list(zero), [list(zero) for _ in range(d)]
            for j, (vj, gj, Hj) in enumerate(units):
                w = layer.W[i, j]
                if w != 0:
                    w = arb(w)
                    v += w * vj
                    g = [a + w * b for a, b in zip(g, gj)]
                    H = [[a + w * b for a, b in zip(r, rj)] for r, rj in zip(H, Hj)]
            f, f1, f2 = _derivatives(layer.acts[i] if layer.acts else "identity", v)
            out.append((f, [f1 * a for a in g],
                        [[f2 * g[p] * g[q] + f1 * H[p][q] for q in range(d)] for p in range(d)]))
        units = out
    if len(units) != 1:
        raise KernelError("the smooth check speaks about networks of one output")
    return units[0]


def _box(layers: tuple, value, box: list) -> tuple[arb, arb]:
    """Upper and lower bounds of sup |φ − value| on the box."""
    d = len(box)
    m = [(a + b) / 2 for a, b in box]
    r = [arb((b - a) / 2) for a, b in box]
    v, g, _ = jet(layers, [arb(c) for c in m])
    _, _, H = jet(layers, [arb((a + b) / 2, (b - a) / 2) for a, b in box])
    pv, pg, pH = value(m)
    e0 = abs(v - arb(pv))
    upper = e0 + sum((abs(g[i] - arb(pg[i])) * r[i] for i in range(d)), arb(0)) + \
        sum((abs(H[i][j] - arb(pH[i][j])) * r[i] * r[j] for i in range(d) for j in range(d)), arb(0)) / 2
    return arb(upper.upper()), arb(e0.lower())


def sup_error(layers: tuple, value, box: list, enough: arb) -> tuple[arb, arb, int, int]:
    """sup |φ − value| on the box, boxes halved until each meets ``enough`` (or the limit):
    (upper, lower, boxes, boxes left above ``enough``); ``value(m)`` gives the polynomial's
    value, gradient and Hessian."""
    todo, upper, lower, boxes, above = [box], arb(0), arb(0), 0, 0
    while todo:
        b = todo.pop()
        boxes += 1
        up, low = _box(layers, value, b)
        lower = lower.max(low)
        # stop halving where the box meets the bound, at the limit, or once a midpoint has
        # shown the claim false (the rest is then only bounded, not refined)
        if up <= enough or boxes + len(todo) >= MAX_BOXES or lower > enough:
            upper, above = upper.max(up), above + (not up <= enough)
            continue
        k = max(range(len(b)), key=lambda i: b[i][1] - b[i][0])
        mid = (b[k][0] + b[k][1]) / 2
        todo += [b[:k] + [(b[k][0], mid)] + b[k + 1:], b[:k] + [(mid, b[k][1])] + b[k + 1:]]
    return upper, lower, boxes, above


def polynomial(p, d: int):
    """value(m) for a claimed value of degree ≤ 2 in the input (an fmpq or an fmpq_mpoly)."""
    if isinstance(p, fmpq):
        return lambda m: (p, [fmpq(0)] * d, [[fmpq(0)] * d for _ in range(d)])
    if p.total_degree() > 2:
        raise KernelError(f"the claimed value {p} has degree above 2")
    grad = [p.derivative(i) for i in range(d)]
    hess = [[gi.derivative(j) for j in range(d)] for gi in grad]
    return lambda m: (p(*m), [gi(*m) for gi in grad], [[h(*m) for h in row] for row in hess])
