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
