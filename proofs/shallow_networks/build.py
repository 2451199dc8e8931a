"""Shallow networks of Zhang, Zhao, Zhong, Zhou (arXiv 2306.17301): one input, one hidden
layer of n neurons s(w_i x − b_i), one output Σ_i s(w_i x − b_i).

The claims of this paper are about the Gram matrix of the hidden features on D = [−1, 1]; the
builders return the network whose features those are, and the methods read the weights and
biases back from the network as built.  Bias schemes (all exact rationals):

* ``even``: b_i = −1 + 2(i − 1)/n, the quasi-even grid of Theorems 3 and 4;
* ``experiments``: b_i = −1 + 2(i − 1)/(n − 1), the grid of Section 2.3 (b_n = 1);
* ``random``: seeded, b_i = −1 + 2 u_i with u_i uniform on a 1/(64n) grid (distinct);
* ``jittered``: the even grid moved by a seeded o(1/n) perturbation, |δ_i| ≤ 1/(4 n^(3/2)).
"""

from __future__ import annotations

import random
from math import isqrt
from typing import Any

from flint import fmpq

from constructive.activations.catalogue import make_activation
from constructive.ir import Network, activation, affine, network

SCHEMES = ("even", "experiments", "random", "jittered")


def biases(n: int, scheme: str, seed: int = 0) -> list[fmpq]:
    if scheme == "even":
        return [fmpq(-1) + fmpq(2 * i, n) for i in range(n)]
    if scheme == "experiments":
        return [fmpq(-1) + fmpq(2 * i, n - 1) for i in range(n)]
    rng = random.Random(seed)
    if scheme == "random":
        grid = rng.sample(range(64 * n + 1), n)
        return sorted(fmpq(-1) + fmpq(2 * g, 64 * n) for g in grid)
    if scheme == "jittered":
        scale = 4 * (isqrt(n ** 3) + 1)  # |δ_i| ≤ 1/scale ≤ 1/(4 n^(3/2)) keeps the order
        out = [fmpq(-1) + fmpq(2 * i, n) + fmpq(rng.randint(-64, 64), 64 * scale) for i in range(n)]
        out[0] = fmpq(-1)
        return out
    raise ValueError(f"unknown bias scheme {scheme!r}")


def shallow_network(weights: list[int], bias: list[fmpq], act: Any = None) -> Network:
    kwargs = {} if act is None else {"function": act}
    n = len(bias)
    return network(affine([[w] for w in weights], [-b for b in bias]), activation(n, **kwargs),
                   affine([[1] * n], [0]))


def build_relu_features(params: dict, target: Any = None) -> Network:
    """n ReLU neurons σ(x − b_i) with the entry's bias scheme."""
    n = int(params["n"])
    return shallow_network([1] * n, biases(n, str(params.get("scheme", "even")),
                                           int(params.get("seed", 0))))


def build_feature_family(params: dict, target: Any = None) -> Network:
    """The features of the closed-form entry: ``kernel`` relu (w = 1), signed (seeded w = ±1,
    App. E.1), leaky (σ_α, App. E.2) or power (ReLU, raised to m by the method); random biases."""
    n, seed, kernel = int(params["n"]), int(params["seed"]), str(params["kernel"])
    bias = biases(n, "random", seed)
    if kernel == "signed":
        rng = random.Random(seed + 1)
        signs = [rng.choice((-1, 1)) for _ in range(n)]
        # a neuron σ(w(x − t)) has bias w·t: store w and b = w t so the breakpoint is t
        return shallow_network(signs, [w * t for w, t in zip(signs, bias)])
    if kernel == "leaky":
        return shallow_network([1] * n, bias, make_activation("leaky_relu", alpha=params["alpha"]))
    return shallow_network([1] * n, bias)


def build_kernel_neuron(params: dict, target: Any = None) -> Network:
    """One neuron σ(x): the statement is about the kernel of the family σ(x − b), b ∈ D."""
    return shallow_network([1], [fmpq(0)])
