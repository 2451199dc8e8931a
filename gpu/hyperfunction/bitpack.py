"""Fixed-width, MSB-first packing of integer codes into bytes.

Why: the stored rate must be the real rate (a 10-bit code costs 10 bits, not 16), and unpacking
must be a pure gather + shift that a GPU compiler fuses into the decode kernel.  Code j occupies
bits [j·W, (j + 1)·W) of the stream, most significant bit first, so it lies inside the 5-byte
window starting at byte ⌊j·W/8⌋ for any W ≤ 31.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

MAX_WIDTH = 31
WINDOW_BYTES = 5
"""Bytes read per code by ``unpack_codes``; the packed stream is padded by this many zeros."""

_PACK_CHUNK = 1 << 22  # output bytes per packing step


def packed_nbytes(count: int, width: int) -> int:
    """Bytes needed for ``count`` codes of ``width`` bits."""
    return (count * width + 7) // 8


def pack_codes(codes: "torch.Tensor", width: int) -> "torch.Tensor":
    """Pack non-negative int64 codes (each < 2^width) into a uint8 tensor, MSB first.

    Output byte b holds stream bits [8b, 8b + 8); they come from at most S = ⌈(W + 7)/W⌉
    consecutive codes, so each byte is a gather of S codes, a shift and a mask (any device).
    """
    import torch

    if not 1 <= width <= MAX_WIDTH:
        raise ValueError(f"code width must be in [1, {MAX_WIDTH}], got {width}")
    codes = codes.reshape(-1).to(torch.int64)
    count = codes.numel()
    if width % 8 == 0:  # whole bytes: big-endian byte split
        shifts = torch.arange(width - 8, -1, -8, dtype=torch.int64, device=codes.device)
        return ((codes.unsqueeze(1) >> shifts) & 255).to(torch.uint8).reshape(-1)
    span = -(-(width + 7) // width)
    padded = torch.cat([codes, codes.new_zeros(span)])
    nbytes = packed_nbytes(count, width)
    out = torch.empty(nbytes, dtype=torch.uint8, device=codes.device)
    for start in range(0, nbytes, _PACK_CHUNK):
        bit = torch.arange(start, min(nbytes, start + _PACK_CHUNK), dtype=torch.int64, device=codes.device) * 8
        first = bit // width
        window = padded.index_select(0, first)
        for t in range(1, span):
            window = (window << width) | padded.index_select(0, first + t)
        shift = span * width - (bit - first * width) - 8
        out[start : start + bit.numel()] = ((window >> shift) & 255).to(torch.uint8)
    return out


def pad_stream(packed: "torch.Tensor") -> "torch.Tensor":
    """The packed stream followed by ``WINDOW_BYTES`` zero bytes, as int64 for the window reads."""
    import torch

    return torch.cat([packed.to(torch.int64), packed.new_zeros(WINDOW_BYTES, dtype=torch.int64)])


def unpack_at(padded: "torch.Tensor", index: "torch.Tensor", width: int) -> "torch.Tensor":
    """Codes number ``index`` (1-D int64 tensor) from a ``pad_stream`` stream: gathers + shifts only."""
    start = index * width
    byte = start >> 3
    window = padded.index_select(0, byte) << 32
    window = window | (padded.index_select(0, byte + 1) << 24)
    window = window | (padded.index_select(0, byte + 2) << 16)
    window = window | (padded.index_select(0, byte + 3) << 8)
    window = window | padded.index_select(0, byte + 4)
    return (window >> (40 - (start & 7) - width)) & ((1 << width) - 1)


def unpack_codes(packed: "torch.Tensor", count: int, width: int) -> "torch.Tensor":
    """All ``count`` codes of a packed stream as int64 (the inverse of ``pack_codes``)."""
    import torch

    if not 1 <= width <= MAX_WIDTH:
        raise ValueError(f"code width must be in [1, {MAX_WIDTH}], got {width}")
    if width % 8 == 0:  # whole bytes
        rows = packed[: count * (width // 8)].to(torch.int64).reshape(count, width // 8)
        shifts = torch.arange(width - 8, -1, -8, dtype=torch.int64, device=packed.device)
        return (rows << shifts).sum(dim=1)
    padded = pad_stream(packed)
    index = torch.arange(count, dtype=torch.int64, device=packed.device)
    return unpack_at(padded, index, width)
