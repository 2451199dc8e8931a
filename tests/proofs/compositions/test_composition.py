"""Compositions paper (ZLZ, ICML 2023): exact gadget identities and small theorem instances."""

from __future__ import annotations

import pytest
from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.certificate import run_theorem
from certify.cli import main
from constructive.evaluate import evaluate
from constructive.ir import affine, network
from proofs.compositions.build import (bitsum_step, build_bitsum_iteration, build_floor_iteration,
                                       clamp_block, pack, selector)
from proofs.compositions.cells import CellEvaluator, CellFailure, cell_values, global_sup
from proofs.compositions.engine import Engine, StepFailure, box_forms

SETTINGS = settings(max_examples=25, deadline=None, database=None)


@SETTINGS
@given(st.integers(2, 9), st.integers(0, 3), st.data())
def test_floor_by_iteration_exact(n, extra, data):
    net = build_floor_iteration({"n": n, "m": n + extra}, None)
    k = data.draw(st.integers(0, n - 1))
    num = data.draw(st.integers(0, 1000))
    gap = fmpq(1, 10) if k <= n - 2 else fmpq(0)
    x = k + (1 - gap) * fmpq(num, 1000)
    assert evaluate(net, [[x]])[0][0] == k


@SETTINGS
@given(st.lists(st.integers(0, 1), min_size=1, max_size=12), st.data())
def test_bitsum_by_iteration_exact(bits, data):
    r = len(bits)
    net = build_bitsum_iteration({"r": r}, None)
    k = data.draw(st.integers(0, r))
    assert evaluate(net, [[k], [pack(bits)]])[0][0] == sum(bits[:k])


@SETTINGS
@given(st.integers(-64, 64), st.integers(-64, 64), st.integers(1, 50), st.booleans())
def test_selector_exact(u, v, t, negative):
    M = fmpq(64)
    tt = -t if negative else t
    out = evaluate(selector(1, M), [[u], [v], [tt]])
    assert out[0][0] == (v if negative else u) and out[1][0] == tt


@SETTINGS
@given(st.integers(-10 ** 6, 10 ** 6))
def test_clamp_exact(x):
    out = evaluate(clamp_block(fmpq(8)), [[fmpq(x, 1000)]])[0][0]
    assert out == max(-8, min(8, fmpq(x, 1000)))


def test_bitsum_step_shape():
    g = bitsum_step(fmpq(1, 64))
    assert (g.width, g.depth, g.in_dim) == (8, 2, 3)


@pytest.mark.parametrize("tid,r,shape", [("zlz-composition-offtrifling", 8, (3, 8, 23)),
                                         ("zlz-composition-rate", 8, (5, 10, 25))])
def test_theorems_hold_d1(tid, r, shape):
    cert = run_theorem(tid, {"d": "1", "r": str(r)})
    assert cert["verdict"] == "HOLDS"
    m = cert["architecture"]["measured"]
    assert (m["g_depth"], m["g_dim"], m["compositions"]) == shape


def test_rate_holds_d2_small():
    cert = run_theorem("zlz-composition-rate", {"d": "2", "r": "4"})
    assert cert["verdict"] == "HOLDS"
    assert cert["architecture"]["measured"]["g_dim"] == 15


def test_bad_r_exit_2(capsys):
    assert main(["run", "zlz-composition-rate", "-p", "r=0"]) == 2


# compositional certifier -----------------------------------------------------------------------


@pytest.mark.parametrize("d,r", [(1, 16), (2, 9)])
def test_compositional_matches_cellwise(d, r):
    from constructive.targets import make_target
    from proofs.compositions import check as cc
    from proofs.compositions.build import build_lp

    t = make_target("abs", d)
    params = {"d": d, "r": r, "p": 2}
    net = build_lp(params, t)
    new = cc.method_lp(None, params, t, net)
    old = cc.method_lp_cells(None, params, t, net)
    if d == 1:  # the strips from the network's exact kinks: tighter than the clamp's range
        assert new.upper < old.upper and new.lower >= old.lower and new.details["strip_pieces"] > 2 * (r - 1)
    else:
        assert str(new.upper) == str(old.upper) and str(new.lower) == str(old.lower)
    assert new.details["method"] == "compositional" and new.details["clock_specs"] == 4


def test_compositional_rejects_broken_block():
    """A floor block with a wrong weight must not certify."""
    from constructive.errors import UserError
    from constructive.targets import make_target
    from proofs.compositions import build as comp
    from proofs.compositions import check as cc

    t = make_target("abs", 1)
    params = {"d": 1, "r": 8}
    orig = comp.floor_step
    try:
        comp.floor_step = lambda delta: orig(delta * 3)
        net = comp.build_offtrifling(params, t)
    finally:
        comp.floor_step = orig
    with pytest.raises(UserError):
        cc.method_offtrifling(None, params, t, net)


