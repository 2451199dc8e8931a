"""Mutants of `certify network`: a weight moved by 2^-40 must move the certified bound, and a
network whose true sup error exceeds tol must never come out HOLDS."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from flint import fmpq, fmpq_mat

from certify.trained import ErrorTarget, certify_network, float64_error, parse_box
from constructive.network_files import layers_from_json, layers_from_module, to_network

EPS = fmpq(1, 2 ** 40)


def _moved(layers: list, k: int, i: int, j: int, delta: fmpq) -> list:
    out = list(layers)
    _, W, b, name = out[k]
    W2 = fmpq_mat(W)
    W2[i, j] = W[i, j] + delta
    out[k] = ("linear", W2, b, name)
    return out


def _bias_moved(layers: list, k: int, delta: fmpq) -> list:
    out = list(layers)
    _, W, b, name = out[k]
    b2 = fmpq_mat(b)
    b2[0, 0] = b[0, 0] + delta
    out[k] = ("linear", W, b2, name)
    return out


RELU = [{"type": "linear", "W": [[1]], "b": [0]}, {"type": "relu"}, {"type": "linear", "W": [[1]], "b": [0]}]


def test_output_bias_moved_by_2_to_the_minus_40_is_caught():
    """relu(x) + 2^-40 against max(x1, 0): the sup error is exactly 2^-40."""
    layers = _bias_moved(layers_from_json({"layers": RELU}, "t"), 2, EPS)
    net = to_network(layers, "mutant")
    t = ErrorTarget("max(x1, 0)", 1)
    box = parse_box(["-1,1"], 1)
    assert certify_network(net, t, box, EPS / 2).verdict == "VIOLATED"
    assert certify_network(net, t, box, 2 * EPS).verdict == "HOLDS"
    assert certify_network(to_network(layers_from_json({"layers": RELU}, "t"), "ok"), t, box,
                           EPS / 2).verdict == "HOLDS"


def _small_trained_like(seed: int) -> list:
    from gpu.mmnn import MMNN, size_triple, to_sequential

    return layers_from_module(to_sequential(MMNN(*size_triple(1, 1, 24, 4, 3), seed=seed)))


def test_trained_weight_moved_changes_the_certified_bound():
    layers = _small_trained_like(11)
    t = ErrorTarget("sin(3*x1)/2", 1)
    box = parse_box(["-1,1"], 1)
    base = certify_network(to_network(layers, "n"), t, box, fmpq(5))
    # an A entry (trained map of the second MMNN layer) moved by 2^-40
    moved = certify_network(to_network(_moved(layers, 5, 0, 3, EPS), "n"), t, box, fmpq(5))
    assert base.verdict == moved.verdict == "HOLDS"
    assert base.upper != moved.upper and base.lower != moved.lower


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_true_error_above_tol_is_never_holds(seed):
    """tol just below a sampled error (a lower bound of the true sup) must not be HOLDS."""
    layers = _small_trained_like(seed)
    net = to_network(layers, "n")
    t = ErrorTarget("cos(5*x1) - x1^2/3", 1)
    box = parse_box(["-1,1"], 1)
    sampled, _, _ = float64_error(net, t, box)
    tol = fmpq(int(sampled * 10 ** 9) - 1, 10 ** 9)  # below the sampled error by > 1e-9
    res = certify_network(net, t, box, tol)
    assert res.verdict == "VIOLATED"
    assert float(res.lower) > float(tol)
    res = certify_network(net, t, box, fmpq(int(sampled * 1.01 * 10 ** 9), 10 ** 9))
    assert res.verdict == "HOLDS"


def test_two_dimensional_mutant_never_holds():
    torch.manual_seed(4)
    seq = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.ReLU(), torch.nn.Linear(6, 1))
    net = to_network(layers_from_module(seq), "n")
    t = ErrorTarget("x1*x2", 2)
    box = parse_box(["0,1"], 2)
    sampled, _, _ = float64_error(net, t, box)
    res = certify_network(net, t, box, fmpq(int(sampled * 10 ** 6) - 1, 10 ** 6), max_cells=4000)
    assert res.verdict != "HOLDS"
    assert np.isfinite(sampled)
