"""NestNet floor obligations proved by Lemmas C.2 / C.3 (proofs/nestnet/floor_lemmas.py) and
gadgets run once per group of coinciding points (proofs/nestnet/collapse.py): each shortcut
against the plain computation it replaces."""

from __future__ import annotations

import pytest
from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from constructive.evaluate import evaluate
from constructive.ir import Affine
from proofs.nestnet import gadgets as G
from proofs.nestnet.check import GapEvaluator, GapFailure, Obligations, discharge, group_values
from proofs.nestnet.floor_lemmas import discharge_by_lemma, lemma_of

SETTINGS = settings(max_examples=15, deadline=None, database=None)
gaps = st.builds(fmpq, st.integers(1, 15), st.sampled_from([16, 17, 64, 1000]))


def _moved(floor, k: int, which: str, i: int, j: int = 0):
    """The floor network with entry (i, j) of the k-th affine map's ``which`` moved by 2^-40."""
    from tests.mutants.mutate import nudge, replace_gadget_body

    def change(body):
        aff = [n for n in body.nodes if isinstance(n, Affine)][k]
        return nudge(body, aff, which, i, j)
    return replace_gadget_body(floor, floor.nodes[0], change)


def _plain_and_lemma(f, ells) -> tuple:
    """(plain discharge stats, lemma discharge stats, plain values at the interval ends)."""
    out = []
    for lemma in (False, True):
        ob = Obligations.new()
        gp = dict(f.nodes[0].params)
        for ell in ells:
            ob.add(f, fmpq(ell), fmpq(ell + 1) - gp["gap"], fmpq(ell))
        out.append(discharge(ob, use_lemmas=lemma))
    return tuple(out)


@SETTINGS
@given(n=st.integers(1, 5), gap=gaps, data=st.data())
def test_c2_lemma_agrees_with_the_plain_run(n, gap, data):
    f = G.floor_c2(n, gap)
    assert lemma_of(f) == ("C.2", None, n)
    ells = data.draw(st.lists(st.integers(0, 2 ** n - 1), min_size=1, max_size=6))
    plain, lemma = _plain_and_lemma(f, ells)
    assert sum(plain.values()) == sum(lemma.values()) == len(set(ells))
    assert all(k.endswith("by its lemma") for k in lemma)
    # the lemma's statement itself, at the ends and one inner point of each interval
    t = data.draw(st.fractions(0, 1))
    xs = [x for ell in ells for x in (fmpq(ell), fmpq(ell) + (1 - gap) * fmpq(t.numerator, t.denominator),
                                      fmpq(ell + 1) - gap)]
    assert evaluate(f, [xs])[0] == [fmpq(ell) for ell in ells for _ in range(3)]


@SETTINGS
@given(r=st.integers(2, 3), data=st.data())
def test_c3_lemma_agrees_with_the_plain_run(r, data):
    n = 2
    f = G.floor_c1(r, n, fmpq(1, 2))
    kind, g, nn = lemma_of(f)
    assert (kind, nn) == ("C.3", n) and G._is(g, G.FLOOR)
    count = dict(f.nodes[0].params)["count"]
    ells = data.draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=4))
    plain, lemma = _plain_and_lemma(f, ells)
    # the lemma path proves the same top obligations, and the digit obligations below it
    top = f"nestnet-floor(height {r}, count {count})"
    assert plain[top] == lemma[top + " by its lemma"] == len(set(ells))
    gp = dict(g.nodes[0].params)
    assert evaluate(f, [[fmpq(ell) for ell in ells] + [fmpq(ell + 1) - dict(f.nodes[0].params)["gap"]
                                                       for ell in ells]])[0] == [fmpq(e) for e in ells] * 2
    assert gp["count"] ** n == count


@pytest.mark.parametrize("k,which,i,j", [(0, "b", 1, 0), (1, "W", 1, 1), (2, "W", 0, 1), (2, "b", 0, 0)])
def test_a_moved_weight_is_not_the_lemma(k, which, i, j):
    f = _moved(G.floor_c2(3, fmpq(1, 4)), k, which, i, j)
    assert lemma_of(f) is None
    ob = Obligations.new()
    ob.add(f, fmpq(5), fmpq(23, 4), fmpq(5))
    assert not discharge_by_lemma(ob, id(f), list(ob.items[id(f)]))


def test_c3_with_a_different_nested_floor_is_not_the_lemma():
    f = G.floor_c1(2, 2, fmpq(1, 2))
    g = lemma_of(f)[1]
    other = G.floor_c2(2, dict(g.nodes[0].params)["gap"])  # equal weights, another object
    assert lemma_of(G.floor_c3(other, 2)) is not None
    body = f.nodes[0].body
    swapped = G._floor_gadget(type(body)(tuple(
        type(nd)(tuple(other if fn is g else fn for fn in nd.functions)) if hasattr(nd, "functions")
        else nd for nd in body.nodes)), dict(f.nodes[0].params)["gap"], 16, 2, "test")
    assert lemma_of(swapped) is not None  # the nested floor is read from the body itself
    bad = _moved(other, 0, "b", 1)
    assert lemma_of(G.floor_c3(bad, 2)) is not None and lemma_of(bad) is None