def test_rate_holds_r256_d1():
    cert = run_theorem("zlz-composition-rate", {"d": "1", "r": "256"})
    assert cert["verdict"] == "HOLDS"
    assert cert["details"]["method"] == "compositional"


def test_memory_budget_exit_2(monkeypatch):
    monkeypatch.setenv("CERTIFY_MEMORY_MB", "1")
    assert main(["run", "zlz-composition-rate", "-p", "r=64"]) == 2
    assert main(["table", "zlz-composition-rate", "--sweep", "r=4..8:x2"]) == 2
    monkeypatch.setenv("CERTIFY_MEMORY_MB", "lots")
    assert main(["run", "zlz-composition-rate", "-p", "r=4"]) == 2


@pytest.mark.slow
def test_rate_sweep_d1_slow():
    for r in (4, 64, 1024, 4096):
        assert run_theorem("zlz-composition-rate", {"d": "1", "r": str(r)})["verdict"] == "HOLDS"


@pytest.mark.slow
def test_rate_sweep_d2_slow():
    for r in (4, 64, 256, 1024):
        assert run_theorem("zlz-composition-rate", {"d": "2", "r": str(r)})["verdict"] == "HOLDS"


# Thm 1.3 and the gadget entries -----------------------------------------------------------------


def test_uniform_holds_d1_small():
    cert = run_theorem("zlz-composition-uniform", {"d": "1", "r": "4"})
    assert cert["verdict"] == "HOLDS"
    m = cert["architecture"]["measured"]
    assert (m["g_depth"], m["g_dim"], m["compositions"]) == (5, 26, 13)
    assert m["g_width"] <= 4096
    assert [g["gadget"] for g in cert["gadgets"]] == ["mid"] and cert["gadgets"][0]["holds"]


def test_uniform_pieces_cover_unit_interval():
    from proofs.compositions.check import uniform_pieces

    ps = uniform_pieces(8, fmpq(1, 32))
    assert ps[0][0] == 0 and ps[-1][1] == 1
    assert all(a[1] == b[0] for a, b in zip(ps, ps[1:]))


def test_uniform_rejects_broken_mid(monkeypatch):
    """A mid gadget with a wrong output weight fails its identity: no HOLDS."""
    from constructive.gadgets import mid as midmod

    orig = midmod.mid_gadget

    def broken():
        net = orig()
        g = net.nodes[0]
        body = g.body
        last = body.nodes[-1]
        W = [[last.W[0, j] for j in range(last.W.ncols())]]
        W[0][-2] = fmpq(2)
        bad = network(*body.nodes[:-1], affine(W, [0]))
        from constructive.ir import gadget
        return network(gadget("mid", bad, g.spec))

    import proofs.compositions.build as build

    monkeypatch.setattr(build, "mid_gadget", broken)  # where the builder looks it up
    cert = run_theorem("zlz-composition-uniform", {"d": "1", "r": "4"})
    assert cert["verdict"] != "HOLDS"


@pytest.mark.parametrize("tid,params,shape", [
    ("zlz-step-by-iteration", {"n": "7", "m": "9"}, (9, 1, 5, 8)),
    ("zlz-step-by-iteration", {"n": "5", "m": "5", "delta": "1/4"}, (9, 1, 5, 4)),
    ("zlz-bitsum-by-iteration", {"r": "7"}, (8, 2, 3, 7)),
    ("zlz-point-fit-by-iteration", {"n": "9", "m": "12"}, (16, 2, 6, 11)),
    ("zlz-merge-iterations", {"n": "5"}, None),
])
def test_gadget_entries_hold(tid, params, shape):
    cert = run_theorem(tid, params)
    assert cert["verdict"] == "HOLDS", cert["reasons"]
    m = cert["architecture"]["measured"]
    if shape is not None:
        assert (m["g_width"], m["g_depth"], m["g_dim"], m["compositions"]) == shape
    assert all(c["ok"] for c in cert["architecture"]["claims"])


def test_step_iteration_rejects_broken_block(monkeypatch):
    from proofs.compositions import build as comp

    orig = comp.floor_step
    monkeypatch.setattr(comp, "floor_step", lambda delta: orig(delta * 8))
    cert = run_theorem("zlz-step-by-iteration", {"n": "6", "m": "6"})
    assert cert["verdict"] == "VIOLATED" and cert["witnesses"]


def test_merge_rejects_wrong_selector_level(monkeypatch):
    """A clock whose level M is too small for the states breaks the identity: VIOLATED."""
    from proofs.compositions import build as comp

    orig = comp.merge
    monkeypatch.setattr(comp, "merge", lambda g1, g2, L2, dhat, M: orig(g1, g2, L2, dhat, fmpq(2)))
    cert = run_theorem("zlz-merge-iterations", {"n": "5"})
    assert cert["verdict"] == "VIOLATED"


