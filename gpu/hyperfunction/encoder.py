"""Winding encoder: the exact nearest trajectory sample θ ∈ {0, …, n − 1} for each group of k weights.

Why not a KD-tree or brute force: the codebook {frac(θ·a)} is fixed, so its nearest-neighbour
structure is precomputed once per (n, a) as a cell table.  [0, 1]^k is cut into G^k equal cells
and each cell stores the few codewords that can be nearest to *some* point of the cell:

* U(C) = min over known codewords q of the largest distance from q to cell C bounds the nearest
  distance of every point of C from above;
* a codeword p can be nearest to a point of C only if its smallest distance to C is <= U(C).

The table is built in two levels (coarse cells from a neighbourhood of r cells, r raised until
U <= r·h so nothing outside can win; then each fine cell filters its parent's list), all with
vectorised torch operations.  A query then looks up its cell and takes the argmin over that
cell's short list — exact (up to ties) and about L·k multiply-adds per group, on CPU or GPU.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constructive.errors import UserError
from gpu.hyperfunction import bitpack, groups, trajectory
from gpu.hyperfunction.base import EncodedTensor, check_input, dtype_name
from gpu.hyperfunction.decoder import DecoderBacked

if TYPE_CHECKING:
    import torch

SENTINEL = 1.0e6
"""Coordinate of the padding codeword: never nearest to a point of the unit cube."""

_SLACK = 1e-9  # relative slack on the pruning tests, far above float64 rounding of the boxes
_FINE_CELLS_PER_CODEWORD = 8
_MAX_FINE_CELLS = 1 << 18
_QUERY_CHUNK = 1 << 17  # groups per query step: bounds the (chunk, L) temporaries
_MAX_WIDTH = {1: 16, 2: 16, 3: 12}  # k·bits limits: the cell table must stay small and quick to build


@dataclass(frozen=True)
class NearestTrajectory:
    """Cell table of the codebook frac(θ·a), θ < n: for cell c, ``ids[c]`` (padded with n)."""

    n: int
    k: int
    grid: int
    ids: "torch.Tensor"  # (grid^k, L) int64, padding = n
    planes: "torch.Tensor"  # (k, grid^k, L) float64 codeword coordinates, padding = SENTINEL

    @property
    def width(self) -> int:
        """L: the number of candidates compared per query."""
        return int(self.ids.shape[1])

    def to(self, device: "str | torch.device") -> "NearestTrajectory":
        """The same table on another device."""
        return NearestTrajectory(self.n, self.k, self.grid, self.ids.to(device), self.planes.to(device))

    def nearest(self, x: "torch.Tensor") -> "torch.Tensor":
        """θ of the nearest codeword for each row of x (N, k) float64 in [0, 1]^k; int64 (N,)."""
        import torch

        out = torch.empty(x.shape[0], dtype=torch.int64, device=x.device)
        for start in range(0, x.shape[0], _QUERY_CHUNK):
            out[start : start + _QUERY_CHUNK] = self._nearest_chunk(x[start : start + _QUERY_CHUNK])
        return out

    def _nearest_chunk(self, x: "torch.Tensor") -> "torch.Tensor":
        import torch

        grid = self.grid
        cell = torch.zeros(x.shape[0], dtype=torch.int64, device=x.device)
        for i in range(self.k - 1, -1, -1):
            ci = (x[:, i] * grid).to(torch.int64).clamp_(0, grid - 1)
            cell.mul_(grid).add_(ci)
        dist = None
        for i in range(self.k):
            diff = self.planes[i].index_select(0, cell)
            diff.sub_(x[:, i : i + 1])
            diff.mul_(diff)
            dist = diff if dist is None else dist.add_(diff)
        assert dist is not None
        best = dist.argmin(dim=1)
        return self.ids.reshape(-1).index_select(0, cell * self.width + best)


def _cell_coords(grid: int, k: int, device: "torch.device | str | None" = None) -> "torch.Tensor":
    """(grid^k, k) integer coordinates of every cell; cell id = Σ c_i · grid^i."""
    import torch

    ids = torch.arange(grid**k, dtype=torch.int64, device=device)
    return torch.stack([(ids // grid**i) % grid for i in range(k)], dim=1)


def _cell_of(points: "torch.Tensor", grid: int) -> "torch.Tensor":
    import torch

    coords = (points * grid).floor().to(torch.int64).clamp(0, grid - 1)
    mul = grid ** torch.arange(points.shape[1], dtype=torch.int64)
    return (coords * mul).sum(dim=1)


def _buckets(points: "torch.Tensor", grid: int) -> "torch.Tensor":
    """(grid^k, M) codeword ids per cell, padded with n."""
    import torch

    n, k = points.shape
    cid = _cell_of(points, grid)
    order = torch.argsort(cid, stable=True)
    counts = torch.bincount(cid, minlength=grid**k)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n) - starts[cid[order]]
    table = torch.full((grid**k, max(1, int(counts.max()))), n, dtype=torch.int64)
    table[cid[order], rank] = order
    return table


def _box_distances(
    ext: "torch.Tensor", cand: "torch.Tensor", lo: "torch.Tensor", h: float
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Squared smallest and largest distance from each candidate to its cell box [lo, lo + h]^k."""
    import torch

    near = far = None
    flat = cand.reshape(-1)
    for i in range(ext.shape[1]):
        below = ext[:, i].index_select(0, flat).reshape(cand.shape)
        below.sub_(lo[:, i : i + 1])
        above = below - h
        f = torch.maximum(below * below, above * above)
        below.neg_().clamp_(min=0).add_(above.clamp_(min=0))
        below.mul_(below)
        near = below if near is None else near.add_(below)
        far = f if far is None else far.add_(f)
    assert near is not None and far is not None
    return near, far


