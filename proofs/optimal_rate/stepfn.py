"""Proposition 3.1 of the optimal-rate paper (statement txt p. 17, proof txt p. 25–26): a 1-D
step function with K steps, width 8⌊N^{1/d}⌋+3, depth 2⌊L^{1/d}⌋+5.

K = M̃·L̃ with M̃ = ⌊N^{1/d}⌋²⌊L^{1/d}⌋, L̃ = ⌊L^{1/d}⌋⌊n^{1/d}⌋, n = ⌊log₃(N+2)⌋.  The coarse
step φ_c fits (m/M̃, m), ((m+1)/M̃ − δ, m), (1, M̃−1) and the dummy (2, 0) by Lemma 4.1 with
N1 = ⌊N^{1/d}⌋, N2 = 2⌊N^{1/d}⌋⌊L^{1/d}⌋ − 1; the fine step φ_f fits (ℓ/(M̃L̃), ℓ),
((ℓ+1)/(M̃L̃) − δ, ℓ), (1/M̃, L̃−1), (2, 0) with N1 = ⌊n^{1/d}⌋, N2 = 2⌊L^{1/d}⌋ − 1.  Both are
deepened by Lemma 4.2 after padding widthvec [2a, 4ab−1] to [4a, 4a·b] with zero neurons (width
8a+2, depth b+1, as the paper counts), and

    φ(x) = L̃·φ_c(x) + φ_f(x − φ_c(x)/M̃),

x carried beside φ_c and m = φ_c(x) beside φ_f by one ReLU neuron each (both are ≥ 0 where the
claim is made).  The affine map between the stages is merged with its neighbours, so the depth is
2b + 2 ≤ 2b + 5 (the paper spends 3 more layers on the same wiring); width max{8a+3, 8c+3}.
"""

from __future__ import annotations

from typing import Any

from flint import fmpq
from sympy import integer_nthroot

from constructive.ir import Network, affine, fan_out, identity_layers, network, parallel
from proofs.optimal_rate.deepen import deepen
from proofs.optimal_rate.interpolation import interpolation_network


def floor_log3(x: int) -> int:
    """⌊log₃ x⌋ for an integer x ≥ 1, exactly."""
    n, p = 0, 3
    while p <= x:
        n, p = n + 1, 3 * p
    return n


def iroot(x: int, d: int) -> int:
    """⌊x^{1/d}⌋ exactly."""
    return int(integer_nthroot(int(x), int(d))[0])


def step_counts(N: int, L: int, d: int) -> dict:
    """a = ⌊N^{1/d}⌋, b = ⌊L^{1/d}⌋, c = ⌊n^{1/d}⌋, n, M̃ = a²b, L̃ = bc and K = M̃L̃."""
    n = floor_log3(N + 2)
    a, b, c = iroot(N, d), iroot(L, d), iroot(n, d)
    return {"a": a, "b": b, "c": c, "n": n, "Mt": a * a * b, "Lt": b * c, "K": a * a * b * b * c}


def _weights(net: Network) -> tuple[list, list, list, list, list, list]:
    """(W1, b1, W2, b2, W3, b3) of a two-hidden-layer network as lists of fmpq."""
    A1, _, A2, _, A3 = net.nodes

    def rows(M: Any) -> list:
        return [[M[i, j] for j in range(M.ncols())] for i in range(M.nrows())]

    return rows(A1.W), [A1.b[i, 0] for i in range(A1.b.nrows())], rows(A2.W), \
        [A2.b[i, 0] for i in range(A2.b.nrows())], rows(A3.W), [A3.b[0, 0]]


def deep_fit(xs: list, ys: list, N1: int, N2: int, groups: int) -> Network:
    """Lemma 4.1 through the samples, then Lemma 4.2 with widthvec padded to [2·2N1, 2·2N1·groups]:
    width 8N1+2, depth groups+1 (zero neurons fill the padding)."""
    W1, b1, W2, b2, W3, b3 = _weights(interpolation_network(xs, ys, N1, N2))
    width1 = 4 * N1
    zero = fmpq(0)
    W1 = W1 + [[zero]] * (width1 - len(W1))
    b1 = b1 + [zero] * (width1 - len(b1))
    W2 = [r + [zero] * (width1 - len(r)) for r in W2]
    missing = width1 * groups - len(W2)
    if missing < 0:
        raise ValueError("Lemma 4.2 padding: too many second-layer units")
    W2 += [[zero] * width1] * missing
    b2 += [zero] * missing
    W3 = [W3[0] + [zero] * missing]
    return deepen(W1, b1, W2, b2, W3, b3, groups)


def coarse_samples(Mt: int, delta: fmpq) -> tuple[list, list]:
    pts = [(fmpq(m, Mt), m) for m in range(Mt)] + \
          [(fmpq(m + 1, Mt) - delta, m) for m in range(Mt - 1)] + [(fmpq(1), Mt - 1), (fmpq(2), 0)]
    pts.sort()
    return [x for x, _ in pts], [fmpq(y) for _, y in pts]


def fine_samples(Mt: int, Lt: int, delta: fmpq) -> tuple[list, list]:
    pts = [(fmpq(l, Mt * Lt), l) for l in range(Lt)] + \
          [(fmpq(l + 1, Mt * Lt) - delta, l) for l in range(Lt - 1)] + \
          [(fmpq(1, Mt), Lt - 1), (fmpq(2), 0)]
    pts.sort()
    return [x for x, _ in pts], [fmpq(y) for _, y in pts]


def step_network(N: int, L: int, d: int, delta: fmpq) -> Network:
    """Prop 3.1's φ: φ(x) = k on [k/K, (k+1)/K − δ·1{k ≤ K−2}], k = 0..K−1."""
    c = step_counts(N, L, d)
    a, b, cc, Mt, Lt = c["a"], c["b"], c["c"], c["Mt"], c["Lt"]
    if not 0 < delta <= fmpq(1, 3 * c["K"]):
        raise ValueError("Prop 3.1 needs 0 < δ ≤ 1/(3K)")
    coarse = deep_fit(*coarse_samples(Mt, delta), a, 2 * a * b - 1, b)
    fine = deep_fit(*fine_samples(Mt, Lt, delta), cc, 2 * b - 1, b)
    carry = identity_layers(1, b + 1, nonnegative=True)
    # (m, x) ↦ (x − m/M̃, m), then (ℓ, m) ↦ L̃ m + ℓ
    shift = affine([[fmpq(-1, Mt), 1], [1, 0]], [0, 0])
    return network(fan_out(1, 2), parallel(coarse, carry), shift, parallel(fine, carry),
                   affine([[1, Lt]], [0]))


def build_step_function(params: dict, target: Any = None) -> Network:
    N, L, d = int(params["N"]), int(params["L"]), int(params["d"])
    K = step_counts(N, L, d)["K"]
    return step_network(N, L, d, fmpq(1, 3 * K * int(params.get("q", 1))))
