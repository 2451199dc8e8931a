"""Theorem 1 (KST-form targets) of the EUAF paper: verdicts, architecture, bad input."""

from __future__ import annotations

import pytest

from certify.certificate import run_theorem
from constructive.errors import UserError
from proofs.fixed_sigma.kst import kst_instance, make_kst

D1 = "(x1**2/2 + 1/4)**2/2 + sin(x1 + 1/2)/2 + cos(sin(3*x1)/8 + 1/2)/2"


def test_kst_d1_holds():
    c = run_theorem("syz-fixed-sigma-universal", {"d": "1", "kst": "d1-default", "eps": "3/10"}, D1)
    assert c["verdict"] == "HOLDS"
    m = c["architecture"]["measured"]
    assert m["width"] == 108 and m["depth"] == 11 and m["params"] <= 32622
    assert c["details"]["bookkeeping_ok"] is True


def test_kst_d2_holds():
    c = run_theorem("syz-fixed-sigma-universal", {})
    assert c["verdict"] == "HOLDS"
    m = c["architecture"]["measured"]
    assert m["width"] == 360 and m["depth"] == 11 and m["params"] <= 81555
    assert all(cl["ok"] for cl in c["architecture"]["claims"])
    assert len(c["details"]["subnetworks"]) == 15  # (d+1)(2d+1)


def test_kst_instance_composition():
    k = kst_instance("d1-default")
    import sympy as sp

    from constructive.targets import user_target
    assert sp.simplify(k.expr - user_target(D1, 1).expr) == 0


def test_kst_bad_input():
    with pytest.raises(UserError, match="leaves the stated range"):
        run_theorem("syz-fixed-sigma-universal", {"kst": "d2-out-of-range"})
    with pytest.raises(UserError, match="leaves the stated range"):
        make_kst(["t", "t", "t"], [["t"], ["1/4 + t/2"], ["1/4"]])
    with pytest.raises(UserError, match="2d\\+1"):
        make_kst(["t"], [["1/2"]])
    with pytest.raises(UserError, match="d=1"):
        run_theorem("syz-fixed-sigma-universal", {"d": "2", "kst": "d1-default"})
    with pytest.raises(UserError, match="not the composition"):
        run_theorem("syz-fixed-sigma-universal", {"d": "1", "kst": "d1-default"}, "sin(x1)")
    with pytest.raises(UserError):
        run_theorem("syz-fixed-sigma-universal", {"eps": "0"})


def test_kst_sub_network_failure_is_inconclusive_with_reason():
    """A sub-network whose Theorem 6 analysis cannot proceed: no upper bound is claimed (an
    unknown one, INCONCLUSIVE with the reason), the lower bound from exact evaluation."""
    from flint import fmpq

    from certify.certificate import certify_network, make_target_for
    from certify.registry import default_registry
    from constructive.ir import Parallel, affine_from, network

    thm = default_registry().get("syz-fixed-sigma-universal")
    params = thm.parse_params({"d": "1", "kst": "d1-default", "eps": "3/10"})
    target = make_target_for(thm, params, D1)
    net = thm.builder()(params, target)
    sel, par_in, *rest = net.nodes
    sub = par_in.parts[0]
    pre = sub.nodes[0]
    b = pre.b.__class__(1, 1, [pre.b[0, 0] + fmpq(1, 2 ** 40)])
    moved = network(affine_from(pre.W, b), *sub.nodes[1:])
    bad = network(sel, Parallel((moved,) + par_in.parts[1:]), *rest)
    cert = certify_network(thm, params, target, bad, thm.builder())
    assert cert["verdict"] == "INCONCLUSIVE"
    assert "input map" in cert["details"]["analysis_failed"]


def test_an_eps_over_the_fitting_budget_is_refused_before_any_work(capsys, monkeypatch):
    """eps = 1/16 would fit K = 94 points in one sub-network (more than ten minutes of lattice
    reduction): one line, exit 2, and the builder is never called; 1/10 (K = 59) is inside."""
    from certify.cli import main
    from proofs.fixed_sigma import kst
    from proofs.fixed_sigma.kst_check import precheck_kst

    def never(*args, **kwargs):
        raise AssertionError("the network was built")
    monkeypatch.setattr(kst, "assemble", never)
    assert main(["run", "syz-fixed-sigma-universal", "-p", "eps=1/16"]) == 2
    err = capsys.readouterr().err
    assert "K=94" in err and "budget of 64" in err and len(err.strip().splitlines()) == 1
    precheck_kst({"eps": "1/10", "kst": "d2-default", "d": 2})
