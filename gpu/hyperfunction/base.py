"""The codec base types: an encoded tensor value, the ``Codec`` protocol and the shared checks.

Why one interface: the file format, the CLI, the report and the benchmarks treat every method
('winding', 'lattice', 'rtn', plus 'raw' for tensors kept as they are) alike.  An
``EncodedTensor`` carries *everything* its decoder needs — scalar parameters in ``params``
(JSON-serialisable) and stored arrays in ``arrays`` — so decoding never depends on a default or
on how the encoder was configured.

Why a module of its own: every implementation (encoder, lattice, rtn, raw) and the decoder build on
these types, while the registry in ``codec`` builds on the implementations; this module imports no
implementation, so the codec modules import each other without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from constructive.errors import UserError

if TYPE_CHECKING:
    import torch

SUPPORTED_DTYPES = ("float32", "float16", "bfloat16", "float64")
"""Weight dtypes a codec accepts (and restores on decode)."""

CODEC_METHODS = ("winding", "lattice", "rtn", "ecsq")
"""The compressing methods offered on the command line."""


@dataclass(frozen=True)
class EncodedTensor:
    """One compressed tensor: identity, method, rate target and every decode parameter."""

    name: str
    method: str
    bits: int
    shape: tuple[int, ...]
    dtype: str
    params: Mapping[str, Any]
    arrays: Mapping[str, "torch.Tensor"]
    encode_seconds: float = field(default=0.0, compare=False)

    @property
    def numel(self) -> int:
        """Number of weights of the original tensor."""
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    def stored_bits(self) -> int:
        """Bits of all stored arrays (the scalar JSON parameters, a few bytes, are not counted)."""
        return sum(a.numel() * a.element_size() * 8 for a in self.arrays.values())

    def bits_per_weight(self) -> float:
        """Stored bits divided by the number of weights."""
        return self.stored_bits() / max(1, self.numel)


class Codec(Protocol):
    """What every method provides."""

    method: str
    bits_range: tuple[int, int]

    def encode(self, tensor: "torch.Tensor", bits: int, *, name: str = "tensor") -> EncodedTensor:
        """Compress ``tensor`` at about ``bits`` bits per weight."""
        ...

    def decode(self, encoded: EncodedTensor, device: "str | torch.device | None" = None) -> "torch.Tensor":
        """Rebuild the tensor (original shape and dtype) from its encoded form alone."""
        ...

    def validate(self, encoded: EncodedTensor) -> None:
        """Raise ``UserError`` if a parameter or array is missing, mistyped or inconsistent."""
        ...


def torch_dtype(name: str) -> "torch.dtype":
    """The torch dtype of a supported dtype name."""
    import torch

    table = {
        "float32": torch.float32,
        "float16": torch.float16,
        "bfloat16": torch.bfloat16,
        "float64": torch.float64,
    }
    if name not in table:
        raise UserError(f"unsupported dtype {name!r}; allowed: {', '.join(SUPPORTED_DTYPES)}")
    return table[name]


def dtype_name(dtype: "torch.dtype") -> str:
    """'float32' for torch.float32 and so on."""
    return str(dtype).removeprefix("torch.")


def check_input(tensor: "torch.Tensor", bits: int, name: str, method: str, bits_range: tuple[int, int]) -> None:
    """Reject what no codec may encode: wrong dtype, empty, NaN/Inf, bits outside the method's range."""
    import torch

    kind = dtype_name(tensor.dtype)
    if kind not in SUPPORTED_DTYPES:
        raise UserError(
            f"tensor {name!r}: unsupported dtype {kind}; allowed: {', '.join(SUPPORTED_DTYPES)}"
        )
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise UserError(f"tensor {name!r}: bits must be an integer, got {bits!r}")
    low, high = bits_range
    if not low <= bits <= high:
        raise UserError(
            f"tensor {name!r}: bits={bits} out of range for method {method!r} (allowed {low}..{high})"
        )
    if tensor.numel() == 0:
        raise UserError(f"tensor {name!r}: empty tensor, nothing to encode")
    flat = tensor.reshape(-1)
    step = 1 << 22
    for start in range(0, flat.numel(), step):
        if not bool(torch.isfinite(flat[start : start + step]).all()):
            raise UserError(f"tensor {name!r}: contains NaN or Inf values; cannot encode")


def require(encoded: EncodedTensor, key: str, kind: type | tuple[type, ...]) -> Any:
    """A parameter of the right JSON type, or a ``UserError`` naming the tensor and the field."""
    if key not in encoded.params:
        raise UserError(f"tensor {encoded.name!r}: missing parameter {key!r} for method {encoded.method!r}")
    value = encoded.params[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise UserError(f"tensor {encoded.name!r}: parameter {key!r} has the wrong type ({value!r})")
    return value


def require_array(
    encoded: EncodedTensor, key: str, dtype: "torch.dtype", numel: int | None = None
) -> "torch.Tensor":
    """A stored array with the right dtype and (optionally) element count, else ``UserError``."""
    if key not in encoded.arrays:
        raise UserError(f"tensor {encoded.name!r}: missing array {key!r} for method {encoded.method!r}")
    array = encoded.arrays[key]
    if array.dtype != dtype:
        raise UserError(
            f"tensor {encoded.name!r}: array {key!r} has dtype {dtype_name(array.dtype)}, "
            f"expected {dtype_name(dtype)}"
        )
    if numel is not None and array.numel() != numel:
        raise UserError(
            f"tensor {encoded.name!r}: array {key!r} has {array.numel()} elements, expected {numel}"
        )
    return array


def check_common(encoded: EncodedTensor) -> None:
    """Checks shared by every method: dtype name, shape, bits."""
    if encoded.dtype not in SUPPORTED_DTYPES:
        raise UserError(f"tensor {encoded.name!r}: unsupported stored dtype {encoded.dtype!r}")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in encoded.shape):
        raise UserError(f"tensor {encoded.name!r}: malformed shape {encoded.shape!r}")
    if encoded.numel == 0:
        raise UserError(f"tensor {encoded.name!r}: empty shape {encoded.shape!r}")
    if isinstance(encoded.bits, bool) or not isinstance(encoded.bits, int):
        raise UserError(f"tensor {encoded.name!r}: bits field is not an integer ({encoded.bits!r})")
