"""The checker kernel: independence, safe formulas, and bounds re-derived from evidence."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from flint import arb, ctx, fmpq

from certify.certificate import content_hash, run_theorem
from certify.kernel import check_certificate_data
from certify.kernel.errors import KernelError
from certify.kernel.formula import evaluate
from certify.kernel.stored import decode


def test_kernel_imports_flint_and_the_standard_library_only():
    code = ("import sys, certify.kernel; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sympy','numpy','mpmath','networkx','constructive','gpu','torch','rich','hypothesis')"
            " or (m.startswith('certify.') and not m.startswith('certify.kernel'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "x.real", "(lambda: 1)()", "[1][0]", "1.5", "open('f')",
    "n if n else 1", "{1: 2}", "'abc'", "f'{n}'",
])
def test_formulas_are_walked_never_evaluated(text):
    with pytest.raises(KernelError):
        evaluate(text, {"n": fmpq(1), "x": fmpq(1)}, "test")


def test_formulas_exact_where_rational():
    old = ctx.prec
    ctx.prec = 256
    try:
        assert evaluate("floor(n**((s + 1)/d))", {"n": fmpq(4), "s": fmpq(1), "d": fmpq(2)}, "t") == 4
        assert evaluate("ceiling(log(d, 2))", {"d": fmpq(8)}, "t") == 3
        assert evaluate("2**(-n)*sqrt(d)", {"n": fmpq(2), "d": fmpq(9)}, "t") == fmpq(3, 4)
        v = evaluate("omega(sqrt(d))", {"d": fmpq(2)}, "t", (fmpq(1), fmpq(1)))
        assert isinstance(v, arb) and v.overlaps(arb(2).sqrt())
    finally:
        ctx.prec = old


def _cert(tid: str, params: dict) -> dict:
    return json.loads(json.dumps(run_theorem(tid, params)))


def _move_weight(cert: dict, layer: int, amount: fmpq) -> dict:
    forged = copy.deepcopy(cert)
    entry = forged["network"]["layers"]["layers"][layer]["W"][0]
    entry[2] = str(fmpq(*map(int, (entry[2] + "/1").split("/")[:2])) + amount)
    forged["hash"] = content_hash(forged)
    return forged


@pytest.mark.parametrize("tid,params", [
    ("syz-cpwl-one-layer", {"n": "5"}),
    ("syz-intrinsic-aux-offtrifling", {"n": "2", "d": "1"}),
    ("syz-cpwl-interpolation", {"n": "5"}),
    ("nestnet-floor-c2", {"n": "4"}),
    ("nestnet-floor-c1", {"r": "2", "n": "2"}),  # nested activations, stored flattened
    ("nestnet-step-doubly-exponential", {"J": "40"}),
    ("zlz-step-by-iteration", {}),
    ("nestnet-offtrifling", {"d": "2", "n": "4"}),  # δ as a derived formula of the statement
])
def test_kernel_rederives_the_bound(tid, params):
    cert = _cert(tid, params)
    report = check_certificate_data(cert)
    assert report.ok and report.verdict == cert["verdict"] == "HOLDS"
    assert report.upper is not None
    assert not any("error bounds" in t for t in report.trusted)


def test_a_weight_moved_by_2_to_the_minus_40_is_caught():
    """The stored network is what the kernel checks: an exact identity breaks."""
    cert = _cert("syz-cpwl-one-layer", {"n": "5"})
    report = check_certificate_data(_move_weight(cert, 0, fmpq(1, 2**40)))
    assert not report.ok and report.verdict != "HOLDS"


def test_stored_lower_above_upper_is_rejected():
    cert = _cert("syz-intrinsic-aux-offtrifling", {"n": "2", "d": "1"})
    cert["error"]["lower"] = "1"
    assert any("exceeds" in p for p in check_certificate_data(cert).problems)


def test_a_grid_that_misses_a_cell_end_is_refused():
    cert = _cert("syz-intrinsic-aux-offtrifling", {"n": "2", "d": "1"})
    cert["evidence"]["cuts"][0] = [c for c in cert["evidence"]["cuts"][0] if c not in ("1/4",)]
    report = check_certificate_data(cert)
    assert not report.ok


def test_rays_where_a_neuron_turns_on_are_not_affine():
    # relu(x - 5) on the ray x >= 1: off at 1, on beyond 5
    net = decode({"input_dim": 1, "layers": [
        {"rows": 1, "cols": 1, "W": [[0, 0, "1"]], "b": [[0, "-5"]], "act": [["relu", 1]]},
        {"rows": 1, "cols": 1, "W": [[0, 0, "1"]], "b": []}]})
    assert not net.slope_signs([fmpq(1)], [fmpq(2)])
    assert net.slope_signs([fmpq(1)], [fmpq(0)])
    assert net.interval([(fmpq(0), fmpq(10))]) == [(fmpq(0), fmpq(5))]


def test_a_prefix_the_box_does_not_bend_is_folded_into_one_layer():
    # relu(x + 1) and relu(-x - 1) keep their signs on [0, 1]; relu(h - 3/2) bends at x = 1/2
    net = decode({"input_dim": 1, "layers": [
        {"rows": 2, "cols": 1, "W": [[0, 0, "1"], [1, 0, "-1"]], "b": [[0, "1"], [1, "-1"]],
         "act": [["relu", 2]]},
        {"rows": 1, "cols": 2, "W": [[0, 0, "1"], [0, 1, "5"]], "b": [[0, "-3/2"]], "act": [["relu", 1]]},
        {"rows": 1, "cols": 1, "W": [[0, 0, "2"]], "b": [[0, "1"]]}]})
    points = [[fmpq(k, 8)] for k in range(9)]
    whole = net.folded([(fmpq(0), fmpq(1))])
    assert len(whole.layers) == 2 and whole.run(points)[0] == net.run(points)[0]
    left = net.folded([(fmpq(0), fmpq(1, 4))])  # nothing bends there: one affine map
    assert len(left.layers) == 1 and left.run(points[:3])[0] == net.run(points[:3])[0]
    assert net.folded([(fmpq(-2), fmpq(1))]) is net  # relu(x + 1) bends at -1: nothing folded
    smooth = decode({"input_dim": 1, "layers": [
        {"rows": 1, "cols": 1, "W": [[0, 0, "1"]], "b": [], "act": [["sigmoid", 1]]},
        {"rows": 1, "cols": 1, "W": [[0, 0, "1"]], "b": []}]})
    assert smooth.folded([(fmpq(0), fmpq(1))]) is smooth  # a σ neuron is never an affine piece


def _one_bends(second_bias: str, second_weight: list) -> object:
    # relu(x) bends at 0; the second neuron is relu(second_weight·x + second_bias); identity
    # neurons carry both; the output is their sum
    return decode({"input_dim": 1, "layers": [
        {"rows": 2, "cols": 1, "W": [[0, 0, "1"]] + second_weight, "b": [[1, second_bias]],
         "act": [["relu", 2]]},
        {"rows": 2, "cols": 2, "W": [[0, 0, "1"], [1, 1, "1"]], "b": [], "act": [["identity", 2]]},
        {"rows": 1, "cols": 2, "W": [[0, 0, "1"], [0, 1, "1"]], "b": []}]})


def test_a_layer_where_one_neuron_alone_bends_is_a_cut_and_walked_exactly():
    net = _one_bends("2", [])  # the second neuron is the constant 2
    points, box = [[fmpq(-1)], [fmpq(1)]], [(fmpq(-1), fmpq(1))]
    _, _, (cuts,) = net.run_on_boxes(points, [[0, 1]])
    assert [(k, i) for k, i, _ in cuts] == [(0, 0), (1, 0)]
    assert all(values[1] == 2 for _, _, values in cuts)
    bounds: list = []
    net.interval(box, bounds)
    assert {net.walk_cut(c, bounds) for c in cuts} == {(fmpq(2), fmpq(3))}


def test_no_cut_where_another_neuron_still_moves():
    net = _one_bends("5", [[1, 0, "1"]])  # relu(x + 5): affine on the box, but not constant
    _, _, (cuts,) = net.run_on_boxes([[fmpq(-1)], [fmpq(1)]], [[0, 1]])
    assert cuts == []


@pytest.mark.parametrize("layers", [
    {"input_dim": 1, "layers": []},
    {"input_dim": 1, "layers": [{"rows": 1, "cols": 2, "W": [], "b": []}]},
    {"input_dim": 1, "layers": [{"rows": 1, "cols": 1, "W": [[0, 3, "1"]], "b": []}]},
    {"input_dim": 1, "layers": [{"rows": 1, "cols": 1, "W": [[0, 0, "1e400"]], "b": []}]},
    {"input_dim": 1, "layers": [{"rows": 1, "cols": 1, "W": [], "b": [], "act": [["relu", 1]]},
                                {"rows": 1, "cols": 1, "W": [], "b": [], "act": [["gelu", 1]]}]},
    {"input_dim": 1, "layers": [{"rows": 10**6, "cols": 10**6, "W": [], "b": []}]},
])
def test_malformed_networks_are_refused(layers):
    with pytest.raises(KernelError):
        decode(layers)


def test_pieces_come_from_the_statement_not_the_certificate():
    """A claim.pieces bound is re-derived on the statement's boxes: a network that is exact on
    the first half of them only is caught even though the certificate says HOLDS."""
    cert = _cert("nestnet-floor-c2", {"n": "3"})
    forged = _move_weight(cert, len(cert["network"]["layers"]["layers"]) - 1, fmpq(1, 2**40))
    report = check_certificate_data(forged)
    assert not report.ok and report.upper is not None and report.upper > 0


def test_a_network_not_affine_on_a_piece_leaves_the_bound_trusted_not_rejected(monkeypatch):
    import certify.kernel.evidence as ev

    cert = _cert("nestnet-floor-c2", {"n": "3"})
    monkeypatch.setattr(ev, "same_signs", lambda masks: False)
    report = check_certificate_data(cert)
    assert report.ok and any("changes sign" in t for t in report.trusted)


def test_nested_activations_are_stored_as_the_same_function():
    """NestNet's networks-as-activations are flattened block-diagonally for the kernel; the
    stored network computes exactly what the IR computes."""
    import random

    from certify.evidence import stored_network
    from certify.registry import default_registry
    from constructive.evaluate import evaluate

    thm = default_registry().get("nestnet-floor-c3")
    net = thm.builder()(thm.parse_params({}), None)
    data, why = stored_network(net)
    assert data is not None, why
    rng = random.Random(5)
    pts = [[fmpq(rng.randint(-40, 600), rng.randint(1, 50))] for _ in range(25)]
    outputs, _ = decode(data).run(pts)
    assert [o[0] for o in outputs] == evaluate(net, [[p[0] for p in pts]])[0]


@pytest.mark.parametrize("tid,field,value", [
    ("syz-increment-fit-range", "upper", "1"),           # HOLDS re-derived by the kernel, upper edited
    ("syz-increment-fit-range", "upper", "[+/- inf]"),
    ("shallow-gram-experiments-grid-printed", "lower", "0")])  # VIOLATED with no excess shown
def test_the_stored_bounds_must_give_the_stored_verdict(tid, field, value):
    """The kernel's own bounds decide its verdict, but a reader takes the stored numbers as the
    result: a HOLDS whose stored upper bound misses the claim, or a VIOLATED whose stored lower
    bound does not exceed it, is refused."""
    forged = copy.deepcopy(_cert(tid, {}))
    forged["error"][field] = value
    report = check_certificate_data(forged)
    assert not report.ok and any("stored bounds do not give" in p for p in report.problems)


def test_the_input_dimension_claim_is_measured_from_the_stored_network():
    """Bit extraction's step function claims input_dim = 1: the kernel reads it off the stored
    network (nothing else is trusted there), and an edited count is refused."""
    cert = run_theorem("syz-step-function", {})
    report = check_certificate_data(json.loads(json.dumps(cert)))
    assert report.ok and [t for t in report.trusted if "digest" not in t] == []
    forged = copy.deepcopy(cert)
    forged["architecture"]["measured"]["input_dim"] = 2
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(json.loads(json.dumps(forged)))
    assert not report.ok and any("input_dim" in p for p in report.problems)


def test_evaluation_over_the_work_budget_is_refused_before_it_starts(monkeypatch):
    """Exact evaluation costs points × weights (syz-intrinsic-lp at n = 10 takes minutes): a
    certificate whose evidence would take more than the kernel's budget is not evaluated; its
    bound stays the certifier's, listed as trusted, so the HOLDS is accepted but not verified."""
    import time

    from certify.kernel import network
    from tests.kernel_certs import cert

    c = cert("syz-intrinsic-lp", n="6", d="1", p="2")
    assert not check_certificate_data(c).bound_trusted
    monkeypatch.setattr(network, "MAX_WORK", 10**4)
    start = time.perf_counter()
    report = check_certificate_data(c)
    assert time.perf_counter() - start < 5
    assert report.ok and report.verdict == "HOLDS" and report.bound_trusted and report.upper is None
    assert any("over the kernel's budget" in t for t in report.trusted), report.trusted


