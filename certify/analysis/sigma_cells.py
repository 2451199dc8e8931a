"""Exact cell analysis of 1-D σ (EUAF) networks, and the certification methods of
``proofs/fixed_sigma/claims.toml``.

σ is piecewise rational: the Möbius map y/(1−y) on (−∞, 0] and an affine map on every [n, n+1].
On a closed interval where every neuron's pre-activation stays in one piece, a network with
rational weights is an exact rational function of its input.  :func:`cells` splits [lo, hi] into
such cells: it propagates each neuron as an exact rational function P/Q (python-flint
``fmpq_poly``) and, where a pre-activation crosses a piece end c inside the cell, splits at the
roots of P − cQ — which must be rational (found by ``fmpq_poly.roots``; a Sturm count proves no
irrational root is missed, else the analysis stops and the verdict is INCONCLUSIVE).  No sampling
and no floats are involved: gadget identities are equalities of rational functions on each cell,
and sup errors are bounded from exact ranges of the (monotone) pieces and rigorous enclosures of
the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from flint import arb, fmpq, fmpq_poly

from certify.method import AnalysisFailed
from constructive.activations import lookup
from constructive.activations.euaf import peuaf
from constructive.errors import UserError
from constructive.evaluate import NodeInterpreter, evaluate
from constructive.ir import Activation, Affine, Gadget, Network, Node, walk
from constructive.numbers import as_fmpq
from constructive.targets import arb_to_fmpq_bounds

X = fmpq_poly([0, 1])
ONE = fmpq_poly([1])


class _Split(Exception):
    def __init__(self, points: list[fmpq]) -> None:
        super().__init__(points)
        self.points = points


# ------------------------------------------------------------------------------------------
# rational functions


@dataclass(frozen=True)
class Rat:
    """P/Q with Q non-zero on the cell under analysis."""

    P: fmpq_poly
    Q: fmpq_poly

    @staticmethod
    def const(c: fmpq) -> "Rat":
        return Rat(fmpq_poly([c]), ONE)

    def norm(self) -> "Rat":
        if self.Q.degree() <= 0:
            q = self.Q[0]
            return Rat(self.P / q, ONE) if q != 1 else self
        g = self.P.gcd(self.Q)
        P, Q = (self.P / g, self.Q / g) if g.degree() > 0 else (self.P, self.Q)
        # fmpq_poly division by a polynomial is exact here (g divides both)
        lc = Q.leading_coefficient()
        return Rat(P / lc, Q / lc)

    def __call__(self, x: fmpq) -> fmpq:
        return self.P(x) / self.Q(x)

    def is_const(self) -> bool:
        return self.P.degree() <= 0 and self.Q.degree() <= 0

    def equals(self, other: "Rat") -> bool:
        return self.P * other.Q == other.P * self.Q


def _div(p: fmpq_poly, q: fmpq_poly) -> fmpq_poly:
    quo, rem = divmod(p, q)
    if not rem.is_zero():
        raise ArithmeticError("inexact polynomial division")
    return quo


def combine(coeffs: Sequence[fmpq], terms: Sequence[Rat], bias: fmpq) -> Rat:
    """Σ c_j r_j + bias, exactly."""
    P, Q = fmpq_poly([bias]), ONE
    for c, r in zip(coeffs, terms):
        if c == 0 or r.P.is_zero():
            continue
        if r.Q == Q:
            P = P + c * r.P
        elif r.Q.degree() <= 0:
            P = P + c * r.P * Q / r.Q[0]
        else:
            g = Q.gcd(r.Q)
            a, b = _div(r.Q, g), _div(Q, g)
            P = P * a + c * r.P * b
            Q = Q * a
    return Rat(P, Q).norm()


# ------------------------------------------------------------------------------------------
# roots


def _sturm_count(p: fmpq_poly, a: fmpq, b: fmpq) -> int:
    """Distinct real roots of p in the open interval (a, b)."""
    if p.degree() <= 0:
        return 0
    g = p.gcd(p.derivative())
    if g.degree() > 0:
        p = _div(p, g)
    seq = [p, p.derivative()]
    while seq[-1].degree() > 0:
        r = seq[-2] % seq[-1]
        if r.is_zero():
            break
        seq.append(-r)

    def changes(x: fmpq) -> int:
        vals = [s(x) for s in seq]
        vals = [v for v in vals if v != 0]
        return sum(1 for u, v in zip(vals, vals[1:]) if (u < 0) != (v < 0))

    n = changes(a) - changes(b)  # roots in (a, b]
    if p(b) == 0:
        n -= 1
    return n


def interior_roots(p: fmpq_poly, a: fmpq, b: fmpq) -> list[fmpq]:
    """The roots of p in (a, b); AnalysisFailed if one of them is irrational."""
    if p.is_zero() or p.degree() <= 0:
        return []
    if p.degree() == 1:
        r = -p[0] / p[1]
        return [r] if a < r < b else []
    rat = sorted({r for r, _ in p.roots() if a < r < b})
    if _sturm_count(p, a, b) != len(rat):
        raise AnalysisFailed(f"a piece end of σ is crossed at an irrational point in ({a}, {b})")
    return rat


# ------------------------------------------------------------------------------------------
# the pieces of the activations


def _apply_piece(name: str, params: dict, r: Rat, a: fmpq, b: fmpq) -> Rat:
    """The activation applied to r on the cell [a, b], or _Split if r leaves one piece."""
    if name == "identity":
        return r
    if r.is_const():
        c = r.P[0] / r.Q[0] if not r.P.is_zero() else fmpq(0)
        fn = _function(name, params)
        return Rat.const(fn.exact(c))
    m = (a + b) / 2
    w = as_fmpq(params.get("w", 1)) if name == "peuaf" else fmpq(1)
    v = r(m)
    if v < 0 or name == "relu":
        ends = [fmpq(0)]
        n = None
    else:
        n = int((v * w).floor())
        ends = [fmpq(n) / w, fmpq(n + 1) / w]
    splits: list[fmpq] = []
    for c in ends:
        splits += interior_roots(r.P - c * r.Q, a, b)
    if splits:
        raise _Split(sorted(set(splits)))
    if name == "relu":
        return Rat.const(fmpq(0)) if v < 0 else r
    if v < 0:
        return Rat(r.P, r.Q - r.P).norm()  # y/(1-y) on y <= 0
    # sigma_1(wy) on wy in [n, n+1]: wy - n for even n, n + 1 - wy for odd n
    if n % 2 == 0:
        return Rat(w * r.P - n * r.Q, r.Q).norm()
    return Rat((n + 1) * r.Q - w * r.P, r.Q).norm()


def _function(name: str, params: dict):

    if name == "peuaf":

        return peuaf(params.get("w", 1))
    return lookup(name)


class _Symbolic(NodeInterpreter):
    """Each value as an exact rational function of x on the interval [a, b], where every σ
    neuron has one piece (a change of piece inside it raises :class:`_Split`)."""

    def __init__(self, a: fmpq, b: fmpq) -> None:
        self.a, self.b = a, b

    def affine(self, node: Affine, vec: list[Rat]) -> list[Rat]:
        W, bias = node.W, node.b
        return [combine([W[i, j] for j in range(W.ncols())], vec, bias[i, 0])
                for i in range(W.nrows())]

    def activation(self, node: Activation, vec: list[Rat]) -> list[Rat]:
        out = []
        for f, r in zip(node.functions, vec):
            if isinstance(f, Network):
                raise AnalysisFailed("nested activations are not supported by the σ cell analysis")
            out.append(_apply_piece(f.name, dict(f.params), r, self.a, self.b))
        return out


def _symbolic(node: Node, vec: list[Rat], a: fmpq, b: fmpq) -> list[Rat]:
    return _Symbolic(a, b).run(node, vec)


@dataclass
class Cell:
    lo: fmpq
    hi: fmpq
    outputs: list  # list[Rat]


def cells(net: Node, lo: Any, hi: Any, max_cells: int = 200000) -> list[Cell]:
    """Closed cells covering [lo, hi] on each of which every output of ``net`` is one exact
    rational function (each neuron inside one piece of its activation)."""
    if net.in_dim != 1:
        raise AnalysisFailed("the cell analysis is one-dimensional")
    lo, hi = as_fmpq(lo), as_fmpq(hi)
    if lo > hi:
        raise UserError(f"interval [{lo}, {hi}] is empty")
    if lo == hi:

        vals = evaluate(net, [[lo]])
        return [Cell(lo, hi, [Rat.const(row[0]) for row in vals])]
    out: list[Cell] = []
    stack = [(lo, hi)]
    while stack:
        a, b = stack.pop()
        try:
            outs = _symbolic(net, [Rat(X, ONE)], a, b)
        except _Split as s:
            pts = [a] + s.points + [b]
            stack.extend(reversed(list(zip(pts, pts[1:]))))
            if len(out) + len(stack) > max_cells:
                raise AnalysisFailed(f"more than {max_cells} cells") from None
            continue
        out.append(Cell(a, b, outs))
    out.sort(key=lambda c: c.lo)
    return out


# ------------------------------------------------------------------------------------------
# identities and ranges


def identity_on(net: Node, reference: Rat, lo: Any, hi: Any) -> tuple[bool, int]:
    """Whether the network's (single) output equals the rational function ``reference`` on
    all of [lo, hi], exactly; also the number of cells."""
    cs = cells(net, lo, hi)
    return all(c.outputs[0].equals(reference) for c in cs), len(cs)


def monotone_range(r: Rat, a: fmpq, b: fmpq) -> Optional[tuple[fmpq, fmpq]]:
    """Exact range of r on [a, b] when r is monotone there (no critical point inside)."""
    if r.is_const():
        c = r(a)
        return c, c
    num = r.P.derivative() * r.Q - r.P * r.Q.derivative()
    if num.is_zero():
        c = r(a)
        return c, c
    try:
        if interior_roots(num, a, b):
            return None
    except AnalysisFailed:
        return None
    u, v = r(a), r(b)
    return (u, v) if u <= v else (v, u)


def output_range(net: Node, lo: Any, hi: Any) -> tuple[fmpq, fmpq]:
    """Exact min and max of the network's output over [lo, hi]."""
    best: Optional[tuple[fmpq, fmpq]] = None
    for c in cells(net, lo, hi):
        rng = _range_rec(c.outputs[0], c.lo, c.hi, 0)
        best = rng if best is None else (min(best[0], rng[0]), max(best[1], rng[1]))
    assert best is not None
    return best


