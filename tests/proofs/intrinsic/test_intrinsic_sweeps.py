"""The sweeps of issue 2's "done means" (slow: opt in with ``-m slow``)."""

import pytest

from certify.certificate import run_theorem

LP = [{"d": "1", "p": "2", "n": str(n)} for n in range(1, 9)] + \
     [{"d": "2", "p": "2", "n": str(n)} for n in range(1, 5)]
LINF = [{"d": "1", "n": str(n)} for n in range(1, 7)] + [{"d": "2", "n": str(n)} for n in range(1, 4)]


@pytest.mark.slow
@pytest.mark.parametrize("params", LP, ids=lambda p: f"d{p['d']}-n{p['n']}")
def test_lp_sweep_holds(params):
    cert = run_theorem("syz-intrinsic-lp", params)
    assert cert["verdict"] == "HOLDS", cert["reasons"]


@pytest.mark.slow
@pytest.mark.parametrize("params", LINF, ids=lambda p: f"d{p['d']}-n{p['n']}")
def test_linf_sweep_holds(params):
    cert = run_theorem("syz-intrinsic-linf", params)
    assert cert["verdict"] == "HOLDS", cert["reasons"]


@pytest.mark.slow
@pytest.mark.parametrize("eps", ["1/10", "1/50"])
def test_three_parameters_hold(eps):
    cert = run_theorem("syz-three-params-holder", {"eps": eps})
    assert cert["verdict"] == "HOLDS", cert["reasons"]
    assert cert["architecture"]["intrinsic"]["differing"] == 3
