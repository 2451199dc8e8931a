"""The least-squares experiments (experiments/shallow_least_squares.py): the low-pass effect of
the ReLU basis in float32, absent for FEM hats and in float64."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parents[3] / "experiments" / "shallow_least_squares.py"


def _module():
    spec = importlib.util.spec_from_file_location("shallow_least_squares", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fit(mod, n, name, dtype):
    f = (lambda x: np.arctan(25 * x))
    b = mod.nodes(n, "uniform")
    x, w = mod.samples(b)
    basis = mod.relu_basis if name == "NN" else mod.hat_basis
    return mod.errors(mod.solve(basis(x, b), w, f(x), dtype), basis, b, f)


def test_float32_relu_basis_is_low_pass_and_fem_is_not():
    mod = _module()
    nn32, fem32 = _fit(mod, 100, "NN", "float32"), _fit(mod, 100, "FEM", "float32")
    nn64, fem64 = _fit(mod, 100, "NN", "float64"), _fit(mod, 100, "FEM", "float64")
    assert nn32[1] > 20 * fem32[1]
    assert abs(nn64[1] / fem64[1] - 1) < 0.05 and abs(fem32[1] / fem64[1] - 1) < 0.05


def test_hats_reproduce_a_piecewise_linear_function_exactly():
    mod = _module()
    b = mod.nodes(30, "adaptive")
    x, w = mod.samples(b)
    A = mod.hat_basis(x, b)
    assert np.allclose(A.sum(axis=1), 1.0) and np.allclose(A @ b, x)
