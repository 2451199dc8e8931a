"""NestNet (Shen, Yang, Zhang, NeurIPS 2022): exact gadget identities, counting, memoised
evaluation, the gap-condition certifier, theorem instances and bad input."""

from __future__ import annotations

import itertools
import random

import pytest
import sympy
from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.certificate import run_theorem
from certify.cli import main
from constructive.activations import RELU
from constructive.errors import UserError
from constructive.evaluate import evaluate
from constructive.ir import Activation, affine, network
from constructive.targets import make_target
from proofs.nestnet import gadgets as G
from proofs.nestnet.build import MemoInterpreter, build_lp, evaluate_memo, grid_K, iroot_pow, nest_params
from proofs.nestnet.check import GapFailure, group_values, measure_nestnet

SETTINGS = settings(max_examples=20, deadline=None, database=None)


def _in_gap(data, count: int, gap: fmpq) -> tuple[fmpq, int]:
    l = data.draw(st.integers(0, count - 1))
    t = data.draw(st.integers(0, 1000))
    return l + (1 - gap) * fmpq(t, 1000), l


# ------------------------------------------------------------------------------------------------
# floors


@SETTINGS
@given(st.integers(1, 10), st.integers(2, 64), st.data())
def test_floor_c2_exact(n, q, data):
    gap = fmpq(1, q)
    x, l = _in_gap(data, 2 ** n, gap)
    assert evaluate(G.floor_c2(n, gap), [[x]])[0][0] == l


FLOOR_C1 = {(r, n): G.floor_c1(r, n, fmpq(1, 5)) for r, n in [(2, 2), (2, 3), (3, 2)]}


@SETTINGS
@given(st.sampled_from(sorted(FLOOR_C1)), st.data())
def test_floor_c1_exact(key, data):
    r, n = key
    x, l = _in_gap(data, 2 ** (n ** r), fmpq(1, 5))
    assert evaluate(FLOOR_C1[key], [[x]])[0][0] == l


@SETTINGS
@given(st.integers(0, 200), st.data())
def test_step_b1_exact(J, data):
    net = G.step_b1(2, 3, fmpq(1, 7), J)
    x, l = _in_gap(data, J + 1, fmpq(1, 7))
    if l == J:  # the last interval is the whole [J, J+1]
        x = J + fmpq(data.draw(st.integers(0, 1000)), 1000)
    assert evaluate(net, [[x]])[0][0] == l


def test_floor_c3_outer_count_and_height():
    for n in (2, 3, 5):
        g = G.floor_c2(2, fmpq(1, 2 ** (2 * n + 3)))
        net = G.floor_c3(g, n)
        m = measure_nestnet(net)
        assert m.outer_params == 12 * n - 7
        assert m.height == 2 and net.height == 2
        assert m.nest_params == 12 * n - 7 + nest_params(g)


# ------------------------------------------------------------------------------------------------
# bit sums and point fitting


@SETTINGS
@given(st.lists(st.integers(0, 1), min_size=1, max_size=12), st.data())
def test_bitsum_d4_exact(bits, data):
    k = data.draw(st.integers(0, len(bits)))
    assert evaluate(G.bitsum_d4(len(bits)), [[k + G.bin0(bits)]])[0][0] == sum(bits[:k])


BITSUM = {(n, s): G.bitsum_d2(n, s) for n, s in [(2, 2), (3, 2), (2, 3)]}


