"""The least-squares experiments (experiments/shallow_least_squares.py): the low-pass effect of
the ReLU basis in float32, absent for FEM hats and in float64."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parents[3] / "experiments" / "shallow_least_squares.py"


def _module():
    spec = importlib.util.spec_from_file_location("shallow_least_squares", PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, mod)  # dataclasses look the module up while it loads
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


# Table 1 rows reproduced within a factor 2 (module docstring of the experiment).  The reading
# tested: c = f(−1) fixed (p. 5), the closed-form Gram matrix (4) of p. 8 with the exact right-hand
# side, rounded to the working precision, eigenvalues below ε λ₁ dropped.  Every float64 row, the
# FEM rows and the uniform-bias ReLU rows in float32 agree; the float32 ReLU rows with adaptive
# biases do not (a clean cut is 17-50x better than printed); that gap is pinned below.
EXACT = dict(gram="exact")


def _reading(mod, **fields):
    return mod.Reading(**{**EXACT, **fields})


def _reproduced_rows(mod, sizes, reading):
    for dtype in ("float32", "float64"):
        for row in mod.table1_rows([dtype], sizes, reading):
            key, _, n, mx, mse, paper = row
            if key == "NN adaptive" and dtype == "float32":
                continue
            yield row


def _far_rows(mod, sizes, reading):
    return [(key, dtype, n, mx, mse, paper) for key, dtype, n, mx, mse, paper in _reproduced_rows(mod, sizes, reading)
            if mod.factor(mx, paper[0]) > 2 or mod.factor(mse, paper[1]) > 2]


def test_table1_rows_within_a_factor_two_of_the_paper_n100():
    mod = _module()
    assert not _far_rows(mod, [100], _reading(mod))


def test_table1_sampled_reading_within_a_factor_two_n100():
    mod = _module()
    assert not _far_rows(mod, [100], mod.Reading(gram="sampled"))


@pytest.mark.slow
def test_table1_rows_within_a_factor_two_of_the_paper_n1000():
    mod = _module()
    assert not _far_rows(mod, [1000], _reading(mod))


def test_fixed_offset_matches_the_float64_adaptive_row_to_three_digits():
    """c = f(−1) (p. 5) is what the paper computed: its float64 adaptive row (3.93e-3, 1.42e-6) is
    the constrained projection, not the FEM projection (2.92e-3, 9.95e-7) that a free constant gives."""
    mod = _module()
    rows = {c: next(iter(mod.table1_rows(["float64"], [100], _reading(mod, columns=c), ("NN",), ("adaptive",))))
            for c in ("offset", "const")}
    paper = rows["offset"][5]
    assert abs(rows["offset"][3] / paper[0] - 1) < 0.01 and abs(rows["offset"][4] / paper[1] - 1) < 0.01
    assert rows["const"][4] < 0.75 * paper[1]


def test_table1_float32_adaptive_relu_row_is_the_documented_gap():
    mod = _module()
    ((_, _, _, mx, mse, paper),) = mod.table1_rows(["float32"], [100], _reading(mod), ("NN",), ("adaptive",))
    assert mx < paper[0] / 10 and mse < paper[1] / 20


def test_rhs_rounding_noise_moves_the_adaptive_row_not_the_uniform_one():
    """A perturbation r_j·(1 + 50 ε₃₂ N(0, 1)) lifts the float32 adaptive row's MSE by >10x (towards
    the printed value) while the uniform row's moves by <2x: the printed adaptive rows are
    noise-level numbers."""
    mod = _module()
    clean = {k: mse for k, _, _, _, mse, _ in mod.table1_rows(["float32"], [100], _reading(mod), ("NN",))}
    noisy = {k: mse for k, _, _, _, mse, _ in
             mod.table1_rows(["float32"], [100], _reading(mod, rhs_noise=50, seed=0), ("NN",))}
    assert noisy["NN adaptive"] > 10 * clean["NN adaptive"]
    assert noisy["NN uniform"] < 2 * clean["NN uniform"]


def test_exact_gram_matches_the_sampled_gram():
    """The closed form (4) with its exact right-hand side against fine midpoint quadrature."""
    mod = _module()
    readings = mod.readings
    b = mod.nodes(12, "adaptive")
    G, r = readings.relu_gram_exact(b, "const")
    Gs, rs = readings.sampled_normal_equations("NN", b, "midpoint:400", "const", 0.0, np.float64)
    assert np.allclose(G, Gs, rtol=1e-5, atol=1e-7) and np.allclose(r, rs, rtol=1e-5, atol=1e-7)
    M, q = readings.hat_gram_exact(b)
    Ms, qs = readings.sampled_normal_equations("FEM", b, "midpoint:400", "const", 0.0, np.float64)
    assert np.allclose(M, Ms, rtol=1e-5, atol=1e-9) and np.allclose(q, qs, rtol=1e-5, atol=1e-9)
