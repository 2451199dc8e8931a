"""The kernel re-derives Theorem 2.3's deep three-parameter network (check ``grid-sup``): the
~1800 layers that decode the packed parameter v are folded into one (every box leaves them
affine), and on each box where one shifted copy is in its strip the median is followed exactly
over that copy's bounds on the whole grid, the other two copies being constant there."""

from __future__ import annotations

import copy

from flint import fmpq

from certify.certificate import content_hash
from certify.kernel import check_certificate_data
from tests.kernel_certs import cert


def test_the_three_parameter_bound_is_rederived():
    c = cert("syz-three-params-holder")
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any(t.startswith("the error ") for t in report.trusted)
    assert any("grid evidence" in line for line in report.rederived)
    assert report.lower <= report.upper <= fmpq(1, 10)


def test_the_packed_parameter_moved_by_2_to_the_minus_40_is_refused():
    """v, the bias of the first layer's second neuron (its ~1800 bits are a_1..a_n): moved by
    2^-40 it decodes other parameters, the network misses ε and the stored HOLDS is refused."""
    forged = copy.deepcopy(cert("syz-three-params-holder"))
    entry = next(e for e in forged["network"]["layers"]["layers"][0]["b"] if e[0] == 1)
    p, _, q = entry[1].partition("/")
    entry[1] = str(fmpq(int(p), int(q or 1)) + fmpq(1, 2 ** 40))
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert not report.ok and report.verdict != "HOLDS"


def test_a_holds_whose_intrinsic_tags_are_in_doubt_is_refused():
    """The intrinsic count rests on the builder's tags; a certificate that records a position
    differing untagged between builds (tags_agree false) cannot carry HOLDS."""
    forged = copy.deepcopy(cert("syz-three-params-holder"))
    forged["architecture"]["intrinsic"]["tags_agree"] = False
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert not report.ok and report.verdict == "INCONCLUSIVE"


def test_a_bound_from_walks_over_interval_bounds_that_does_not_decide_stays_trusted():
    """syz-intrinsic-linf at d = 2, n = 2: on 117 boxes two shifted copies in their strips feed
    the medians, which no exact walk follows; the rest is walked over a layer's interval bounds,
    a range wider than φ's, and the kernel's bound misses ε.  That is no evidence against the
    claim: the certificate is accepted with its bound listed as trusted, not rejected (it was
    rejected while such a walk was taken for exact)."""
    c = cert("syz-intrinsic-linf", d="2", n="2")
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert any(t.startswith("the error bounds") and "does not decide" in t for t in report.trusted)
    # the pass stops at the first box whose interval bound exceeds ε (no later box or finer
    # level could make the sup decide), after every exact box; the witnesses are still exact
    assert any("on 1 box(es)" in t for t in report.trusted), report.trusted
    assert "witnesses re-evaluated exactly" in report.rederived


def test_an_undecided_bound_still_refuses_a_holds_its_exact_boxes_refute():
    """The same certificate with the output moved up by 2 and HOLDS kept: the interval bounds
    still decide nothing, but the exact boxes (taken before the pass stops) and the witnesses
    show an error above the stored upper bound, so the certificate is refused."""
    forged = copy.deepcopy(cert("syz-intrinsic-linf", d="2", n="2"))
    (entry,) = forged["network"]["layers"]["layers"][-1]["b"]  # the one output's bias
    p, _, q = entry[1].partition("/")
    entry[1] = str(fmpq(int(p), int(q or 1)) + 2)
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert not report.ok
    assert any("exceeds the stored upper bound" in p for p in report.problems), report.problems
