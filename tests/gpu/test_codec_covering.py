"""Bit packing, and the covering law n^(−1/k) of the winding trajectory."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gpu.hyperfunction import bitpack, report  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@settings(max_examples=40, deadline=None)
@given(width=st.integers(1, bitpack.MAX_WIDTH), data=st.data())
def test_pack_unpack_roundtrip(width, data):
    values = data.draw(st.lists(st.integers(0, (1 << width) - 1), min_size=0, max_size=70))
    codes = torch.tensor(values, dtype=torch.int64)
    packed = bitpack.pack_codes(codes, width)
    assert packed.dtype == torch.uint8
    assert packed.numel() == bitpack.packed_nbytes(len(values), width)
    assert bitpack.unpack_codes(packed, len(values), width).tolist() == values


def test_packing_is_msb_first():
    assert bitpack.pack_codes(torch.tensor([1, 2, 3]), 3).tolist() == [0b00101001, 0b10000000]
    assert bitpack.pack_codes(torch.tensor([0xABC]), 12).tolist() == [0xAB, 0xC0]
    assert bitpack.pack_codes(torch.tensor([0x1234]), 16).tolist() == [0x12, 0x34]


def test_width_limits():
    with pytest.raises(ValueError):
        bitpack.pack_codes(torch.tensor([1]), 0)
    with pytest.raises(ValueError):
        bitpack.unpack_codes(torch.zeros(4, dtype=torch.uint8), 1, bitpack.MAX_WIDTH + 1)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_golden_winding_follows_the_covering_law(k):
    """max nearest distance ~ C·n^(−1/k): fitted exponent near −1/k, constant within a band."""
    ns = [2**j for j in range(4, 13, 2)]
    points = report.covering_curve(k, ns, "golden", samples=1 << 13)
    slope = report.fitted_exponent(points)
    assert abs(slope + 1.0 / k) < 0.15, slope
    for p in points:
        # no n-point set covers much better than a square grid (the hexagonal covering is 0.88× it
        # in 2-D), and the winding stays within a small factor of the law
        assert p.grid_max * 0.85 <= p.max_distance <= 2.5 * p.law, p
        assert p.mean_distance < p.max_distance


def test_exponent_fit_needs_two_sizes():
    pts = report.covering_curve(2, [64], samples=256)
    with pytest.raises(Exception, match="two distinct"):
        report.fitted_exponent(pts)