def test_gadget_bad_input_exit_2():
    assert main(["run", "zlz-step-by-iteration", "-p", "n=5", "-p", "m=3"]) == 2
    assert main(["run", "zlz-point-fit-by-iteration", "-p", "n=9", "-p", "m=4"]) == 2
    assert main(["run", "zlz-composition-uniform", "-p", "r=0"]) == 2


@pytest.mark.slow
def test_uniform_sweep_d1_slow():
    for r in (8, 16, 32):
        assert run_theorem("zlz-composition-uniform", {"d": "1", "r": str(r)})["verdict"] == "HOLDS"


def test_selector_entry_holds_and_rejects(monkeypatch):
    from proofs.compositions import build as comp

    cert = run_theorem("zlz-selector", {"d": "2", "M": "5", "T": "100"})
    assert cert["verdict"] == "HOLDS"
    orig = comp.selector
    monkeypatch.setattr(comp, "selector", lambda d, M: orig(d, M / 4))
    assert run_theorem("zlz-selector", {"d": "2", "M": "5", "T": "100"})["verdict"] != "HOLDS"


@pytest.mark.slow
def test_uniform_d2_slow():
    cert = run_theorem("zlz-composition-uniform", {"d": "2", "r": "4"})
    assert cert["verdict"] == "HOLDS"
    m = cert["architecture"]["measured"]
    assert (m["g_depth"], m["g_dim"], m["compositions"]) == (7, 125, 15)


# the walks over the IR (NodeInterpreter subclasses) ---------------------------------------------


def test_cell_evaluators_do_not_share_used_gadget_names():
    """``used`` was a class attribute: a clamp spec used by one evaluator showed up in every other."""
    clamp = clamp_block(fmpq(8))
    first, second = CellEvaluator(1), CellEvaluator(1)
    lo, hi = first.ctx.points([[fmpq(-100)]]), first.ctx.points([[fmpq(100)]])
    a, b = first.loose(clamp, lo, hi)
    assert (a.num[0, 0], a.den, b.num[0, 0], b.den) == (-8, 1, 8, 1)  # the certified range
    assert first.used == {"zlz-clamp"} and second.used == set() and CellEvaluator(4).used == set()
    _, _, used = global_sup(clamp, 1)
    _, _, again = global_sup(clamp, 1)
    assert used == again == {"zlz-clamp"} and used is not again


def test_cell_evaluator_strict_and_loose_walks():
    clamp = clamp_block(fmpq(8))
    vals, bad = cell_values(clamp, [((fmpq(9), fmpq(10)),), ((fmpq(-10), fmpq(-9)),)])
    assert vals == [8, -8] and bad == 0  # constant on either side of [−8, 8]
    vals, bad = cell_values(clamp, [((fmpq(0), fmpq(1)),)])
    assert vals == [None] and bad == 1  # affine but not constant
    with pytest.raises(CellFailure, match="changes sign inside a cell"):
        ev = CellEvaluator(2)
        ev.run(clamp, ev.ctx.points([[fmpq(-9)], [fmpq(0)]]))


def test_engine_apply_uses_the_clamp_spec_only_in_loose_mode():
    clamp = clamp_block(fmpq(8))
    X = box_forms([[fmpq(1), fmpq(0)]], [fmpq(-100)], [fmpq(100)])
    engine = Engine()
    Y = engine.apply(clamp, X, False)
    assert (Y.rem[0].entries(), Y.rem[1].entries()) == ([-8], [8]) and engine.used == {"zlz-clamp"}
    with pytest.raises(StepFailure, match="changes sign"):
        Engine().apply(clamp, X, True)
    inside = box_forms([[fmpq(1), fmpq(0)]], [fmpq(-1)], [fmpq(1)])
    exact = Engine().apply(clamp, inside, True)  # affine on the box: the identity, exactly
    assert exact.rem is None and exact.F.entries() == [1, 0]


def test_a_clipped_state_reports_its_clipped_bounds():
    """The clamp spec (loose mode) replaces the state by 0 + [lo, hi]: its bounds are [lo, hi],
    not the cached bounds of the zero forms it was built from (which read (0, 0) before), and
    a state wholly above the clamp level becomes that level."""
    clamp = clamp_block(fmpq(8))
    Y = Engine().apply(clamp, box_forms([[fmpq(1), fmpq(0)]], [fmpq(-100)], [fmpq(100)]), False)
    assert Y.bounds() == ([-8], [8])
    above = Engine()._clip(box_forms([[fmpq(1), fmpq(0)]], [fmpq(20)], [fmpq(30)]), fmpq(-8), fmpq(8))
    assert above.bounds() == ([8], [8])
