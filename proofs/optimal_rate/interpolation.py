"""Lemma 4.1 of the optimal-rate paper (txt p. 24): two-hidden-layer interpolation.

Given N1(N2+1)+1 samples (x_i, y_i) with x_0 < … < x_{N1(N2+1)} and y_i ≥ 0, a ReLU network of
widthvec [2N1, 2N2+1] with φ(x_i) = y_i.  The paper only cites the lemma; this construction is
the project's own (exact rationals throughout):

* Block j = 0..N1−1 holds the samples x_{j,k} = x_{j(N2+1)+k}, k = 0..N2; the last sample
  x_* = x_{N1(N2+1)} stands alone.  On block j the PL interpolant is
  P_j(x) = y_{j,0} + Σ_{k<N2} d_{j,k} σ(x − x_{j,k}), d_{j,k} the slope change at x_{j,k}.
* Hidden layer 1: σ(x − t) for the 2N1 knots t ∈ {x_{j,0}, x_{j,N2} : j < N1}.  Any function
  c + Σ a_t σ(x − t) is an arbitrary affine function on each block [x_{j,0}, x_{j,N2}], linear on
  the gaps between blocks and after the last block, with a free value at x_*.
* Hidden layer 2 (2N2+1 units), output weights fixed across blocks:
  u_0 (weight +1) is the constant y_{j,0} ≥ 0 on block j and y_* ≥ 0 at x_*;
  u_k^+ (weight +1) is d_{j,k}(x − x_{j,k}) on block j when d_{j,k} > 0, else 0;
  u_k^− (weight −1) is |d_{j,k}|(x − x_{j,k}) on block j when d_{j,k} < 0, else 0;
  every u_k^± is 0 at x_*.  So σ(u_0) + Σ_k (σ(u_k^+) − σ(u_k^−)) = P_j on block j and y_* at
  x_*; y ≥ 0 is used only for σ(u_0) = u_0.
φ is linear on every [x_{i−1}, x_i] inside a block (its kinks there are the x_{j,k}); the N1
intervals [x_{j(N2+1)−1}, x_{j(N2+1)}] (gaps and the last step) are the lemma's exceptions.
"""

from __future__ import annotations

import random
from typing import Any

from flint import fmpq

from constructive.ir import Network, activation, affine, network


def interpolation_samples(N1: int, N2: int, seed: int) -> tuple[list[fmpq], list[fmpq]]:
    """The seeded sample law: x_0 = 0, x_i = x_{i−1} + a_i/b_i, y_i = c_i/e_i with a_i, b_i, e_i
    uniform in 1..9 and c_i uniform in 0..9 (``random.Random(seed)``, drawn in that order)."""
    rng = random.Random(seed)
    xs, ys, x = [], [], fmpq(0)
    for i in range(N1 * (N2 + 1) + 1):
        if i:
            x += fmpq(rng.randint(1, 9), rng.randint(1, 9))
        xs.append(x)
        ys.append(fmpq(rng.randint(0, 9), rng.randint(1, 9)))
    return xs, ys


def _knot_form(knots: list, pieces: list, last: Any, x_last: Any) -> tuple[list, Any]:
    """(a, c) with c + Σ a_i σ(x − knots[i]) equal to the affine map pieces[j] = (slope, value
    at knots[2j]) on [knots[2j], knots[2j+1]], linear between blocks, and ``last`` at x_last."""
    slopes = []
    for j, (s, v0) in enumerate(pieces):
        slopes.append(s)
        end = v0 + s * (knots[2 * j + 1] - knots[2 * j])
        if j + 1 < len(pieces):  # the gap to the next block's start
            nxt = pieces[j + 1][1]
            slopes.append((nxt - end) / (knots[2 * j + 2] - knots[2 * j + 1]))
        else:
            slopes.append((last - end) / (x_last - knots[2 * j + 1]))
    # slopes[i] is the slope right of knots[i]; slopes has one entry per knot
    a = [slopes[0]] + [slopes[i] - slopes[i - 1] for i in range(1, len(slopes))]
    return a, pieces[0][1]


def interpolation_network(xs: list, ys: list, N1: int, N2: int) -> Network:
    """The widthvec [2N1, 2N2+1] network through the N1(N2+1)+1 samples (xs, ys), ys ≥ 0."""
    xs, ys = [fmpq(x) for x in xs], [fmpq(y) for y in ys]
    if len(xs) != N1 * (N2 + 1) + 1 or len(ys) != len(xs):
        raise ValueError("Lemma 4.1 needs N1(N2+1)+1 samples")
    if any(b <= a for a, b in zip(xs, xs[1:])) or any(y < 0 for y in ys):
        raise ValueError("Lemma 4.1 needs increasing x and nonnegative y")
    block = [[(xs[j * (N2 + 1) + k], ys[j * (N2 + 1) + k]) for k in range(N2 + 1)]
             for j in range(N1)]
    knots = [t for b in block for t in (b[0][0], b[-1][0])]
    x_last, y_last = xs[-1], ys[-1]
    # slope changes d_{j,k}, k = 0..N2−1 (d_{j,0} is the first slope)
    d = []
    for b in block:
        s = [(b[k + 1][1] - b[k][1]) / (b[k + 1][0] - b[k][0]) for k in range(N2)]
        d.append([s[0]] + [s[k] - s[k - 1] for k in range(1, N2)])
    units, out = [], []
    units.append(_knot_form(knots, [(fmpq(0), b[0][1]) for b in block], y_last, x_last))
    out.append(1)
    for k in range(N2):
        for sign in (1, -1):
            pieces = []
            for j, b in enumerate(block):
                dk = d[j][k] * sign
                slope = dk if dk > 0 else fmpq(0)
                pieces.append((slope, slope * (b[0][0] - b[k][0])))
            units.append(_knot_form(knots, pieces, fmpq(0), x_last))
            out.append(sign)
    W1 = [[1] for _ in knots]
    b1 = [-t for t in knots]
    W2 = [a for a, _ in units]
    b2 = [c for _, c in units]
    return network(affine(W1, b1), activation(len(W1)), affine(W2, b2), activation(len(W2)),
                   affine([out], [0]))


def build_interpolation(params: dict, target: Any = None) -> Network:
    N1, N2, seed = int(params["N1"]), int(params["N2"]), int(params["seed"])
    xs, ys = interpolation_samples(N1, N2, seed)
    return interpolation_network(xs, ys, N1, N2)
