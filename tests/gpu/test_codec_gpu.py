"""GPU checks (opt in with -m gpu): the fused CUDA decoder gives the CPU decoder's bits."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")

from gpu.hyperfunction import decoder  # noqa: E402
from gpu.hyperfunction.codec import CODEC_METHODS, get_codec  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def bits_of(t):
    view = {torch.float32: torch.int32, torch.float64: torch.int64, torch.float16: torch.int16, torch.bfloat16: torch.int16}
    return t.contiguous().view(view[t.dtype])


@pytest.mark.parametrize("method", CODEC_METHODS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_fused_cuda_decode_is_bit_identical_to_cpu(method, dtype):
    gen = torch.Generator().manual_seed(11)
    w = (torch.randn(257, 384, generator=gen) * 0.02).to(dtype)
    enc = get_codec(method).encode(w, 5)
    run = getattr(decoder, f"decode_{method}")
    cpu = run(enc, "cpu", fused=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gpu = run(enc, "cuda", fused=True, compile=True).cpu()
    assert not [w for w in caught if "fused decoder unavailable" in str(w.message)]
    assert torch.equal(bits_of(cpu), bits_of(gpu))
    eager_gpu = run(enc, "cuda", fused=False).cpu()
    assert torch.equal(bits_of(cpu), bits_of(eager_gpu))


def test_cuda_winding_encode_matches_cpu_codes():
    gen = torch.Generator().manual_seed(12)
    w = torch.randn(512, 256, generator=gen) * 0.02
    codec = get_codec("winding")
    cpu = codec.encode(w, 5)
    gpu = codec.encode(w.cuda(), 5)
    for role in ("codes", "lo", "span"):
        assert torch.equal(cpu.arrays[role], gpu.arrays[role]), role
