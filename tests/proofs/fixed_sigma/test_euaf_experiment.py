"""Smoke test of experiments/euaf_function_fit.py at a tiny scale."""

from __future__ import annotations

import importlib.util
import os

import pytest

pytest.importorskip("torch")


def _load():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "experiments", "euaf_function_fit.py")
    spec = importlib.util.spec_from_file_location("euaf_function_fit", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_function_fit_smoke(capsys):
    mod = _load()
    assert mod.lr_at(1) == mod.lr_at(5) == 0.002 and abs(mod.lr_at(6) - 0.0018) < 1e-12
    out = mod.main(["--scale", "0.002", "--runs", "1", "--device", "cpu", "--threads", "1"])
    for act in ("ReLU", "EUAF"):
        m = out["models"][act]["trimmed_mean"]
        assert 0 <= m["MSE"] <= m["MAX"] ** 2 + 1e-12 and m["MAE"] <= m["MAX"]
    assert "paper" in capsys.readouterr().out


def test_function_fit_bad_scale():
    mod = _load()
    with pytest.raises(SystemExit):
        mod.main(["--scale", "0"])
