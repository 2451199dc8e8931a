"""NestNet Lemma D.6 (txt p. 33) as printed, with the network of the lemma it cites.

Lemma D.6 states, for k = 0, 1, …, n, a ReLU network φ of width 7 and depth 2n + 1 with
φ(bin0.θ₁…θ_n, k) = Σ_{ℓ≤k} θ_ℓ, and cites Lemma 3.5 of Shen, Yang, Zhang ("Deep network
approximation characterized by number of neurons", support-number-of-neurons.txt p. 23–26), which
states it for k = 1..n only; the proof of Lemma D.4 (txt p. 34) then says the formula "is not true
for k = 0" and repairs that case with min{M + φ₀, 2Mk}.  This module builds the cited network
(its Figure 11) so that the printed statement, k = 0 included, is certified on it exactly.

The network (δ = 2^−n, L(x) = (x − 1/2)/δ, ξ₁ = bin0.θ₁…θ_n, ξ_{j+1} = 2ξ_j − θ_j):

* θ_j = σ(L(ξ_j) + 1) − σ(L(ξ_j)) (Eq. (3.11)),
* z_{k,j} = σ(θ_j + σ(k − j + 1) − σ(k − j) − 1) = θ_j·1{j ≤ k} (Eq. (3.13)),
* φ = Σ_j z_{k,j} (Eq. (3.14)); k is carried as σ(k − j), σ(j − k) (x = σ(x) − σ(−x)).

Two hidden layers per bit, one more for the last z: depth 2n + 1, width ≤ 7.  Every neuron is a
ReLU; where the figure omits σ the input is ≥ 0 anyway.
"""

from __future__ import annotations

import itertools
from typing import Any

from flint import fmpq

from certify.evidence import PIECES
from certify.method import ErrorReport
from constructive.activations import RELU
from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.ir import Activation, Network, affine, network

# one neuron: {name of a neuron of the previous layer (or "1" for the bias): coefficient}
Form = dict


def _layer(prev: list[str], neurons: list[tuple[str, Form]]) -> tuple[list, list[str]]:
    W = [[form.get(p, 0) for p in prev] for _, form in neurons]
    b = [form.get("1", 0) for _, form in neurons]
    return [affine(W, b), Activation((RELU,) * len(neurons))], [name for name, _ in neurons]


def lemma_d6_network(n: int) -> Network:
    """(bin0.θ₁…θ_n, k) ↦ Σ_{ℓ≤k} θ_ℓ: the network of Figure 11 (support-number-of-neurons)."""
    if not isinstance(n, int) or n < 1:
        raise UserError(f"n={n!r} is not allowed; Lemma D.6 needs an integer n >= 1")
    inv = fmpq(2) ** n  # 1/δ

    def bit_neurons(xi: Form) -> list[tuple[str, Form]]:
        # σ(L(ξ) + 1), σ(L(ξ)) with L(ξ) = (ξ − 1/2)/δ, from the linear form of ξ
        lin = {k: v * inv for k, v in xi.items()}
        lin["1"] = lin.get("1", 0) - inv / 2
        return [("a", {**lin, "1": lin["1"] + 1}), ("b", lin)]

    nodes: list = []
    prev = ["xi", "k"]
    # layer 1: ξ₁, σ(L(ξ₁)+1), σ(L(ξ₁)), σ(k − 1), σ(1 − k)
    layer, prev = _layer(prev, [("xi", {"xi": 1}), *bit_neurons({"xi": 1}),
                                ("p", {"k": 1, "1": -1}), ("q", {"k": -1, "1": 1})])
    nodes += layer
    has_sum = has_z = False
    for j in range(1, n + 1):
        # even layer 2j: ξ_{j+1}, θ_j, σ(k − j + 1), σ(k − j), σ(j − k), S (the running sum)
        even = [("theta", {"a": 1, "b": -1}), ("r", {"p": 1, "q": -1, "1": 1}),
                ("p", {"p": 1}), ("q", {"q": 1})]
        if j < n:
            even.insert(0, ("xi", {"xi": 2, "a": -1, "b": 1}))
        if has_sum or has_z:
            even.append(("S", {"S": 1} if not has_z else ({"S": 1, "z": 1} if has_sum else {"z": 1})))
        layer, prev = _layer(prev, even)
        nodes += layer
        has_sum, has_z = "S" in prev, False
        # odd layer 2j+1: z_j, and (for the next bit) ξ, σ(L(ξ)+1), σ(L(ξ)), σ(k − j − 1), σ(j + 1 − k)
        odd = [("z", {"theta": 1, "r": 1, "p": -1, "1": -1})]
        if has_sum:
            odd.append(("S", {"S": 1}))
        if j < n:
            odd = [("xi", {"xi": 1}), *bit_neurons({"xi": 1}), ("p", {"p": 1, "q": -1, "1": -1}),
                   ("q", {"q": 1, "p": -1, "1": 1})] + odd
        layer, prev = _layer(prev, odd)
        nodes += layer
        has_z = True
    out = {"z": 1, "S": 1} if has_sum else {"z": 1}
    nodes.append(affine([[out.get(p, 0) for p in prev]], [0]))
    return network(*nodes)


def build_lemma_d6(params: dict, target: Any = None) -> Network:
    return lemma_d6_network(int(params["n"]))


def method_lemma_d6(thm: Any, params: dict, target: Any, net: Any) -> ErrorReport:
    """Exact evaluation at every (bin0.θ, k), θ ∈ {0,1}^n, k = 0..n: the claim's whole region."""
    n = int(params["n"])
    points = [(bits, k) for bits in itertools.product((0, 1), repeat=n) for k in range(n + 1)]
    xi = [sum(fmpq(b, 2 ** (i + 1)) for i, b in enumerate(bits)) for bits, _ in points]
    values = evaluate(net, [xi, [fmpq(k) for _, k in points]])[0]
    worst, wit, worst_k0 = fmpq(0), [], fmpq(0)
    for (bits, k), x, v in zip(points, xi, values):
        e = abs(v - sum(bits[:k]))
        worst_k0 = max(worst_k0, e) if k == 0 else worst_k0
        if e > worst:
            worst, wit = e, [{"x": [str(x), str(k)], "error": str(e)}]
    return ErrorReport(worst, worst, wit, set(), {"points": len(points), "error_at_k0": str(worst_k0)},
                       evidence=PIECES)