def _range_rec(r: Rat, a: fmpq, b: fmpq, depth: int) -> tuple[fmpq, fmpq]:
    rng = monotone_range(r, a, b)
    if rng is not None:
        return rng
    num = r.P.derivative() * r.Q - r.P * r.Q.derivative()
    crit = sorted({t for t, _ in num.roots() if a < t < b})
    if crit and _sturm_count(num, a, b) == len(crit):
        vals = [r(t) for t in [a] + crit + [b]]
        return min(vals), max(vals)
    raise AnalysisFailed("range of a non-monotone piece with irrational critical points")


# ------------------------------------------------------------------------------------------
# sup error against a target


def sup_error(net: Node, target: Any, lo: fmpq, hi: fmpq, to_unit: Callable[[fmpq], fmpq],
              goal: Optional[fmpq] = None, max_depth: int = 10, cell_list=None,
              max_cells: int = 200000, leaves: Optional[set] = None):
    """Rigorous (lower, upper) of sup |F − φ| over [lo, hi], F(x) = f(to_unit(x)).

    ``to_unit`` is an increasing affine map into [0, 1] (the target's cube).  On each exact cell
    φ = P/Q; where it is monotone its exact range on a sub-interval and the target's rigorous
    enclosure bound the error; sub-intervals are bisected while the bound exceeds ``goal``.
    Returns (lower, upper, witness x, number of cells, worst cell); ``leaves`` collects the ends
    of the final sub-intervals (the kernel's cuts).
    """
    cs = cell_list if cell_list is not None else cells(net, lo, hi, max_cells)
    upper = fmpq(0)
    lower = fmpq(0)
    witness = None
    for c in cs:
        r = c.outputs[0]
        work = [(c.lo, c.hi, 0)]
        while work:
            a, b, d = work.pop()
            rng = monotone_range(r, a, b) if a < b else (r(a), r(a))
            flo, fhi = target.enclose([(to_unit(a), to_unit(b))])
            if rng is None:
                ub = None
            else:
                ub = max(fhi - rng[0], rng[1] - flo)
            if (ub is None or (goal is not None and ub >= goal)) and d < max_depth and a < b:
                m = (a + b) / 2
                work += [(a, m, d + 1), (m, b, d + 1)]
                continue
            if ub is None:
                raise AnalysisFailed(f"non-monotone piece on [{a}, {b}]")
            upper = max(upper, ub)
            if leaves is not None:
                leaves.update((a, b))
            m = (a + b) / 2
            fb = target.ball([to_unit(m)])

            fl, fh = arb_to_fmpq_bounds(fb)
            phi = r(m)
            lb = max(phi - fh, fl - phi, fmpq(0))
            if lb > lower:
                lower, witness = lb, m
    return lower, upper, witness, len(cs)


