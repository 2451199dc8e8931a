"""The codec's per-weight round-trip bound, checked exactly on its real output."""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from flint import fmpq  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gpu.hyperfunction import bitpack, codec  # noqa: E402
from proofs.hyper_compression import gaps  # noqa: E402
from proofs.hyper_compression import voronoi  # noqa: E402
from proofs.hyper_compression import roundtrip as rt  # noqa: E402
from proofs.hyper_compression.check import sqrt_bounds  # noqa: E402
from proofs.hyper_compression.points import PointSet, winding_integers  # noqa: E402

DEN = 1 << 32


@settings(max_examples=40, deadline=None)
@given(width=st.integers(1, 16), data=st.data())
def test_independent_unpacker_agrees_with_the_codecs(width, data):
    values = data.draw(st.lists(st.integers(0, (1 << width) - 1), min_size=1, max_size=40))
    packed = bitpack.pack_codes(torch.tensor(values, dtype=torch.int64), width)
    assert rt.unpack_msb(bytes(packed.tolist()), len(values), width) == values


def _encoded(k, bits, rows=16, cols=64, seed=3):
    tensor = rt.seeded_tensor(rows, cols, seed)
    enc = codec.get_codec("winding", k=k).encode(tensor, bits, name="t")
    a = tuple(int(x) for x in enc.params["direction_fixed"])
    table = winding_integers(int(enc.params["n"]), a)
    pts = PointSet(tuple(table), DEN)
    if k == 1:
        r2 = gaps.covering_radius_1d(pts, "cube").radius ** 2
    else:
        r2 = voronoi.covering_radius_2d(pts, "cube").radius_sq
    return tensor, enc, table, r2, sqrt_bounds(r2)[1]


@pytest.mark.parametrize("k,bits", [(1, 4), pytest.param(2, 3, marks=pytest.mark.slow)])
def test_codec_output_is_within_the_covering_bound(k, bits):
    tensor, enc, table, r2, r_up = _encoded(k, bits)
    res = rt.check_roundtrip(tensor, enc, codec.decode(enc), table, DEN, r2, r_up)
    assert res.decode_ok and res.total_ok and res.weights == tensor.numel()
    assert res.max_abs_error <= res.largest_bound
    assert 0 < res.worst_ratio_sq <= 1
    # the bound is not loose by orders of magnitude: some weight uses a good part of it
    assert res.worst_ratio_sq > fmpq(1, 4)


def test_a_corrupted_decoded_weight_is_caught():
    tensor, enc, table, r2, r_up = _encoded(1, 4)
    out = codec.decode(enc).clone()
    out.view(-1)[5] += 1e-4
    res = rt.check_roundtrip(tensor, enc, out, table, DEN, r2, r_up)
    assert not res.decode_ok and res.decode_first_bad == 5


def test_a_wrong_stored_index_breaks_the_bound():
    tensor, enc, table, r2, r_up = _encoded(1, 4)
    groups = int(enc.params["groups"])
    codes = bitpack.unpack_codes(enc.arrays["codes"], groups, int(enc.params["width"]))
    codes[0] = (codes[0] + len(table) // 2) % len(table)  # a codeword far from the right one
    packed = bitpack.pack_codes(codes, int(enc.params["width"]))
    bad = dataclasses.replace(enc, arrays={**enc.arrays, "codes": packed})
    res = rt.check_roundtrip(tensor, bad, codec.decode(bad), table, DEN, r2, r_up)
    assert res.decode_ok  # the codec decodes what is stored ...
    assert res.worst_ratio_sq > 1 and res.worst_index == 0
    assert not res.total_ok  # ... which is not near the weight
