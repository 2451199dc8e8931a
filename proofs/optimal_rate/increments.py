"""Lemmas 4.6 and 4.7 of the optimal-rate paper (txt p. 31–34), with M = N²L, n = ⌊log₃(N+2)⌋.

Lemma 4.6 (index → partial bit sums): given bits θ_{m,k}, m < M, k < Ln, a network of width
≤ 6N+14 and depth ≤ 5L+4 with φ(m, k) = Σ_{j≤k} θ_{m,j}.  Proof: y_m = bin0.θ_{m,0}…θ_{m,Ln−1}
is fitted by Lemma 4.1 on the M+1 samples (m, y_m), (M, 0) (N1 = N, N2 = NL−1, widthvec
[2N, 2NL−1]), deepened by Lemma 4.2 to width ≤ 4N+2, depth L+1, and (y_m, k+1) is fed to
Lemma 4.5 (``partial_bitsum_deep_network``, on the corrected Lemma 4.4).

Lemma 4.7 (bounded-increment fitting): given y_{m,k} ≥ 0 with |y_{m,k} − y_{m,k−1}| ≤ ε, a
network of width ≤ 16N+30 and depth ≤ 5L+7 with φ(m, k) = ε·a_{m,k}, a = ⌊y/ε⌋, and
0 ≤ φ ≤ y_max on all of R².  Proof: b_{m,k} = a_{m,k} − a_{m,k−1} ∈ {−1, 0, 1} (b_{m,0} = 0)
splits as c − d with c, d ∈ {0, 1}; ψ1(m) = a_{m,0} by Lemmas 4.1 + 4.2 on (m, a_{m,0}), (M, 0);
ψ2, ψ3 = Lemma 4.6 for c and d; φ1 = ε(ψ1 + ψ2 − ψ3) and φ = min{σ(φ1), y_max}.  The paper
writes max{σ(φ1), y_max} (erratum E2); ``printed=True`` builds that.

Layering (the project's): the carried k is σ(k) (k ≥ 0 on the domain), ψ1 is padded to the depth
of ψ2, ψ3 by identity layers (σ(t), σ(−t)), and the clip is min{s, y_max} = s − σ(s − y_max)
with s = σ(φ1): width 2, depth 2.  Measured: Lemma 4.6 depth (L+1) + 3L = 4L+1, Lemma 4.7
depth 4L+3; widths within the stated ones (see the tests).
"""

from __future__ import annotations

import random
from typing import Any, Sequence

from flint import fmpq

from constructive.errors import UserError
from constructive.ir import Network, activation, affine, identity_layers, network, parallel, stack
from constructive.numbers import as_fmpq
from proofs.optimal_rate.bitsums import partial_bitsum_deep_network
from proofs.optimal_rate.deepen import deepen
from proofs.optimal_rate.interpolation import interpolation_network


def bits_per_block(N: int) -> int:
    """n = ⌊log₃(N+2)⌋, in integers."""
    n = 0
    while 3 ** (n + 1) <= N + 2:
        n += 1
    return n


def sizes(N: int, L: int) -> tuple[int, int, int]:
    """(M, n, L̂) = (N²L, ⌊log₃(N+2)⌋, L·n)."""
    n = bits_per_block(N)
    return N * N * L, n, L * n


