"""Exact identities and sup errors of one-input σ (EUAF, PEUAF_w) networks, cell by cell.

σ(x) = x/(1 − x) on (−∞, 0] and |x − 2k| on [2k − 1, 2k + 1] for x ≥ 0: on an interval where each
pre-activation stays in one of the pieces (−∞, 0], [n, n + 1] (n ≥ 0), σ is a Möbius or an affine
map, so a network with rational weights is one rational function P/Q of its input there.  The
evidence cuts each claimed interval into such cells; the kernel shows every pre-activation inside
its piece on the whole cell (Sturm: no root of P − cQ strictly inside, the sign at the middle
right; where one crosses, the cell is cut at the crossing, which must be rational) and compares
P/Q with the claimed value, a polynomial in x1, as polynomials.  The cuts only save work: the
kernel would find the same cells from the claimed intervals alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from flint import arb, arb_poly, fmpq, fmpq_poly

from certify.kernel.errors import KernelError, Undecided

X = fmpq_poly([0, 1])
ONE = fmpq_poly([1])
MAX_DEGREE = 512
MAX_CELLS = 4096
MAX_ENDS = 64  # piece ends looked at for crossings on one cell


def roots_inside(f: fmpq_poly, a: fmpq, b: fmpq) -> int:
    """The number of distinct real roots of f in the open interval (a, b) (Sturm's theorem,
    after dividing out the roots at a and b); f must not be zero."""
    for end in (a, b):
        while f(end) == 0:
            f = f // fmpq_poly([-end, 1])
    seq = [f, f.derivative()]
    while seq[-1] != 0:
        seq.append(-(seq[-2] % seq[-1]))
    seq.pop()

    def changes(t: fmpq) -> int:
        signs = [s for s in (p(t) for p in seq) if s != 0]
        return sum(1 for u, v in zip(signs, signs[1:]) if (u > 0) != (v > 0))

    return changes(a) - changes(b)


class _Sweep(Undecided):
    """A pre-activation sweeps more pieces of σ on a cell than the kernel follows one by one."""


@dataclass(frozen=True)
class Range:
    """A neuron known only to lie in [lo, hi] on a cell (after a sweep, see ``outputs_on``)."""
    lo: fmpq
    hi: fmpq


class _Split(Exception):
    """A pre-activation crosses a piece end at these rational points inside the cell."""

    def __init__(self, points: list[fmpq]):
        super().__init__(points)
        self.points = points


def _inside(P: fmpq_poly, Q: fmpq_poly, lo, hi, a: fmpq, b: fmpq) -> bool:
    """lo ≤ P/Q ≤ hi on [a, b] (None: no bound), Q without a root on [a, b]."""
    m = (a + b) / 2
    for end, sign in ((lo, 1), (hi, -1)):
        if end is None:
            continue
        g = sign * (P - end * Q)
        if g != 0 and (roots_inside(g, a, b) or g(m) * Q(m) < 0):
            return False
    return True


def _crossings(P: fmpq_poly, Q: fmpq_poly, ends: list, a: fmpq, b: fmpq) -> list[fmpq]:
    """Where P/Q meets a piece end strictly inside (a, b); every such point must be rational."""
    out = set()
    for c in ends:
        g = P - c * Q
        if g == 0 or not roots_inside(g, a, b):
            continue
        inside = {r for r, _ in g.roots() if a < r < b}
        if len(inside) != roots_inside(g, a, b):
            raise Undecided(f"a pre-activation crosses the piece end {c} at an irrational point "
                            f"inside [{a}, {b}]")
        out |= inside
    return sorted(out)


def _sigma(P: fmpq_poly, Q: fmpq_poly, a: fmpq, b: fmpq, act: str) -> tuple[fmpq_poly, fmpq_poly]:
    """The activation (ReLU, σ, or PEUAF_w: σ(w·x) for x ≥ 0, x/(1 − x) below) of the
    pre-activation P/Q on the cell [a, b], as P'/Q'."""
    relu = act == "relu"
    v = P((a + b) / 2) / Q((a + b) / 2)
    if v <= 0 and _inside(P, Q, None, fmpq(0), a, b):
        return (0 * P, Q) if relu else (P, Q - P)  # x/(1 − x) with x = P/Q
    if relu and _inside(P, Q, fmpq(0), None, a, b):
        return P, Q
    if act.startswith("peuaf:"):  # on x ≥ 0 the triangle wave of w·x
        w = _frequency(act)
        if v >= 0 and _inside(P, Q, fmpq(0), None, a, b):
            return _sigma(w * P, Q, a, b, "euaf")
        raise _Split(_crossings(P, Q, [fmpq(0)], a, b))
    n = int(v.p // v.q)
    for k in (n, n - 1):  # v may sit on the end n of two pieces
        if not relu and k >= 0 and _inside(P, Q, fmpq(k), fmpq(k + 1), a, b):
            # |x − 2j| on [k, k + 1]: x − k for even k, k + 1 − x for odd k
            return (P - k * Q, Q) if k % 2 == 0 else ((k + 1) * Q - P, Q)
    if relu:
        raise _Split(_crossings(P, Q, [fmpq(0)], a, b))
    seen = [P(t) / Q(t) for t in (a, (a + b) / 2, b)]
    first, last = max(int(min(seen).p // min(seen).q) - 1, 0), int(max(seen).p // max(seen).q) + 2
    if last - first > MAX_ENDS:
        raise _Sweep(f"a pre-activation sweeps more than {MAX_ENDS} pieces of σ inside [{a}, {b}]")
    raise _Split(_crossings(P, Q, [fmpq(k) for k in range(first, last + 1)], a, b))


def _frequency(act: str) -> fmpq:
    p, _, q = act[len("peuaf:"):].partition("/")
    return fmpq(int(p), int(q or 1))  # checked a positive rational when the network was decoded


@dataclass(frozen=True)
class Free:
    """A neuron that is P/Q of a free variable t ∈ [lo, hi] on the cell: t stands for the value
    of a neuron that swept (see ``outputs_on``), so this is exact whatever t is at each x."""
    var: int
    lo: fmpq
    hi: fmpq
    P: fmpq_poly
    Q: fmpq_poly


def outputs_on(layers: tuple, a: fmpq, b: fmpq, enclose: bool = False) -> list:
    """The network's outputs on the cell [a, b] as exact rational functions P/Q of x (_Split
    where a pre-activation leaves its piece inside the cell).

    With ``enclose``, a neuron whose pre-activation sweeps more pieces than are followed becomes
    a free variable t over σ's range on the pre-activation's exact range.  A neuron fed by one
    free variable and by inputs constant on the cell is followed exactly in t (and is a constant
    again when t cancels, as in Γ(t, 0) = 0); any other mixture is a Range, by rational interval
    arithmetic."""
    values: list = [(X, ONE)]
    fresh = 0
    for layer in layers:
        out: list = []
        for i in range(layer.rows):
            act = layer.acts[i] if layer.acts else "identity"
            if act not in ("identity", "relu", "euaf") and not act.startswith("peuaf:"):
                raise KernelError(f"activation {act!r} is not one the sigma checks follow")
            terms = [(layer.W[i, j], v) for j, v in enumerate(values) if layer.W[i, j] != 0]
            bias, parts = _free_parts(layer.b[i, 0], terms)
            P, Q = _combine(bias, [(w, v) for w, v in terms if isinstance(v, tuple)])
            boxed = [(w, v) for w, v in terms if isinstance(v, Range)]
            if boxed or len(parts) > 1 or (parts and max(P.degree(), Q.degree()) > 0):
                lo, hi = _affine_range(fmpq(0), boxed + [(1, f) for f in parts] + [(1, (P, Q))], a, b)
                out.append(_range_of(act, lo, hi))
                continue
            if parts:  # one free variable, the rest constant on the cell
                f = parts[0]
                out.append(_free(act, f, *_combine(P(0) / Q(0), [(1, (f.P, f.Q))])))
                continue
            if roots_inside(Q, a, b) or Q(a) == 0 or Q(b) == 0:
                raise KernelError("a denominator vanishes on a cell")
            try:
                out.append((P, Q) if act == "identity" else _sigma(P, Q, a, b, act))
            except _Sweep:
                if not enclose:
                    raise
                r = _range_of(act, *range_on(P, Q, a, b))
                fresh += 1
                out.append(Free(fresh, r.lo, r.hi, X, ONE) if r.lo < r.hi else (r.lo * ONE, ONE))
        values = out
    return values


def _free_parts(bias: fmpq, terms: list) -> tuple[fmpq, list]:
    """Σ w·v over the free values of ``terms``, one Free per variable; a variable that cancels
    (its sum is constant in t) is added to the bias instead."""
    parts = []
    for var in sorted({v.var for _, v in terms if isinstance(v, Free)}):
        fs = [(w, v) for w, v in terms if isinstance(v, Free) and v.var == var]
        P, Q = _combine(fmpq(0), [(w, (v.P, v.Q)) for w, v in fs])
        f = fs[0][1]
        if P * Q.derivative() == P.derivative() * Q:
            bias += P(f.lo) / Q(f.lo)
        else:
            parts.append(Free(var, f.lo, f.hi, P, Q))
    return bias, parts


def _combine(bias: fmpq, terms: list) -> tuple[fmpq_poly, fmpq_poly]:
    """bias + Σ w·P_j/Q_j as one P/Q."""
    P, Q = bias * ONE, ONE
    for w, (Pj, Qj) in terms:
        P, Q = (P * Qj + w * Pj * Q, Q * Qj) if Qj != Q else (P + w * Pj, Q)
    if max(P.degree(), Q.degree()) > MAX_DEGREE:
        raise Undecided(f"rational functions of degree above {MAX_DEGREE}")
    return P, Q


def _free(act: str, f: Free, P: fmpq_poly, Q: fmpq_poly):
    """act(P/Q) for P/Q a function of f's free variable, exact in it where the pre-activation
    stays in one piece over the variable's whole range (else a Range)."""
    if roots_inside(Q, f.lo, f.hi) or Q(f.lo) == 0 or Q(f.hi) == 0:
        raise KernelError("a denominator vanishes on a free variable's range")
    try:
        if act != "identity":
            P, Q = _sigma(P, Q, f.lo, f.hi, act)
    except (_Split, _Sweep):  # it leaves a piece for some t: enclosed instead
        return _range_of(act, *range_on(P, Q, f.lo, f.hi))
    if P * Q.derivative() == P.derivative() * Q:  # t cancels
        return P(f.lo) / Q(f.lo) * ONE, ONE
    return Free(f.var, f.lo, f.hi, P, Q)