# ------------------------------------------------------------------------------------------
# helpers of the certification methods


def unknown_upper() -> arb:
    """The upper bound of an analysis that could not finish: nothing is shown (INCONCLUSIVE
    unless an exact witness exceeds the bound)."""
    return arb("inf")


def exact_lower(net: Node, target: Any, points: Sequence[fmpq],
                to_unit: Callable[[fmpq], fmpq]) -> tuple[fmpq, Optional[fmpq]]:
    """A rigorous lower bound of sup|F − φ| from exact evaluation of ``net`` itself at
    ``points`` (F(x) = f(to_unit(x))), and the point where it is reached."""

    if net.in_dim != 1 or net.out_dim != 1 or not points:
        return fmpq(0), None
    # small batches: a batch shares one denominator, whose size (and gcd cost) grows with it
    pts = list(points)
    vals = [v for i in range(0, len(pts), 16) for v in evaluate(net, [pts[i:i + 16]])[0]]
    lower, wit = fmpq(0), None
    for x, v in zip(points, vals):
        fl, fh = arb_to_fmpq_bounds(target.ball([to_unit(x)]))
        e = max(v - fh, fl - v, fmpq(0))
        if e > lower:
            lower, wit = e, x
    return lower, wit


def sole_gadget(net: Node, name: str) -> Optional[Gadget]:
    """The gadget ``name`` when ``net`` is exactly that one gadget (nothing before or after it)."""
    if isinstance(net, Network) and len(net.nodes) == 1:
        g = net.nodes[0]
        if isinstance(g, Gadget) and g.name == name:
            return g
    return None


