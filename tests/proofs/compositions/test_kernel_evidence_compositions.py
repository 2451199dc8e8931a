"""The checker kernel re-derives the composition paper's bounds from the statement and the stored
(flattened) network: Lemma D.1 and Prop 3.2 on the statement's points (claim.pieces, Prop 3.2
over the instance's samples y), Thm A.1 on the grid of cell ends (grid-offtrifling), Thm 1.3
on the grid of every ReLU kink (grid-sup) and Thm 1.1 on the grid of every kink in one dimension
(in two, of the cell ends: grid-lp); a stored weight moved by 2^-40 where it matters is
refused."""

from __future__ import annotations

import copy
import itertools

import pytest
from flint import arb, fmpq

from certify.analysis.pl1d import enumerate_1d
from certify.certificate import content_hash, make_target_for
from certify.evidence import breakpoints_1d
from certify.kernel import check_certificate_data
from certify.kernel import evidence as kernel_evidence
from certify.kernel.claims import rational, statement
from certify.registry import default_registry
from proofs.compositions.build import pack
from proofs.compositions.kinks import kinks_and_values, relu_kinks
from tests.kernel_certs import cert, moved

EPS = fmpq(1, 2 ** 40)


_cert, _moved = cert, moved


def _rederived(cert: dict) -> None:
    report = check_certificate_data(cert)
    assert report.ok, report.problems
    assert report.verdict == cert["verdict"] == "HOLDS"
    assert report.upper is not None
    assert not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("tid,params", [
    ("zlz-bitsum-by-iteration", {}), ("zlz-point-fit-by-iteration", {}),
    ("zlz-composition-offtrifling", {}), ("zlz-composition-uniform", {"r": "1"}),
    ("zlz-bitsum-by-iteration", {"r": "3"}), ("zlz-point-fit-by-iteration", {"n": "5", "m": "7"}),
    ("zlz-point-fit-by-iteration", {"n": "4", "m": "4"}),
    ("zlz-composition-offtrifling", {"r": "4", "delta_fraction": "1"}),
    ("zlz-composition-offtrifling", {"d": "2", "r": "4"}),
    ("zlz-composition-rate", {"r": "8"}), ("zlz-composition-rate", {"r": "8", "p": "64"}),
    ("zlz-composition-rate", {"d": "2", "r": "4"})])
def test_kernel_rederives_the_bound(tid, params):
    _rederived(_cert(tid, **params))


@pytest.mark.slow
def test_kernel_rederives_the_uniform_bound_at_the_default_instance():
    """~25 s to run, ~30 s to check.  The input map's weights (one per shifted copy) moved by
    2^-40 move kinks off the cuts; the kernel follows the network across them and shows that
    mutant harmless (upper 0.2917 against the bound 0.75).  The output weight 1 moved to 11
    puts the error far over the bound, and the stored HOLDS is refused."""
    cert = _cert("zlz-composition-uniform")
    _rederived(cert)
    forged = copy.deepcopy(cert)
    for entry in forged["network"]["layers"]["layers"][0]["W"]:
        entry[-1] = str(rational(entry[-1], "W") + EPS)
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert report.ok and report.verdict == "HOLDS" and report.upper < fmpq(3, 10)
    report = check_certificate_data(_moved(cert, -1, "W", fmpq(10)))
    assert not report.ok and report.verdict != "HOLDS"


def test_an_output_weight_moved_by_2_to_the_minus_40_breaks_the_exact_bitsum_claim():
    report = check_certificate_data(_moved(_cert("zlz-bitsum-by-iteration"), -1, "W", EPS))
    assert not report.ok and report.verdict != "HOLDS"
    assert report.upper is not None and report.upper > 0


@pytest.mark.parametrize("sign", [1, -1])
def test_point_fit_error_is_rederived_exactly(sign):
    """max |φ(k) − y_k| is about 1/24 (bound 1/8), exactly the stored error: the output bias
    moved by ±2^-40 moves that maximum, and the kernel's exact value no longer meets the
    stored one."""
    cert = _cert("zlz-point-fit-by-iteration")
    report = check_certificate_data(cert)
    stored = rational(cert["error"]["upper"], "upper")
    assert cert["error"]["lower"] == cert["error"]["upper"] and abs(stored - fmpq(1, 24)) < fmpq(1, 10 ** 6)
    assert report.upper.overlaps(arb(stored)) and report.lower.overlaps(arb(stored))
    forged = check_certificate_data(_moved(cert, -1, "b", sign * EPS))
    assert not forged.ok


def test_point_fit_is_measured_against_the_stored_samples():
    """Prop 3.2 speaks of the samples y it is given: a sample moved in the details is a claim
    the network does not meet exactly any more, and the kernel's error moves with it."""
    cert = _cert("zlz-point-fit-by-iteration")
    exact = check_certificate_data(cert)
    forged = copy.deepcopy(cert)
    forged["details"]["y"][3] = str(fmpq(*map(int, (forged["details"]["y"][3] + "/1").split("/")[:2])) + 1)
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert report.upper > exact.upper + fmpq(1, 2) and not report.ok


