"""Round-to-nearest baseline: asymmetric int-B codes with an fp16 offset and scale per group.

Why: any hyperfunction result is only meaningful next to plain group-wise quantisation at the
same rate (int4 g128 costs 4 + 32/128 = 4.25 bits/weight).  Groups are consecutive weights of the
row-major flattened tensor, so rows that are a multiple of the group size give per-row groups.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from constructive.errors import UserError
from gpu.hyperfunction import bitpack, groups
from gpu.hyperfunction.base import EncodedTensor, check_input, dtype_name
from gpu.hyperfunction.decoder import DecoderBacked

if TYPE_CHECKING:
    import torch

_CHUNK_GROUPS = 8192  # a multiple of 8 keeps every chunk's packed bits byte aligned


class RtnCodec(DecoderBacked):
    """int-B round to nearest with group size ``group`` (default 128)."""

    method = "rtn"
    bits_range = (2, 8)

    def __init__(self, group: int = 128):
        if group < 1:
            raise UserError(f"rtn group size must be >= 1, got {group}")
        self.group = group

    def encode(self, tensor: "torch.Tensor", bits: int, *, name: str = "tensor") -> EncodedTensor:
        """q = round((w − lo)/scale) clamped to [0, 2^bits − 1]."""
        import torch

        check_input(tensor, bits, name, self.method, self.bits_range)
        started = time.perf_counter()
        levels = (1 << bits) - 1
        flat = tensor.detach().reshape(-1)
        packed, los, scales = [], [], []
        step = _CHUNK_GROUPS * self.group
        for start in range(0, flat.numel(), step):
            blocks = groups.to_blocks(flat[start : start + step], self.group)
            lo, scale = groups.block_bounds(blocks, levels, name)
            scale64 = scale.to(torch.float64).unsqueeze(1)
            ratio = (blocks - lo.to(torch.float64).unsqueeze(1)) / torch.where(scale64 > 0, scale64, 1.0)
            q = torch.round(ratio).clamp_(0, levels).to(torch.int64)
            packed.append(bitpack.pack_codes(q, bits))
            los.append(lo)
            scales.append(scale)
        return EncodedTensor(
            name=name,
            method=self.method,
            bits=bits,
            shape=tuple(tensor.shape),
            dtype=dtype_name(tensor.dtype),
            params={"group": self.group, "width": bits},
            arrays={"codes": torch.cat(packed).cpu(), "lo": torch.cat(los).cpu(), "scale": torch.cat(scales).cpu()},
            encode_seconds=time.perf_counter() - started,
        )