def is_affine(node: Any, W: Sequence[Sequence[Any]], b: Sequence[Any]) -> bool:
    """Whether ``node`` is exactly the affine map x ↦ Wx + b."""
    rows, cols = len(W), len(W[0])
    return (isinstance(node, Affine) and node.W.nrows() == rows and node.W.ncols() == cols
            and all(node.W[i, j] == W[i][j] for i in range(rows) for j in range(cols))
            and all(node.b[i, 0] == b[i] for i in range(rows)))


def is_scalar_affine(node: Any) -> bool:
    return isinstance(node, Affine) and node.W.nrows() == 1 and node.W.ncols() == 1


def gadget_param(g: Gadget, key: str) -> fmpq:
    value = dict(g.params).get(key)
    if value is None:
        raise AnalysisFailed(f"the {g.name} gadget carries no parameter {key}")
    return as_fmpq(value)


# ------------------------------------------------------------------------------------------
# certification methods (signature f(thm, params, target, net) -> ErrorReport)


def find_gadgets(node: Node, name: str) -> list:

    return [g for g in walk(node) if isinstance(g, Gadget) and g.name == name]


def half_layers(body: Any) -> Optional[tuple[Network, Affine, Affine]]:
    """(A₁σA₀, A₂, A₃) of a Thm 14 body A₀ σ A₁ σ A₂ σ A₃, each node checked: the last two
    activations must be σ (or PEUAF: the same Möbius piece below 0, values in [0, 1] above)."""
    nodes = body.nodes if isinstance(body, Network) else ()
    if len(nodes) != 7:
        return None
    sig_ok = all(isinstance(s, Activation) and len(s.functions) == 1
                 and getattr(s.functions[0], "name", None) in ("euaf", "peuaf")
                 for s in (nodes[3], nodes[5]))
    if not (sig_ok and isinstance(nodes[2], Affine) and nodes[2].W.nrows() == 1
            and is_scalar_affine(nodes[4]) and is_scalar_affine(nodes[6])):
        return None
    return Network(tuple(nodes[:3])), nodes[4], nodes[6]


