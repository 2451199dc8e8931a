"""Exact identities of several-input σ networks that are sums of ridge functions.

Where the hidden neurons fall into groups that share no weight, and each group's first layer
reads its input only through one direction v (every row a multiple of v), the network is
φ(x) = Σ_g R_g(v_g · x) + b with R_g a one-input σ network.  Over a box, u = v_g · x ranges over
an exact interval, on which the one-input cell analysis (:mod:`certify.kernel.sigma`) gives
R_g = P_g/Q_g.  When each R_g is one rational function on its whole interval, φ − value is the
rational function N/∏Q_g in x, and φ = value on the box exactly when N = 0 as a polynomial
(``fmpq_mpoly``); otherwise N is non-zero at a point of a small grid of the box, which gives the
exact gap there.  Lemma 16's product xy = 2M²(s((x+y)/2M) − s(x/2M) − s(y/2M)) is of this form.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from flint import fmpq, fmpq_mat, fmpq_mpoly_ctx

from certify.kernel import sigma
from certify.kernel.errors import KernelError, Undecided

MAX_GRID = 4096  # points looked at for a non-zero of N


@dataclass(frozen=True)
class _Part:
    """One group's layer, in the shape :func:`sigma.outputs_on` reads."""
    W: fmpq_mat
    b: fmpq_mat
    acts: tuple
    rows: int


def groups(layers: tuple) -> list[list[list[int]]]:
    """The hidden neurons in groups linked by non-zero weights: per group, its neurons in each
    hidden layer."""
    hidden = [(l, i) for l in range(len(layers) - 1) for i in range(layers[l].rows)]
    parent = {n: n for n in hidden}

    def root(n):
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for l in range(1, len(layers) - 1):
        for i in range(layers[l].rows):
            for j in range(layers[l - 1].rows):
                if layers[l].W[i, j] != 0:
                    parent[root((l, i))] = root((l - 1, j))
    out: dict = {}
    for l, i in hidden:
        out.setdefault(root((l, i)), [[] for _ in range(len(layers) - 1)])[l].append(i)
    return list(out.values())


def _direction(layer, rows: list[int], d: int) -> tuple[list[fmpq], list[fmpq]]:
    """v and the multiples s_i with row i = s_i v (Undecided if the rows span more)."""
    nonzero = [k for i in rows for k in range(d) if layer.W[i, k] != 0]
    if not nonzero:
        raise Undecided("a group of neurons does not read the input")
    k = nonzero[0]
    first = next(i for i in rows if layer.W[i, k] != 0)
    v = [layer.W[first, kk] for kk in range(d)]
    scales = [layer.W[i, k] / v[k] for i in rows]
    if any(layer.W[i, kk] != s * v[kk] for i, s in zip(rows, scales) for kk in range(d)):
        raise Undecided("a group of neurons reads the input in more than one direction")
    return v, scales


def _part(layer, rows: list[int], cols: list[int], first_column: list[fmpq] = None) -> _Part:
    W = fmpq_mat(len(rows), 1 if first_column else len(cols))
    b = fmpq_mat(len(rows), 1)
    for r, i in enumerate(rows):
        b[r, 0] = layer.b[i, 0]
        for c, j in enumerate(cols):
            W[r, c] = layer.W[i, j]
        if first_column:
            W[r, 0] = first_column[r]
    return _Part(W, b, tuple(layer.acts[i] for i in rows) if layer.acts else (), len(rows))


def difference(layers: tuple, box: list[tuple[fmpq, fmpq]], value) -> fmpq:
    """max |φ − value| over exact points of the box: 0 when φ = value there (shown as rational
    functions of x), else the exact gap at a point where they differ."""
    d, out = len(box), layers[-1]
    ctx = fmpq_mpoly_ctx.get(("x", d))
    x = ctx.gens()
    terms = []  # (P_g(u_g), Q_g(u_g)) as polynomials in x
    for group in groups(layers):
        if not group[-1]:
            continue  # it does not reach the output
        if any(not rows for rows in group):
            raise KernelError("a group of neurons skips a layer")
        v, scales = _direction(layers[0], group[0], d)
        parts = [_part(layers[0], group[0], [], scales)]
        parts += [_part(layers[l], group[l], group[l - 1]) for l in range(1, len(layers) - 1)]
        parts.append(_part(out, [0], group[-1]))
        parts[-1].b[0, 0] = 0  # the output's bias is added once, below
        lo = sum((min(c * a, c * b) for c, (a, b) in zip(v, box)), fmpq(0))
        hi = sum((max(c * a, c * b) for c, (a, b) in zip(v, box)), fmpq(0))
        cells = list(sigma.rational_cells(tuple(parts), [(lo, hi)]))
        _, _, P, Q = cells[0]
        if any(p * Q != P * q for _, _, p, q in cells[1:]):
            raise Undecided("a ridge function is not one rational function on the box")
        u = sum((c * xi for c, xi in zip(v, x)), ctx.from_dict({}))
        terms.append(tuple(_compose(f, u, ctx) for f in (P, Q)))
    denominator = ctx.from_dict({(0,) * d: 1})
    numerator = (out.b[0, 0] - value) * denominator
    for P, Q in terms:
        numerator, denominator = numerator * Q + P * denominator, denominator * Q
    if numerator == 0:
        return fmpq(0)
    # a non-zero polynomial of total degree n is non-zero somewhere on n + 1 points per axis
    n = numerator.total_degree() + 1
    if (n + 1) ** d > MAX_GRID:
        raise Undecided(f"φ differs from the claim, but no grid of {MAX_GRID} points is searched")
    axes = [[a + (b - a) * fmpq(i, n) for i in range(n + 1)] for a, b in box]
    for p in product(*axes):
        gap = numerator(*p)
        if gap != 0:
            return abs(gap / denominator(*p))
    raise KernelError("no point of the grid shows the non-zero difference")  # cannot happen


def _compose(f, u, ctx):
    """The polynomial f(u) for a univariate f and a polynomial u in x (Horner)."""
    acc = ctx.from_dict({})
    for c in reversed(f.coeffs()):
        acc = acc * u + c
    return acc
