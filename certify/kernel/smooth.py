"""Sup errors of networks of smooth activations, by second-order Taylor forms in arb.

Every neuron is carried with its value, gradient and Hessian in the input (forward-mode, chain
rule: an activation f sends (v, g, H) to (f(v), f'(v) g, f''(v) g gᵀ + f'(v) H), f's
derivatives from arb's Taylor series).  At the exact midpoint m of a box with radii r this gives
e(m) and ∇e(m) for the error e = φ − value (value a polynomial of degree ≤ 2, whose derivatives
are exact); over the whole box (balls) it encloses the Hessian, so
|e(x)| ≤ |e(m)| + Σ |∂_i e(m)| r_i + ½ Σ |∂_ij e(box)| r_i r_j.  Boxes that do not meet the
claim's bound are halved along their widest side.

ReLU, softsign, σ (EUAF) and PEUAF_w are smooth on one side of 0 only (σ's softsign part s/(1 − s) on
(−∞, 0]): on a box where such a pre-activation crosses 0, |φ − value| is bounded by interval
arithmetic instead (φ's enclosure and the polynomial's exact spread), and the box halved as
any other.
"""

from __future__ import annotations

from typing import Optional

from flint import arb, arb_series, fmpq

from certify.kernel.errors import KernelError

MAX_BOXES = 4096
MAX_WEIGHTS = 512  # each box carries every neuron's Hessian: keep the network small
WHOLE = arb("[+/- inf]")

# (the form used where s ≤ 0, the form used elsewhere): exp's argument kept ≤ 0 wherever it can
# be, so that a ball over a long box stays narrow (e^s over s ∈ [−10⁶, −10⁵] is tiny, 1/(1 + e^−s)
# there is not computable from a ball of e^−s)
FUNCTIONS = {
    "sigmoid": (lambda s: s.exp() / (1 + s.exp()), lambda s: 1 / (1 + (-s).exp())),
    "tanh": (lambda s: ((2 * s).exp() - 1) / ((2 * s).exp() + 1),
             lambda s: (1 - (-2 * s).exp()) / (1 + (-2 * s).exp())),
    "arctan": (lambda s: s.atan(),) * 2,
    "softplus": (lambda s: (1 + s.exp()).log(), lambda s: s + (1 + (-s).exp()).log()),
    "silu": (lambda s: s * s.exp() / (1 + s.exp()), lambda s: s / (1 + (-s).exp())),
    "gelu": (lambda s: s * (1 + (s * arb(2).rsqrt()).erf()) / 2,) * 2,  # the standard one (μ 0, σ 1)
    # s·tanh(softplus s) = s(e^2s + 2e^s)/(e^2s + 2e^s + 2), divided through by e^2s above 0
    "mish": (lambda s: s * (1 - 2 / ((2 * s).exp() + 2 * s.exp() + 2)),
             lambda s: s * (1 - 2 * (-2 * s).exp() / (1 + 2 * (-s).exp() + 2 * (-2 * s).exp()))),
    # SiLU's derivative σ(s)(1 + s(1 − σ(s)))
    "dsilu": (lambda s: s.exp() / (1 + s.exp()) * (1 + s / (1 + s.exp())),
              lambda s: 1 / (1 + (-s).exp()) * (1 + s * (-s).exp() / (1 + (-s).exp()))),
    "xarctan": (lambda s: s * s.atan(),) * 2,
}
FUNCTIONS["xdsilu"] = tuple((lambda s, f=f: s * f(s)) for f in FUNCTIONS["dsilu"])  # x·dSiLU(x)
# smooth ones with rational parameters (name:b or name:a:b): Swish s·σ(βs) = SiLU(βs)/β; SRS
# s/(s/α + e^(−s/β)), times e^(s/β)/e^(s/β) below 0 (a pole where its denominator meets 0)
WITH_PARAMETERS = {
    "swish": lambda b: tuple((lambda s, f=f: f(b * s) / b) for f in FUNCTIONS["silu"]),
    "srs": lambda a, b: (lambda s: s * (s / b).exp() / (s * (s / b).exp() / a + 1),
                         lambda s: s / (s / a + (-s / b).exp())),
}
# SELU's constants λ and α (Klambauer et al. 2017, to 32 digits as the catalogue has them)
SELU = (fmpq(10507009873554804934193349852946, 10**31), fmpq(16732632423543772848170429916717, 10**31))

