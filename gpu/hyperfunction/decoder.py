"""Decoders: a vectorised CPU path and a fused GPU path that produce the same bits.

Why the bits agree across devices: every decode is integer arithmetic (bit unpacking, the
fixed-point phase (θ·A_i) mod 2^F, lattice table indices) followed by at most one rounding:

* winding: lo + (span · 2^−F) · phase in float64 — span is fp16 (11 significant bits) and the
  phase < 2^32, so the product is exact and a fused multiply-add gives the same result as a
  separate multiply and add; then one float64 → float32 rounding;
* RTN: lo + scale · q in float32 — an fp16 scale times q < 2^8 is exact in float32;
* lattice: a gather from a per-tensor table computed once on the CPU in float64;
* ecsq: the integers come out of the ANS decoder (CPU, ``entropy``); then q · Δ in float64 is
  exact (Δ a float32 value, |q| < 2^28) and one rounding to float32.

The fused path writes each weight from its flat index (unpack + arithmetic + store in one
expression) and is compiled with ``torch.compile`` when CUDA is available; everywhere else, or if
compilation fails, the eager vectorised path runs.
"""

from __future__ import annotations

import functools
import warnings
from typing import TYPE_CHECKING, Any, Callable

from constructive.errors import UserError
from gpu.hyperfunction import bitpack, entropy, trajectory
from gpu.hyperfunction.base import EncodedTensor, check_common, require, require_array, torch_dtype

if TYPE_CHECKING:
    import torch

_EAGER_CHUNK = 1 << 20  # weights per eager step: bounds the int64 temporaries
_FUSED_CHUNK = 1 << 28  # weights per fused call


# ----------------------------------------------------------------------------- helpers


def _device(device: "str | torch.device | None") -> "torch.device":
    import torch

    return torch.device(device) if device is not None else torch.device("cpu")


def _finish(values: "torch.Tensor", dtype: str) -> "torch.Tensor":
    """float64/float32 values → the stored dtype, always through float32 (one defined rounding)."""
    import torch

    target = torch_dtype(dtype)
    if target == torch.float64:
        return values.to(torch.float64)
    return values.to(torch.float32).to(target)


def use_fused(device: "torch.device") -> bool:
    """Fused (compiled) decoding only on CUDA devices."""
    return device.type == "cuda"


@functools.lru_cache(maxsize=64)
def _compiled(kernel: Callable[..., Any], statics: tuple[Any, ...]) -> Callable[..., Any]:
    """``kernel`` with its integer/dtype parameters bound as compile-time constants, compiled.

    Only tensor sizes are dynamic.  The integers must not become symbolic: a symbolic shift such
    as (1 << frac_bits) − 1 was observed to be evaluated in 32-bit arithmetic by the CPU code
    generator (wrong masks).  The flat indices are generated inside the kernel from a length-only
    stand-in tensor and a 0-d start, so no index array is read from memory.
    """
    import torch

    def bound(like: "torch.Tensor", start: "torch.Tensor", *tensors: "torch.Tensor") -> "torch.Tensor":
        index = torch.arange(like.shape[0], dtype=torch.int64, device=like.device) + start
        return kernel(index, *tensors, *statics)

    compiled = torch.compile(bound, dynamic=False)

    def call(count: int, start: int, *tensors: "torch.Tensor") -> "torch.Tensor":
        device = tensors[0].device
        like = torch.empty(1, device=device).expand(count)  # a length, no memory
        for t in (like, *tensors):
            torch._dynamo.mark_dynamic(t, 0)
        return compiled(like, torch.tensor(start, dtype=torch.int64, device=device), *tensors)

    return call


def _run_fused(
    kernel: Callable[..., Any],
    numel: int,
    device: "torch.device",
    tensors: tuple["torch.Tensor", ...],
    statics: tuple[Any, ...],
    compile: bool = True,
) -> "torch.Tensor":
    """Run an elementwise kernel over flat indices, compiled (one fused kernel per chunk) if
    ``compile`` and the compiler works, else eagerly — same arithmetic, same bits."""
    import torch

    if compile:
        try:
            fn = _compiled(kernel, statics)
            if numel <= _FUSED_CHUNK:
                return fn(numel, 0, *tensors)
            return torch.cat([fn(min(_FUSED_CHUNK, numel - s), s, *tensors) for s in range(0, numel, _FUSED_CHUNK)])
        except Exception as exc:  # noqa: BLE001 - any compiler failure falls back to eager
            warnings.warn(f"fused decoder unavailable ({type(exc).__name__}: {exc}); decoding eagerly")
    return _run_eager(kernel, numel, device, *tensors, *statics)


