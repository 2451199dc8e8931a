"""Exact Gram matrices of shallow-network features on D = [−1, 1] (Zhang, Zhao, Zhong, Zhou,
arXiv 2306.17301, p. 8 and Appendix E).

A feature is one hidden neuron of the network as built, x ↦ s(w x + c) with w = ±1: its
*breakpoint* is t = −c/w, and the neuron is s(w (x − t)).  The Gram matrix is
G_ij = ∫_{−1}^{1} φ_i φ_j dx.  Two independent exact routes are kept:

* :func:`integral_gram` integrates the product of two piecewise polynomials exactly (fmpq_poly
  on each piece between the breakpoints), knowing no closed form;
* :func:`closed_form_gram` evaluates the paper's formulas: eq. (4) for ReLU, the block kernel of
  App. E.1 for random signs, G_α of App. E.2 for LeakyReLU, and for ReLU^m/m! the binomial
  expansion of ∫_0^L (u + s)^m u^m du (the project's; the paper gives no closed form).

App. E.1 writes its block kernel in the breakpoints (G₋₋(x, y) = G₊₊(−x, −y) is the kernel of
σ(−(z − x)) σ(−(z − y))), which is why everything here is indexed by t, not by the printed b.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb, factorial

from flint import fmpq, fmpq_mat, fmpq_poly

from constructive.errors import UserError
from constructive.ir import Activation, Affine, Network
from constructive.numbers import as_fmpq

ONE = fmpq(1)


@dataclass(frozen=True)
class Features:
    """The hidden layer of a shallow network: signs w_i ∈ {±1}, breakpoints t_i, and the
    activation (``relu``, ``leaky_relu`` with ``alpha``, or ReLU^m/m! with ``power`` m)."""

    signs: tuple
    breakpoints: tuple
    activation: str = "relu"
    alpha: fmpq = fmpq(0)
    power: int = 1

    @property
    def n(self) -> int:
        return len(self.breakpoints)


def features_of(net: Network, power: int = 1) -> Features:
    """Read the features off the network as built: its first affine map and activation."""
    first, act = net.nodes[0], net.nodes[1]
    if not isinstance(first, Affine) or not isinstance(act, Activation) or first.in_dim != 1:
        raise UserError("the network is not a one-input shallow network (affine, activation, …)")
    names = {f.name for f in act.functions}
    if len(names) != 1:
        raise UserError(f"the hidden layer mixes activations {sorted(names)}")
    name = names.pop()
    if name not in ("relu", "leaky_relu"):
        raise UserError(f"activation {name!r}: a Gram matrix is computed for relu and leaky_relu")
    alpha = fmpq(0)
    if name == "leaky_relu":
        alpha = as_fmpq(dict(act.functions[0].params)["alpha"])
    signs, points = [], []
    for i in range(first.out_dim):
        w, c = first.W[i, 0], first.b[i, 0]
        if w not in (ONE, -ONE):
            raise UserError(f"neuron {i} has input weight {w}; the kernels here need w = ±1")
        signs.append(int(w))
        points.append(-c / w)
    return Features(tuple(signs), tuple(points), name, alpha, power)


# ------------------------------------------------------------------------------------------
# route 1: exact integration of piecewise polynomials


def _piece(f: Features, i: int, lo: fmpq, hi: fmpq) -> fmpq_poly:
    """Feature i as a polynomial in x on [lo, hi], where it has no breakpoint inside."""
    w, t = f.signs[i], f.breakpoints[i]
    mid = (lo + hi) / 2
    inner = fmpq_poly([-w * t, w])  # w (x − t)
    if w * (mid - t) > 0:
        return inner ** f.power / factorial(f.power)
    if f.activation == "leaky_relu":
        return f.alpha * inner
    return fmpq_poly([0])


def integral_entry(f: Features, i: int, j: int) -> fmpq:
    cuts = sorted({fmpq(-1), fmpq(1)} | {t for t in (f.breakpoints[i], f.breakpoints[j])
                                          if -1 < t < 1})
    total = fmpq(0)
    for lo, hi in zip(cuts, cuts[1:]):
        prim = (_piece(f, i, lo, hi) * _piece(f, j, lo, hi)).integral()
        total += prim(hi) - prim(lo)
    return total


def integral_gram(f: Features) -> fmpq_mat:
    n = f.n
    G = fmpq_mat(n, n)
    for i in range(n):
        for j in range(i, n):
            G[i, j] = G[j, i] = integral_entry(f, i, j)
    return G


# ------------------------------------------------------------------------------------------
# route 2: the paper's closed forms


def relu_kernel(x: fmpq, y: fmpq) -> fmpq:
    """Eq. (4), p. 8: G(x, y) = (2 − x − y − |x − y|)²(2 − x − y + 2|x − y|)/24 on D²."""
    d = abs(x - y)
    return (2 - x - y - d) ** 2 * (2 - x - y + 2 * d) / 24


def relu_kernel_expanded(x: fmpq, y: fmpq) -> fmpq:
    """The second form of eq. (4): |x − y|³/12 + (2 − x − y)(2(1 − x)(1 − y) − (x − y)²)/12."""
    return abs(x - y) ** 3 / 12 + (2 - x - y) * (2 * (1 - x) * (1 - y) - (x - y) ** 2) / 12


def signed_block_kernel(wx: int, wy: int, x: fmpq, y: fmpq) -> fmpq:
    """App. E.1 (p. 53) in breakpoints: G₊₊ = G, G₋₋(x, y) = G(−x, −y),
    G₊₋ = [|x − y| − (x − y)]³/48, G₋₊ = [|x − y| + (x − y)]³/48."""
    if wx == 1 and wy == 1:
        return relu_kernel(x, y)
    if wx == -1 and wy == -1:
        return relu_kernel(-x, -y)
    d = abs(x - y)
    return (d - (x - y)) ** 3 / 48 if wx == 1 else (d + (x - y)) ** 3 / 48


def symmetrised_kernel(x: fmpq, y: fmpq) -> fmpq:
    """G_φ of App. E.1: (|x − y|³ + |x + y|³ + 4 + 12xy − 6(x + y) − 6xy(x + y))/12, which the
    paper states equals G₊₊(x, y) + G₊₋(x, −y)."""
    return (abs(x - y) ** 3 + abs(x + y) ** 3 + 4 + 12 * x * y - 6 * (x + y)
            - 6 * x * y * (x + y)) / 12


def leaky_kernel(alpha: fmpq, x: fmpq, y: fmpq) -> fmpq:
    """App. E.2 (p. 54): G_α(x, y) = G(x, y) + α² G(−x, −y) − (α/6)|x − y|³."""
    return relu_kernel(x, y) + alpha ** 2 * relu_kernel(-x, -y) - alpha * abs(x - y) ** 3 / 6


def relu_power_kernel(m: int, x: fmpq, y: fmpq) -> fmpq:
    """ReLU^m/m! (Remark 14): with s = |x − y| and L = 1 − max(x, y) ≥ 0,
    ∫_0^L (u + s)^m u^m du / m!² = Σ_k C(m, k) s^(m−k) L^(m+k+1) / ((m + k + 1) m!²)."""
    s, L = abs(x - y), 1 - max(x, y)
    if L <= 0:
        return fmpq(0)
    total = sum((comb(m, k) * s ** (m - k) * L ** (m + k + 1) / (m + k + 1) for k in range(m + 1)),
                fmpq(0))
    return total / factorial(m) ** 2


def closed_form_entry(f: Features, i: int, j: int) -> fmpq:
    x, y = f.breakpoints[i], f.breakpoints[j]
    for t in (x, y):
        if not -1 <= t <= 1:
            raise UserError(f"breakpoint {t} outside D = [-1, 1], where the closed forms hold")
    if f.activation == "leaky_relu":
        if set(f.signs) != {1}:
            raise UserError("the LeakyReLU kernel G_alpha is stated for w_i = +1")
        return leaky_kernel(f.alpha, x, y)
    if f.power != 1:
        if set(f.signs) != {1}:
            raise UserError("the ReLU^m kernel is computed for w_i = +1")
        return relu_power_kernel(f.power, x, y)
    return signed_block_kernel(f.signs[i], f.signs[j], x, y)


def closed_form_gram(f: Features) -> fmpq_mat:
    n = f.n
    G = fmpq_mat(n, n)
    for i in range(n):
        for j in range(i, n):
            G[i, j] = G[j, i] = closed_form_entry(f, i, j)
    return G


def integer_relu_gram(numerators: list[int], denominator: int) -> list[list[int]]:
    """24 D³ · G for ReLU biases b_i = p_i / D, as Python integers (eq. (4) scaled by D per
    factor), the fast exact route the spectrum certifier uses for n in the hundreds."""
    D = denominator
    out = []
    for p in numerators:
        row = []
        for q in numerators:
            d = abs(p - q)
            row.append((2 * D - p - q - d) ** 2 * (2 * D - p - q + 2 * d))
        out.append(row)
    return out