def _prune(cand: "torch.Tensor", near: "torch.Tensor", far: "torch.Tensor", n: int) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Keep candidates whose smallest distance is <= U = min largest distance; left-align, pad n."""
    import torch

    bound = far.min(dim=1, keepdim=True).values
    keep = (cand < n) & (near <= bound * (1 + _SLACK))
    width = max(1, int(keep.sum(dim=1).max()))
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :width]
    kept = torch.gather(keep, 1, order)
    ids = torch.where(kept, torch.gather(cand, 1, order), torch.full_like(order, n))
    return ids, bound.squeeze(1)


def _coarse_table(points: "torch.Tensor", ext: "torch.Tensor", grid: int) -> "torch.Tensor":
    """Candidate lists of the coarse cells, from neighbourhoods of radius r with U <= r·h."""
    import torch

    n, k = points.shape
    h = 1.0 / grid
    bucket = _buckets(points, grid)
    coords = _cell_coords(grid, k)
    lo = coords.to(torch.float64) * h
    mul = grid ** torch.arange(k, dtype=torch.int64)
    radius = 1
    while True:
        if radius >= grid - 1:  # the neighbourhood holds every codeword: nothing can be missed
            cand = torch.arange(n, dtype=torch.int64).expand(grid**k, n)
            near, far = _box_distances(ext, cand, lo, h)
            ids, _ = _prune(cand, near, far, n)
            return ids
        span = torch.arange(-radius, radius + 1, dtype=torch.int64)
        offsets = torch.cartesian_prod(*([span] * k)).reshape(-1, k)
        neigh = coords.unsqueeze(1) + offsets.unsqueeze(0)
        inside = ((neigh >= 0) & (neigh < grid)).all(dim=-1)
        nid = (neigh.clamp(0, grid - 1) * mul).sum(-1)
        cand = bucket[nid]  # (cells, O, M)
        cand = torch.where(inside.unsqueeze(-1), cand, torch.full_like(cand, n)).reshape(grid**k, -1)
        near, far = _box_distances(ext, cand, lo, h)
        ids, bound = _prune(cand, near, far, n)
        # any codeword outside the neighbourhood is at least r·h from the cell
        if bool((bound <= (radius * h) ** 2 * (1 - _SLACK)).all()):
            return ids
        radius += 1


@functools.lru_cache(maxsize=16)
def build_nearest(n: int, a_fixed: tuple[int, ...], frac_bits: int = trajectory.FRAC_BITS) -> NearestTrajectory:
    """The cell table for the codebook of n samples of direction ``a_fixed`` (built on CPU, cached)."""
    import torch

    k = len(a_fixed)
    points = trajectory.trajectory_points(n, a_fixed, frac_bits)
    ext = torch.cat([points, torch.full((1, k), SENTINEL, dtype=torch.float64)])
    coarse_grid = max(1, round((n / 2) ** (1.0 / k)))
    coarse = _coarse_table(points, ext, coarse_grid)
    target = min(_MAX_FINE_CELLS, _FINE_CELLS_PER_CODEWORD * n)
    sub = max(1, int((target ** (1.0 / k)) / coarse_grid))
    grid = coarse_grid * sub
    h = 1.0 / grid
    coords = _cell_coords(grid, k)
    parent_mul = coarse_grid ** torch.arange(k, dtype=torch.int64)
    parents = ((coords // sub) * parent_mul).sum(1)
    pieces = []
    step = max(1, (1 << 22) // max(1, coarse.shape[1] * k))
    for start in range(0, grid**k, step):
        cand = coarse[parents[start : start + step]]
        lo = coords[start : start + step].to(torch.float64) * h
        near, far = _box_distances(ext, cand, lo, h)
        pieces.append(_prune(cand, near, far, n)[0])
    width = max(p.shape[1] for p in pieces)
    ids = torch.cat([torch.nn.functional.pad(p, (0, width - p.shape[1]), value=n) for p in pieces])
    planes = ext[ids].permute(2, 0, 1).contiguous()
    return NearestTrajectory(n=n, k=k, grid=grid, ids=ids, planes=planes)


def brute_force_nearest(x: "torch.Tensor", points: "torch.Tensor") -> "torch.Tensor":
    """Reference answer: argmin over all n codewords (O(N·n); for tests and the baseline only)."""
    import torch

    out = []
    for start in range(0, x.shape[0], 4096):
        chunk = x[start : start + 4096]
        d = ((chunk.unsqueeze(1) - points.unsqueeze(0)) ** 2).sum(-1)
        out.append(d.argmin(dim=1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.int64)


class WindingCodec(DecoderBacked):
    """Groups of k weights ↦ θ of the nearest winding sample; fp16 offset/span per block of weights.

    Rate: k·bits bits per group (n = 2^(k·bits) samples) plus 32 bits per block, i.e.
    bits + 32/block bits per weight — the same overhead as RTN with the same group size.
    """

    method = "winding"
    bits_range = (1, 8)

    def __init__(self, k: int = 2, block: int | None = None, direction: str = "golden", chunk_blocks: int = 8192):
        if k < 1 or k > 3:
            raise UserError(f"winding group size k must be in 1..3, got {k}")
        if block is None:  # 128, or the nearest multiple of k below it
            block = 128 - 128 % k
        if block < 1 or block % k:
            raise UserError(f"winding block {block} must be a positive multiple of k={k}")
        if chunk_blocks < 8 or chunk_blocks % 8:
            raise UserError(f"chunk_blocks must be a positive multiple of 8, got {chunk_blocks}")
        trajectory.direction_reals(k, direction)  # validates the name
        self.k = k
        self.block = block
        self.direction = direction
        self.chunk_blocks = chunk_blocks

    def encode(
        self, tensor: "torch.Tensor", bits: int, *, name: str = "tensor", device: "str | None" = None
    ) -> EncodedTensor:
        """Exact nearest-sample encoding of every group; chunked so memory stays bounded."""
        import torch

        check_input(tensor, bits, name, self.method, self.bits_range)
        width = self.k * bits
        limit = _MAX_WIDTH[self.k]
        if width > limit:
            raise UserError(
                f"tensor {name!r}: k·bits = {width} exceeds {limit} for k={self.k} (codebook too large)"
            )
        started = time.perf_counter()
        n = 1 << width
        a_fixed = trajectory.direction_fixed(self.k, self.direction)
        device = device or str(tensor.device)
        table = build_nearest(n, a_fixed).to(device)
        flat = tensor.detach().reshape(-1)
        packed, los, spans = [], [], []
        step = self.chunk_blocks * self.block
        for start in range(0, flat.numel(), step):
            blocks = groups.to_blocks(flat[start : start + step].to(device), self.block)
            lo, span = groups.block_bounds(blocks, 1, name)
            unit = (blocks - lo.to(torch.float64).unsqueeze(1)) / span.to(torch.float64).clamp(min=1e-300).unsqueeze(1)
            unit = unit.clamp_(0.0, 1.0).reshape(-1, self.k)
            theta = table.nearest(unit)
            packed.append(bitpack.pack_codes(theta, width))
            los.append(lo)
            spans.append(span)
        groups_count = -(-flat.numel() // self.block) * (self.block // self.k)
        params = {
            "k": self.k,
            "block": self.block,
            "frac_bits": trajectory.FRAC_BITS,
            "direction_fixed": list(a_fixed),
            "direction": self.direction,
            "n": n,
            "width": width,
            "groups": groups_count,
        }
        arrays = {
            "codes": torch.cat(packed).cpu(),
            "lo": torch.cat(los).cpu(),
            "span": torch.cat(spans).cpu(),
        }
        return EncodedTensor(
            name=name,
            method=self.method,
            bits=bits,
            shape=tuple(tensor.shape),
            dtype=dtype_name(tensor.dtype),
            params=params,
            arrays=arrays,
            encode_seconds=time.perf_counter() - started,
        )
