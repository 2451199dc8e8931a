"""The codec's codebook {frac(θ·a)}_{θ<n} as exact integers, and as a network (its decode table).

Why integers: the codec stores the direction as A_i = round(a_i·2^F) and decodes sample θ to
((θ·A_i) mod 2^F)/2^F, so every codeword is an integer over the common denominator D = 2^F.
All covering computations work on integer coordinates over one denominator D (exact, and fast
in Python ints); a table whose entries have other denominators (a moved point) is brought to
the least common denominator, so nothing is rounded.

Why a network: the encoder's nearest-codeword search is one affine layer.  For x ∈ [0, 1]^k,
|x − p_θ|² = |x|² − (2p_θ·x − |p_θ|²), so the nearest codeword is the argmax of the scores
s_θ(x) = 2p_θ·x − |p_θ|², an affine map R^k → R^n with row θ = (2p_θ, −|p_θ|²).  The builder
returns that layer; the certifier reads the codebook back from the network it is handed (and
refuses a bias that is not −|p_θ|²), so a changed weight is a changed codebook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flint import fmpq, fmpq_mat

from constructive.errors import UserError
from constructive.ir import Affine, Network, affine_from, network
from gpu.hyperfunction import trajectory

FRAC_BITS = trajectory.FRAC_BITS


def codec_direction(k: int) -> tuple[int, ...]:
    """A_i of the codec's default ('golden') direction: the integers the file format stores."""
    return trajectory.direction_fixed(k, "golden", FRAC_BITS)


def winding_integers(n: int, a_fixed: tuple[int, ...], frac_bits: int = FRAC_BITS) -> list[tuple[int, ...]]:
    """Codeword θ as integers (θ·A_i) mod 2^F, θ = 0 … n − 1 (the codec's phases, exactly)."""
    mask = (1 << frac_bits) - 1
    return [tuple((theta * a) & mask for a in a_fixed) for theta in range(n)]


@dataclass(frozen=True)
class PointSet:
    """n points of [0, 1)^k as integer coordinates over the common denominator ``den``."""

    coords: tuple[tuple[int, ...], ...]
    den: int

    @property
    def n(self) -> int:
        return len(self.coords)

    @property
    def k(self) -> int:
        return len(self.coords[0])

    def point(self, i: int) -> list[fmpq]:
        return [fmpq(c, self.den) for c in self.coords[i]]


def score_network(n: int, k: int) -> Network:
    """The encoder's score layer x ↦ (2p_θ·x − |p_θ|²)_θ of the codec's first n codewords."""
    den = 1 << FRAC_BITS
    pts = winding_integers(n, codec_direction(k))
    weights = [fmpq(2 * pts[theta][i], den) for theta in range(n) for i in range(k)]
    bias = [-fmpq(sum(c * c for c in pts[theta]), den * den) for theta in range(n)]
    return network(affine_from(fmpq_mat(n, k, weights), fmpq_mat(n, 1, bias)))


def read_codebook(net: Network) -> PointSet:
    """The codebook of a score layer: p_θ = row θ of W / 2, with the bias checked to be −|p_θ|²."""
    nodes = getattr(net, "nodes", ())
    if len(nodes) != 1 or not isinstance(nodes[0], Affine):
        raise UserError("a codebook network is one affine layer (the encoder's scores); got another shape")
    aff = nodes[0]
    n, k = aff.W.nrows(), aff.W.ncols()
    values = [[aff.W[j, i] / 2 for i in range(k)] for j in range(n)]
    for j, row in enumerate(values):
        if aff.b[j, 0] != -sum(v * v for v in row):
            raise UserError(f"score {j}: the bias is not -|p|^2 of its codeword, "
                            "so the layer is no nearest-codeword search")
    den = 1
    for row in values:
        for v in row:
            if not 0 <= v < 1:
                raise UserError(f"codeword entry {v} lies outside [0, 1): not a point of the torus")
            den = den * int(v.q) // math.gcd(den, int(v.q))
    coords = tuple(tuple(int(v.p) * (den // int(v.q)) for v in row) for row in values)
    return PointSet(coords, den)


def first_difference(points: PointSet, a_fixed: tuple[int, ...], frac_bits: int = FRAC_BITS) -> int | None:
    """The first θ whose codeword differs from the winding frac(θ·A/2^F); None when all agree."""
    want = winding_integers(points.n, a_fixed, frac_bits)
    scale = points.den
    for theta, (got, exact) in enumerate(zip(points.coords, want)):
        if any(g * (1 << frac_bits) != e * scale for g, e in zip(got, exact)):
            return theta
    return None