def _affine_range(bias: fmpq, terms: list, a: fmpq, b: fmpq) -> tuple[fmpq, fmpq]:
    lo = hi = bias
    for w, v in terms:
        vlo, vhi = (v.lo, v.hi) if isinstance(v, Range) else _span(v, a, b)
        lo, hi = lo + min(w * vlo, w * vhi), hi + max(w * vlo, w * vhi)
    return lo, hi


def _span(v, a: fmpq, b: fmpq) -> tuple[fmpq, fmpq]:
    """The exact range of an exact or free value on the cell [a, b]."""
    return range_on(v.P, v.Q, v.lo, v.hi) if isinstance(v, Free) else range_on(*v, a, b)


def _range_of(act: str, lo: fmpq, hi: fmpq) -> Range:
    """An enclosure of the activation's values on [lo, hi]."""
    if act == "identity":
        return Range(lo, hi)
    if act == "relu":
        return Range(max(lo, fmpq(0)), max(hi, fmpq(0)))
    ends = []
    if lo <= 0:  # x/(1 − x), increasing
        ends += [lo / (1 - lo), min(hi, fmpq(0)) / (1 - min(hi, fmpq(0)))]
    if hi > 0:  # the triangle wave of w·x: linear on one unit piece, else all of [0, 1]
        w = _frequency(act) if act.startswith("peuaf:") else fmpq(1)
        u, v = w * max(lo, fmpq(0)), w * hi
        n = u.p // u.q
        ends += [abs(u - n - n % 2), abs(v - n - n % 2)] if v <= n + 1 else [fmpq(0), fmpq(1)]
    return Range(min(ends), max(ends))


