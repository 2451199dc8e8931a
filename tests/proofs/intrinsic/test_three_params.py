"""Theorem 2.3 deep variant (proofs.intrinsic.three_params): Lemma A.3 round trip, three intrinsic
parameters, exact values on the cells, uniform accuracy, box analysis."""

from __future__ import annotations

import random

import pytest
from flint import arb, fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.analysis.boxes import analyse_boxes
from constructive.evaluate import evaluate
from constructive.ir import Affine, activation, affine, network, walk
from proofs.intrinsic.build import grid_points
from proofs.intrinsic.three_params import (build_store_params, build_three_params, cell_boxes, choose_n,
                                           pack_params, select_powers, store_params_network,
                                           store_params_values, three_params_phi, three_params_values,
                                           unpack_params)


class StubTarget:
    """f(x) = λ|x − c| on [0, 1], Lipschitz (α = 1) with constant λ, rational-valued."""

    dim = 1
    alpha = fmpq(1)
    rational_valued = True

    def __init__(self, c, lam) -> None:
        self.c, self.lam = fmpq(c), fmpq(lam)

    def exact(self, point):
        return self.lam * abs(fmpq(point[0]) - self.c)

    def ball(self, point, prec=128):
        return arb(self.exact(point))


F1 = StubTarget(fmpq(1, 3), 1)
F2 = StubTarget(fmpq(3, 5), fmpq(5, 4))  # same n for eps = 1/10, different s, b and v
EPS = fmpq(1, 10)
PARAMS = {"d": 1, "eps": "1/10"}


@pytest.fixture(scope="module")
def built():
    return three_params_values(PARAMS, F1), build_three_params(PARAMS, F1)


def cell_value(vals, beta):
    idx = grid_points(vals["d"], vals["K"]).index(tuple(beta))
    bits = vals["bits"][idx]
    return vals["s"] * sum(fmpq(bit, 2 ** (l + 1)) for l, bit in enumerate(bits)) + vals["b"]


# ------------------------------------------------------------------------------------------------
# Lemma A.3


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 8), st.integers(1, 4), st.randoms(use_true_random=False))
def test_store_params_round_trip(m, n, rnd):
    a = [fmpq(rnd.randrange(2 ** m), 2 ** m) for _ in range(n)]
    v = pack_params(a, m)
    assert 0 <= v < 1 and (v * 2 ** (m * n)).q == 1
    assert unpack_params(v, m, n) == a
    out = evaluate(store_params_network(m, n), [[v]])
    assert [row[0] for row in out] == a


def test_store_params_all_ones_and_zero():
    m, n = 3, 3
    for a in ([fmpq(7, 8)] * 3, [fmpq(0)] * 3, [fmpq(0), fmpq(7, 8), fmpq(1, 8)]):
        out = evaluate(store_params_network(m, n), [[pack_params(a, m)]])
        assert [row[0] for row in out] == a


def test_store_params_architecture_and_range():
    net = store_params_network(5, 4)
    assert net.depth == 20 and net.width == 4 + 3
    # outputs stay in [0, 1] even for inputs off the dyadic grid or outside [0, 1)
    out = evaluate(net, [[fmpq(-3), fmpq(1, 3), fmpq(1), fmpq(7, 2), fmpq(12345, 10 ** 9)]])
    assert all(0 <= v <= 1 for row in out for v in row)


def test_build_store_params_is_fixed_network_with_dummy_input():
    params = {"m": 8, "n": 3, "seed": 5}
    v, a = store_params_values(params)
    assert store_params_values(params) == (v, a)          # deterministic
    assert v == pack_params(a, 8)
    net = build_store_params(params, None)
    assert net.in_dim == 1 and net.out_dim == 3
    out = evaluate(net, [[fmpq(0), fmpq(1, 2), fmpq(1)]])
    assert out == [[x] * 3 for x in a]
    other = build_store_params({"m": 8, "n": 3, "seed": 6}, None)
    diffs = [(p, q) for p, q in zip(walk(net), walk(other)) if isinstance(p, Affine)
             and (p.W != q.W or p.b != q.b)]
    assert len(diffs) == 1 and diffs[0][0].intrinsic == frozenset({("b", 0)})


def test_pack_params_rejects_non_dyadic():
    with pytest.raises(ValueError):
        pack_params([fmpq(1, 3)], 4)
    with pytest.raises(ValueError):
        pack_params([fmpq(1)], 4)


# ------------------------------------------------------------------------------------------------
# Theorem 2.3


def test_choose_n_exact():
    assert choose_n(1, 1, 1, fmpq(1, 10)) == 7      # 5/128 ≤ 1/20 < 5/64
    assert choose_n(1, 1, 1, fmpq(1, 50)) == 9      # 5/512 ≤ 1/100 < 5/256
    assert choose_n(fmpq(5, 4), 1, 1, fmpq(1, 10)) == 7
    # α = 1/2, d = 2: 5·2^{1/4}·2^{−n/2} ≤ 1/4 ⟺ 2^n ≥ 400√2 ≈ 565.7 ⟹ n = 10
    assert choose_n(1, fmpq(1, 2), 2, fmpq(1, 2)) == 10
    # boundary: 5·2^{-3} = 5/8 = eps/2 exactly
    assert choose_n(1, 1, 1, fmpq(5, 4)) == 3


