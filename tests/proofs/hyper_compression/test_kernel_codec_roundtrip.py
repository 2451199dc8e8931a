"""The checker kernel re-derives the codec's round trip (check ``codec-roundtrip``): every
stored weight against its exact decode from the score layer's codewords, normalised by its
block's span and the exact covering radius; the codec's float output must be that decode up to
its rounding."""

from __future__ import annotations

import copy

import pytest
from flint import fmpq

from certify.certificate import content_hash
from certify.kernel import check_certificate_data
from tests.kernel_certs import cert

TID = "hc-codec-roundtrip"


def _forged(edit, **params) -> dict:
    forged = copy.deepcopy(cert(TID, **params))
    edit(forged["evidence"])
    forged["hash"] = content_hash(forged)
    return forged


@pytest.mark.parametrize("params", [{}, {"k": "1", "bits": "8"}, {"rows": "3", "cols": "5", "seed": "9"}])
def test_kernel_rederives_the_round_trip(params):
    c = cert(TID, **params)
    report = check_certificate_data(c)
    assert report.ok and report.verdict == c["verdict"] == "HOLDS", report.problems
    assert not any("error bounds" in t for t in report.trusted)
    stored = fmpq(*map(int, (c["error"]["upper"] + "/1").split("/")[:2]))
    assert report.lower <= report.upper <= stored * (1 + fmpq(1, 10 ** 9))


def _set(key, i, value):
    return lambda ev: ev[key].__setitem__(i, value)


def test_a_weight_far_from_its_decode_is_refused():
    report = check_certificate_data(_forged(_set("weights", 7, "1/2")))
    assert not report.ok and report.verdict == "VIOLATED"


def test_an_output_off_its_decode_is_refused():
    """The codec's float output moved by 2^-20: not the decode up to rounding, nothing shown."""
    c = cert(TID)
    moved = str(fmpq(*map(int, (c["evidence"]["decoded"][3] + "/1").split("/")[:2])) + fmpq(1, 2 ** 20))
    report = check_certificate_data(_forged(_set("decoded", 3, moved)))
    assert not report.ok and report.verdict != "HOLDS"


def test_another_code_is_refused():
    c = cert(TID)
    theta = c["evidence"]["codes"][0]
    report = check_certificate_data(_forged(_set("codes", 0, (theta + 97) % 256)))
    assert not report.ok


@pytest.mark.parametrize("edit", [lambda ev: ev["weights"].pop(), lambda ev: ev["codes"].append(0),
                                  lambda ev: ev.__setitem__("block", 0), lambda ev: ev.pop("span")])
def test_arrays_that_do_not_fit_are_refused(edit):
    assert not check_certificate_data(_forged(edit)).ok
