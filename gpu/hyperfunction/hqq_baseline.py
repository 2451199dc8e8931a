"""HQQ (half-quadratic quantisation, Badri & Shaji 2023) as a side-by-side baseline, run by the
real ``hqq`` package.

Why the package and not a re-implementation: the claim "beats HQQ" is only worth something
against HQQ itself.  ``hqq.core.quantize.Quantizer`` runs on the CPU; it is called with its
default weight settings for ``BaseQuantizeConfig(nbits, group_size=128)`` (``optimize=True``, i.e.
the half-quadratic proximal updates of the zero point with the l_p<1 shrinkage, ``round_zero``,
``axis=1``).  Scale and zero are cast to fp16 before dequantising, so the counted storage —
B bits per code plus an fp16 scale and an fp16 zero per group of 128, B + 0.25 bits/weight — is
exactly what the decoded weights were computed from.  Groups are 128 consecutive weights of the
row-major flattened tensor (the package's ``axis=1`` layout), a ragged tail padded with the last
weight as ``groups.to_blocks`` does.

Install: ``pip install --no-deps hqq termcolor einops`` (its other requirements would pull
another torch; only these are imported by ``hqq.core.quantize``).
"""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING

from constructive.errors import UserError

if TYPE_CHECKING:
    import torch

GROUP = 128


def available() -> bool:
    """Whether the ``hqq`` package can be imported here."""
    import importlib

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            importlib.import_module("hqq.core.quantize")
    except Exception:  # noqa: BLE001 - a missing optional dependency of hqq is "not available" too
        return False
    return True


def stored_bits(numel: int, bits: int, group: int = GROUP) -> int:
    """B-bit codes plus an fp16 scale and an fp16 zero per group."""
    groups = -(-numel // group)
    return bits * groups * group + 32 * groups


def roundtrip(tensor: "torch.Tensor", bits: int, group: int = GROUP) -> "torch.Tensor":
    """The tensor quantised by HQQ (B bits, group 128, fp16 scale/zero) and dequantised, float32."""
    import torch

    from gpu.hyperfunction import groups

    if not 1 <= bits <= 8:
        raise UserError(f"HQQ baseline: bits={bits} out of range (allowed 1..8)")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from hqq.core.quantize import Quantizer
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"the HQQ baseline needs the package hqq (pip install --no-deps hqq termcolor einops): {exc}")
    flat = tensor.detach().reshape(-1).cpu()
    blocks = groups.to_blocks(flat, group).to(torch.float32)
    with contextlib.redirect_stdout(io.StringIO()):
        codes, meta = Quantizer.quantize(
            blocks,
            nbits=bits,
            channel_wise=True,
            group_size=group,
            optimize=True,
            round_zero=True,
            axis=1,
            bitpack=False,
            compute_dtype=torch.float32,
            device="cpu",
        )
    scale = meta["scale"].to(torch.float16).to(torch.float32)
    zero = meta["zero"].to(torch.float16).to(torch.float32)
    values = (codes.to(torch.float32).reshape(-1, group) - zero.reshape(-1, 1)) * scale.reshape(-1, 1)
    return values.reshape(-1)[: flat.numel()].reshape(tensor.shape).to(torch.float32)
