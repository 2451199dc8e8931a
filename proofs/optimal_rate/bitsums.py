"""Lemma 4.5 of the optimal-rate paper (txt p. 29–31): partial bit sums of an Ln-bit number.

φ(bin0.θ_1…θ_{Ln}, k) = Σ_{i≤k} θ_i for k = 1..Ln, with width ≤ (n+3)2^{n+1}+4 and depth ≤ 4L+2.
The proof splits θ into L blocks of n bits.  With the floor surrogate g1 through (i, i) and
(i+1−δ, i), i < 2^n, δ = 2^{−(Ln+1)} (eq. (4.7)), block ℓ of the residual r_ℓ = bin0.θ_{ℓn+1}…θ_{Ln}
is blk_ℓ = g1(2^n r_ℓ)/2^n and the next residual is r_{ℓ+1} = g2(r_ℓ) = 2^n r_ℓ − g1(2^n r_ℓ)
(eq. (4.8)); Lemma 4.4 (corrected, erratum E1: ``partial_bitsum_network``) is applied to
(blk_ℓ, φ_{2,ℓ}(k)) with φ_{2,ℓ}(k) = min{σ(k − ℓn), n} = σ(k − ℓn) − σ(k − (ℓ+1)n), and the L
partial sums are added (eq. (4.10)).

Layering (the project's; the paper's Figure 11 spends 4 layers per block plus 2):
three hidden layers per block ℓ —
* A_ℓ: the 2^{n+1}−2 neurons σ(2^n r_ℓ − t) of g1 (shared by g1 and g2), σ(r_ℓ), σ(k), the running
  sum σ(S) and σ(k − ℓn), σ(k − (ℓ+1)n);
* B_ℓ: Lemma 4.4's first hidden layer, its input affine in A_ℓ (so its weights are Lemma 4.4's
  composed with that affine map), and the carries σ(r_{ℓ+1}), σ(k), σ(S);
* C_ℓ: Lemma 4.4's second hidden layer and the same carries; S ← S + Lemma 4.4's output.
Every carried value is ≥ 0 on the lemma's domain (residuals, k ≥ 1, partial sums), so σ is the
identity on it there.  Width max{2^{n+1}+3, (n+1)(2^{n+1}−1)+3} ≤ (n+3)2^{n+1}+4, depth 3L ≤ 4L+2.
The carries of r and k are dropped where no later layer reads them.
"""

from __future__ import annotations

from typing import Any

from flint import fmpq

from constructive.ir import Network, activation, affine, network
from proofs.optimal_rate.build import partial_bitsum_network

Form = tuple[list, fmpq]  # a linear form over the previous layer's outputs, and a constant


def _unit(width: int, at: int) -> Form:
    v = [fmpq(0)] * width
    v[at] = fmpq(1)
    return v, fmpq(0)


def _comb(width: int, *terms: tuple[Any, Form], const: Any = 0) -> Form:
    """Σ c·form + const."""
    v, c = [fmpq(0)] * width, fmpq(const)
    for coef, (fv, fc) in terms:
        coef = fmpq(coef)
        for i, a in enumerate(fv):
            if a:
                v[i] += coef * a
        c += coef * fc
    return v, c


def _matrix(node: Any) -> tuple[list, list]:
    W, b = node.W, node.b
    return ([[W[i, j] for j in range(W.ncols())] for i in range(W.nrows())],
            [b[i, 0] for i in range(b.nrows())])


def partial_bitsum_deep_network(n: int, L: int, printed: bool = False) -> Network:
    """Lemma 4.5's network on inputs (bin0.θ_1…θ_{Ln}, k); ``printed`` builds it on Lemma 4.4
    with the bit formula as printed (erratum E1)."""
    delta = fmpq(1, 2 ** (L * n + 1))
    # g1(y) = Σ_t w_t σ(y − t): the kinks i − δ (slope +1/δ) and i (slope −1/δ), i = 1..2^n − 1
    kinks = [(i - delta, 1 / delta) for i in range(1, 2 ** n)] + \
        [(fmpq(i), -1 / delta) for i in range(1, 2 ** n)]
    inner = partial_bitsum_network(n, printed).nodes  # Lemma 4.4 (corrected): affine, σ, affine, σ, affine
    W1, b1 = _matrix(inner[0])
    W2, b2 = _matrix(inner[2])
    nodes: list = []
    width = 2
    r, k, S = _unit(2, 0), _unit(2, 1), None
    scale = 2 ** n

    def emit(pre: list[Form]) -> int:
        nonlocal width
        nodes.extend([affine([v for v, _ in pre], [c for _, c in pre]), activation(len(pre))])
        width = len(pre)
        return width

    for ell in range(L):
        more = ell + 1 < L
        # A_ℓ
        pre = [_comb(width, (scale, r), const=-t) for t, _ in kinks]
        at_r = len(pre)
        pre.append(r)
        at_k = len(pre)
        if more:
            pre.append(k)
        at_s = len(pre)
        if S is not None:
            pre.append(S)
        at_i = len(pre)
        pre += [_comb(width, (1, k), const=-ell * n), _comb(width, (1, k), const=-(ell + 1) * n)]
        emit(pre)
        g1 = ([w for _, w in kinks] + [fmpq(0)] * (width - len(kinks)), fmpq(0))
        blk = _comb(width, (fmpq(1, scale), g1))
        r = _comb(width, (scale, _unit(width, at_r)), (-1, g1))  # g2(r_ℓ)
        k = _unit(width, at_k) if more else None
        S = _unit(width, at_s) if S is not None else None
        i_ell = _comb(width, (1, _unit(width, at_i)), (-1, _unit(width, at_i + 1)))
        # B_ℓ
        pre = [_comb(width, (a0, blk), (a1, i_ell), const=c) for (a0, a1), c in zip(W1, b1)]
        carries = [f for f in (r if more else None, k, S) if f is not None]
        emit(pre + carries)
        h1 = len(W1)
        r, k, S = _carried(width, h1, more, S is not None)
        # C_ℓ
        pre = [(list(row) + [fmpq(0)] * (width - h1), fmpq(c)) for row, c in zip(W2, b2)]
        carries = [f for f in (r, k, S) if f is not None]
        emit(pre + carries)
        z = len(W2)
        r, k, S_old = _carried(width, z, more, S is not None)
        total = ([fmpq(1)] * z + [fmpq(0)] * (width - z), fmpq(0))
        S = _comb(width, (1, total), (1, S_old)) if S_old is not None else total
    nodes.append(affine([S[0]], [S[1]]))
    return network(*nodes)


def _carried(width: int, start: int, more: bool, has_s: bool) -> tuple:
    """The forms of the carries (r, k, S) appended after ``start`` outputs of a layer."""
    at = start
    r = k = s = None
    if more:
        r, k = _unit(width, at), _unit(width, at + 1)
        at += 2
    if has_s:
        s = _unit(width, at)
    return r, k, s


def build_partial_bitsum_deep(params: dict, target: Any = None) -> Network:
    return partial_bitsum_deep_network(int(params["n"]), int(params["L"]))
