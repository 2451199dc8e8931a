"""The optimal-rate lemmas with exact claims on finite sets (Lemmas 4.1 (i), 4.4, 4.5, 4.6,
4.7 (i), Propositions 3.1 and 3.2) and the range of Proposition 3.2 on R: the kernel re-derives
the bound from the statement's claim.pieces (or line-range) over the instance's data, agrees
with the printed errata (VIOLATED), and refuses a network moved by 2^-40."""

from __future__ import annotations

import copy
import json

import pytest
from flint import fmpq

from certify.certificate import content_hash, run_theorem
from certify.kernel import check_certificate_data

HOLDING = ("syz-partial-bitsum", "syz-partial-bitsum-deep", "syz-index-bitsum",
           "syz-increment-fit", "syz-point-fit", "syz-step-function", "syz-two-layer-interp",
           "syz-point-fit-range")
ERRATA = ("syz-partial-bitsum-printed", "syz-increment-fit-printed")

_CERTS: dict = {}


def _cert(tid: str, params: dict) -> dict:
    key = (tid, tuple(sorted(params.items())))
    if key not in _CERTS:
        _CERTS[key] = json.loads(json.dumps(run_theorem(tid, params)))
    return copy.deepcopy(_CERTS[key])


def _shift(cert: dict, key: str, amount: fmpq) -> dict:
    """The stored network with the first output weight (key "W") or the output bias (key "b")
    moved by ``amount``."""
    forged = copy.deepcopy(cert)
    last = forged["network"]["layers"]["layers"][-1]
    if key == "b" and not last["b"]:
        last["b"].append([0, "0"])
    entry = last[key][0]
    p, _, q = (entry[-1] + "/1").partition("/")
    entry[-1] = str(fmpq(int(p), int(q.split("/")[0])) + amount)
    forged["hash"] = content_hash(forged)
    return forged


def _rederived(report) -> bool:
    return report.ok and report.upper is not None and \
        not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("tid", HOLDING)
def test_kernel_rederives_the_bound_at_the_default_instance(tid):
    cert = _cert(tid, {})
    report = check_certificate_data(cert)
    assert _rederived(report), (report.problems, report.trusted)
    assert report.verdict == cert["verdict"] == "HOLDS" and report.upper == 0


@pytest.mark.parametrize("tid", ERRATA)
def test_printed_errata_stay_violated_with_the_kernel_agreeing(tid):
    cert = _cert(tid, {})
    report = check_certificate_data(cert)
    assert _rederived(report), (report.problems, report.trusted)
    assert report.verdict == cert["verdict"] == "VIOLATED" and report.upper > 0
    assert report.lower is not None and report.lower > 0


@pytest.mark.parametrize("tid", HOLDING)
def test_a_network_moved_by_2_to_the_minus_40_is_refused(tid):
    # an exact claim: a moved output weight changes a claimed value; the range claim on R:
    # the output bias moved down pushes the minimum (0) out of [0, max y]
    key = "b" if tid == "syz-point-fit-range" else "W"
    amount = fmpq(-1, 2**40) if key == "b" else fmpq(1, 2**40)
    report = check_certificate_data(_shift(_cert(tid, {}), key, amount))
    assert not report.ok and report.verdict != "HOLDS"
    assert report.upper is not None and report.upper > 0


def test_the_claim_reads_the_instance_data_not_the_network():
    """Changed samples in details (the network unchanged) make the kernel's claim differ from
    what the network computes: the kernel refuses the HOLDS."""
    cert = _cert("syz-two-layer-interp", {})
    p, _, q = (cert["details"]["y"][3] + "/1").partition("/")
    cert["details"]["y"][3] = str(fmpq(int(p), int(q.split("/")[0])) + fmpq(1, 2**40))
    cert["hash"] = content_hash(cert)
    report = check_certificate_data(cert)
    assert not report.ok and report.upper > 0


def test_line_evidence_without_every_kink_is_refused():
    cert = _cert("syz-point-fit-range", {})
    cuts = cert["evidence"]["cuts"]
    cert["evidence"]["cuts"] = cuts[:1] + cuts[2:]  # one interior kink dropped
    cert["hash"] = content_hash(cert)
    report = check_certificate_data(cert)
    assert not report.ok and any("not affine" in p for p in report.problems)


SWEEP = [
    ("syz-partial-bitsum", {"n": "2"}), ("syz-partial-bitsum", {"n": "5"}),
    ("syz-partial-bitsum-printed", {"n": "3"}),
    ("syz-partial-bitsum-deep", {"n": "1", "L": "3"}), ("syz-partial-bitsum-deep", {"n": "2", "L": "3"}),
    ("syz-index-bitsum", {"N": "1", "L": "1"}), ("syz-index-bitsum", {"N": "7", "L": "3", "seed": "5"}),
    ("syz-increment-fit", {"N": "1", "L": "1", "eps": "1/2"}),
    ("syz-increment-fit", {"N": "7", "L": "2", "eps": "1/3", "seed": "3"}),
    ("syz-increment-fit-printed", {"N": "2", "L": "1", "data": "seeded"}),
    ("syz-point-fit", {"N": "1", "L": "1", "J": "1"}),
    ("syz-point-fit", {"N": "7", "L": "3", "J": "400", "eps": "1/7"}),
    ("syz-step-function", {"N": "2", "L": "1"}), ("syz-step-function", {"N": "7", "L": "4", "q": "7"}),
    ("syz-step-function", {"N": "27", "L": "8", "d": "2"}),
    ("syz-two-layer-interp", {"N1": "1", "N2": "1"}),
    ("syz-two-layer-interp", {"N1": "8", "N2": "8", "seed": "9"}),
    ("syz-point-fit-range", {"N": "1", "L": "1", "J": "1"}),
    ("syz-point-fit-range", {"N": "4", "L": "2", "J": "60", "eps": "1/2"}),
]


@pytest.mark.slow
@pytest.mark.parametrize("tid,params", SWEEP)
def test_kernel_agrees_on_a_sweep_of_instances(tid, params):
    cert = _cert(tid, params)
    report = check_certificate_data(cert)
    assert _rederived(report), (report.problems, report.trusted)
    assert report.verdict == cert["verdict"] == ("VIOLATED" if tid in ERRATA else "HOLDS")