# --------------------------------------------------------------------------------------------
# exact evaluation: integers over one denominator per neuron, against plain rationals


def _naive_run(net, points):
    """φ and the ReLU sign masks by fmpq arithmetic entry by entry: the definition."""
    outputs, masks = [], []
    for x in points:
        values, mask = list(x), []
        for layer in net.layers:
            z = [sum((layer.W[i, j] * v for j, v in enumerate(values)), fmpq(0)) + layer.b[i, 0]
                 for i in range(layer.rows)]
            if not layer.relu:
                break
            pos = sum(1 << i for i, (r, v) in enumerate(zip(layer.relu, z)) if r and v > 0)
            neg = sum(1 << i for i, (r, v) in enumerate(zip(layer.relu, z)) if r and v < 0)
            mask.append((pos, neg))
            values = [max(v, fmpq(0)) if r else v for r, v in zip(layer.relu, z)]
        outputs.append(z)
        masks.append(mask)
    return outputs, masks


def _random_network(rng, d, widths, dense):
    from flint import fmpq_mat

    from certify.kernel.network import StoredNetwork, plain_layer

    def number():  # odd and huge denominators too, so that a denominator grows and shrinks
        q = rng.choice([1, 2, 3, 4, 6, 2 ** 70, 3 * 2 ** 80, 7])
        return fmpq(rng.randint(-9, 9), q)

    layers, fan_in = [], d
    for k, w in enumerate(widths + [1]):
        W = [[number() if dense or rng.random() < 0.4 else fmpq(0) for _ in range(fan_in)]
             for _ in range(w)]
        acts = ("relu",) * w if k < len(widths) else ()
        if acts and w > 1:
            acts = ("identity",) + acts[1:]
        layers.append(plain_layer(fmpq_mat(W), fmpq_mat([[number()] for _ in range(w)]), acts))
        fan_in = w
    return StoredNetwork(d, tuple(layers))