# the formulas on (−∞, 0] and on [0, ∞) (None: not smooth there), given the activation's one
# rational parameter (its name's part after ':'; 1 when it has none); each is 0 at 0 and
# monotone on each side, or a square there (xsoftsign)
# (written with s once in each quotient: s/(1 − s) as 1/(1 − s) − 1, which a ball of s over a
# long box encloses closely)
ONE_SIDED = {
    "softsign": lambda a: (lambda s: 1 / (1 - s) - 1, lambda s: 1 - 1 / (1 + s)),  # s/(1 + |s|)
    "euaf": lambda a: (lambda s: 1 / (1 - s) - 1, None),  # also PEUAF_w; above 0 see _one_side
    "relu": lambda a: (lambda s: 0 * s, lambda s: s),
    "leaky_relu": lambda a: (lambda s: arb(a) * s, lambda s: s),
    "elu": lambda a: (lambda s: arb(a) * (s.exp() - 1), lambda s: s),
    "celu": lambda a: (lambda s: arb(a) * ((s / arb(a)).exp() - 1), lambda s: s),
    "selu": lambda a: (lambda s: arb(SELU[0] * SELU[1]) * (s.exp() - 1), lambda s: arb(SELU[0]) * s),
    "relu2": lambda a: (lambda s: 0 * s, lambda s: s * s),
    "xsoftsign": lambda a: (lambda s: 1 / (1 - s) - s - 1, lambda s: s - 1 + 1 / (1 + s)),  # s²/(1 + |s|)
}


def _sides(act: str):
    """(below, above) of a one-sided activation, or None."""
    name = "euaf" if act.startswith("peuaf:") else act.partition(":")[0]
    return ONE_SIDED[name](_frequency(act)) if name in ONE_SIDED else None


class _Kink(Exception):
    """A pre-activation of a one-sided activation straddles 0 on the box."""


def _one_side(act: str, v: arb, exact: tuple = None):
    """The formula of a one-sided activation on the side of 0 the ball v is on (_Kink if both);
    above 0, σ (and PEUAF_w) is the triangle wave of w·v, followed on one unit piece at a time.
    ``exact``: the pre-activation's exact range where known, which decides instead of the ball
    (a ball over a box that ends at a kink always reaches a little past it)."""
    below, above = _sides(act)
    lo, hi = exact if exact is not None else (v, v)
    if hi <= 0:
        return below
    if lo >= 0 and above is not None:
        return above
    if lo >= 0:
        w = _frequency(act)
        u = w * lo if exact is not None else arb(w) * v
        n = u.p // u.q if exact is not None else u.lower().floor().unique_fmpz()
        if (w * hi if exact is not None else arb(w) * v) <= n + 1:  # |t − 2j| on [n, n + 1]
            return (lambda s: arb(w) * s - n) if n % 2 == 0 else (lambda s: n + 1 - arb(w) * s)
    raise _Kink(act)


def smooth_forms(act: str) -> Optional[tuple]:
    """(the form used where s ≤ 0, the one used elsewhere) of a smooth activation, or None."""
    name, _, param = act.partition(":")
    if name in WITH_PARAMETERS and param:  # the parameters' count is checked when decoded
        return WITH_PARAMETERS[name](*(arb(_frequency(":" + p)) for p in param.split(":")))
    return FUNCTIONS.get(act)


def _frequency(act: str) -> fmpq:
    p, _, q = act.partition(":")[2].partition("/")
    return fmpq(int(p or 1), int(q or 1))  # no parameter: 1; peuaf:w etc. checked when decoded


def _derivatives(act: str, v: arb) -> tuple[arb, arb, arb]:
    """f(v), f'(v), f''(v) for a ball v."""
    if act == "identity":
        return v, arb(1), arb(0)
    c = _coeffs(_apply(act, arb_series([v, 1], prec=3)), 3)
    return c[0], c[1], 2 * c[2]  # the series' coefficients are f^(k)(v)/k!


def _value(act: str, v: arb) -> arb:
    """An enclosure of f(v) for a ball v, also across the kink of a one-sided activation: each
    side's formula is 0 at 0 and monotone away from it, or σ's triangle wave, which lies in [0, 1]."""
    try:
        return _derivatives(act, v)[0]
    except _Kink:
        below, above = _sides(act)
        lo, hi = arb(v.lower()), arb(v.upper())
        low = below(lo) if lo < 0 else arb(0)
        high = above(hi) if above is not None else arb(1)  # the triangle wave lies in [0, 1]
        return low.union(arb(0)).union(high)