def _cells(layers: tuple, cells: list[tuple[fmpq, fmpq]], enclose: bool = False):
    """(a, b, output) for cells covering the given ones: a cell where a pre-activation leaves
    its piece is cut at the rational crossing points (at most MAX_CELLS)."""
    todo, done = list(reversed(cells)), 0
    while todo:
        a, b = todo.pop()
        done += 1
        if done > MAX_CELLS:
            raise Undecided(f"more than {MAX_CELLS} cells")
        try:
            out, = outputs_on(layers, a, b, enclose)
        except _Split as split:
            if not split.points:  # it leaves its piece between the ends looked at
                raise Undecided(f"no rational crossing found inside [{a}, {b}]") from None
            pts = [a] + split.points + [b]
            todo.extend(reversed(list(zip(pts, pts[1:]))))
            continue
        yield a, b, out


def rational_cells(layers: tuple, cells: list[tuple[fmpq, fmpq]]):
    """(a, b, P, Q) for cells covering the given ones, φ = P/Q on each."""
    for a, b, (P, Q) in _cells(layers, cells):
        yield a, b, P, Q


def enclosed_cells(layers: tuple, cells: list[tuple[fmpq, fmpq]]):
    """(a, b, lo, hi, exact) for cells covering the given ones, φ's values on each within
    [lo, hi]: its exact range where φ is a rational function of x there (``exact``), else a
    superset (see ``outputs_on``)."""
    for a, b, out in _cells(layers, cells, enclose=True):
        exact = isinstance(out, tuple)
        yield (a, b, out.lo, out.hi, False) if isinstance(out, Range) else (a, b, *_span(out, a, b), exact)


