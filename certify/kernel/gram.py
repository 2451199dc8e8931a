"""Gram matrices of one-input ReLU features on [−1, 1], exactly, and their spectra's ends.

The features are the hidden neurons of a stored shallow network, f_i(x) = σ(w_i x + c_i).
Between consecutive breakpoints each is 0 or affine, so G_ij = ∫ f_i f_j is a sum of exact
integrals of products of affine functions, one matrix product per segment.  An end of the
spectrum is bracketed by positive-definiteness tests (Sylvester: every pivot of the symmetric
elimination positive) of G − tI or tI − G at the evidence's rational t.
"""

from __future__ import annotations

from math import factorial
from typing import Any

from flint import fmpq, fmpq_mat, fmpq_poly, fmpz_mat

from certify.kernel.claims import rational
from certify.kernel.errors import KernelError

MAX_FEATURES = 128  # exact elimination: n = 200 takes 70 s (entries grow with n)


def features(layers: tuple) -> list[tuple[fmpq, fmpq]]:
    """(w_i, c_i) of the hidden ReLU neurons of a one-input network of one hidden layer."""
    first = layers[0]
    if len(layers) != 2 or first.W.ncols() != 1 or not all(first.relu):
        raise KernelError("a Gram check speaks about one hidden layer of ReLU features of one input")
    return [(first.W[i, 0], first.b[i, 0]) for i in range(first.rows)]


def gram(feats: list[tuple[fmpq, fmpq]], power: int = 1) -> fmpq_mat:
    """G_ij = ∫_{−1}^{1} f_i f_j for f_i = σ(w_i x + c_i)^power / power!."""
    n = len(feats)
    ends = sorted({fmpq(-1), fmpq(1)} | {-c / w for w, c in feats if w != 0 and -1 < -c / w < 1})
    G = fmpq_mat(n, n)
    for a, b in zip(ends, ends[1:]):
        m = (a + b) / 2  # each feature is 0 or (w x + c)^power/power! on the whole segment
        if power == 1:
            P = fmpq_mat(n, 2, [v for w, c in feats for v in ((w, c) if w * m + c > 0 else (0, 0))])
            A = fmpq_mat(2, 2, [(b ** 3 - a ** 3) / 3, (b ** 2 - a ** 2) / 2, (b ** 2 - a ** 2) / 2, b - a])
            G += P * A * P.transpose()
            continue
        scale = fmpq(1, factorial(power))
        polys = [fmpq_poly([c, w]) ** power * scale if w * m + c > 0 else None for w, c in feats]
        for i in range(n):
            for j in range(i, n):
                if polys[i] is not None and polys[j] is not None:
                    F = (polys[i] * polys[j]).integral()
                    G[i, j] += F(b) - F(a)
                    G[j, i] = G[i, j]
    return G


def positive_definite(M: fmpq_mat) -> bool:
    """Every leading principal minor positive (Sylvester).  Fraction-free LU without a row
    exchange has the leading minors on U's diagonal; where flint exchanged rows, a plain
    symmetric elimination decides instead (it stops at the first pivot ≤ 0)."""
    A, _ = M.numer_denom()  # a positive multiple: the same minors' signs
    P, _, _, U = A.fflu()
    n = M.nrows()
    if P == fmpz_mat(n, n, [int(i == j) for i in range(n) for j in range(n)]):
        return all(U[k, k] > 0 for k in range(n))
    rows = M.tolist()
    for k in range(n):
        pivot = rows[k][k]
        if pivot <= 0:
            return False
        for i in range(k + 1, n):
            f = rows[i][k] / pivot
            if f != 0:
                rows[i] = [x - f * y for x, y in zip(rows[i], rows[k])]
    return True


def extreme_eigenvalues(G: fmpq_mat, evidence: Any) -> tuple[fmpq, fmpq, fmpq, fmpq]:
    """lo_1 ≤ λ_max ≤ hi_1 and lo_n ≤ λ_min ≤ hi_n at the evidence's brackets, each shown."""
    try:
        lo, hi = evidence["lower"], evidence["upper"]
        lo1, hi1, lon, hin = (rational(v, "eigenvalue bracket") for v in (lo[0], hi[0], lo[-1], hi[-1]))
    except (KeyError, IndexError, TypeError):
        raise KernelError("the evidence needs lower and upper brackets of the eigenvalues") from None
    eye = fmpq_mat(G.nrows(), G.nrows(), [int(i == j) for i in range(G.nrows()) for j in range(G.nrows())])
    shown = [positive_definite(hi1 * eye - G), not positive_definite(lo1 * eye - G),
             positive_definite(G - lon * eye), not positive_definite(G - hin * eye)]
    if not all(shown):
        raise KernelError("an eigenvalue bracket of the evidence does not hold")
    return lo1, hi1, lon, hin


def negative_counts(feats: list[tuple[fmpq, fmpq]], G: fmpq_mat, shifts: list[fmpq]) -> dict:
    """#{eigenvalues of G below t} for every t in ``shifts`` (None where a pivot vanishes).

    Sylvester: T(G − tI)Tᵀ has the inertia of G − tI for any invertible T.  With the features
    sorted by breakpoint and T their second divided differences (rows 2, 3, …, then the first
    two features kept as they are, last), T(G − tI)Tᵀ is banded but for its last two rows and
    columns, so a symmetric elimination that follows the nonzeros counts the negative pivots
    in about n steps of constant size."""
    n = len(feats)
    order = sorted(range(n), key=lambda i: -feats[i][1] / feats[i][0])
    t = [-feats[i][1] / feats[i][0] for i in order]
    T = fmpq_mat(n, n)
    for r, i in enumerate(range(2, n)):
        h1, h2 = t[i - 1] - t[i - 2], t[i] - t[i - 1]
        if h1 == 0 or h2 == 0:
            raise KernelError("two features share a breakpoint")
        for col, c in ((i - 2, 1 / h1), (i - 1, -(1 / h1 + 1 / h2)), (i, 1 / h2)):
            T[r, order[col]] = c
    T[n - 2, order[0]], T[n - 1, order[1]] = 1, 1
    A, B = T * G * T.transpose(), T * T.transpose()
    nonzero = [{j: (A[i, j], B[i, j]) for j in range(n) if A[i, j] != 0 or B[i, j] != 0}
               for i in range(n)]
    return {s: _negative_pivots([{j: a - s * b for j, (a, b) in row.items()} for row in nonzero])
            for s in set(shifts)}


def _negative_pivots(rows: list[dict]):
    """The negative pivots of a symmetric elimination without exchanges (rows as dicts of their
    nonzeros), or None when a pivot is 0."""
    negative = 0
    for k, row in enumerate(rows):
        pivot = row.get(k, 0)
        if pivot == 0:
            return None
        negative += pivot < 0
        ahead = {j: v for j, v in row.items() if j > k and v != 0}
        for i, v in ahead.items():
            f = v / pivot
            target = rows[i]
            for j, w in ahead.items():
                if j >= i:
                    target[j] = target.get(j, 0) - f * w
                    if j != i:
                        rows[j][i] = target[j]
    return negative