def test_select_powers_exact():
    rng = random.Random(1)
    for d, n in [(1, 3), (2, 2)]:
        K, J = 2 ** n, (2 ** n) ** d
        cols, expected = [], []
        for beta in grid_points(d, K):
            a = [fmpq(sum(rng.randrange(2) * 4 ** (J - j) for j in range(1, J + 1)), 4 ** J)
                 for _ in range(n)]
            rho = 1 + sum(b * K ** i for i, b in enumerate(beta))
            cols.append(list(beta) + a)
            expected.append([4 ** rho * x for x in a])
        out = evaluate(select_powers(d, n), [list(r) for r in zip(*cols)])
        assert [list(c) for c in zip(*out)] == expected


def test_exactly_three_intrinsic_tags(built):
    _, net = built
    tags = [(id(node), t) for node in walk(net) if isinstance(node, Affine) for t in node.intrinsic]
    assert len(tags) == 3


def test_two_targets_differ_in_exactly_three_positions(built):
    vals1, net1 = built
    vals2 = three_params_values(PARAMS, F2)
    net2 = build_three_params(PARAMS, F2)
    assert vals1["n"] == vals2["n"]
    assert vals1["s"] != vals2["s"] and vals1["b"] != vals2["b"] and vals1["v"] != vals2["v"]
    nodes1, nodes2 = list(walk(net1)), list(walk(net2))
    assert len(nodes1) == len(nodes2)
    differing = []
    for p, q in zip(nodes1, nodes2):
        assert type(p) is type(q)
        if not isinstance(p, Affine):
            continue
        assert (p.W.nrows(), p.W.ncols()) == (q.W.nrows(), q.W.ncols())
        for i in range(p.W.nrows()):
            for j in range(p.W.ncols()):
                if p.W[i, j] != q.W[i, j]:
                    differing.append((p, ("W", i, j)))
            if p.b[i, 0] != q.b[i, 0]:
                differing.append((p, ("b", i)))
    assert len(differing) == 3
    assert all(pos in node.intrinsic for node, pos in differing)


def test_exact_values_on_cells_and_eps(built):
    vals, net = built
    K, delta = vals["K"], vals["delta"]
    assert vals["n"] == 7
    centres = [fmpq(2 * k + 1, 2 * K) for k in range(K)]
    # points in the strips Ω and the end points: the bound is uniform on [0, 1]
    strips = [fmpq(k + 1, K) - delta / 2 for k in range(0, K - 1, 9)] + [fmpq(0), fmpq(1)]
    out = evaluate(net, [centres + strips])[0]
    for k in range(K):
        assert out[k] == cell_value(vals, (k,))
    errors = [abs(o - F1.exact([x])) for o, x in zip(out, centres + strips)]
    assert max(errors) <= EPS
    assert max(errors) > 0


def test_wrong_v_is_detected(built):
    """The cell check above can fail: one unit in the last place of v changes a cell value."""
    vals, _ = built
    d, n, m = vals["d"], vals["n"], vals["m"]
    bad_v = vals["v"] + fmpq(1, 2 ** (m * n))
    net = network(affine([[1], [0]], [1, bad_v]), activation(2),
                  three_params_phi(d, n, vals["delta"]),
                  affine([[vals["s"]]], [vals["b"]]))
    # 2^-P moves the last base-4 digit of a_n: the bit ξ_{β,n} of the last cell β = K − 1 flips
    K = vals["K"]
    out = evaluate(net, [[fmpq(1, 2 * K), fmpq(2 * K - 1, 2 * K)]])[0]
    assert out[0] == cell_value(vals, (0,))
    assert abs(out[1] - cell_value(vals, (K - 1,))) == vals["s"] / 2 ** n


def test_box_analysis_constant_on_cells(built):
    """On each Q_β the output is constant: the refined pieces of Q_β (cut at the strips of the
    shifted copies) all get a degenerate enclosure equal to the cell value."""
    vals, net = built
    n, K, delta = vals["n"], vals["K"], vals["delta"]
    chosen = [0, 1, 41, K - 2, K - 1]
    boxes, owners = [], []
    for k in chosen:
        for box in cell_boxes(1, n, delta, refined=True)[2 * k:2 * k + 2]:
            assert fmpq(k, K) <= box[0][0] and box[0][1] <= fmpq(k + 1, K)
            boxes.append(box)
            owners.append(k)
    results, used = analyse_boxes(net, boxes)
    for r, k in zip(results, owners):
        assert r.lo == r.hi == (cell_value(vals, (k,)),)
    assert "mid" in used


def test_box_analysis_all_cells_small_n():
    """Forced n = 3 (no ε claim): every refined piece of every cell is constant, d = 1."""
    params = {"d": 1, "eps": "1", "n": 3}
    vals = three_params_values(params, F2)
    net = build_three_params(params, F2)
    boxes = cell_boxes(1, 3, vals["delta"], refined=True)
    assert len(boxes) == 2 * 8
    results, _ = analyse_boxes(net, boxes)
    for idx, r in enumerate(results):
        assert r.lo == r.hi == (cell_value(vals, (idx // 2,)),)