def half_range(body: Network, lo: fmpq, hi: fmpq) -> Optional[tuple[fmpq, fmpq]]:
    """Range of a Thm 14 network 2Mσ(w₀ h + w₀ + 2m₀) − M, h = σ(A₁(σ(A₀x))), over [lo, hi],
    by exact interval reasoning: the exact range of A₁σA₀ (exact cells), then the monotone
    softsign, then the affine map; if the last argument is ≥ 0, σ of it lies in [0, 1].
    None when the body is not of that shape or an interval step fails."""
    layers = half_layers(body)
    if layers is None:
        return None
    prefix, A2, A3 = layers
    plo, phi = output_range(prefix, lo, hi)
    if phi > 0:
        return None
    h = (plo / (1 - plo), phi / (1 - phi))
    w, c = A2.W[0, 0], A2.b[0, 0]
    arg_lo = min(w * h[0], w * h[1]) + c
    if arg_lo < 0:
        return None
    s, t = A3.W[0, 0], A3.b[0, 0]
    ends = (t, s + t)
    return min(ends), max(ends)


def target_sup_bound(target: Any) -> fmpq:
    """A rigorous lower bound of ‖f‖∞ on [0, 1] (from exact points)."""

    best = fmpq(0)
    for j in range(65):
        lo, hi = arb_to_fmpq_bounds(target.ball([fmpq(j, 64)]))
        best = max(best, lo, -hi)
    return best


# a Thm 14/15 network is a few exact cells on each half interval; a broken one (a kink moved into
# a half, where the huge w₀ makes σ oscillate) is stopped in seconds instead of minutes
CELLS_PER_PIECE = 4096


def half_intervals_error(net: Node, target: Any, K: int, eps: fmpq,
                         max_cells: int = CELLS_PER_PIECE) -> tuple:
    """(lower, upper, witness, cells) of the sup error over the half-intervals
    I_k = [(2k−2)/2K, (2k−1)/2K], k = 1..K, by exact cells (at most ``max_cells`` per I_k)."""
    lower, upper, witness, ncells = fmpq(0), fmpq(0), None, 0
    for k in range(1, K + 1):
        lo, hi = fmpq(2 * k - 2, 2 * K), fmpq(2 * k - 1, 2 * K)
        lb, ub, wit, n = sup_error(net, target, lo, hi, lambda x: x, goal=eps, max_cells=max_cells)
        ncells += n
        upper = max(upper, ub)
        if lb > lower:
            lower, witness = lb, wit
    return lower, upper, witness, ncells
