"""The kernel's statement-chosen checks: instance data in formulas, a box region, ranges on R."""

from __future__ import annotations

import pytest
from flint import fmpq

from certify.kernel import evidence as ev
from certify.kernel.claims import Statement
from certify.kernel.errors import KernelError
from certify.kernel.formula import evaluate
from certify.kernel.grid import TargetExpression
from certify.kernel.stored import decode
from certify.schema import SchemaError, _kernel_keys


def _statement(claim: dict) -> Statement:
    return Statement("test", "test", "m:f", {}, {}, claim, {}, {})


def _net(w: str, b: str, out: str, out_b: str = "0") -> object:
    """x ↦ out · relu(w x + b) + out_b, one input, one output."""
    last_b = [] if out_b == "0" else [[0, out_b]]
    return decode({"input_dim": 1, "layers": [
        {"rows": 1, "cols": 1, "W": [[0, 0, w]], "b": [] if b == "0" else [[0, b]],
         "act": [["relu", 1]]},
        {"rows": 1, "cols": 1, "W": [[0, 0, out]], "b": last_b}]})


def test_sums_subscripts_and_list_extremes_are_exact():
    env = {"theta": [fmpq(1), fmpq(0), fmpq(1), fmpq(1)], "k": fmpq(2),
           "y": [[fmpq(1, 3), fmpq(2)], [fmpq(-1), fmpq(5, 2)]]}
    assert evaluate("Sum(theta[l], l, 0, k)", env, "t") == 2
    assert evaluate("Sum(theta[l]*2**l, l, 0, 3)", env, "t") == 13
    assert evaluate("Sum(1, l, 3, 2)", env, "t") == 0            # an empty sum
    assert evaluate("y[1][0] + y[0][k - 1]", env, "t") == 1
    assert evaluate("Max(theta) - Min(y[1])", env, "t") == 2
    assert evaluate("floor(y[0][0]*3)", env, "t") == 1


@pytest.mark.parametrize("text", ["theta[4]", "theta[k/4]", "theta + 1", "theta",
                                  "Sum(l, l, 0, 10**6)", "Sum(l, 2, 0, 1)", "Max(theta, 1)"])
def test_bad_data_formulas_are_refused(text):
    env = {"theta": [fmpq(1), fmpq(0)], "k": fmpq(1)}
    with pytest.raises(KernelError):
        evaluate(text, env, "t")


def test_instance_data_reads_bit_strings_and_nested_rationals_only():
    stmt = _statement({"data": ["theta", "y"]})
    data = ev.instance_data(stmt, {"details": {"theta": "0110", "y": [["1/3", 2], ["-1", "5/2"]]}})
    assert data["theta"] == [0, 1, 1, 0] and data["y"][0][0] == fmpq(1, 3)
    for bad in ({"theta": "01"}, {"theta": "01", "y": ["0.5"]}, {"theta": "01", "y": [True]}):
        with pytest.raises(KernelError):
            ev.instance_data(stmt, {"details": bad})


def test_inside_a_list_a_string_of_0s_and_1s_is_a_number():
    """y = [0, 10]: the sample "10" is ten, not the bits 1, 0 (a field that is itself a string of
    0s and 1s is the only bit string); the point fit of 10·x1 at n = 2 is verified again."""
    data = ev.instance_data(_statement({"data": ["y"]}), {"details": {"y": ["0", "10", "11/2"]}})
    assert data["y"] == [0, 10, fmpq(11, 2)]
    from certify.certificate import run_theorem
    from certify.kernel import check_certificate_data
    c = run_theorem("zlz-point-fit-by-iteration", {"n": "2"}, target_spec="10*x1")
    assert c["details"]["y"] == ["0", "10"]
    report = check_certificate_data(c)
    assert report.ok and report.verdict == "HOLDS", report.problems


@pytest.mark.parametrize("out,claim,shown", [
    (["1", "-1"], ["0", "1"], True),        # relu(u + 1) − relu(u): a clamp to [0, 1] for every u
    (["1", "-1"], ["0", "1/2"], False),     # the claim is narrower than the clamp's range
    (["1", "0"], ["0", "1"], False),        # relu(u + 1) alone grows without bound
])
def test_a_range_over_all_inputs_through_a_rank_one_layer(out, claim, shown):
    """φ(x) = T(x1 + x2) for T from the rank-one layer on: φ(R²) ⊆ T(R), followed exactly."""
    net = decode({"input_dim": 2, "layers": [
        {"rows": 2, "cols": 2, "W": [[0, 0, "1"], [1, 1, "1"]], "b": [], "act": [["identity", 2]]},
        {"rows": 2, "cols": 2, "W": [[0, 0, "1"], [0, 1, "1"], [1, 0, "1"], [1, 1, "1"]],
         "b": [[0, "1"]], "act": [["relu", 2]]},
        {"rows": 1, "cols": 2, "W": [[0, j, w] for j, w in enumerate(out) if w != "0"], "b": []}]})
    assert ev.range_shown(_statement({"range": claim}), {}, net) is shown


