"""Lemma 4.2 of the optimal-rate paper (txt p. 24): NN(widthvec = [N, NL]) ⊆ NN(width ≤ 2N+2,
depth ≤ L+1), as an exact rewriting of a given two-hidden-layer network.

The paper cites the lemma (Lemma 3.4 of [32]); the construction here follows that proof.  Write
the shallow network as  φ(x) = Σ_ℓ W3_ℓ h_ℓ + b3,  h_ℓ = σ(W2_ℓ g + b2_ℓ),  g = σ(W1 x + b1),
with the NL second-layer units split into L groups of N.  The deep network has

* hidden layer 1: g (N units);
* hidden layer ℓ+1, ℓ = 1..L: g again (σ(g) = g since g ≥ 0; omitted in the last layer),
  h_ℓ (N units), and σ(s_{ℓ−1}), σ(−s_{ℓ−1}) for the running sum s_ℓ = Σ_{m≤ℓ} W3_m h_m
  (omitted for ℓ = 1, where s_0 = 0), the sum being passed on as σ(s) − σ(−s) = s;
* output: σ(s_{L−1}) − σ(−s_{L−1}) + W3_L h_L + b3.

Width ≤ 2N+2, depth L+1, and it equals the shallow network on all of R^d.
"""

from __future__ import annotations

import random
from typing import Any

from flint import fmpq

from constructive.ir import Network, activation, affine, network


def random_shallow(d: int, N: int, L: int, seed: int) -> tuple[list, list, list, list, list, list]:
    """The seeded law of the shallow network: every weight and bias p/q with p uniform in
    −5..5 and q uniform in 1..5 (``random.Random(seed)``), drawn W1, b1, W2, b2, W3, b3 in
    row-major order."""
    rng = random.Random(seed)

    def r() -> fmpq:
        return fmpq(rng.randint(-5, 5), rng.randint(1, 5))

    W1 = [[r() for _ in range(d)] for _ in range(N)]
    b1 = [r() for _ in range(N)]
    W2 = [[r() for _ in range(N)] for _ in range(N * L)]
    b2 = [r() for _ in range(N * L)]
    W3 = [[r() for _ in range(N * L)]]
    b3 = [r()]
    return W1, b1, W2, b2, W3, b3


def shallow_network(W1: list, b1: list, W2: list, b2: list, W3: list, b3: list) -> Network:
    return network(affine(W1, b1), activation(len(W1)), affine(W2, b2), activation(len(W2)),
                   affine(W3, b3))


def deepen(W1: list, b1: list, W2: list, b2: list, W3: list, b3: list, L: int) -> Network:
    """The width ≤ 2N+2, depth L+1 network equal to ``shallow_network(W1, …, b3)`` on R^d,
    where len(W2) = N·L, N = len(W1)."""
    N = len(W1)
    if len(W2) != N * L or len(W3) != 1:
        raise ValueError("Lemma 4.2 needs widthvec [N, NL] and one output")
    zero = fmpq(0)
    nodes: list = [affine(W1, b1), activation(N)]
    # layout of the previous hidden layer: offsets of g, h, and the pair (p, q)
    prev_g, prev_h, prev_pq, prev_width = 0, None, None, N
    for ell in range(1, L + 1):
        rows, bias = [], []
        carry = ell < L
        new_g = new_h = new_pq = None

        def row() -> list:
            return [zero] * prev_width

        if carry:  # g carried by the identity
            new_g = len(rows)
            for i in range(N):
                r = row()
                r[prev_g + i] = fmpq(1)
                rows.append(r)
                bias.append(zero)
        new_h = len(rows)
        for i in range(N):  # h_ℓ = σ(W2_ℓ g + b2_ℓ)
            r = row()
            for k in range(N):
                r[prev_g + k] = fmpq(W2[(ell - 1) * N + i][k])
            rows.append(r)
            bias.append(fmpq(b2[(ell - 1) * N + i]))
        if ell >= 2:  # σ(±s_{ℓ−1}), s_{ℓ−1} = s_{ℓ−2} + W3_{ℓ−1} h_{ℓ−1}
            s = row()
            for k in range(N):
                s[prev_h + k] = fmpq(W3[0][(ell - 2) * N + k])
            if prev_pq is not None:
                s[prev_pq] += 1
                s[prev_pq + 1] -= 1
            new_pq = len(rows)
            rows += [s, [-v for v in s]]
            bias += [zero, zero]
        nodes += [affine(rows, bias), activation(len(rows))]
        prev_g, prev_h, prev_pq, prev_width = new_g, new_h, new_pq, len(rows)
    out = [zero] * prev_width
    for k in range(N):
        out[prev_h + k] = fmpq(W3[0][(L - 1) * N + k])
    if prev_pq is not None:
        out[prev_pq] += 1
        out[prev_pq + 1] -= 1
    nodes.append(affine([out], [fmpq(b3[0])]))
    return network(*nodes)


def build_deepened(params: dict, target: Any = None) -> Network:
    d, N, L, seed = (int(params[k]) for k in ("d", "N", "L", "seed"))
    return deepen(*random_shallow(d, N, L, seed), L)
