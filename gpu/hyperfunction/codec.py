"""The codec registry: method name -> codec, and decoding any encoded tensor by its method.

Why apart from ``base``: the registry imports every implementation (encoder, lattice, rtn, raw),
and they import the base types; with both in one module the codec modules imported each other in
a circle.  The base names are re-exported here, so ``from gpu.hyperfunction.codec import
EncodedTensor, CODEC_METHODS, ...`` keeps working for the file format, the CLI and the benchmarks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from constructive.errors import UserError
from gpu.hyperfunction import ecsq, encoder, lattice, raw, rtn
from gpu.hyperfunction.base import (CODEC_METHODS, SUPPORTED_DTYPES, Codec, EncodedTensor, check_common,
                                    check_input, dtype_name, require, require_array, torch_dtype)

if TYPE_CHECKING:
    import torch

__all__ = [
    "CODEC_METHODS",
    "SUPPORTED_DTYPES",
    "Codec",
    "EncodedTensor",
    "available_methods",
    "check_common",
    "check_input",
    "decode",
    "dtype_name",
    "get_codec",
    "require",
    "require_array",
    "torch_dtype",
]


def _factories() -> dict[str, Callable[..., Codec]]:
    """Method name -> codec class (built on demand: the registry is static, not mutable state)."""
    return {
        "winding": encoder.WindingCodec,
        "lattice": lattice.LatticeCodec,
        "rtn": rtn.RtnCodec,
        "raw": raw.RawCodec,
        "ecsq": ecsq.EcsqCodec,
    }


def get_codec(method: str, **options: Any) -> Codec:
    """The codec of a method name ('winding' | 'lattice' | 'rtn' | 'ecsq' | 'raw'), built with encoder options."""
    factories = _factories()
    if method not in factories:
        raise UserError(f"unknown codec method {method!r}; allowed: {', '.join(sorted(factories))}")
    return factories[method](**options)


def available_methods() -> tuple[str, ...]:
    """Every method name the registry knows."""
    return tuple(sorted(_factories()))


def decode(encoded: EncodedTensor, device: "str | torch.device | None" = None) -> "torch.Tensor":
    """Decode any encoded tensor with its method's codec (validating every field first)."""
    return get_codec(encoded.method).decode(encoded, device)