def test_pieces_over_instance_data():
    """φ(x) = relu(x): the claim φ(j) = y[j] holds for y = (0, 1, 2) and fails for y = (0, 1, 3)."""
    claim = {"norm": "exact", "data": ["y"], "pieces": [
        {"index": "j", "count": "3", "lo": ["j"], "hi": ["j"], "value": ["y[j]"]}]}
    stmt, net = _statement(claim), _net("1", "0", "1")
    env = {"y": [fmpq(0), fmpq(1), fmpq(2)]}
    assert ev.constant_pieces(stmt, env, net, None, {"kind": "pieces"}, {}).upper == 0
    env = {"y": [fmpq(0), fmpq(1), fmpq(3)]}
    assert ev.constant_pieces(stmt, env, net, None, {"kind": "pieces"}, {}).upper == 1


def test_line_range_finds_the_largest_distance_and_unbounded_rays():
    stmt = _statement({"norm": "exact", "range": ["0", "Max(y)"]})
    env = {"y": [fmpq(1, 2), fmpq(1)]}
    clipped = decode({"input_dim": 1, "layers": [      # relu(x) − relu(x − 3/2): from 0 to 3/2
        {"rows": 2, "cols": 1, "W": [[0, 0, "1"], [1, 0, "1"]], "b": [[1, "-3/2"]],
         "act": [["relu", 2]]},
        {"rows": 1, "cols": 2, "W": [[0, 0, "1"], [0, 1, "-1"]], "b": []}]})
    line = {"kind": "line", "cuts": ["0", "3/2"]}
    assert ev.line_range(stmt, env, clipped, None, line, {}).upper == fmpq(1, 2)
    with pytest.raises(KernelError):   # a cut missing: not affine between the cuts
        ev.line_range(stmt, env, clipped, None, {"kind": "line", "cuts": ["-1", "1"]}, {})
    ramp = _net("1", "0", "1")
    bounds = ev.line_range(stmt, env, ramp, None, {"kind": "line", "cuts": ["0", "1"]}, {})
    assert not bounds.upper.is_finite() and bounds.lower == 0


def test_grid_sup_is_over_the_statements_box():
    """|x| by relu(x) + relu(−x) on [−R, R]: exact, but relu(x) alone misses by R on the left.
    (A box's bound compares the ranges of f and φ on it: fine cuts make it tight.)"""
    stmt = _statement({"norm": "Linf", "box": ["-R", "R"]})
    target = TargetExpression("Abs(x1)", 1)
    grid = {"kind": "grid", "cuts": [[f"{k}/64" for k in range(-128, 129)]]}
    absolute = decode({"input_dim": 1, "layers": [
        {"rows": 2, "cols": 1, "W": [[0, 0, "1"], [1, 0, "-1"]], "b": [], "act": [["relu", 2]]},
        {"rows": 1, "cols": 2, "W": [[0, 0, "1"], [0, 1, "1"]], "b": []}]})
    env = {"R": fmpq(2)}
    assert ev.grid_sup(stmt, env, absolute, target, grid, {}).upper < fmpq(1, 60)
    assert ev.grid_sup(stmt, env, _net("1", "0", "1"), target, grid, {}).upper >= 2
    with pytest.raises(KernelError):   # cuts that do not span the statement's box
        ev.grid_sup(stmt, env, absolute, target, {"kind": "grid", "cuts": [["0", "1"]]}, {})


@pytest.mark.parametrize("claim", [{"check": "sampling"}, {"box": ["0"]}, {"range": "0, 1"},
                                   {"data": "y"}, {"data": ["2y"]}])
def test_schema_refuses_unknown_checks_and_malformed_kernel_keys(claim):
    with pytest.raises(SchemaError):
        _kernel_keys(claim)


def test_interval_forms_keep_sign_fixed_parts_exact():
    """relu(x + 2) − relu(x + 1) is the constant 1 on [0, 1] (both ReLUs on): plain interval
    arithmetic gives [0, 2], the affine forms give exactly [1, 1]; a ReLU that changes sign is
    bounded by [0, its upper bound]."""
    net = decode({"input_dim": 1, "layers": [
        {"rows": 2, "cols": 1, "W": [[0, 0, "1"], [1, 0, "1"]], "b": [[0, "2"], [1, "1"]],
         "act": [["relu", 2]]},
        {"rows": 1, "cols": 2, "W": [[0, 0, "1"], [0, 1, "-1"]], "b": []}]})
    assert net.interval([(fmpq(0), fmpq(1))]) == [(1, 1)]
    lo, hi = net.interval([(fmpq(-3), fmpq(0))])[0]
    assert lo <= 0 and hi >= 1   # the true range on [−3, 0] is [0, 1]