@pytest.mark.parametrize("seed", range(12))
def test_exact_evaluation_agrees_with_rational_arithmetic(seed):
    """Blocks of one, two, a few and more than DENSE inputs (the fmpz_mat path), odd and 2^70
    denominators, and the reduction of a denominator past 64 bits: every output and every sign
    mask equals the entry-by-entry rational evaluation."""
    import random

    rng = random.Random(seed)
    d = rng.choice([1, 2, 3, 12])
    net = _random_network(rng, d, [rng.choice([1, 2, 5, 11]) for _ in range(rng.randint(1, 6))],
                          dense=seed % 3 == 0)
    points = [[fmpq(rng.randint(-50, 50), rng.choice([1, 3, 2 ** 75])) for _ in range(d)]
              for _ in range(7)]
    assert net.run(points) == _naive_run(net, points)


def test_points_whose_common_denominator_is_huge_are_refused_before_evaluation():
    """Values are integers over one denominator per neuron: points of many coprime
    denominators would make every number as long as their lcm, a cost the point-weight budget
    does not see; past 2^4096 the evaluation is refused before it starts."""
    import random

    from flint import fmpz

    from certify.kernel.errors import Undecided

    net = _random_network(random.Random(0), 1, [3], dense=True)
    primes = [p for p in range(3, 20000) if fmpz(p).is_prime()][:600]  # ~6,500 bits of lcm
    with pytest.raises(Undecided, match="common denominator"):
        net.run([[fmpq(1, p)] for p in primes])
    assert net.run([[fmpq(1, p)] for p in primes[:50]])[0]  # ~500 bits: evaluated