def test_a_moved_input_weight_puts_kinks_inside_the_cells():
    """The step map's input weight moved by +2^-40: its kinks leave the cell ends for the cells'
    insides and a cell is no longer affine.  The kernel walks the one-input network across those
    kinks exactly: the error grows only on slivers of width ~2^-40 and stays below the claimed
    bound, so this mutant is harmless (interval propagation alone used to refuse it)."""
    cert = _cert("zlz-composition-offtrifling")
    report = check_certificate_data(_moved(cert, 0, "W", EPS))
    assert report.ok and report.verdict == "HOLDS" and report.upper is not None


def test_the_lp_bound_follows_the_clamp_through_the_kinks():
    """Thm 1.1 in one dimension: every grid box is affine (the strips too, where the clamp holds
    |φ| ≤ Mc and interval propagation would see ~7500), and the certifier, which bounds the
    strips from the same exact kinks, finds the same verdict at p = 64, where the clamp's range
    alone (sup|f| + Mc on the strips' measure) would leave it INCONCLUSIVE."""
    cert = _cert("zlz-composition-rate", r="8", p="64")
    report = check_certificate_data(cert)
    assert cert["verdict"] == report.verdict == "HOLDS"
    boxes = len(cert["evidence"]["cuts"][0]) - 1
    assert any(f"({boxes} boxes, {boxes} affine" in line for line in report.rederived)


def test_lp_input_weight_moved_moves_kinks_off_the_cuts_and_is_shown_exactly():
    """The input map's weight + 2^-40: the step map's kinks leave the stored cuts and the
    strips' boxes are no longer affine, but one input lets the kernel walk the network whole on
    each of them, exactly: the L^p error moves by about 2·10^-8, far inside the claim's 3/4, so
    the mutant is harmless and HOLDS is right.  (This test once expected a refusal: the kernel
    had taken a walk over interval bounds for exact, a bound far above the claim.)"""
    honest = check_certificate_data(_cert("zlz-composition-rate", r="8"))
    report = check_certificate_data(_moved(_cert("zlz-composition-rate", r="8"), 0, "W", EPS))
    assert report.ok and report.verdict == "HOLDS" and not any("error bounds" in t for t in report.trusted)
    assert abs(report.upper - honest.upper) < fmpq(1, 10 ** 6)


def test_kinks_and_values_are_the_exact_enumeration():
    thm = default_registry().get("zlz-composition-rate")
    p = thm.parse_params({"r": "4"})
    net = thm.builder()(p, make_target_for(thm, p, None))
    xs, ys = kinks_and_values(net, [fmpq(0), fmpq(1, 3), fmpq(1)])
    assert xs == relu_kinks(net, [fmpq(0), fmpq(1, 3), fmpq(1)])
    pl = enumerate_1d(net, 0, 1)
    assert all(pl(x) == y for x, y in zip(xs, ys))


@pytest.mark.parametrize("r", [1, 3, 6])
def test_bitsum_statement_lists_every_point_and_sum(r):
    """The claim's points are the (r + 1) 2^r pairs (k, bin0.θ) with the value Σ_{ℓ≤k} θ_ℓ."""
    stmt = statement("zlz-bitsum-by-iteration")
    env = stmt.values({"r": str(r)}, fmpq(1), fmpq(1))
    boxes = kernel_evidence.statement_boxes(stmt, env, 2)
    assert all(lo == hi for lo, hi, _ in boxes)
    got = sorted((tuple(lo), tuple(v)) for lo, _, v in boxes)
    want = sorted(((fmpq(k), pack(bits)), (fmpq(sum(bits[:k])),))
                  for bits in itertools.product((0, 1), repeat=r) for k in range(r + 1))
    assert got == want


@pytest.mark.parametrize("tid,params", [("zlz-composition-offtrifling", {"r": "4"}),
                                        ("zlz-composition-uniform", {"r": "1"})])
def test_relu_kinks_are_the_exact_enumerations_breakpoints(tid, params):
    """The evidence's cuts: every neuron-level breakpoint the exact 1-D enumeration finds, and
    nothing else; restricted to some intervals, only the breakpoints inside them."""
    thm = default_registry().get(tid)
    p = thm.parse_params(params)
    net = thm.builder()(p, make_target_for(thm, p, None))
    ends = [fmpq(0), fmpq(1, 3), fmpq(1)]
    assert relu_kinks(net, ends) == sorted(set(breakpoints_1d(net, 0, 1)) | set(ends))
    left = relu_kinks(net, ends, inside=lambda a, b: b <= fmpq(1, 3))
    assert left == sorted({x for x in breakpoints_1d(net, 0, 1) if x <= fmpq(1, 3)} | set(ends))


# Lemma E.2, the selector: an exact claim whose value is affine in the input -------------------
SEL = "zlz-selector"