def _run_eager(kernel: Callable[..., Any], numel: int, device: "torch.device", *args: Any) -> "torch.Tensor":
    import torch

    out = []
    for start in range(0, numel, _EAGER_CHUNK):
        index = torch.arange(start, min(numel, start + _EAGER_CHUNK), dtype=torch.int64, device=device)
        out.append(kernel(index, *args))
    return torch.cat(out)


def _positive_int(encoded: EncodedTensor, key: str, low: int = 1, high: int | None = None) -> int:
    value = require(encoded, key, int)
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in {low}..{high}"
        raise UserError(f"tensor {encoded.name!r}: parameter {key!r} = {value} must be {allowed}")
    return value


def _finite(encoded: EncodedTensor, key: str, array: "torch.Tensor") -> None:
    import torch

    if not bool(torch.isfinite(array).all()):
        raise UserError(f"tensor {encoded.name!r}: array {key!r} holds NaN or Inf")


# ----------------------------------------------------------------------------- winding


def validate_winding(encoded: EncodedTensor) -> None:
    """Presence, types and consistency of every winding decode field."""
    import torch

    check_common(encoded)
    k = _positive_int(encoded, "k", 1, 4)
    block = _positive_int(encoded, "block")
    if block % k:
        raise UserError(f"tensor {encoded.name!r}: block {block} is not a multiple of k={k}")
    frac_bits = _positive_int(encoded, "frac_bits", 1, trajectory.FRAC_BITS)
    width = _positive_int(encoded, "width", 1, 31)
    n = _positive_int(encoded, "n")
    if n != 1 << width:
        raise UserError(f"tensor {encoded.name!r}: n = {n} does not match code width {width}")
    a_fixed = require(encoded, "direction_fixed", list)
    if len(a_fixed) != k or not all(
        isinstance(a, int) and not isinstance(a, bool) and 0 <= a < (1 << frac_bits) for a in a_fixed
    ):
        raise UserError(f"tensor {encoded.name!r}: direction_fixed must hold {k} integers in [0, 2^{frac_bits})")
    blocks = -(-encoded.numel // block)
    count = _positive_int(encoded, "groups")
    if count != blocks * (block // k):
        raise UserError(f"tensor {encoded.name!r}: groups = {count} does not match shape and block")
    require_array(encoded, "codes", torch.uint8, bitpack.packed_nbytes(count, width))
    _finite(encoded, "lo", require_array(encoded, "lo", torch.float16, blocks))
    span = require_array(encoded, "span", torch.float16, blocks)
    _finite(encoded, "span", span)
    if bool((span < 0).any()):
        raise UserError(f"tensor {encoded.name!r}: array 'span' holds negative values")


def winding_kernel(
    index: "torch.Tensor",
    padded: "torch.Tensor",
    lo: "torch.Tensor",
    span: "torch.Tensor",
    a_fixed: "torch.Tensor",
    width: int,
    k: int,
    block: int,
    frac_bits: int,
    out_dtype: "torch.dtype | None" = None,
) -> "torch.Tensor":
    """Weight number ``index`` (flat): lo + span · frac(θ·a)_c, exact product, in float64, then
    (if ``out_dtype`` is given) float64 → float32 → out_dtype like ``_finish``."""
    import torch

    group = index // k
    theta = bitpack.unpack_at(padded, group, width)
    phase = (theta * a_fixed.index_select(0, index - group * k)) & ((1 << frac_bits) - 1)
    b = index // block
    unit = span.index_select(0, b).to(torch.float64) * (2.0**-frac_bits)
    value = lo.index_select(0, b).to(torch.float64) + unit * phase.to(torch.float64)
    if out_dtype is None or out_dtype == torch.float64:
        return value
    return value.to(torch.float32).to(out_dtype)


def decode_winding(
    encoded: EncodedTensor,
    device: "str | torch.device | None" = None,
    fused: bool | None = None,
    compile: bool = True,
) -> "torch.Tensor":
    """Winding decode: unpack θ, fixed-point phases, lo + span · phase · 2^−F.

    ``fused`` (default: on CUDA) selects the per-weight kernel, compiled unless ``compile`` is
    false; otherwise the per-group vectorised path runs.
    """
    import torch

    dev = _device(device)
    p = encoded.params
    k, block, width, frac_bits = p["k"], p["block"], p["width"], p["frac_bits"]
    padded = bitpack.pad_stream(encoded.arrays["codes"].to(dev))
    lo = encoded.arrays["lo"].to(dev)
    span = encoded.arrays["span"].to(dev)
    a_fixed = torch.tensor(p["direction_fixed"], dtype=torch.int64, device=dev)
    numel = encoded.numel
    wide = encoded.dtype == "float64"
    if use_fused(dev) if fused is None else fused:
        statics = (width, k, block, frac_bits, torch_dtype(encoded.dtype))
        values = _run_fused(winding_kernel, numel, dev, (padded, lo, span, a_fixed), statics, compile)
        return _finish(values, encoded.dtype).reshape(encoded.shape)
    # eager: per group, so each θ is unpacked once and each phase row reused
    out = torch.empty(numel, dtype=torch.float64 if wide else torch.float32, device=dev)
    lo64, unit64 = lo.to(torch.float64), span.to(torch.float64) * (2.0**-frac_bits)
    blocks_per_step = max(1, _EAGER_CHUNK // block)
    per_block = block // k
    for b0 in range(0, lo.numel(), blocks_per_step):
        b1 = min(lo.numel(), b0 + blocks_per_step)
        gidx = torch.arange(b0 * per_block, b1 * per_block, dtype=torch.int64, device=dev)
        theta = bitpack.unpack_at(padded, gidx, width)
        phase = trajectory.phases(theta, a_fixed, frac_bits).to(torch.float64).reshape(b1 - b0, block)
        values = lo64[b0:b1, None] + unit64[b0:b1, None] * phase
        w0, w1 = b0 * block, min(numel, b1 * block)
        out[w0:w1] = values.reshape(-1)[: w1 - w0].to(out.dtype)
    return _finish(out, encoded.dtype).reshape(encoded.shape)


# ----------------------------------------------------------------------------- RTN


def validate_rtn(encoded: EncodedTensor) -> None:
    """Presence, types and consistency of every RTN decode field."""
    import torch

    check_common(encoded)
    group = _positive_int(encoded, "group")
    width = _positive_int(encoded, "width", 1, 16)
    if width != encoded.bits:
        raise UserError(f"tensor {encoded.name!r}: code width {width} differs from bits {encoded.bits}")
    blocks = -(-encoded.numel // group)
    require_array(encoded, "codes", torch.uint8, bitpack.packed_nbytes(blocks * group, width))
    _finite(encoded, "lo", require_array(encoded, "lo", torch.float16, blocks))
    scale = require_array(encoded, "scale", torch.float16, blocks)
    _finite(encoded, "scale", scale)
    if bool((scale < 0).any()):
        raise UserError(f"tensor {encoded.name!r}: array 'scale' holds negative values")


def rtn_kernel(
    index: "torch.Tensor",
    padded: "torch.Tensor",
    lo: "torch.Tensor",
    scale: "torch.Tensor",
    width: int,
    group: int,
    out_dtype: "torch.dtype | None" = None,
) -> "torch.Tensor":
    """Weight number ``index``: lo + scale · q in float32 (the product is exact), then out_dtype."""
    import torch

    q = bitpack.unpack_at(padded, index, width)
    b = index // group
    value = lo.index_select(0, b).to(torch.float32) + scale.index_select(0, b).to(torch.float32) * q.to(torch.float32)
    return value if out_dtype is None else value.to(out_dtype)


def decode_rtn(
    encoded: EncodedTensor,
    device: "str | torch.device | None" = None,
    fused: bool | None = None,
    compile: bool = True,
) -> "torch.Tensor":
    """RTN decode: unpack q, lo + scale · q."""
    dev = _device(device)
    p = encoded.params
    padded = bitpack.pad_stream(encoded.arrays["codes"].to(dev))
    tensors = (padded, encoded.arrays["lo"].to(dev), encoded.arrays["scale"].to(dev))
    statics = (p["width"], p["group"], torch_dtype(encoded.dtype))
    if use_fused(dev) if fused is None else fused:
        values = _run_fused(rtn_kernel, encoded.numel, dev, tensors, statics, compile)
    else:
        values = _run_eager(rtn_kernel, encoded.numel, dev, *tensors, *statics)
    return _finish(values, encoded.dtype).reshape(encoded.shape)


# ----------------------------------------------------------------------------- lattice


def validate_lattice(encoded: EncodedTensor) -> None:
    """Presence, types and consistency of every lattice decode field."""
    import math

    import torch

    check_common(encoded)
    m = _positive_int(encoded, "m")
    rings = _positive_int(encoded, "rings", 0, 64)
    width = _positive_int(encoded, "width", 1, 31)
    if (m * m + 1) * (rings + 1) > 1 << width:
        raise UserError(f"tensor {encoded.name!r}: alphabet (m²+1)(rings+1) does not fit {width} bits")
    for key in ("side", "far", "centre_x", "centre_y"):
        value = require(encoded, key, (int, float))
        if not math.isfinite(value):
            raise UserError(f"tensor {encoded.name!r}: parameter {key!r} is not finite")
    if not encoded.params["side"] > 0:
        raise UserError(f"tensor {encoded.name!r}: parameter 'side' must be > 0")
    if rings and not encoded.params["far"] > encoded.params["side"] / 2:
        raise UserError(f"tensor {encoded.name!r}: parameter 'far' must exceed side/2 when rings > 0")
    pairs = _positive_int(encoded, "pairs")
    if pairs != -(-encoded.numel // 2):
        raise UserError(f"tensor {encoded.name!r}: pairs = {pairs} does not match the shape")
    codes = require_array(encoded, "codes", torch.uint8, bitpack.packed_nbytes(pairs, width))
    size = (m * m + 1) * (rings + 1)
    if (1 << width) > size:  # a code past the alphabet would read past the table: reject it
        padded = bitpack.pad_stream(codes)
        for start in range(0, pairs, _EAGER_CHUNK):
            index = torch.arange(start, min(pairs, start + _EAGER_CHUNK), dtype=torch.int64)
            if bool((bitpack.unpack_at(padded, index, width) >= size).any()):
                raise UserError(f"tensor {encoded.name!r}: a lattice code exceeds the alphabet size {size}")


def decode_table(centre: tuple[float, float], side: float, far: float, rings: int, m: int) -> "torch.Tensor":
    """(m² + 1)(rings + 1) × 2 float64 table: entry θ' + (m² + 1)·k is the value of that symbol."""
    import torch

    theta = torch.arange(m * m, dtype=torch.int64)
    unit = torch.stack([theta.to(torch.float64) / (m * m), (theta % m).to(torch.float64) / m], dim=1)
    offsets = torch.cat([torch.zeros(1, 2, dtype=torch.float64), side * unit - side / 2])  # relative to c
    half = side / 2
    gains = [1.0] + [(half + k * (far - half) / rings) / half for k in range(1, rings + 1)]
    centre_t = torch.tensor(centre, dtype=torch.float64)
    return torch.cat([centre_t + offsets * g for g in gains])


def lattice_kernel(
    index: "torch.Tensor",
    padded: "torch.Tensor",
    table: "torch.Tensor",
    width: int,
    out_dtype: "torch.dtype | None" = None,
) -> "torch.Tensor":
    """Weight number ``index``: coordinate index % 2 of the table entry of its pair's code."""
    pair = index // 2
    code = bitpack.unpack_at(padded, pair, width)
    value = table.index_select(0, code * 2 + (index - pair * 2))
    return value if out_dtype is None else value.to(out_dtype)


def decode_lattice(
    encoded: EncodedTensor,
    device: "str | torch.device | None" = None,
    fused: bool | None = None,
    compile: bool = True,
) -> "torch.Tensor":
    """Lattice decode: a gather from the (m² + 1)(C + 1) × 2 table built on the CPU."""
    import torch

    dev = _device(device)
    p = encoded.params
    table64 = decode_table(
        centre=(p["centre_x"], p["centre_y"]), side=p["side"], far=p["far"], rings=p["rings"], m=p["m"]
    )
    wide = encoded.dtype == "float64"
    table = table64.to(torch.float64 if wide else torch.float32).reshape(-1)
    padded = bitpack.pad_stream(encoded.arrays["codes"].to(dev))
    table = table.to(dev)
    statics = (p["width"], torch_dtype(encoded.dtype))
    if use_fused(dev) if fused is None else fused:
        values = _run_fused(lattice_kernel, encoded.numel, dev, (padded, table), statics, compile)
    else:
        values = _run_eager(lattice_kernel, encoded.numel, dev, padded, table, *statics)
    return _finish(values, encoded.dtype).reshape(encoded.shape)


# ----------------------------------------------------------------------------- ecsq

_ECSQ_MAX_Q = 1 << 28  # |q| bound that keeps q · Δ exact in float64


def validate_ecsq(encoded: EncodedTensor) -> None:
    """Presence, types and ranges of every ecsq decode field (the stream is checked while decoding)."""
    import math

    import numpy as np
    import torch

    check_common(encoded)
    step = require(encoded, "step", float)
    if not (math.isfinite(step) and step > 0 and float(np.float32(step)) == step):
        raise UserError(f"tensor {encoded.name!r}: parameter 'step' must be a positive finite float32 value")
    qmin = require(encoded, "qmin", int)
    symbols = _positive_int(encoded, "symbols", 1, entropy.MAX_SYMBOLS)
    if qmin < -_ECSQ_MAX_Q or qmin + symbols - 1 > _ECSQ_MAX_Q:
        raise UserError(f"tensor {encoded.name!r}: code range qmin..qmin+symbols-1 exceeds ±2^28")
    if require(encoded, "count", int) != encoded.numel:
        raise UserError(f"tensor {encoded.name!r}: parameter 'count' does not match the shape")
    if require(encoded, "chunk", int) != entropy.CHUNK:
        raise UserError(f"tensor {encoded.name!r}: parameter 'chunk' must be {entropy.CHUNK}")
    require_array(encoded, "stream", torch.uint32)
    freq = require_array(encoded, "freq", torch.uint16, symbols)
    if bool((freq.to(torch.int32) == 0).any()):
        raise UserError(f"tensor {encoded.name!r}: array 'freq' holds a zero weight")


def ecsq_kernel(
    index: "torch.Tensor",
    q: "torch.Tensor",
    step: "torch.Tensor",
    out_dtype: "torch.dtype | None" = None,
) -> "torch.Tensor":
    """Weight number ``index``: q · Δ in float64 (exact), then (if given) float64 → float32 → out_dtype.

    ``step`` is Δ broadcast to the weights' length (a stride-0 view, no memory), so the compiled
    kernel sees it as one more dynamic-length input and Δ never becomes a compile-time constant.
    """
    import torch

    value = q.index_select(0, index).to(torch.float64) * step.index_select(0, index)
    if out_dtype is None or out_dtype == torch.float64:
        return value
    return value.to(torch.float32).to(out_dtype)


def decode_ecsq(
    encoded: EncodedTensor,
    device: "str | torch.device | None" = None,
    fused: bool | None = None,
    compile: bool = True,
) -> "torch.Tensor":
    """ecsq decode: ANS-decode q on the CPU, then q · Δ on ``device`` (fused there on CUDA)."""
    import torch

    dev = _device(device)
    p = encoded.params
    freq = encoded.arrays["freq"].numpy()
    symbols = entropy.decode(encoded.arrays["stream"].numpy(), freq, p["count"], encoded.name)
    q = (torch.from_numpy(symbols) + p["qmin"]).to(dev)
    if use_fused(dev) if fused is None else fused:
        step = torch.tensor([p["step"]], dtype=torch.float64, device=dev).expand(encoded.numel)
        statics = (torch_dtype(encoded.dtype),)
        values = _run_fused(ecsq_kernel, encoded.numel, dev, (q, step), statics, compile)
    else:  # the same exact product, vectorised without the per-index gathers
        values = q.to(torch.float64).mul_(p["step"])
    return _finish(values, encoded.dtype).reshape(encoded.shape)


# ----------------------------------------------------------------------------- dispatch


_BY_METHOD: dict[str, tuple[Callable[..., None], Callable[..., "torch.Tensor"]]] = {
    "winding": (validate_winding, decode_winding),
    "rtn": (validate_rtn, decode_rtn),
    "lattice": (validate_lattice, decode_lattice),
    "ecsq": (validate_ecsq, decode_ecsq),
}
"""Method name -> (validate, decode) of this module."""


class DecoderBacked:
    """decode/validate delegated to ``validate_<method>`` / ``decode_<method>`` of this module.

    Why here and not with the base types: the delegation needs this module, and this module needs
    the base types; the codecs (encoder, lattice, rtn) import both, neither imports a codec.
    """

    method: str

    def decode(self, encoded: EncodedTensor, device: "str | torch.device | None" = None) -> "torch.Tensor":
        self.validate(encoded)
        return _BY_METHOD[self.method][1](encoded, device)

    def validate(self, encoded: EncodedTensor) -> None:
        """Every field the decoder reads, checked for presence, type and consistency."""
        _BY_METHOD[self.method][0](encoded)