def check_sizes(N: int, L: int) -> None:
    for name, v in (("N", N), ("L", L)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise UserError(f"{name} = {v!r}: the optimal-rate constructions need an integer >= 1")


def fit_deep(xs: Sequence[Any], ys: Sequence[Any], N1: int, N2: int, first: int,
             depth_L: int) -> Network:
    """Lemma 4.1 through the samples, then Lemma 4.2: the widthvec [2N1, 2N2+1] network is
    padded with dead units (zero weights and bias) to widthvec [first, first·depth_L] and
    deepened to width ≤ 2·first + 2, depth depth_L + 1.  One input, one output."""
    if N2 == 0 and N1 == 1:  # interpolation_network needs N2 ≥ 1; two samples, widthvec [2, 1]
        (x0, x1), (y0, y1) = [as_fmpq(x) for x in xs], [as_fmpq(y) for y in ys]
        s = (y1 - y0) / (x1 - x0)  # σ(y0 + s σ(x − x0) − s σ(x − x1)) ≥ 0 is y0 … y1 on [x0, x1]
        shallow = network(affine([[1], [1]], [-x0, -x1]), activation(2),
                          affine([[s, -s]], [y0]), activation(1), affine([[1]], [0])).nodes
    else:
        shallow = interpolation_network(list(xs), list(ys), N1, N2).nodes
    A1, A2, A3 = shallow[0], shallow[2], shallow[4]
    rows1, rows2 = A1.W.nrows(), A2.W.nrows()
    if rows1 > first or rows2 > first * depth_L:
        raise ValueError("fit_deep: the padded widthvec is smaller than Lemma 4.1's")
    zero = fmpq(0)
    W1 = [[A1.W[i, 0]] for i in range(rows1)] + [[zero]] * (first - rows1)
    b1 = [A1.b[i, 0] for i in range(rows1)] + [zero] * (first - rows1)
    W2 = [[A2.W[i, j] for j in range(rows1)] + [zero] * (first - rows1) for i in range(rows2)]
    W2 += [[zero] * first for _ in range(first * depth_L - rows2)]
    b2 = [A2.b[i, 0] for i in range(rows2)] + [zero] * (first * depth_L - rows2)
    W3 = [[A3.W[0, j] for j in range(rows2)] + [zero] * (first * depth_L - rows2)]
    b3 = [A3.b[0, 0]]
    return deepen(W1, b1, W2, b2, W3, b3, depth_L)


def _row_fit(values: Sequence[Any], N: int, L: int) -> Network:
    """Lemmas 4.1 + 4.2 on (m, values[m]), m < M, and (M, 0): width ≤ 4N+2, depth L+1."""
    M = len(values)
    return fit_deep(list(range(M + 1)), list(values) + [0], N, N * L - 1, 2 * N, L)


# ------------------------------------------------------------------------------------------
# Lemma 4.6


def random_bits(N: int, L: int, seed: int) -> list[list[int]]:
    """The seeded bit law: θ_{m,k} uniform in {0, 1} (``random.Random(seed)``, row-major)."""
    M, _, Lhat = sizes(N, L)
    rng = random.Random(seed)
    return [[rng.randint(0, 1) for _ in range(Lhat)] for _ in range(M)]


def index_bitsum_network(bits: Sequence[Sequence[int]], N: int, L: int) -> Network:
    """Lemma 4.6's network on inputs (m, k): Σ_{j≤k} bits[m][j] for m < M, k < Ln.
    ``bits`` is an M × Ln table of 0/1."""
    check_sizes(N, L)
    M, n, Lhat = sizes(N, L)
    if len(bits) != M or any(len(r) != Lhat for r in bits) or \
            any(b not in (0, 1) for r in bits for b in r):
        raise UserError(f"Lemma 4.6 needs an {M} x {Lhat} table of bits 0/1 (M = N^2 L, Ln)")
    ys = [sum((fmpq(b, 2 ** (j + 1)) for j, b in enumerate(r)), fmpq(0)) for r in bits]
    psi = _row_fit(ys, N, L)
    carry_k = identity_layers(1, psi.depth, nonnegative=True)
    shift = affine([[1, 0], [0, 1]], [0, 1])  # (y_m, k) ↦ (y_m, k+1)
    return network(parallel(psi, carry_k), shift, partial_bitsum_deep_network(n, L))


def build_index_bitsum(params: dict, target: Any = None) -> Network:
    N, L, seed = int(params["N"]), int(params["L"]), int(params["seed"])
    return index_bitsum_network(random_bits(N, L, seed), N, L)


# ------------------------------------------------------------------------------------------
# Lemma 4.7


def increment_samples(count: int, eps: Any, seed: int) -> list[fmpq]:
    """The seeded increment law: y_0 = c/e with c uniform in 0..9, e in 1..9; then
    y_j = max{0, y_{j−1} + ε·p/q} with q uniform in 1..9, p uniform in −q..q
    (``random.Random(seed)``, drawn in that order).  So y ≥ 0 and |y_j − y_{j−1}| ≤ ε."""
    eps = as_fmpq(eps)
    rng = random.Random(seed)
    ys = [fmpq(rng.randint(0, 9), rng.randint(1, 9))]
    while len(ys) < count:
        q = rng.randint(1, 9)
        ys.append(max(fmpq(0), ys[-1] + eps * fmpq(rng.randint(-q, q), q)))
    return ys[:count]


# the data of erratum E2 (note §6): y = (0, 1, 2), ε = 1; the printed max gives φ(0) = 2
ERRATUM_E2_DATA = (fmpq(0), fmpq(1), fmpq(2))


def floor_multiples(ys: Sequence[Any], eps: Any) -> list[fmpq]:
    """ε⌊y/ε⌋ for every y, exactly."""
    eps = as_fmpq(eps)
    return [eps * fmpq((as_fmpq(y) / eps).floor()) for y in ys]


def check_increments(rows: Sequence[Sequence[fmpq]], eps: fmpq) -> None:
    if eps <= 0:
        raise UserError(f"eps = {eps}: must be > 0")
    for m, r in enumerate(rows):
        for k, y in enumerate(r):
            if y < 0:
                raise UserError(f"y[{m}][{k}] = {y}: the samples must be >= 0")
            if k and abs(y - r[k - 1]) > eps:
                raise UserError(f"y[{m}][{k}] - y[{m}][{k - 1}] = {y - r[k - 1]}: the increments "
                                f"must be at most eps = {eps} in absolute value")


def clip_network(y_max: Any, printed: bool = False) -> Network:
    """min{σ(u), y_max} = s − σ(s − y_max), s = σ(u): width 2, depth 2.  ``printed``: the
    paper's max{σ(u), y_max} = s + σ(y_max − s) (erratum E2)."""
    y_max = as_fmpq(y_max)
    if printed:
        second, out = affine([[1], [-1]], [0, y_max]), affine([[1, 1]], [0])
    else:
        second, out = affine([[1], [1]], [0, -y_max]), affine([[1, -1]], [0])
    return network(affine([[1]], [0]), activation(1), second, activation(2), out)


def increment_fit_network(rows: Sequence[Sequence[Any]], eps: Any, N: int, L: int,
                          printed: bool = False) -> Network:
    """Lemma 4.7's network on inputs (m, k): ε⌊rows[m][k]/ε⌋ for m < M, k < Ln, and in
    [0, max rows] on all of R² (with ``printed``, the paper's max clip instead of min).
    ``rows`` is an M × Ln table of exact rationals ≥ 0 with row increments ≤ ε."""
    check_sizes(N, L)
    M, _, Lhat = sizes(N, L)
    eps = as_fmpq(eps)
    rows = [[as_fmpq(y) for y in r] for r in rows]
    if len(rows) != M or any(len(r) != Lhat for r in rows):
        raise UserError(f"Lemma 4.7 needs an {M} x {Lhat} table of samples (M = N^2 L, Ln)")
    check_increments(rows, eps)
    a = [[int((y / eps).floor()) for y in r] for r in rows]
    b = [[0] + [r[k] - r[k - 1] for k in range(1, Lhat)] for r in a]
    c = [[1 if v > 0 else 0 for v in r] for r in b]
    d = [[1 if v < 0 else 0 for v in r] for r in b]
    psi1 = network(affine([[1, 0]], [0]), _row_fit([r[0] for r in a], N, L))
    psi2 = index_bitsum_network(c, N, L)
    psi3 = index_bitsum_network(d, N, L)
    y_max = max(y for r in rows for y in r)
    return network(stack(psi1, psi2, psi3, pad=True), affine([[eps, eps, -eps]], [0]),
                   clip_network(y_max, printed))


def increment_rows(N: int, L: int, eps: Any, seed: int, data: str = "seeded") -> list[list[fmpq]]:
    """The M × Ln samples of an instance: the seeded increment walk of length M·Ln read
    row-major (y_{m,k} = y_{mLn+k}), or for ``data = "erratum-e2"`` the erratum's y = (0, 1, 2)
    with the last value repeated (needs M·Ln ≥ 3)."""
    M, _, Lhat = sizes(N, L)
    if data == "erratum-e2":
        if M * Lhat < 3:
            raise UserError(f"data = erratum-e2 needs M*Ln >= 3 samples; N = {N}, L = {L} give "
                            f"{M * Lhat}")
        ys = list(ERRATUM_E2_DATA) + [ERRATUM_E2_DATA[-1]] * (M * Lhat - 3)
    elif data == "seeded":
        ys = increment_samples(M * Lhat, eps, seed)
    else:
        raise UserError(f"data = {data!r}: allowed are 'seeded' and 'erratum-e2'")
    return [ys[m * Lhat:(m + 1) * Lhat] for m in range(M)]


def _increment_params(params: dict) -> tuple:
    N, L = int(params["N"]), int(params["L"])
    eps = as_fmpq(params["eps"])
    rows = increment_rows(N, L, eps, int(params["seed"]), str(params.get("data", "seeded")))
    return rows, eps, N, L


def build_increment_fit(params: dict, target: Any = None) -> Network:
    return increment_fit_network(*_increment_params(params))


def build_increment_fit_printed(params: dict, target: Any = None) -> Network:
    return increment_fit_network(*_increment_params(params), printed=True)