def test_a_moved_floor_fails_on_the_plain_path():
    f = _moved(G.floor_c2(3, fmpq(1, 4)), -1, "b", 0, 0)  # output bias + 2^-40
    ob = Obligations.new()
    ob.add(f, fmpq(5), fmpq(23, 4), fmpq(5))
    with pytest.raises(GapFailure):
        discharge(ob)


def test_obligations_outside_the_lemma_are_left_to_the_plain_run():
    f = G.floor_c2(2, fmpq(1, 4))
    ob = Obligations.new()
    ob.add(f, fmpq(4), fmpq(19, 4), fmpq(4))  # ℓ = count: the lemma says nothing
    assert not discharge_by_lemma(ob, id(f), list(ob.items[id(f)]))
    ob = Obligations.new()
    ob.add(f, fmpq(1), fmpq(2), fmpq(1))  # no gap
    assert not discharge_by_lemma(ob, id(f), list(ob.items[id(f)]))


@SETTINGS
@given(n=st.integers(2, 3), data=st.data())
def test_collapsed_groups_match_the_per_point_run(n, data):
    """The point-fitting gadget on groups of two equal points: values, failures and obligations
    with and without the collapse (collapse.run_gadget)."""
    ys = data.draw(st.lists(st.integers(0, 8), min_size=2, max_size=n ** 3))
    ys = [fmpq(ys[0], 8)] + [fmpq(min(max(a, ys[0] - 1), ys[0] + 1), 8) for a in ys[1:2]] + \
        [fmpq(ys[0], 8)] * (len(ys) - 2)
    net = G.point_fit_b2(ys, fmpq(1, 8), n, 2)
    js = data.draw(st.lists(st.integers(0, len(ys) - 1), min_size=1, max_size=5))
    groups = [[[fmpq(j)], [fmpq(j)]] for j in js]
    runs = []
    for collapse in (False, True):
        ob = Obligations.new()
        GapEvaluator.collapse_groups = collapse
        try:
            vals, ob, _ = group_values(net, groups, ob, discharge_now=False)
        finally:
            GapEvaluator.collapse_groups = True
        runs.append((vals, {k: dict(v) for k, v in ob.items.items()}))
    assert runs[0] == runs[1]
    assert runs[0][0] == [evaluate(net, [[fmpq(j)]])[0][0] for j in js]


def _groups_values(net, groups, **switches):
    """(values, obligations) of group_values with the evaluator's switches set, or the failure."""
    old = {k: getattr(GapEvaluator, k, True) for k in switches}
    for k, v in switches.items():
        setattr(GapEvaluator, k, v)
    try:
        vals, ob, _ = group_values(net, groups, Obligations.new(), discharge_now=False)
        return vals, {k: dict(v) for k, v in ob.items.items()}
    except GapFailure as exc:
        return str(exc)
    finally:
        for k, v in old.items():
            setattr(GapEvaluator, k, v)


@SETTINGS
@given(r=st.integers(1, 2), n=st.integers(2, 3), data=st.data())
def test_step_by_lemma_matches_the_plain_run(r, n, data):
    """Prop B.1 on whole groups (floor_lemmas.step_by_lemma) against running the step's body:
    the same values and the same obligations on the nested floor, or the same failure."""
    delta = fmpq(1, data.draw(st.sampled_from([8, 12, 64])))
    J = data.draw(st.integers(1, min(2 ** (n ** r) - 1, 40)))
    step = G.step_b1(r, n, delta, J)
    groups = []
    for _ in range(data.draw(st.integers(1, 5))):
        k = data.draw(st.integers(0, J))
        width = 1 - delta if k < J else fmpq(1)
        a, b = sorted(data.draw(st.fractions(0, 1)) for _ in range(2))
        if data.draw(st.booleans()):
            a, b = 0, 1
        pts = [fmpq(k) + width * fmpq(t.numerator, t.denominator) for t in (a, b)]
        if data.draw(st.integers(0, 9)) == 0:
            pts[1] += delta  # sometimes a group across the gap: both paths must refuse it alike
        groups.append([[p] for p in pts])
    plain = _groups_values(step, groups, step_lemma=False)
    assert _groups_values(step, groups) == plain
    if not isinstance(plain, str):
        assert plain[0] == [min(fmpq(int(g[0][0].floor())), fmpq(J)) for g in groups]
