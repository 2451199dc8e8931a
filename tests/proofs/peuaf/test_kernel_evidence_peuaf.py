"""The checker kernel re-derives PEUAF Theorem 2 on the half intervals (check ``sigma-sup``):
PEUAF_w neurons are stored with their frequency and followed exactly per cell; the printed
erratum stays VIOLATED with the kernel's own lower bound; a moved output is refused."""

from __future__ import annotations

import copy

import pytest
from flint import fmpq

from certify.certificate import content_hash
from certify.kernel import check_certificate_data
from tests.kernel_certs import cert, moved


@pytest.mark.parametrize("tid,params,verdict", [("peuaf-1d-half", {}, "HOLDS"),
                                                ("peuaf-1d-half", {"K": "32", "eps": "1/10"}, "HOLDS"),
                                                ("peuaf-1d-half-printed", {}, "VIOLATED")])
def test_kernel_rederives_the_half_interval_error(tid, params, verdict):
    c = cert(tid, **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == verdict, report.problems
    assert not any("error bounds" in t for t in report.trusted)
    eps = fmpq(*map(int, (c["error"]["bound"] + "/1").split("/")[:2]))
    assert (report.upper < eps) if verdict == "HOLDS" else (report.lower > eps)


def test_the_frequency_is_part_of_the_stored_activation():
    c = cert("peuaf-1d-half")
    names = {run[0] for layer in c["network"]["layers"]["layers"][:-1] for run in layer["act"]}
    assert any(n.startswith("peuaf:") for n in names)
    # the frequency changed: φ is no longer constant on I_k and its huge σ argument sweeps more
    # pieces than the kernel follows: the bound is never re-derived (check --rebuild refuses it)
    forged = copy.deepcopy(c)
    for layer in forged["network"]["layers"]["layers"][:-1]:
        layer["act"] = [["peuaf:3/7" if n.startswith("peuaf:") else n, k] for n, k in layer["act"]]
    forged["hash"] = content_hash(forged)
    report = check_certificate_data(forged)
    assert report.upper is None and any("pieces of σ" in t for t in report.trusted)


@pytest.mark.parametrize("bad", ["peuaf:0", "peuaf:-1/2", "peuaf:x", "peuaf:"])
def test_a_malformed_frequency_is_refused(bad):
    c = cert("peuaf-1d-half")
    forged = copy.deepcopy(c)
    layer = next(l for l in forged["network"]["layers"]["layers"][:-1]
                 if any(n.startswith("peuaf:") for n, _ in l["act"]))
    layer["act"] = [[bad if n.startswith("peuaf:") else n, k] for n, k in layer["act"]]
    forged["hash"] = content_hash(forged)
    assert not check_certificate_data(forged).ok


def test_an_output_moved_past_eps_is_refused():
    c = cert("peuaf-1d-half")
    last = len(c["network"]["layers"]["layers"]) - 1
    report = check_certificate_data(moved(c, last, "b", fmpq(1, 5)))
    assert not report.ok and report.verdict == "VIOLATED"
