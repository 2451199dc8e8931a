"""Quality and speed of a compressed file, and the covering law of the winding.

Why: a codec claim is bits/weight *and* error *and* speed, side by side with the baseline; the
winding's covering radius is the quantity the paper's error bound is about (n samples of a
Kronecker sequence in [0, 1]^k cover it at best like n^(−1/k), no better than a grid).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from constructive.errors import UserError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class TensorStats:
    """Per-tensor result: rate, error, timings."""

    name: str
    method: str
    bits: int
    numel: int
    bits_per_weight: float
    rel_frobenius: float
    max_abs: float
    encode_seconds: float
    decode_seconds: float
    sq_error: float
    sq_norm: float


@dataclass(frozen=True)
class FileReport:
    """All tensors of a file plus the overall figures."""

    tensors: tuple[TensorStats, ...]
    bits_per_weight: float
    rel_frobenius: float
    max_abs: float
    encode_seconds: float
    decode_seconds: float
    encode_weights_per_second: float
    decode_weights_per_second: float

    def to_json(self) -> dict:
        """Plain data (for ``--json``)."""
        return asdict(self)


def errors(original: "torch.Tensor", decoded: "torch.Tensor") -> tuple[float, float, float]:
    """(squared error, squared norm, max abs error), accumulated in float64."""
    import torch

    a = original.reshape(-1)
    b = decoded.reshape(-1)
    if a.numel() != b.numel():
        raise UserError(f"tensor sizes differ: {a.numel()} vs {b.numel()}")
    sq_err = sq_norm = max_abs = 0.0
    step = 1 << 22
    for start in range(0, a.numel(), step):
        x = a[start : start + step].to(torch.float64)
        d = b[start : start + step].to(torch.float64) - x
        sq_err += float((d * d).sum())
        sq_norm += float((x * x).sum())
        max_abs = max(max_abs, float(d.abs().max()))
    return sq_err, sq_norm, max_abs


def relative_frobenius(original: "torch.Tensor", decoded: "torch.Tensor") -> float:
    """‖decoded − original‖_F / ‖original‖_F (0 when both are zero)."""
    sq_err, sq_norm, _ = errors(original, decoded)
    return math.sqrt(sq_err / sq_norm) if sq_norm > 0 else math.sqrt(sq_err)


def summarise(stats: Sequence[TensorStats]) -> FileReport:
    """Overall figures: bits-weighted rate, energy-weighted error, summed times."""
    weights = sum(s.numel for s in stats)
    bits = sum(s.bits_per_weight * s.numel for s in stats)
    sq_err = sum(s.sq_error for s in stats)
    sq_norm = sum(s.sq_norm for s in stats)
    enc = sum(s.encode_seconds for s in stats)
    dec = sum(s.decode_seconds for s in stats)
    return FileReport(
        tensors=tuple(stats),
        bits_per_weight=bits / max(1, weights),
        rel_frobenius=math.sqrt(sq_err / sq_norm) if sq_norm > 0 else math.sqrt(sq_err),
        max_abs=max((s.max_abs for s in stats), default=0.0),
        encode_seconds=enc,
        decode_seconds=dec,
        encode_weights_per_second=weights / enc if enc > 0 else float("inf"),
        decode_weights_per_second=weights / dec if dec > 0 else float("inf"),
    )


def codec_report(
    original: str | os.PathLike[str],
    compressed: str | os.PathLike[str],
    device: str | None = None,
    on_tensor: Callable[[str], None] | None = None,
) -> FileReport:
    """Decode every tensor of ``compressed`` and compare it with the same name in ``original``."""
    from gpu.hyperfunction import fileformat
    from gpu.hyperfunction.codec import get_codec

    packed = fileformat.load_encoded(compressed)
    names, _, load = fileformat.read_plain(original)
    present = set(names)
    stats = []
    for enc in packed.tensors:
        if on_tensor is not None:
            on_tensor(enc.name)
        if enc.name not in present:
            raise UserError(f"tensor {enc.name!r}: in {compressed} but not in {original}")
        reference = load(enc.name)
        if tuple(reference.shape) != enc.shape:
            raise UserError(f"tensor {enc.name!r}: shape {tuple(reference.shape)} in {original} vs {enc.shape}")
        codec = get_codec(enc.method)
        started = time.perf_counter()
        decoded = codec.decode(enc, device)
        if decoded.device.type == "cuda":
            import torch

            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        sq_err, sq_norm, max_abs = errors(reference, decoded.cpu())
        stats.append(
            TensorStats(
                name=enc.name,
                method=enc.method,
                bits=enc.bits,
                numel=enc.numel,
                bits_per_weight=enc.bits_per_weight(),
                rel_frobenius=math.sqrt(sq_err / sq_norm) if sq_norm > 0 else math.sqrt(sq_err),
                max_abs=max_abs,
                encode_seconds=enc.encode_seconds,
                decode_seconds=seconds,
                sq_error=sq_err,
                sq_norm=sq_norm,
            )
        )
    return summarise(stats)


def render(report: FileReport) -> "object":
    """A rich Table of the per-tensor rows and the overall line."""
    from rich.table import Table

    table = Table(title="codec report")
    for column in ("tensor", "method", "bits/weight", "rel. Frobenius", "max abs", "encode s", "decode s"):
        table.add_column(column, justify="left" if column in ("tensor", "method") else "right")
    for s in report.tensors:
        table.add_row(
            s.name,
            s.method,
            f"{s.bits_per_weight:.3f}",
            f"{s.rel_frobenius:.3e}",
            f"{s.max_abs:.3e}",
            f"{s.encode_seconds:.3f}",
            f"{s.decode_seconds:.3f}",
        )
    table.add_row(
        "[b]overall[/b]",
        "",
        f"{report.bits_per_weight:.3f}",
        f"{report.rel_frobenius:.3e}",
        f"{report.max_abs:.3e}",
        f"{report.encode_seconds:.3f}",
        f"{report.decode_seconds:.3f}",
    )
    return table


# ----------------------------------------------------------------------------- covering law


@dataclass(frozen=True)
class CoveringPoint:
    """Nearest-sample distances of random points of [0, 1]^k for n trajectory samples."""

    n: int
    k: int
    mean_distance: float
    max_distance: float
    law: float  # n^(−1/k)
    grid_max: float  # covering radius of a regular grid with the same number of points: √k/2 · n^(−1/k)

    @property
    def ratio(self) -> float:
        """max_distance / n^(−1/k): roughly constant if the covering law holds."""
        return self.max_distance / self.law


def covering_curve(
    k: int, ns: Sequence[int], direction: str = "golden", samples: int = 1 << 16, seed: int = 0
) -> list[CoveringPoint]:
    """Distances from ``samples`` uniform points to the nearest of n winding samples, for each n.

    The maximum over finitely many points is a lower estimate of the covering radius.
    """
    import torch

    from gpu.hyperfunction import encoder, trajectory

    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(samples, k, generator=gen, dtype=torch.float64)
    a_fixed = trajectory.direction_fixed(k, direction)
    out = []
    for n in ns:
        points = trajectory.trajectory_points(n, a_fixed)
        theta = encoder.build_nearest(n, a_fixed).nearest(x)
        d = (points[theta] - x).norm(dim=1)
        law = n ** (-1.0 / k)
        out.append(
            CoveringPoint(
                n=n,
                k=k,
                mean_distance=float(d.mean()),
                max_distance=float(d.max()),
                law=law,
                grid_max=math.sqrt(k) / 2 * law,
            )
        )
    return out


def fitted_exponent(points: Sequence[CoveringPoint]) -> float:
    """Least-squares slope of log(max distance) against log n (the law predicts −1/k)."""
    xs = [math.log(p.n) for p in points]
    ys = [math.log(p.max_distance) for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        raise UserError("need at least two distinct n to fit an exponent")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var
