"""The kernel re-derives bit extraction's range claim over all of R (a layer of rank-one
weights, the rest followed exactly over R), beside its exact bits (check ``pieces``)."""

from __future__ import annotations

from flint import fmpq

from certify.kernel import check_certificate_data
from tests.kernel_certs import cert, moved


def test_bit_extractions_range_over_all_of_r_is_rederived():
    """φ(R) ⊆ [0, 1]: its last hidden layer reads one number (rank-one weights), and the rest,
    3·relu(u + 2/3) − 3·relu(u + 1/3), is a clamp to [0, 1] for every u; with the output
    layer doubled the clamp reaches 2 and the range is no longer shown (the bits fail too)."""
    c = cert("syz-bit-extraction")
    report = check_certificate_data(c)
    assert report.ok and any("output range claim over all of R^d" in r for r in report.rederived)
    assert not any("output range" in t for t in report.trusted)
    layers = len(c["network"]["layers"]["layers"])
    forged = moved(c, layers - 1, "W", fmpq(3))  # the first output weight 3 -> 6
    report = check_certificate_data(forged)
    assert not report.ok and any("output range over R" in t for t in report.trusted)
