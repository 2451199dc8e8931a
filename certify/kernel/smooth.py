"""Sup errors of one-input networks of smooth activations, by second-order Taylor forms in arb.

On a box [m − r, m + r] the error e = φ − v (v affine) satisfies
|e(x)| ≤ |e(m)| + |e'(m)| r + sup |e''|/2 · r², the first two from the network's Taylor
series at the exact point m, the last from its series over the whole box (a ball), all with
arb's rigorous series arithmetic.  Boxes that do not meet the claim's bound are halved.
"""

from __future__ import annotations

from flint import arb, arb_series, fmpq

from certify.kernel.errors import KernelError

MAX_BOXES = 4096
TERMS = 3  # value, slope, half the second derivative

FUNCTIONS = {
    "identity": lambda s: s,
    "sigmoid": lambda s: 1 / (1 + (-s).exp()),
    "tanh": lambda s: 1 - 2 / ((2 * s).exp() + 1),
    "arctan": lambda s: s.atan(),
    "softplus": lambda s: (1 + s.exp()).log(),
    "silu": lambda s: s / (1 + (-s).exp()),
    "gelu": lambda s: s * (1 + (s * arb(2).rsqrt()).erf()) / 2,  # the standard one (μ 0, σ 1)
}


def series(layers: tuple, x: arb) -> arb_series:
    """The network's Taylor series at x (an exact point or a ball), TERMS terms."""
    values = [arb_series([x, 1], prec=TERMS)]
    for layer in layers:
        out = []
        for i in range(layer.rows):
            s = arb_series([arb(layer.b[i, 0])], prec=TERMS)
            for j, v in enumerate(values):
                if layer.W[i, j] != 0:
                    s += v * arb(layer.W[i, j])
            act = layer.acts[i] if layer.acts else "identity"
            if act not in FUNCTIONS:
                raise KernelError(f"activation {act!r} is not one the smooth check follows")
            out.append(FUNCTIONS[act](s))
        values = out
    if len(values) != 1:
        raise KernelError("the smooth check speaks about networks of one output")
    return values[0]


def _terms(s: arb_series) -> list:
    return (list(s.coeffs()) + [arb(0)] * TERMS)[:TERMS]  # flint drops trailing zero terms


def _box(layers: tuple, c0: fmpq, c1: fmpq, a: fmpq, b: fmpq) -> tuple[arb, arb]:
    """Upper and lower bounds of sup |φ − (c0 + c1 x)| on [a, b]."""
    m, r = (a + b) / 2, (b - a) / 2
    e0, e1, _ = _terms(series(layers, arb(m)))
    e0, e1 = e0 - arb(c0 + c1 * m), e1 - arb(c1)
    c2 = _terms(series(layers, arb(m, r)))[2]
    upper = abs(e0) + abs(e1) * arb(r) + abs(c2) * arb(r) ** 2
    return arb(upper.upper()), arb(abs(e0).lower())


def sup_error(layers: tuple, c0: fmpq, c1: fmpq, a: fmpq, b: fmpq, enough: arb) -> tuple[arb, arb, int]:
    """sup |φ − (c0 + c1 x)| on [a, b], boxes halved until each meets ``enough`` (or the limit):
    (upper, lower, boxes)."""
    todo, upper, lower, boxes = [(a, b)], arb(0), arb(0), 0
    while todo:
        lo, hi = todo.pop()
        boxes += 1
        up, low = _box(layers, c0, c1, lo, hi)
        lower = lower.max(low)
        if up <= enough or boxes + len(todo) >= MAX_BOXES:
            upper = upper.max(up)
        else:
            todo += [(lo, (lo + hi) / 2), ((lo + hi) / 2, hi)]
    return upper, lower, boxes
