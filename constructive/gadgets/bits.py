"""Bit extraction (intrinsic-parameters paper, Prop B.1 with Lemma B.2).

For a = Σ_{j≤J} θ_j 4^{−j} with θ_j ∈ {0,1}, the width-2, depth-(2J+2) network returns θ_j at
the input 4^j·a, and lies in [0, 1] for every real input.  It is the threshold g after the
sawtooth T_{4^J}, written as 2J+1 tent maps h(x) = 1 − 2σ(x − ½) − 2σ(½ − x) applied to
x = y / 2^{2J+1}.  The explicit weights are the project's (the paper gives h, g and the
composition only; see the note, §3).
"""

from __future__ import annotations

from typing import Sequence

from flint import fmpq

from constructive.ir import GadgetSpec, Network, activation, affine, gadget, network, repeat

HALF, THIRD = fmpq(1, 2), fmpq(1, 3)


def threshold_gadget() -> Network:
    """g(h) = 3σ(h − ⅓) − 3σ(h − ⅔): 0 for h ≤ ⅓, 1 for h ≥ ⅔, always in [0, 1]."""
    body = network(affine([[1], [1]], [-THIRD, -2 * THIRD]), activation(2), affine([[3, -3]], [0]))
    spec = GadgetSpec(
        statement="0 for h ≤ 1/3, 1 for h ≥ 2/3, values in [0, 1] for every real h",
        reference=lambda v: [min(max(3 * v[0] - 1, fmpq(0)), fmpq(1))],
        domain=((None, None),), range=(fmpq(0), fmpq(1)), source="Prop B.1 (threshold g)",
    )
    return network(gadget("threshold", body, spec))


def tent_layer() -> Network:
    """One tent step on the pair (r1, r2) = (σ(x − ½), σ(½ − x)): h = 1 − 2r1 − 2r2, split again."""
    return network(affine([[-2, -2], [2, 2]], [HALF, -HALF]), activation(2))


def bit_extractor(J: int) -> Network:
    """The Prop B.1 network φ_J: φ(4^j a) = θ_j for j = 1..J, φ(R) ⊆ [0, 1].

    >>> from constructive.evaluate import evaluate
    >>> a = fmpq(1, 4) + fmpq(1, 64)            # θ = (1, 0, 1)
    >>> evaluate(bit_extractor(3), [[4 * a, 16 * a, 64 * a]])
    [[1, 0, 1]]
    """
    if J < 1:
        raise ValueError("J must be a positive integer")
    scale = fmpq(1, 2 ** (2 * J + 1))
    first = network(affine([[scale], [-scale]], [-HALF, HALF]), activation(2))
    to_h = affine([[-2, -2]], [1])
    body = network(first, repeat(tent_layer(), 2 * J), to_h, threshold_gadget())
    spec = GadgetSpec(
        statement=f"φ(4^j a) = θ_j for j = 1..{J} when a = Σ θ_j 4^-j, θ ∈ {{0,1}}^{J}; φ(R) ⊆ [0, 1]",
        domain=((None, None),), range=(fmpq(0), fmpq(1)), source="intrinsic Prop B.1",
    )
    return network(gadget("bit-extraction", body, spec, J=J))


def pack_bits(bits: Sequence[int]) -> fmpq:
    """a = Σ_j θ_j 4^{−j}, the number whose base-4 digits are the bits."""
    J = len(bits)
    total = 0
    for b in bits:
        if b not in (0, 1):
            raise ValueError("bits must be 0 or 1")
        total = 4 * total + b
    return fmpq(total, 4 ** J)


def theta_for(J: int, seed: int) -> list[int]:
    """The pseudo-random bits of the registry instance (random.Random(seed))."""
    import random

    rng = random.Random(seed)
    return [rng.randint(0, 1) for _ in range(J)]


def build_extractor(params: dict, target=None) -> Network:
    """Registry entry (syz-bit-extraction): the network does not depend on θ."""
    return bit_extractor(params["J"])
