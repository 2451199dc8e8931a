"""The variant the reference implementation really runs: pairs on a sheared rational lattice + rings.

Why a separate method: the published numbers come from this fixed 2-D vector quantiser, not from
an irrational winding (see papers/notes/hyper-compression.md §2).  Per tensor:

* weights are flattened row-major, padded to even length with their mean and read as pairs;
* c = mean pair; the inner square is c ± ℓ/2; its codebook is the centroid c plus the lattice
  p(θ) = c − ℓ/2 + ℓ·(θ/m², (θ mod m)/m), θ = 0 … m² − 1 (rows y = r/m, each shifted by r/m²:
  the rational winding with step (ℓ/m², ℓ/m) that closes after m turns);
* pairs outside the square fall in ring k ∈ 1 … C (outer radii ℓ/2 + k(R − ℓ/2)/C, R the
  farthest pair) and are contracted towards c by f_k = (ℓ/2)/(ℓ/2 + k(R − ℓ/2)/C) into the
  inscribed circle, quantised there, and expanded back on decode;
* symbol = θ' + (m² + 1)·k with θ' = 0 for the centroid, θ + 1 for a lattice point, stored in a
  fixed field of the alphabet's bit length.

Differences from the reference, all stated in the file: ℓ (``side``) is stored, not read from a
folder name; ℓ and C are chosen per tensor by the lowest mean squared error on a subsample (the
reference fixes ℓ per model and picks C by mean absolute error); the nearest codeword inside a ring
is found in closed form (exact: four lattice rows and the centroid) instead of a KD-tree.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from constructive.errors import UserError
from gpu.hyperfunction import bitpack, decoder
from gpu.hyperfunction.base import EncodedTensor, check_input, dtype_name

if TYPE_CHECKING:
    import torch

_CHUNK = 1 << 20  # pairs per encoding step
_SELECT_SAMPLE = 1 << 14  # pairs used to choose ℓ and C
_QUANTILES = (0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
SIDE_RANGE = (1e-8, 1e4)
"""Allowed fixed square sides ℓ (``--side``): weights live far inside; beyond it float64 ring
gains and codeword tables lose every weight (inf, or ℓ/m wider than any tensor)."""


def lattice_side(bits: int, rings: int) -> int:
    """m: the largest lattice side with (m² + 1)(rings + 1) <= 2^(2·bits)."""
    m = math.isqrt(max(0, (1 << (2 * bits)) // (rings + 1) - 1))
    return m


decode_table = decoder.decode_table
"""The codebook (every symbol's value) as a table; it lives in the decoder, which builds it on decode."""


def _quantise(dev: "torch.Tensor", side: float, far: float, rings: int, m: int) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Symbols and reconstructed offsets (float64) for pairs ``dev`` = x − c."""
    import torch

    half = side / 2
    cheb = dev.abs().amax(dim=1)
    if rings:
        radius = dev.norm(dim=1)
        ring_width = (far - half) / rings
        ring = torch.ceil((radius - half) / ring_width).clamp_(1, rings).to(torch.int64)
        ring = torch.where(cheb <= half, torch.zeros_like(ring), ring)
        gain = (half + ring.to(torch.float64) * ring_width) / half
    else:
        ring = torch.zeros(dev.shape[0], dtype=torch.int64, device=dev.device)
        gain = torch.ones(dev.shape[0], dtype=torch.float64, device=dev.device)
    s = (dev / gain.unsqueeze(1) + half) / side  # contracted into the square, unit coordinates
    sx, sy = s[:, 0], s[:, 1]
    best = (sx - 0.5) ** 2 + (sy - 0.5) ** 2  # the centroid
    choice = torch.full_like(ring, -9)  # row shift of the best lattice row; -9 = centroid
    row0 = torch.floor(sy * m).to(torch.int64).clamp_(0, m - 1)
    for shift in (-1, 0, 1, 2):  # rows further away are beyond √2 spacings: never nearest
        rowf = (row0 + shift).clamp(0, m - 1).to(torch.float64)
        col = torch.round(sx * m - rowf / m).clamp_(0, m - 1)
        d = (sx - (col + rowf / m) / m) ** 2 + (sy - rowf / m) ** 2
        better = d < best
        best = torch.where(better, d, best)
        choice.masked_fill_(better, shift)
    lattice_hit = choice > -9
    row = (row0 + choice).clamp(0, m - 1)
    rowf = row.to(torch.float64)
    col = torch.round(sx * m - rowf / m).clamp_(0, m - 1)
    ux = torch.where(lattice_hit, (col + rowf / m) / m, 0.5)
    uy = torch.where(lattice_hit, rowf / m, 0.5)
    symbol = torch.where(lattice_hit, col.to(torch.int64) * m + row + 1, 0)
    recon = (torch.stack([ux, uy], dim=1) * side - half) * gain.unsqueeze(1)
    return symbol + ring * (m * m + 1), recon


class LatticeCodec(decoder.DecoderBacked):
    """Sheared rational lattice on pairs plus rings; 2·bits bits per pair."""

    method = "lattice"
    bits_range = (2, 8)

    def __init__(self, class_max: int = 3, side: float | None = None):
        if class_max < 1:
            raise UserError(f"lattice class_max must be >= 1, got {class_max}")
        if side is not None and not (isinstance(side, (int, float)) and SIDE_RANGE[0] <= side <= SIDE_RANGE[1]):
            raise UserError(f"lattice side must be a finite number in [{SIDE_RANGE[0]:g}, {SIDE_RANGE[1]:g}], got {side}")
        self.class_max = class_max
        self.side = side

    def _choose(self, dev: "torch.Tensor", bits: int, far: float, cheb_max: float) -> tuple[float, int, int]:
        """(ℓ, C, m) with the lowest mean squared error on a deterministic subsample."""
        import torch

        stride = max(1, dev.shape[0] // _SELECT_SAMPLE)
        sample = dev[::stride]
        cheb = sample.abs().amax(dim=1)
        if self.side is not None:
            sides = [self.side]
        else:
            sides = sorted({float(2 * torch.quantile(cheb, q)) for q in _QUANTILES} | {2 * cheb_max})
            sides = [s for s in sides if s > 0] or [1.0]
        best: tuple[float, float, int, int] | None = None
        for side in sides:
            inside_all = 2 * cheb_max <= side
            for rings in ([0] if inside_all else []) + list(range(1, self.class_max + 1)):
                if rings and far <= side / 2:
                    continue
                m = lattice_side(bits, rings)
                if m < 1:
                    continue
                _, recon = _quantise(sample, side, far, rings, m)
                err = float(((recon - sample) ** 2).mean())
                if best is None or err < best[0]:
                    best = (err, side, rings, m)
        if best is None:  # every point equal to the centre: any valid lattice will do
            return 1.0, 0, lattice_side(bits, 0)
        return best[1], best[2], best[3]

    def encode(self, tensor: "torch.Tensor", bits: int, *, name: str = "tensor") -> EncodedTensor:
        """Choose ℓ and C, then quantise every pair exactly to its ring's codebook."""
        import torch

        check_input(tensor, bits, name, self.method, self.bits_range)
        started = time.perf_counter()
        flat = tensor.detach().reshape(-1).to(torch.float64).cpu()
        if flat.numel() % 2:
            flat = torch.cat([flat, flat.mean().reshape(1)])
        pairs = flat.reshape(-1, 2)
        centre = pairs.mean(dim=0)
        dev = pairs - centre
        far = float(dev.norm(dim=1).max())
        cheb_max = float(dev.abs().max())
        side, rings, m = self._choose(dev, bits, far, cheb_max)
        if self.side is not None and cheb_max > 0 and side / m > 2 * cheb_max:
            # the lattice spacing exceeds the tensor's whole spread: every weight would collapse
            raise UserError(
                f"tensor {name!r}: fixed side {side:g} is too wide for weights spread over {2 * cheb_max:.3g} "
                f"(spacing {side / m:.3g}); use a side of at most {2 * cheb_max * m:.3g} or let it be chosen"
            )
        if rings == 0 and 2 * cheb_max > side:
            raise UserError(f"tensor {name!r}: internal error, lattice without rings cannot cover the tensor")
        width = max(1, ((m * m + 1) * (rings + 1) - 1).bit_length())
        packed = []
        for start in range(0, dev.shape[0], _CHUNK):
            symbols, _ = _quantise(dev[start : start + _CHUNK], side, far, rings, m)
            packed.append(bitpack.pack_codes(symbols, width))
        params = {
            "m": m,
            "rings": rings,
            "width": width,
            "side": side,
            "far": far,
            "centre_x": float(centre[0]),
            "centre_y": float(centre[1]),
            "pairs": int(pairs.shape[0]),
        }
        return EncodedTensor(
            name=name,
            method=self.method,
            bits=bits,
            shape=tuple(tensor.shape),
            dtype=dtype_name(tensor.dtype),
            params=params,
            arrays={"codes": torch.cat(packed)},
            encode_seconds=time.perf_counter() - started,
        )
