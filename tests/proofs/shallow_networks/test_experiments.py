"""The least-squares experiments (experiments/shallow_least_squares.py): the low-pass effect of
the ReLU basis in float32, absent for FEM hats and in float64."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

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


# Table 1 rows reproduced within a factor 2 (module docstring of the experiment): every float64
# row, the FEM rows and the uniform-bias ReLU rows in float32.  The float32 ReLU rows with adaptive
# biases are not (our clean cut is 17-237x better than printed); that gap is pinned below.
def _reproduced_rows(mod, sizes):
    for dtype in ("float32", "float64"):
        for row in mod.table1_rows([dtype], sizes):
            key, _, n, mx, mse, paper = row
            if key == "NN adaptive" and dtype == "float32":
                continue
            yield row


def _assert_within_factor_two(mod, sizes):
    far = [(key, dtype, n, mx, mse, paper) for key, dtype, n, mx, mse, paper in _reproduced_rows(mod, sizes)
           if mod.factor(mx, paper[0]) > 2 or mod.factor(mse, paper[1]) > 2]
    assert not far, far


def test_table1_rows_within_a_factor_two_of_the_paper_n100():
    _assert_within_factor_two(_module(), [100])


@pytest.mark.slow
def test_table1_rows_within_a_factor_two_of_the_paper_n1000():
    _assert_within_factor_two(_module(), [1000])


def test_table1_float32_adaptive_relu_row_is_the_documented_gap():
    mod = _module()
    ((_, _, _, mx, mse, paper),) = mod.table1_rows(["float32"], [100], methods=("NN",), schemes=("adaptive",))
    assert mx < paper[0] / 10 and mse < paper[1] / 20
