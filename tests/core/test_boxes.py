"""The cell-wise box analysis: exact where it says so, enclosing everywhere."""

import random

from flint import fmpq
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.analysis.boxes import analyse_boxes, bisect_widest
from certify.analysis.ranges import output_range
from constructive.evaluate import evaluate
from constructive.gadgets.bits import bit_extractor
from constructive.ir import relu_network


def random_net(seed: int, d: int, width: int = 4, depth: int = 2):
    rng = random.Random(seed)
    q = lambda: fmpq(rng.randint(-8, 8), rng.randint(1, 4))
    dims = [d] + [width] * depth + [1]
    return relu_network([([[q() for _ in range(dims[k])] for _ in range(dims[k + 1])],
                          [q() for _ in range(dims[k + 1])]) for k in range(len(dims) - 1)])


@settings(max_examples=20)
@given(st.integers(0, 10 ** 6), st.integers(1, 2), st.integers(0, 10 ** 6))
def test_boxes_are_exact_where_claimed_and_enclose_everywhere(seed, d, seed2):
    net = random_net(seed, d)
    rng = random.Random(seed2)
    boxes = []
    for _ in range(6):
        box = []
        for _ in range(d):
            a = fmpq(rng.randint(-40, 40), 16)
            box.append((a, a + fmpq(rng.randint(1, 16), 32)))
        boxes.append(box)
    results, _ = analyse_boxes(net, boxes)
    for r in results:
        pts = [[a + (b - a) * fmpq(rng.randint(0, 8), 8) for a, b in r.box] for _ in range(5)]
        values = evaluate(net, [list(c) for c in zip(*pts)])[0]
        assert all(r.lo[0] <= v <= r.hi[0] for v in values)
        if r.exact and d == 1:  # affine on the box: linear interpolation of the vertex values
            (a, b), = r.box
            v0, v1 = r.vertex_values[0][0], r.vertex_values[0][-1]
            for p, v in zip(pts, values):
                assert v == v0 + (v1 - v0) * (p[0] - a) / (b - a)


def test_bit_extractor_range_comes_from_the_threshold_spec():
    from certify.analysis.ranges import RangeAnalysis

    net = bit_extractor(40)
    (iv,), used = output_range(net)
    assert iv == (0, 1) and used == {"bit-extraction"}
    gadget = net.nodes[0]
    inner = RangeAnalysis()
    assert inner.run(gadget.body, [(None, None)]) == [(0, 1)] and inner.used == {"threshold"}


def test_bisection_halves_the_widest_side():
    left, right = bisect_widest([(fmpq(0), fmpq(1)), (fmpq(0), fmpq(4))])
    assert left == [(0, 1), (0, 2)] and right == [(0, 1), (2, 4)]


def test_box_context_is_a_full_number_context():
    from certify.analysis.boxes import BoxContext

    net = random_net(3, 1)
    xs = [fmpq(-3, 2), fmpq(1, 3), fmpq(5, 4)]
    exact = evaluate(net, [xs])[0]
    boxed = evaluate(net, [xs], BoxContext())[0]  # points are degenerate boxes
    assert boxed == [(v, v) for v in exact]