def at(layers: tuple, x: fmpq) -> fmpq:
    """φ(x) exactly (the cell [x, x])."""
    (P, Q), = outputs_on(layers, x, x)
    return P(x) / Q(x)


def difference(layers: tuple, cells: list[tuple[fmpq, fmpq]], value: fmpq_poly) -> fmpq:
    """max |φ − value| over exact points of the cells: 0 when φ = value on every cell (shown as
    rational functions), else the exact gap at a point where they differ."""
    for a, b, P, Q in rational_cells(layers, cells):
        gap = P - value * Q
        if gap != 0:  # two rational functions that differ differ at one of deg + 1 points
            n = gap.degree() + 1
            return max(abs(gap(t) / Q(t)) for t in (a + (b - a) * fmpq(i, n) for i in range(n + 1)))
    return fmpq(0)


def range_on(P: fmpq_poly, Q: fmpq_poly, a: fmpq, b: fmpq) -> tuple[fmpq, fmpq]:
    """The range of P/Q on [a, b]: exact when it has no critical point inside, else widened by
    its values at the critical points (every root of the slope's numerator that may be real
    and in [a, b], enclosed in arb), rounded outwards to rationals."""
    u, v = P(a) / Q(a), P(b) / Q(b)
    lo, hi = min(u, v), max(u, v)
    slope = P.derivative() * Q - P * Q.derivative()
    if slope == 0 or not roots_inside(slope, a, b):
        return lo, hi
    cell = arb((a + b) / 2, (b - a) / 2)
    num, den = (arb_poly([arb(c) for c in f.coeffs()]) for f in (P, Q))
    for z, _ in slope.complex_roots():
        if z.imag.contains(0) and z.real.overlaps(cell):
            y = num(z.real) / den(z.real)
            if not y.is_finite():
                raise Undecided(f"φ is not enclosed at a critical point inside [{a}, {b}]")
            lo, hi = min(lo, _dyadic(y.lower())), max(hi, _dyadic(y.upper()))
    return lo, hi


def _dyadic(x: arb) -> fmpq:
    m, e = x.mid().man_exp()
    return fmpq(int(m)) * fmpq(2) ** int(e)