@pytest.mark.parametrize("params", [{}, {"d": "3", "M": "1/3", "T": "5"}])
def test_kernel_rederives_the_selector(params):
    c = cert(SEL, **params)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert report.verdict == "HOLDS" and report.upper == 0
    assert not any("error bounds" in t for t in report.trusted)


def test_an_output_weight_or_bias_moved_by_2_to_the_minus_40_is_violated():
    c = cert(SEL)
    assert check_certificate_data(moved(c, 1, "W", EPS)).verdict == "VIOLATED"
    lifted = copy.deepcopy(c)
    lifted["network"]["layers"]["layers"][1]["b"] = [[0, str(EPS)]]  # the network has no biases
    lifted["hash"] = content_hash(lifted)
    report = check_certificate_data(lifted)
    assert not report.ok and report.verdict == "VIOLATED" and report.lower == EPS


def test_a_first_layer_weight_moved_is_not_rederived():
    """u(1 + 2^-40) + M t dips below 0 at u = −M, t = 1: a ReLU changes sign inside the box, so
    the kernel shows nothing (the bound stays trusted; the certifier's own run refuses it)."""
    report = check_certificate_data(moved(cert(SEL), 0, "W", EPS))
    assert report.upper is None and any("changes sign" in t for t in report.trusted)


@pytest.mark.parametrize("value,problem", [
    ("Piecewise((x[o] + 1/2**40, o < d), (x[2*d], True))", "VIOLATED"),
    ("Piecewise((x[o]*x[o], o < d), (x[2*d], True))", "degree")])
def test_a_claimed_value_changed_or_not_affine_is_refused(monkeypatch, value, problem):
    from certify.kernel import claims
    stmt = claims.load_statements()[SEL]
    pieces = [dict(stmt.claim["pieces"][0], value=[value])] + stmt.claim["pieces"][1:]
    monkeypatch.setitem(claims.load_statements(), SEL, type(stmt)(
        **{**stmt.__dict__, "claim": dict(stmt.claim, pieces=pieces)}))
    report = check_certificate_data(cert(SEL))
    assert not report.ok
    assert report.verdict == "VIOLATED" if problem == "VIOLATED" else \
        any(problem in p for p in report.problems)


# the repeated block g of L2 ∘ g^{∘m} ∘ L1, stored once and measured by the kernel -------------
BLOCK = ("g_width", "g_depth", "g_dim", "compositions")


@pytest.mark.parametrize("tid", ["zlz-composition-offtrifling", "zlz-step-by-iteration",
                                 "zlz-bitsum-by-iteration", "zlz-point-fit-by-iteration",
                                 "zlz-merge-iterations"])
def test_the_kernel_measures_the_repeated_block(tid):
    c = _cert(tid)
    report = check_certificate_data(c)
    assert report.ok, report.problems
    assert any("repeated block" in line for line in report.rederived)
    assert not any(name in line for line in report.trusted for name in BLOCK)
    measured = c["architecture"]["measured"]
    assert c["network"]["layers"]["repeat"]["times"] == measured["compositions"]


def _forged(cert: dict, change) -> dict:
    forged = copy.deepcopy(cert)
    change(forged["network"]["layers"])
    forged["hash"] = content_hash(forged)
    return forged


def test_one_more_composition_is_refused():
    """times + 1: a different network, and a count the statement does not allow (8 = m − 1)."""
    c = _cert("zlz-step-by-iteration")
    report = check_certificate_data(_forged(c, lambda n: n["repeat"].update(times=n["repeat"]["times"] + 1)))
    assert not report.ok and report.verdict == "VIOLATED"


def test_a_measured_block_count_edited_is_refused():
    c = copy.deepcopy(_cert("zlz-step-by-iteration"))
    c["architecture"]["measured"]["g_width"] += 1
    c["hash"] = content_hash(c)
    report = check_certificate_data(c)
    assert not report.ok and any("g_width" in p for p in report.problems)


@pytest.mark.parametrize("change,problem", [
    (lambda n: n.pop("repeat"), "stores none"),
    (lambda n: n["repeat"].update(start=0), "cannot follow itself"),
    (lambda n: n["repeat"].update(layers=n["repeat"]["layers"] + 1), "last of"),
    (lambda n: n["repeat"].update(times=0), "last of"),
    (lambda n: n["repeat"].update(extra=1), "integer fields"),
    (lambda n: n["layers"][n["repeat"]["start"] + n["repeat"]["layers"] - 1].update(act=[["relu", 5]]),
     "identity neurons")])
def test_a_malformed_or_missing_block_is_refused(change, problem):
    """The block must be there when the statement measures one, map R^n to R^n, end in identity
    neurons (so its depth counts hidden layers only) and leave the last layer after it."""
    report = check_certificate_data(_forged(_cert("zlz-step-by-iteration"), change))
    assert not report.ok and any(problem in p for p in report.problems), report.problems
