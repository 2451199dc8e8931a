"""Blocks of consecutive weights with an fp16 offset and an fp16 span each.

Why fp16, rounded outward: the decoders compute ``lo + span · u`` with u an exact binary
fraction; an fp16 span (11 significant bits) times u stays exact in the decoder's arithmetic, so
the only rounding is the final addition and the result is identical on every device whether or
not the compiler fuses the multiply-add.  ``lo`` is rounded down and ``span`` up so that every
weight of the block lies inside [lo, lo + span].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from constructive.errors import UserError

if TYPE_CHECKING:
    import torch

FP16_MAX = 65504.0


def to_blocks(flat: "torch.Tensor", block: int) -> "torch.Tensor":
    """float64 view of shape (blocks, block); the last block is padded with the last weight.

    Padding with a weight that is already there leaves that block's range unchanged.
    """
    import torch

    flat = flat.reshape(-1).to(torch.float64)
    pad = (-flat.numel()) % block
    if pad:
        flat = torch.cat([flat, flat[-1:].expand(pad)])
    return flat.reshape(-1, block)


def round_down_fp16(x: "torch.Tensor") -> "torch.Tensor":
    """The largest fp16 value <= x (x float64)."""
    import torch

    h = x.to(torch.float16)
    low = torch.nextafter(h, torch.full_like(h, -float("inf")))
    return torch.where(h.to(torch.float64) > x, low, h)


def round_up_fp16(x: "torch.Tensor") -> "torch.Tensor":
    """The smallest fp16 value >= x (x float64)."""
    import torch

    h = x.to(torch.float16)
    high = torch.nextafter(h, torch.full_like(h, float("inf")))
    return torch.where(h.to(torch.float64) < x, high, h)


def block_bounds(blocks: "torch.Tensor", levels: int, name: str) -> tuple["torch.Tensor", "torch.Tensor"]:
    """(lo, step) in fp16 per block with lo <= min and lo + levels · step >= max.

    ``levels`` is 1 for the winding (step = span of the unit cube) and 2^bits − 1 for RTN.
    """
    import torch

    lo64 = blocks.min(dim=1).values
    hi64 = blocks.max(dim=1).values
    if bool((lo64.abs() > FP16_MAX).any()) or bool((hi64.abs() > FP16_MAX).any()):
        raise UserError(
            f"tensor {name!r}: weights beyond ±{FP16_MAX:g} cannot be represented by fp16 block scales"
        )
    lo = round_down_fp16(lo64)
    step = round_up_fp16((hi64 - lo.to(torch.float64)) / levels)
    if not bool(torch.isfinite(lo).all()) or not bool(torch.isfinite(step).all()):
        raise UserError(f"tensor {name!r}: a block's range exceeds the fp16 range of block scales")
    # the division may round below the true quotient: widen by one fp16 step where needed
    short = lo.to(torch.float64) + levels * step.to(torch.float64) < hi64
    if bool(short.any()):
        step = torch.where(short, torch.nextafter(step, torch.full_like(step, float("inf"))), step)
    return lo, step
