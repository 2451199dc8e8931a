"""The checker kernel re-derives the NestNet bounds from the statement and the stored network:
the bit sums (Lemmas D.2, D.4), Lemma D.6 and Proposition B.2 on the statement's points
(claim.pieces over the instance's θ / y), Theorem 2.1 and Corollary 2.2 (p < ∞) on the grid of
cell ends (grid-lp); a stored weight moved by 2^-40 where it matters is refused."""

from __future__ import annotations

import itertools

import pytest
from flint import fmpq

from certify.evidence import stored_network
from certify.kernel import check_certificate_data
from certify.kernel import evidence as kernel_evidence
from certify.kernel.claims import statement
from certify.kernel.network import decode
from proofs.nestnet import gadgets as G
from tests.kernel_certs import cert, moved

EPS = fmpq(1, 2 ** 40)
PIECES = ["nestnet-bitsum", "nestnet-bitsum-d4", "nestnet-lemma-d6", "nestnet-point-fit"]
GRID_LP = ["nestnet-height-s-rate", "nestnet-holder-rate"]


_cert, _moved = cert, moved


@pytest.mark.parametrize("tid", PIECES + GRID_LP)
def test_kernel_rederives_the_bound_at_the_default_instance(tid):
    cert = _cert(tid)
    report = check_certificate_data(cert)
    assert report.ok, report.problems
    assert report.verdict == cert["verdict"] == "HOLDS"
    assert report.upper is not None
    assert not any("error bounds" in t for t in report.trusted)


@pytest.mark.parametrize("tid", ["nestnet-bitsum", "nestnet-bitsum-d4", "nestnet-lemma-d6"])
def test_an_output_weight_moved_by_2_to_the_minus_40_breaks_the_exact_claim(tid):
    cert = _cert(tid)
    report = check_certificate_data(_moved(cert, -1, "W", EPS))
    assert not report.ok and report.verdict != "HOLDS"
    assert report.upper is not None and report.upper > 0


@pytest.mark.parametrize("sign", [1, -1])
def test_point_fit_error_is_rederived_exactly(sign):
    """|φ(j) − y_j| peaks at 15/128 (bound 1/8): an output bias moved by ±2^-40 moves that
    maximum, and the kernel's exact value no longer meets the stored one."""
    cert = _cert("nestnet-point-fit")
    report = check_certificate_data(cert)
    assert report.upper == report.lower and report.upper.contains(fmpq(15, 128))
    forged = check_certificate_data(_moved(cert, -1, "b", sign * EPS))
    assert not forged.ok


def test_printed_point_fit_stays_violated_with_the_kernel_agreeing():
    cert = _cert("nestnet-point-fit-printed")
    report = check_certificate_data(cert)
    assert cert["verdict"] == report.verdict == "VIOLATED" and report.ok, report.problems
    assert report.lower > fmpq(1, 8)


@pytest.mark.parametrize("tid,params,harmless", [("nestnet-height-s-rate", {}, True),
                                                 pytest.param("nestnet-holder-rate", {"n": "8"},
                                                              False, marks=pytest.mark.slow)])
def test_a_moved_input_weight_puts_kinks_inside_the_cells(tid, params, harmless):
    """The step's input weight K moved by −2^-40: every cell start becomes a kink inside a cell,
    the cells are no longer affine, and the kernel bounds φ there by following it exactly across
    the kink (the network cut where one neuron is inexact).  Its L^p bound grows: below the claim
    at the default height-s instance (harmless: the sliver has measure ~2^-40), above it for the
    Hölder target at n = 8, where the kernel refuses the HOLDS."""
    cert = _cert(tid, **params)
    before = check_certificate_data(cert)
    assert before.ok
    report = check_certificate_data(_moved(cert, 0, "W", -EPS))
    assert report.upper > before.upper
    if harmless:
        assert report.ok and report.verdict == "HOLDS"
    else:
        assert not report.ok and report.verdict != "HOLDS"


def test_non_default_instances():
    for tid, params in [("nestnet-bitsum", {"n": "2", "s": "3"}), ("nestnet-lemma-d6", {"n": "1"}),
                        ("nestnet-point-fit", {"J": "5"}), ("nestnet-height-s-rate", {"d": "2"}),
                        ("nestnet-height-s-rate", {"p": "1"})]:
        cert = _cert(tid, **params)
        report = check_certificate_data(cert)
        assert report.ok and report.upper is not None and report.verdict == "HOLDS", (tid, params)


def _boxes(tid: str, cert: dict) -> list:
    stmt = statement(tid)
    env = stmt.values(cert["params"], fmpq(1), fmpq(1))
    kernel_evidence.with_instance(stmt, cert, env)
    return kernel_evidence.statement_boxes(stmt, env, cert["network"]["layers"]["input_dim"])


@pytest.mark.parametrize("n", [1, 3, 6])
def test_lemma_d6_statement_lists_every_point_and_sum(n):
    """The eleven families of the claim are the (n + 1) 2^n points (bin0.θ, k) and Σ_{ℓ≤k} θ_ℓ."""
    stmt = statement("nestnet-lemma-d6")
    env = stmt.values({"n": str(n)}, fmpq(1), fmpq(1))
    got = sorted((tuple(lo), tuple(v)) for lo, hi, v in kernel_evidence.statement_boxes(stmt, env, 2)
                 if lo == hi)
    want = sorted(((G.bin0(bits), fmpq(k)), (fmpq(sum(bits[:k])),))
                  for bits in itertools.product((0, 1), repeat=n) for k in range(n + 1))
    assert got == want


def test_bitsum_statement_reads_the_instance_bits():
    cert = _cert("nestnet-bitsum")
    theta = cert["details"]["theta"]
    boxes = _boxes("nestnet-bitsum", cert)
    assert [(lo, v) for lo, _, v in boxes] == \
        [([fmpq(k) + G.bin0(theta)], [fmpq(sum(theta[:k]))]) for k in range(len(theta) + 1)]


def test_clip_keeps_its_range_under_interval_propagation():
    """min{σ(t), M} = M − σ(M − σ(t)): plain interval arithmetic gives [0, M] on any interval."""
    M = fmpq(5, 4)
    layers, _ = stored_network(G.clip_gadget(M))
    net = decode(layers)
    assert net.interval([(fmpq(-10 ** 9), fmpq(10 ** 9))]) == [(fmpq(0), M)]
