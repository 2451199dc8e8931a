"""Theorem 2.1 of the optimal-rate paper off the trifling region: the kernel re-derives the upper
bound from the grid evidence of ``syz-cells`` (cuts at every cell end, finer near the ends of the
cells whose error is within a hair of the claimed bound), and refuses a network moved by 2^-40."""

from __future__ import annotations

import copy
import json

import pytest
from flint import fmpq

from certify.certificate import content_hash, run_theorem
from certify.kernel import check_certificate_data
from proofs.optimal_rate.cells import end_cuts

IDS = ("syz-off-trifling", "syz-off-trifling-stated")


def _cert(tid: str, params: dict) -> dict:
    return json.loads(json.dumps(run_theorem(tid, params)))


def _moved(cert: dict, layer: int, key: str, amount: fmpq) -> dict:
    forged = copy.deepcopy(cert)
    entry = forged["network"]["layers"]["layers"][layer][key][0]
    p, _, q = (entry[-1] + "/1").partition("/")
    entry[-1] = str(fmpq(int(p), int(q.split("/")[0])) + amount)
    forged["hash"] = content_hash(forged)
    return forged


def _rederived(cert: dict) -> bool:
    report = check_certificate_data(cert)
    return (report.ok and report.verdict == cert["verdict"] == "HOLDS" and report.upper is not None
            and not any("error bounds" in t for t in report.trusted))


@pytest.mark.parametrize("tid", IDS)
def test_kernel_rederives_the_bound_at_the_default_instance(tid):
    cert = _cert(tid, {})
    assert cert["evidence"]["kind"] == "grid" and len(cert["evidence"]["cuts"][0]) == 2 * 98
    assert _rederived(cert)


def test_a_near_sharp_instance_needs_and_gets_the_finer_cuts():
    """N = 3 (K = 9): the last cell's error is within 2^-92 of 2ω(1/K); the kernel's ball
    enclosure of f on the whole cell would exceed the bound, the cuts toward its ends do not."""
    cert = _cert("syz-off-trifling", {"N": "3"})
    assert cert["details"]["cells_cut_finer"] == 1
    assert _rederived(cert)
    plain = copy.deepcopy(cert)
    ends = {str(fmpq(k, 9)) for k in range(10)} | {str(fmpq(k + 1, 9) - fmpq(1, 27)) for k in range(8)}
    plain["evidence"]["cuts"] = [[c for c in plain["evidence"]["cuts"][0] if c in ends]]
    report = check_certificate_data(plain)
    assert not report.ok and report.verdict == "INCONCLUSIVE"


def test_two_dimensional_instance():
    assert _rederived(_cert("syz-off-trifling", {"d": "2", "N": "4"}))


def test_a_first_layer_weight_moved_by_2_to_the_minus_40_is_refused():
    """The step function's first kink moves by 2^-40 (its bias −8/27 made −8/27 − 2^-40): the
    kernel follows φ exactly across the kink (one input: the network walked whole on each box
    the kink crosses) and finds the construction's bound 2ω(√d/K) exceeded.  Against the stated
    bound 130√d ω(…) the same mutant is harmless: the exact sup, 4/3, is far below it.
    The first neuron's slope made 1 − 2^-40 (this test's earlier mutant) is harmless: its kink
    stays at 0 and φ on the cells does not move, which the kernel now shows exactly (it was
    refused on a walk over interval bounds, taken for exact)."""
    cert = _cert("syz-off-trifling", {"N": "3"})
    report = check_certificate_data(_moved(cert, 0, "b", -fmpq(1, 2**40)))
    assert not report.ok and report.verdict != "HOLDS"
    stated = check_certificate_data(_moved(_cert("syz-off-trifling-stated", {"N": "3"}), 0, "b",
                                           -fmpq(1, 2**40)))
    assert stated.ok and stated.upper < 2 and stated.upper > 1
    slope = check_certificate_data(_moved(cert, 0, "W", -fmpq(1, 2**40)))
    assert slope.ok and slope.verdict == "HOLDS"
    assert slope.upper.mid() == check_certificate_data(cert).upper.mid()  # the honest network's


def test_the_output_shift_moved_by_2_to_the_minus_40_is_refused():
    """At the near-sharp instance the error on the last cell grows past the bound."""
    cert = _cert("syz-off-trifling", {"N": "3"})
    last = len(cert["network"]["layers"]["layers"]) - 1
    report = check_certificate_data(_moved(cert, last, "b", -fmpq(1, 2**40)))
    assert not report.ok and report.verdict == "VIOLATED"


def test_end_cuts_shrink_toward_both_ends():
    a, b = fmpq(8, 9), fmpq(1)
    cuts = end_cuts(a, b, fmpq(1, 2**90))
    assert cuts == sorted(cuts) and all(a < c < b for c in cuts)
    assert cuts[0] - a < fmpq(1, 2**60) and b - cuts[-1] < fmpq(1, 2**60)
    assert len(end_cuts(a, b, fmpq(1, 10))) <= 2


def test_an_undecided_certificate_the_kernel_decides_is_accepted_as_stated(tmp_path, capsys):
    """A stored INCONCLUSIVE whose own upper bound is unknown, where the kernel's exact bound
    meets the claim: the certificate understates the truth, it does not mislead, so it is
    accepted with its own word, and the report says what the kernel showed.  The same word on
    bounds that decide (HOLDS's stored upper kept) is refused."""
    cert = _cert("syz-off-trifling", {"N": "3"})
    undecided = copy.deepcopy(cert)
    undecided["verdict"] = "INCONCLUSIVE"
    undecided["error"]["upper"] = undecided["error"]["ratio"] = "[+/- inf]"
    undecided["hash"] = content_hash(undecided)
    report = check_certificate_data(undecided)
    assert report.ok and report.verdict == "INCONCLUSIVE" and report.sharper == "HOLDS", report.problems
    assert any("leave open: HOLDS" in r for r in report.rederived)
    from certify import cli
    path = tmp_path / "undecided.json"
    path.write_text(json.dumps(undecided))
    assert cli.main(["check", str(path)]) == 0
    assert "INCONCLUSIVE (the kernel's own bounds show more: HOLDS)" in " ".join(capsys.readouterr().out.split())
    worded = copy.deepcopy(cert)
    worded["verdict"] = "INCONCLUSIVE"
    worded["hash"] = content_hash(worded)
    refused = check_certificate_data(worded)
    assert not refused.ok and refused.sharper is None