@SETTINGS
@given(st.sampled_from(sorted(BITSUM)), st.data())
def test_bitsum_d2_exact(key, data):
    n, s = key
    bits = data.draw(st.lists(st.integers(0, 1), min_size=n ** s, max_size=n ** s))
    k = data.draw(st.integers(0, n ** s))
    out = evaluate_memo(BITSUM[key], [[k + G.bin0(bits)]])[0][0]
    assert out == sum(bits[:k])
    assert BITSUM[key].height == s


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 2), st.data())
def test_blocksum_d3_exact(n, s, data):
    m = n ** s
    theta = [data.draw(st.lists(st.integers(0, 1), min_size=m, max_size=m)) for _ in range(n)]
    net = G.blocksum_d3(n, s, theta)
    out = evaluate_memo(net, [[j] for j in range(n * m)])[0]
    assert out == [sum(theta[j // m][:j % m + 1]) for j in range(n * m)]


@settings(max_examples=10, deadline=None, database=None)
@given(st.integers(0, 10 ** 6))
def test_point_fit_b2_within_eps(seed):
    rng = random.Random(seed)
    n, s, eps = 3, 2, fmpq(1, 4)
    ys = [fmpq(rng.randint(0, 8), 8)]
    for _ in range(n ** (s + 1) - 1):
        ys.append(max(fmpq(0), ys[-1] + eps * fmpq(rng.randint(-4, 4), 4)))
    net = G.point_fit_b2(ys, eps, n, s)
    out = evaluate_memo(net, [[j] for j in range(len(ys))])[0]
    assert all(abs(o - y) <= eps and 0 <= o <= max(ys) for o, y in zip(out, ys))


def test_point_fit_sign_is_minus():
    """Erratum of Prop B.2's proof: with + phi3 a decreasing walk is not fitted."""
    ys = [fmpq(3), fmpq(2), fmpq(1), fmpq(0)]
    plan = G.point_fit_plan(ys, fmpq(1), 2, 1)
    a, m = plan["a"], 2
    for j in range(4):
        i, k = divmod(j, m)
        minus = plan["starts"][i] + sum(plan["c"][i][:k + 1]) - sum(plan["d"][i][:k + 1])
        plus = plan["starts"][i] + sum(plan["c"][i][:k + 1]) + sum(plan["d"][i][:k + 1])
        assert minus == a[j]
        assert plus != a[j] or k == 0


# ------------------------------------------------------------------------------------------------
# counting and evaluation


def test_reused_activation_counted_once():
    rho = network(affine([[1], [1]], [0, -1]), Activation((RELU, RELU)), affine([[1, -1]], [0]))
    own = 2 * 2 + 3  # (1+1)·2 + (2+1)·1
    one = network(affine([[1]], [0]), Activation((rho,)), affine([[1]], [0]))
    many = network(affine([[1], [2], [3]], [0, 0, 0]), Activation((rho, rho, rho)),
                   affine([[1, 1, 1]], [0]))
    assert nest_params(rho) == own
    assert nest_params(one) == 2 + 2 + own
    assert nest_params(many) == 6 + 4 + own  # rho once, although three neurons use it
    assert many.height == 2 and rho.height == 1


def test_iroot_exact():
    assert iroot_pow(8, 3, 2) == 22  # 8^(3/2) = 22.6…
    assert iroot_pow(16, 2, 2) == 16 and iroot_pow(15, 3, 3) == 15
    assert grid_K(1, 3, 8) == 4096 and grid_K(2, 1, 8) == 8


def test_memo_equals_plain_interpreter():
    t = make_target("abs", 1)
    net = build_lp({"d": 1, "s": 2, "n": 2, "p": 2}, t)
    xs = [[fmpq(k, 17)] for k in range(18)]
    memo = MemoInterpreter()
    assert evaluate_memo(net, xs, memo) == evaluate(net, [[x[0] for x in xs]])
    assert memo.calls > 0


# ------------------------------------------------------------------------------------------------
# the gap-condition certifier


def test_gap_condition_rejects_straddling_interval():
    net = G.floor_c3(G.floor_c2(2, fmpq(1, 64)), 2)
    ok, _, _ = group_values(net, [[[fmpq(5)], [fmpq(5) + fmpq(1, 2)]]])
    assert ok == [5]
    with pytest.raises(GapFailure):
        group_values(net, [[[fmpq(5)], [fmpq(6)]]])


def test_gap_certifier_catches_wrong_floor():
    bad = G.floor_c2(3, fmpq(1, 1024))
    g = bad.nodes[0]
    # claim more intervals than the network floors: 16 instead of 8
    from constructive.ir import gadget

    lying = network(gadget(G.FLOOR, g.body, g.spec, gap=fmpq(1, 1024), count=16, height=1))
    outer = G.floor_c3(lying, 2)
    with pytest.raises(GapFailure):
        group_values(outer, [[[fmpq(200)], [fmpq(200) + fmpq(1, 2)]]])


# ------------------------------------------------------------------------------------------------
# theorem instances


@pytest.mark.parametrize("tid,params", [
    ("nestnet-offtrifling", {"s": "2", "n": "3"}),
    ("nestnet-height-s-rate", {"s": "1", "n": "4"}),
    ("nestnet-height-s-rate", {"s": "3", "n": "2"}),
    ("nestnet-height-s-rate", {"d": "2", "s": "1", "n": "3"}),
    ("nestnet-holder-rate", {"s": "2", "n": "3"}),
    ("nestnet-height-s-rate-linf", {"s": "2", "n": "3"}),
    ("nestnet-height-s-rate-linf", {"d": "2", "s": "1", "n": "3"}),
    ("nestnet-point-fit", {"s": "2", "n": "3"}),
    ("nestnet-bitsum", {"s": "2", "n": "3"}),
    ("nestnet-step-doubly-exponential", {}),
    ("nestnet-floor-c3", {}),
])
def test_theorem_holds(tid, params):
    cert = run_theorem(tid, params)
    assert cert["verdict"] == "HOLDS", cert["reasons"]
    assert all(c["ok"] for c in cert["architecture"]["claims"])


# ------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("args", [
    ["run", "nestnet-height-s-rate", "-p", "s=0"],
    ["run", "nestnet-height-s-rate", "-p", "n=0"],
    ["run", "nestnet-floor-c3", "-p", "n=1"],
    ["table", "nestnet-height-s-rate", "--sweep", "n=0..3"],
])
def test_bad_input_exit_2(args, capsys):
    assert main(args) == 2
    assert "certify: error" in capsys.readouterr().err


def test_linf_is_d2_at_most(capsys):
    assert main(["run", "nestnet-height-s-rate-linf", "-p", "d=3"]) == 2


def test_lemma_c3_needs_n_2():
    with pytest.raises(UserError, match="n >= 2"):
        G.floor_c3(G.floor_c2(2, fmpq(1, 64)), 1)


def test_memory_budget(monkeypatch, capsys):
    monkeypatch.setenv("NESTNET_MEMORY_MB", "1")
    assert main(["run", "nestnet-height-s-rate", "-p", "s=2", "-p", "n=8"]) == 2
    assert "memory budget" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# sweeps (slow): every instance HOLDS and the log-log slope of the certified upper bounds is
# within 15 % of −(s+1)/d


def _loglog_slope(points: list[tuple[int, float]]) -> float:
    import math

    xs = [math.log(n) for n, _ in points]
    ys = [math.log(u) for _, u in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)


@pytest.mark.slow
@pytest.mark.parametrize("s,d,top", [(1, 1, 16), (2, 1, 16), (3, 1, 8), (1, 2, 8), (2, 2, 8)])
def test_rate_sweep(s, d, top):
    pts = []
    for n in range(2, top + 1):
        cert = run_theorem("nestnet-height-s-rate", {"s": str(s), "d": str(d), "n": str(n)})
        assert cert["verdict"] == "HOLDS", (n, cert["reasons"])
        pts.append((n, float(cert["error"]["upper"].split("+/-")[0].strip("[ "))))
    slope = _loglog_slope(pts)
    assert abs(slope + (s + 1) / d) <= 0.15 * (s + 1) / d, slope


def test_sweep_over_memory_budget_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("NESTNET_MEMORY_MB", "64")
    assert main(["table", "nestnet-height-s-rate", "--sweep", "n=30..32", "-p", "s=3"]) == 2
    assert "memory budget" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# p = ∞: the shifts and every copy are read from the network


def _linf_instance():
    from certify.certificate import make_target_for
    from certify.registry import default_registry

    thm = default_registry().get("nestnet-height-s-rate-linf")
    params = thm.parse_params({"s": "2", "n": "3"})
    target = make_target_for(thm, params, None)
    return thm, params, target, thm.builder()(params, target)


def _linf_certify(thm, params, target, net):
    from certify.certificate import certify_network

    return certify_network(thm, params, target, net, thm.builder())


def test_linf_equal_copies_are_analysed_once():
    """Copies that are distinct objects but equal token by token are one analysis; the shifts
    reported are the network's."""
    from constructive.ir import Network, Parallel

    thm, params, target, net = _linf_instance()
    fan, par, *rest = net.nodes
    g = par.parts[0]
    copies = tuple(Network(tuple(g.nodes)) for _ in par.parts)  # new objects, same content
    cert = _linf_certify(thm, params, target, network(fan, Parallel(copies), *rest))
    assert cert["verdict"] == "HOLDS"
    assert cert["details"]["distinct_copies"] == 1
    assert cert["details"]["shifts"] == [[str(fan.b[m, 0])] for m in range(3)]


def test_linf_fan_not_identity_is_inconclusive():
    from constructive.ir import affine_from

    thm, params, target, net = _linf_instance()
    fan = net.nodes[0]
    W = fan.W.__class__(3, 1, [1, 1, fmpq(1) + fmpq(1, 2 ** 40)])
    cert = _linf_certify(thm, params, target, network(affine_from(W, fan.b), *net.nodes[1:]))
    assert cert["verdict"] == "INCONCLUSIVE"
    assert "x ↦ (x + t_m)" in cert["details"]["failure"]


def test_the_floor_is_certified_on_the_statements_intervals_not_the_gadgets():
    """A floor built for n − 1 digits (exact on half of [0, 2^n)) used to be certified on the
    intervals its own gadget declared; the intervals now come from the statement."""
    from certify.certificate import certify_network, make_target_for
    from certify.registry import default_registry

    thm = default_registry().get("nestnet-floor-c2")
    params = thm.parse_params({"n": "4"})
    target = make_target_for(thm, params, None)
    short = thm.builder()(thm.parse_params({"n": "3"}), target)
    cert = certify_network(thm, params, target, short, lambda p, t: short)
    assert cert["verdict"] != "HOLDS"


def test_the_statements_delta_is_the_builders():
    """nestnet-offtrifling states δ = 2^−⌈log₂ 3K⌉ (the kernel reads it); the builder's choice,
    the largest power of two ≤ 1/(3K), is the same number on the whole parameter domain."""
    from certify.registry import default_registry
    from proofs.nestnet.build import grid_K, offtrifling_delta

    thm = default_registry().get("nestnet-offtrifling")
    for d, s, n in itertools.product((1, 2), (1, 2, 3), range(1, 65)):
        values = thm.values(thm.parse_params({"d": str(d), "s": str(s), "n": str(n)}))
        K = grid_K(d, s, n)
        assert int(values[sympy.Symbol("K")]) == K
        assert str(values[sympy.Symbol("delta")]) == str(offtrifling_delta(K))