def test_a_constant_rational_target_stays_exact_on_boxes():
    target = TargetExpression("1/3", 1)
    assert target.on([(fmpq(0), fmpq(1))]) == (fmpq(1, 3), fmpq(1, 3))
    stmt = _statement({"norm": "Linf"})
    third = decode({"input_dim": 1, "layers": [
        {"rows": 1, "cols": 1, "W": [[0, 0, "1"]], "b": [], "act": [["relu", 1]]},
        {"rows": 1, "cols": 1, "W": [], "b": [[0, "1/3"]]}]})
    grid = {"kind": "grid", "cuts": [["0", "1"]]}
    assert ev.grid_sup(stmt, {}, third, target, grid, {}).upper == 0


def test_a_square_root_of_a_sum_of_squares_is_enclosed_at_zero():
    lo, hi = TargetExpression("sqrt(x1**2 + x2**2)", 2).on([(fmpq(-1, 8), fmpq(1, 8))] * 2)
    assert lo <= 0 and hi >= fmpq(1, 8) and hi < 1


def test_evidence_over_the_kernels_limit_leaves_the_bound_trusted():
    stmt = _statement({"norm": "Linf"})
    grid = {"kind": "grid", "cuts": [[f"{k}/1000" for k in range(1001)]] * 2}
    with pytest.raises(ev.Undecided):
        ev.grid_sup(stmt, {}, _net("1", "0", "1"), TargetExpression("x1", 2), grid, {})


def test_a_median_of_exact_copies_and_a_ramp_is_bounded_exactly():
    """mid(1, relu(1000 x − 500), 2) on [0, 1] lies in [1, 2]: the mid gadget s − max − min
    defeats interval propagation (the ramp enters three times), but the kernel cuts after the
    copies, where only the ramp is inexact, and walks the median across its kinks."""
    from certify.evidence import stored_network
    from constructive.gadgets.mid import mid_gadget
    from constructive.ir import activation, affine, network

    net = decode(stored_network(network(affine([[0], [1000], [0]], [1, -500, 2]), activation(3),
                                        mid_gadget()))[0])
    box = [(fmpq(0), fmpq(1))]
    lo, hi = net.interval(box)[0]
    assert hi - lo > 100                       # the plain bound is useless
    assert net.range_on(box) == (1, 2, True)   # the exact range


def _random_net(data):
    from hypothesis import strategies as st

    q = st.integers(-4, 4).map(lambda k: fmpq(k, 2))
    widths = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    layers, cols = [], 1
    for k, rows in enumerate(widths + [1]):
        last = k == len(widths)
        W = [[i, j, str(v)] for i in range(rows) for j in range(cols) if (v := data.draw(q)) != 0]
        b = [[i, str(v)] for i in range(rows) if (v := data.draw(q)) != 0]
        layers.append({"rows": rows, "cols": cols, "W": W, "b": b,
                       **({} if last else {"act": [["relu", rows]]})})
        cols = rows
    return decode({"input_dim": 1, "layers": layers})


def test_one_input_ranges_are_exact_where_marked_tight():
    """For random one-input ReLU networks and intervals, ``range_on`` always encloses the exact
    range (the whole network walked from kink to kink), and equals it where it says tight: the
    line walk from a layer whose varying neurons are affine forms of x, and cuts whose free
    neuron's form is exact, are the same function on the box."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=150, deadline=None, database=None)
    @given(st.data())
    def check(data):
        net = _random_net(data)
        a = data.draw(st.integers(-8, 7).map(lambda k: fmpq(k, 4)))
        box = [(a, a + data.draw(st.integers(1, 8).map(lambda k: fmpq(k, 4))))]
        exact = net.walk(box, 0)
        lo, hi, tight = net.range_on(box)
        assert lo <= exact[0] and exact[1] <= hi
        assert not tight or (lo, hi) == exact
    check()


def test_a_walk_over_interval_bounds_is_not_taken_for_exact():
    """relu(relu(x) + relu(−x)) = |x| on [−1, 1]: the one neuron of the second layer is the only
    free one, but its interval bounds are [0, 2], not its range [0, 1]; a walk over them gives
    [0, 2], which once was marked exact.  Now it is not, and the line walk from the first layer
    (affine forms of x) gives the exact [0, 1]."""
    net = decode({"input_dim": 1, "layers": [
        {"rows": 2, "cols": 1, "W": [[0, 0, "1"], [1, 0, "-1"]], "b": [], "act": [["relu", 2]]},
        {"rows": 1, "cols": 2, "W": [[0, 0, "1"], [0, 1, "1"]], "b": [], "act": [["relu", 1]]},
        {"rows": 1, "cols": 1, "W": [[0, 0, "1"]], "b": []}]})
    box = [(fmpq(-1), fmpq(1))]
    hidden: list = []
    net.interval(box, hidden)
    assert hidden[1] == [(0, 2)] and net.after(1).walk(hidden[1], 0) == (0, 2)
    assert net.range_on(box) == (0, 1, True)
    assert net.range_on(box, hull=True)[2] is False  # no line walk on a hull: a bound, not the range
