"""Round trips, error bounds and bit-exact decodes of the three hyperfunction codecs."""

from __future__ import annotations

import math
import struct
import warnings
from fractions import Fraction

import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gpu.hyperfunction import bitpack, decoder, encoder, lattice, trajectory  # noqa: E402
from gpu.hyperfunction.codec import CODEC_METHODS, available_methods, get_codec  # noqa: E402
from gpu.hyperfunction.report import relative_frobenius  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    """Single-threaded torch: small ops are far faster than with OpenMP on a shared 2-core box."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def gaussian(shape, seed=0, std=0.02, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=gen, dtype=torch.float64) * std).to(dtype)


def bits_of(t):
    """The raw bit patterns, so equality means bit-identical (NaN-safe, -0 vs 0 distinct)."""
    view = {torch.float32: torch.int32, torch.float64: torch.int64, torch.float16: torch.int16, torch.bfloat16: torch.int16}
    return t.contiguous().view(view[t.dtype])


def test_registry_lists_methods():
    assert set(CODEC_METHODS) <= set(available_methods())
    assert get_codec("winding").method == "winding"


@pytest.mark.parametrize("method", CODEC_METHODS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_roundtrip_shape_dtype_and_error(method, dtype):
    w = gaussian((96, 130), seed=1, dtype=dtype)  # 130 columns: ragged last block / group
    codec = get_codec(method)
    enc = codec.encode(w, 6, name="w")
    out = codec.decode(enc)
    assert out.shape == w.shape and out.dtype == w.dtype
    err = relative_frobenius(w, out)
    assert 0 < err < 0.06, err  # ~6 bits/weight on Gaussian data: a few percent
    assert 5.9 < enc.bits_per_weight() < 6.5


@pytest.mark.parametrize("method", CODEC_METHODS)
def test_more_bits_means_less_error(method):
    w = gaussian((128, 128), seed=2)
    codec = get_codec(method)
    errs = [relative_frobenius(w, codec.decode(codec.encode(w, b))) for b in (3, 4, 5, 6)]
    assert all(a > 1.5 * b for a, b in zip(errs, errs[1:])), errs


def test_rtn_error_is_at_most_half_a_step():
    w = gaussian((16, 256), seed=3)
    enc = get_codec("rtn").encode(w, 4)
    out = get_codec("rtn").decode(enc)
    step = enc.arrays["scale"].to(torch.float64).repeat_interleave(128)
    assert bool(((out.double() - w.double()).reshape(-1).abs() <= step / 2 + 1e-7).all())


def test_winding_codes_are_exact_nearest_samples():
    """The stored θ is the argmin over all n samples (brute force) for every group."""
    w = gaussian((8, 128), seed=4)
    codec = get_codec("winding", k=2, block=128)
    enc = codec.encode(w, 4)
    p = enc.params
    theta = bitpack.unpack_codes(enc.arrays["codes"], p["groups"], p["width"])
    points = trajectory.trajectory_points(p["n"], tuple(p["direction_fixed"]))
    lo = enc.arrays["lo"].double().unsqueeze(1)
    span = enc.arrays["span"].double().unsqueeze(1)
    unit = ((w.double().reshape(-1, 128) - lo) / span).clamp(0, 1).reshape(-1, 2)
    best = encoder.brute_force_nearest(unit, points)
    d_code = ((points[theta] - unit) ** 2).sum(1)
    d_best = ((points[best] - unit) ** 2).sum(1)
    assert torch.equal(d_code, d_best)


@pytest.mark.parametrize("k,bits,direction", [(1, 6, "golden"), (2, 3, "golden"), (2, 5, "pi"), (3, 3, "golden")])
def test_cell_table_search_is_exact(k, bits, direction):
    n = 1 << (k * bits)
    a = trajectory.direction_fixed(k, direction)
    gen = torch.Generator().manual_seed(k * 100 + bits)
    x = torch.rand(4000, k, generator=gen, dtype=torch.float64)
    x[:50] = torch.tensor([0.0, 1.0])[torch.randint(0, 2, (50, k), generator=gen)]  # cube corners
    points = trajectory.trajectory_points(n, a)
    got = encoder.build_nearest(n, a).nearest(x)
    ref = encoder.brute_force_nearest(x, points)
    assert torch.equal(((points[got] - x) ** 2).sum(1), ((points[ref] - x) ** 2).sum(1))


def test_fixed_point_trajectory_matches_python_integers():
    a = trajectory.direction_fixed(3, "golden")
    pts = trajectory.trajectory_points(1000, a)
    for theta in (0, 1, 7, 999):
        for i, ai in enumerate(a):
            assert pts[theta, i].item() == ((theta * ai) % 2**32) / 2**32


def test_directions_are_close_to_their_reals():
    for kind in trajectory.DIRECTIONS:
        for k in (1, 2, 3):
            reals = trajectory.direction_reals(k, kind)
            fixed = trajectory.direction_fixed(k, kind)
            assert all(abs(f / 2**32 - r) <= 2**-33 for f, r in zip(fixed, reals))
    g = trajectory._generalised_golden_ratio(1)
    assert abs(g - (1 + math.sqrt(5)) / 2) < 1e-15


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def test_winding_decode_equals_independent_integer_recomputation():
    """Decode = round_f32(round_f64(lo + span·(θ·A mod 2^32)/2^32)), computed with Python ints."""
    w = gaussian((4, 200), seed=5)
    enc = get_codec("winding", k=2, block=64).encode(w, 5)
    out = decoder.decode_winding(enc).reshape(-1)
    p = enc.params
    stream = enc.arrays["codes"].tolist()
    bitstring = "".join(f"{b:08b}" for b in stream)
    width, k, block = p["width"], p["k"], p["block"]
    lo = [Fraction(float(v)) for v in enc.arrays["lo"].tolist()]
    span = [Fraction(float(v)) for v in enc.arrays["span"].tolist()]
    for i in range(0, w.numel(), 37):
        g = i // k
        theta = int(bitstring[g * width : (g + 1) * width], 2)
        phase = (theta * p["direction_fixed"][i % k]) % (1 << p["frac_bits"])
        exact = lo[i // block] + span[i // block] * Fraction(phase, 1 << p["frac_bits"])
        assert out[i].item() == _f32(float(exact)), i


def test_rtn_decode_equals_independent_integer_recomputation():
    w = gaussian((3, 100), seed=6)
    enc = get_codec("rtn", group=32).encode(w, 3)
    out = decoder.decode_rtn(enc).reshape(-1)
    bitstring = "".join(f"{b:08b}" for b in enc.arrays["codes"].tolist())
    for i in range(w.numel()):
        q = int(bitstring[i * 3 : i * 3 + 3], 2)
        exact = Fraction(float(enc.arrays["lo"][i // 32])) + Fraction(float(enc.arrays["scale"][i // 32])) * q
        assert out[i].item() == _f32(float(exact))


@pytest.mark.parametrize("method", CODEC_METHODS)
def test_decode_twice_and_both_cpu_paths_are_bit_identical(method):
    w = gaussian((50, 70), seed=7)
    enc = get_codec(method).encode(w, 5)
    run = getattr(decoder, f"decode_{method}")
    first = run(enc, fused=False)
    again = run(enc, fused=False)
    elementwise = run(enc, fused=True, compile=False)  # the fused kernel's formula, run eagerly
    assert torch.equal(bits_of(first), bits_of(again))
    assert torch.equal(bits_of(first), bits_of(elementwise))


@pytest.mark.slow
@pytest.mark.parametrize("method", CODEC_METHODS)
def test_compiled_cpu_kernel_is_bit_identical(method):
    w = gaussian((40, 64), seed=8)
    enc = get_codec(method).encode(w, 5)
    run = getattr(decoder, f"decode_{method}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = run(enc, fused=True, compile=True)
    assert not [w for w in caught if "fused decoder unavailable" in str(w.message)]
    assert torch.equal(bits_of(run(enc, fused=False)), bits_of(compiled))


def test_lattice_table_is_the_sheared_lattice():
    """Ring-0 entries: centroid, then c − ℓ/2 + ℓ·(θ/m², (θ mod m)/m); spacing ℓ/m in each row."""
    m, side = 5, 0.1
    table = lattice.decode_table(centre=(0.3, -0.2), side=side, far=0.2, rings=2, m=m)
    assert table.shape == ((m * m + 1) * 3, 2)
    assert table[0].tolist() == [0.3, -0.2]
    theta = 7
    expect = (0.3 - side / 2 + side * theta / m**2, -0.2 - side / 2 + side * (theta % m) / m)
    assert table[theta + 1].tolist() == pytest.approx(expect, abs=1e-15)
    # ring 2 is ring 0 expanded about the centre by (ℓ/2 + 2(R − ℓ/2)/2)/(ℓ/2) = R/(ℓ/2) = 4
    ring2 = table[2 * (m * m + 1) : 3 * (m * m + 1)]
    centre = torch.tensor([0.3, -0.2], dtype=torch.float64)
    assert torch.allclose(ring2 - centre, 4 * (table[: m * m + 1] - centre))


def test_lattice_quantiser_is_exact_nearest_within_ring_zero():
    m, side = 9, 1.0
    gen = torch.Generator().manual_seed(9)
    dev = torch.rand(3000, 2, generator=gen, dtype=torch.float64) - 0.5
    symbols, recon = lattice._quantise(dev, side, far=0.8, rings=0, m=m)
    table = lattice.decode_table((0.0, 0.0), side, 0.8, 0, m)
    best = ((dev.unsqueeze(1) - table.unsqueeze(0)) ** 2).sum(-1).min(dim=1).values
    assert torch.allclose(((table[symbols] - dev) ** 2).sum(1), best, rtol=0, atol=1e-15)
    assert torch.allclose(recon, table[symbols], rtol=0, atol=1e-15)


def test_lattice_rings_cover_outliers():
    w = gaussian((64, 64), seed=10)
    w[0, 0] = 0.5  # a far outlier forces rings
    codec = get_codec("lattice")
    enc = codec.encode(w, 5)
    out = codec.decode(enc)
    assert enc.params["rings"] >= 1
    assert abs(out[0, 0].item() - 0.5) < 0.1
    assert relative_frobenius(w, out) < 0.2


def test_constant_and_tiny_tensors():
    for method in CODEC_METHODS:
        codec = get_codec(method)
        for w in (torch.full((5, 3), 0.25), torch.tensor([1.5]), torch.zeros(4, 4)):
            out = codec.decode(codec.encode(w, 4))
            assert torch.allclose(out, w, atol=2e-3), (method, w)


@settings(max_examples=15, deadline=None)
@given(
    method=st.sampled_from(CODEC_METHODS),
    bits=st.integers(3, 6),
    rows=st.integers(1, 9),
    cols=st.integers(1, 140),
    scale=st.sampled_from([1e-3, 0.02, 1.0, 300.0]),
    seed=st.integers(0, 2**16),
)
def test_property_roundtrip_error_is_bounded_by_range(method, bits, rows, cols, scale, seed):
    w = gaussian((rows, cols), seed=seed, std=scale)
    codec = get_codec(method)
    out = codec.decode(codec.encode(w, bits))
    assert out.shape == w.shape
    assert bool(torch.isfinite(out).all())
    spread = (w.max() - w.min()).item()
    # every method reconstructs inside the data's range, up to the fp16 rounding of the offsets
    assert (out - w).abs().max().item() <= spread + 2**-10 * w.abs().max().item() + 1e-12