def enclose(layers: tuple, x: list) -> arb:
    """The network's one output over the balls x, by interval arithmetic (no derivatives)."""
    units = x
    for layer in layers:
        units = [_value(layer.acts[i] if layer.acts else "identity",
                        sum((arb(layer.W[i, j]) * u for j, u in enumerate(units) if layer.W[i, j] != 0),
                            arb(layer.b[i, 0])))
                 for i in range(layer.rows)]
    return units[0]


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
    pv, pg, pH = value(m)
    try:
        v, g, _ = jet(layers, [arb(c) for c in m])
        _, _, H = jet(layers, [arb((a + b) / 2, (b - a) / 2) for a, b in box])
    except _Kink:  # a kink inside the box: φ's enclosure there, the polynomial's exact spread
        e0 = abs(enclose(layers, [arb(c) for c in m]) - arb(pv))
        spread = sum((abs(arb(pg[i])) * r[i] for i in range(d)), arb(0)) + \
            sum((abs(arb(pH[i][j])) * r[i] * r[j] for i in range(d) for j in range(d)), arb(0)) / 2
        phi = enclose(layers, [arb((a + b) / 2, (b - a) / 2) for a, b in box]) - arb(pv)
        return arb((abs(phi) + spread).upper()), arb(e0.lower())
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


# ---------------------------------------------------------------------------------------------
# one input: Taylor forms of any order (arb_series), where second-order ones need too many boxes


def series(layers: tuple, a: fmpq, b: fmpq, order: int) -> arb_series:
    """The network's one output as a series in (t − m) to ``order`` terms, over the ball of
    [a, b] (a = b: at the point): coefficient k encloses φ^(k)(ξ)/k! for every ξ in [a, b]."""
    units = [arb_series([arb((a + b) / 2, (b - a) / 2) if a < b else arb(a), 1], prec=order)]
    for k, layer in enumerate(layers):
        out = []
        for i in range(layer.rows):
            s = arb_series([arb(layer.b[i, 0])], prec=order)
            for j, u in enumerate(units):
                if layer.W[i, j] != 0:
                    s += arb(layer.W[i, j]) * u
            act = layer.acts[i] if layer.acts else "identity"
            # the first layer is affine in t: its exact range decides a one-sided activation's side
            ends = None if k else sorted(layer.b[i, 0] + layer.W[i, 0] * t for t in (a, b))
            out.append(s if act == "identity" else _apply(act, s, ends))
        units = out
    return units[0]


def _apply(act: str, s: arb_series, exact: tuple = None) -> arb_series:
    v = s.coeffs()[0] if s.coeffs() else arb(0)
    forms = smooth_forms(act)
    f = _one_side(act, v, exact) if _sides(act) is not None else \
        None if forms is None else forms[0] if v <= 0 else forms[1]
    if f is None:
        raise KernelError(f"activation {act!r} is not one the smooth check follows")
    try:
        return f(s)
    except ValueError:  # a ball too wide to divide by: unbounded
        return arb_series([WHOLE] * s.prec, prec=s.prec)


def linear(v0: fmpq, v1: fmpq):
    """The reference t ↦ v0 + v1·t for :func:`series_sup`."""
    def reference(a: fmpq, b: fmpq, order: int) -> arb_series:
        c = arb((a + b) / 2, (b - a) / 2) if a < b else arb(a)
        return arb_series([arb(v0) + arb(v1) * c, arb(v1)], prec=order)
    return reference


def derivative(act: str, k: int):
    """The reference t ↦ ρ^(k)(t) for :func:`series_sup`, ρ one of FUNCTIONS: ρ's series
    differentiated k times."""
    def reference(a: fmpq, b: fmpq, order: int) -> arb_series:
        c = arb((a + b) / 2, (b - a) / 2) if a < b else arb(a)
        f = _apply(act, arb_series([c, 1], prec=order + k))
        for _ in range(k):
            f = f.derivative()
        return f
    return reference


