"""'raw': a tensor kept exactly as it was (biases, norms and other 1-D tensors by default).

Why: compressing a few thousand bias values saves nothing and can hurt a model; the container
still records the method so every tensor of a file is described the same way.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from constructive.errors import UserError
from gpu.hyperfunction.base import (SUPPORTED_DTYPES, EncodedTensor, check_common, dtype_name, require_array,
                                    torch_dtype)

if TYPE_CHECKING:
    import torch


class RawCodec:
    """Stores the tensor's own bytes; 'bits' is the dtype's width."""

    method = "raw"
    bits_range = (16, 64)

    def encode(self, tensor: "torch.Tensor", bits: int | None = None, *, name: str = "tensor") -> EncodedTensor:
        """The tensor itself, flattened and contiguous (bits is ignored: it is the dtype's)."""
        kind = dtype_name(tensor.dtype)
        if kind not in SUPPORTED_DTYPES:
            raise UserError(f"tensor {name!r}: unsupported dtype {kind}; allowed: {', '.join(SUPPORTED_DTYPES)}")
        if tensor.numel() == 0:
            raise UserError(f"tensor {name!r}: empty tensor, nothing to store")
        started = time.perf_counter()
        data = tensor.detach().reshape(-1).contiguous().cpu()
        return EncodedTensor(
            name=name,
            method=self.method,
            bits=data.element_size() * 8,
            shape=tuple(tensor.shape),
            dtype=kind,
            params={},
            arrays={"data": data},
            encode_seconds=time.perf_counter() - started,
        )

    def decode(self, encoded: EncodedTensor, device: "str | torch.device | None" = None) -> "torch.Tensor":
        """The stored values, reshaped."""
        self.validate(encoded)
        data = encoded.arrays["data"]
        return data.to(device or "cpu").reshape(encoded.shape)

    def validate(self, encoded: EncodedTensor) -> None:
        """The stored array must have the recorded dtype and element count."""
        check_common(encoded)
        require_array(encoded, "data", torch_dtype(encoded.dtype), encoded.numel)
