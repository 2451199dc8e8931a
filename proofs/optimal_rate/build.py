"""Constructions of the optimal-rate paper (Shen, Yang, Zhang, JMPA 2022, arXiv 2103.00502).

Lemma 4.4 (txt p. 27–29): the partial bit sums Σ_{j≤i} θ_j of an n-bit number θ = bin0.θ₁…θ_n,
with width ≤ (n+1)2^{n+1} and depth ≤ 3.  The floor surrogate g is the CPwL function through
(k, k) and (k+1−δ, k), δ = 2^{−(n+1)}, for k < 2^n:

    g(t) = Σ_{k=1}^{2^n−1} (σ(t − k + δ) − σ(t − k)) / δ,

which is ⌊t⌋ on every [k, k+1−δ] and so at every 2^j θ (its fraction is at most 1 − 2^{−n}).
A bit is θ_j = g(2^j θ) − 2g(2^{j−1} θ) (erratum E1: the paper prints g(2^j θ)/2 − g(2^{j−1} θ),
which is θ_j/2), the indicator of j ≤ i is T_j = σ(i − j + 1) − σ(i − j), and the output is
Σ_j σ(θ_j + T_j − 1).  Hidden layer 1 holds the n + 1 copies of g's 2^{n+1} − 2 neurons and the
n + 1 neurons σ(i − j), j = 0..n; hidden layer 2 the n neurons σ(θ_j + T_j − 1).
"""

from __future__ import annotations

from typing import Any

from flint import fmpq

from constructive.ir import Network, activation, affine, network


def partial_bitsum_network(n: int, printed: bool = False) -> Network:
    """Lemma 4.4's network on inputs (θ, i); ``printed`` uses the paper's bit formula as printed."""
    delta = fmpq(1, 2 ** (n + 1))
    kinks = [(k - delta, 1 / delta) for k in range(1, 2 ** n)] + [(fmpq(k), -1 / delta)
                                                                   for k in range(1, 2 ** n)]
    copies = n + 1  # g(2^j θ) for j = 0..n
    W1, b1 = [], []
    for j in range(copies):
        for at, _ in kinks:
            W1.append([2 ** j, 0])
            b1.append(-at)
    for j in range(copies):  # s_j = σ(i − j)
        W1.append([0, 1])
        b1.append(-j)
    width_g = len(kinks)

    def g_row(j: int, scale: Any) -> list:
        """scale · g(2^j θ) as a row over hidden layer 1."""
        row = [fmpq(0)] * (copies * width_g + copies)
        for k, (_, weight) in enumerate(kinks):
            row[j * width_g + k] = scale * weight
        return row

    W2, b2 = [], []
    for j in range(1, n + 1):
        if printed:
            hi, lo = g_row(j, fmpq(1, 2)), g_row(j - 1, fmpq(-1))
        else:
            hi, lo = g_row(j, fmpq(1)), g_row(j - 1, fmpq(-2))
        row = [a + b for a, b in zip(hi, lo)]
        row[copies * width_g + j - 1] += 1   # T_j = s_{j−1} − s_j
        row[copies * width_g + j] -= 1
        W2.append(row)
        b2.append(-1)
    return network(affine(W1, b1), activation(len(W1)), affine(W2, b2), activation(n),
                   affine([[1] * n], [0]))


def bit_patterns(n: int) -> list[tuple[fmpq, list[int]]]:
    """Every θ = bin0.θ₁…θ_n with its bits, θ₁ the most significant."""
    return [(fmpq(t, 2 ** n), [(t >> (n - j)) & 1 for j in range(1, n + 1)]) for t in range(2 ** n)]


def build_partial_bitsum(params: dict, target: Any = None) -> Network:
    return partial_bitsum_network(int(params["n"]))


def build_partial_bitsum_printed(params: dict, target: Any = None) -> Network:
    return partial_bitsum_network(int(params["n"]), printed=True)