def _above(layers: tuple, reference, a: fmpq, b: fmpq, order: int, sign: Optional[int] = None) -> arb:
    """An upper bound on [a, b] of e = sign·(ψ − φ), or of |ψ − φ| without a sign: the least
    over n ≤ ``order`` of e(m) + Σ_{0<k<n} |e_k(m)| r^k + |e_n([a, b])| r^n (n = 0: e's
    enclosure on [a, b]; a low order wins where the balls of high derivatives are wide), from
    the coefficients at the midpoint m and over the interval; unbounded across a kink."""
    m, r = (a + b) / 2, arb((b - a) / 2)
    try:
        at = _coeffs(reference(m, m, order) - series(layers, m, m, order), order)
        box = _coeffs(reference(a, b, order + 1) - series(layers, a, b, order + 1), order + 1)
    except _Kink:
        return WHOLE
    first = abs if sign is None else (lambda v: sign * v)
    forms = [first(box[0])] + [sum((abs(c) * r ** k for k, c in enumerate(at[1:n], 1)), first(at[0]))
                               + abs(box[n]) * r ** n for n in range(1, order + 1)]
    finite = [v.upper() for v in forms if v.is_finite()]
    return arb(min(finite)) if finite else WHOLE


def series_sup(layers: tuple, reference, lo: fmpq, hi: fmpq, enough: arb, order: int = 6
               ) -> tuple[arb, int]:
    """sup |φ(t) − ψ(t)| on [lo, hi] for a one-input network φ and ψ = ``reference`` (its series
    over [a, b] from reference(a, b, order)), by :func:`_above` on each interval, intervals
    halved until each meets ``enough`` (at most MAX_BOXES).
    Returns (upper, intervals); [lo, hi] is first cut where a first-layer one-sided activation
    kinks (no interval then straddles it), a kink straddled deeper leaves its interval unbounded."""
    first = layers[0]
    kinks = {-first.b[i, 0] / first.W[i, 0] for i in range(first.rows)
             if first.W[i, 0] != 0 and first.acts and _sides(first.acts[i]) is not None}
    ends = [lo] + sorted(k for k in kinks if lo < k < hi) + [hi]
    todo, upper, boxes = list(zip(ends, ends[1:])), arb(0), 0
    while todo:
        a, b = todo.pop()
        boxes += 1
        up = _above(layers, reference, a, b, order)
        if up <= enough or boxes + len(todo) >= MAX_BOXES:
            upper = upper.max(up) if up.is_finite() else WHOLE
            continue
        todo += [(a, (a + b) / 2), ((a + b) / 2, b)]
    return upper, boxes


def series_max(layers: tuple, reference, cuts: list, sign: int, order: int = 4,
               slack: fmpq = fmpq(1, 2 ** 32)) -> tuple[arb, arb, int]:
    """Bounds of max sign·(ψ − φ) over [cuts[0], cuts[-1]] for a one-input network φ and ψ =
    ``reference`` (as for :func:`series_sup`), signed (a sup of the error itself, not of its
    size): below, e at the midpoints of the evidence's intervals; above, :func:`_above` on each
    interval, one whose bound exceeds the lower bound by more than ``slack`` halved (the balls
    of a rational function's derivatives over a wide interval can be far too wide), at most
    MAX_BOXES.  Returns (upper, lower, intervals bounded)."""
    intervals = list(zip(cuts, cuts[1:]))
    if not intervals:
        raise KernelError("the evidence's cuts leave no interval to bound")
    lower = WHOLE
    for a, b in intervals:
        m = (a + b) / 2
        try:
            low = arb(_coeffs(sign * (reference(m, m, 1) - series(layers, m, m, 1)), 1)[0].lower())
        except _Kink:
            continue
        lower = low if not lower.is_finite() else lower.max(low)
    enough, upper, boxes = lower + arb(slack), arb(0) if lower.is_finite() else WHOLE, 0
    while intervals:
        a, b = intervals.pop()
        boxes += 1
        up = _above(layers, reference, a, b, order, sign)
        if up <= enough or boxes + len(intervals) >= MAX_BOXES:
            upper = upper.max(up) if up.is_finite() else WHOLE
            continue
        intervals += [(a, (a + b) / 2), ((a + b) / 2, b)]
    return upper, lower, boxes


def _coeffs(f: arb_series, n: int) -> list:
    return (list(f.coeffs()) + [arb(0)] * n)[:n]  # flint drops trailing zero terms
