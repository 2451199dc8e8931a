"""Bit extraction (intrinsic-parameters paper, Prop B.1 with Lemma B.2).

For a = Σ_{j≤J} θ_j 4^{−j} with θ_j ∈ {0,1}, the width-2, depth-(2J+2) network returns θ_j at
the input 4^j·a, and lies in [0, 1] for every real input.  It is the threshold g after the
sawtooth T_{4^J}, written as 2J+1 tent maps h(x) = 1 − 2σ(x − ½) − 2σ(½ − x) applied to
x = y / 2^{2J+1}.  The explicit weights are the project's (the paper gives h, g and the
composition only; see the note, §3).
"""

from __future__ import annotations

from typing import Sequence

from flint import fmpq, fmpq_mat

from constructive.ir import (Activation, Affine, GadgetSpec, Network, activation, affine, gadget, network,
                             repeat)

HALF, THIRD = fmpq(1, 2), fmpq(1, 3)
TENT_W, TENT_B = fmpq_mat([[-2, -2], [2, 2]]), fmpq_mat([[HALF], [-HALF]])


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


def is_tent_block(body: Network) -> bool:
    """Whether ``body`` is exactly :func:`tent_layer` (weights compared as rationals), the only
    block whose repetition :func:`tent_repeat` may shortcut."""
    nodes = body.nodes if isinstance(body, Network) else ()
    if len(nodes) != 2 or not isinstance(nodes[0], Affine) or not isinstance(nodes[1], Activation):
        return False
    relu = nodes[1].functions
    return (nodes[0].W == TENT_W and nodes[0].b == TENT_B and len(relu) == 2
            and all(getattr(f, "name", None) == "relu" for f in relu))


def tent_power(num: int, den: int, k: int) -> tuple[int, int]:
    """T^k(num/den) as (numerator, den) for the tent T(x) = 1 − 2|x − ½| and k ≥ 0, den > 0,
    in O(log k) big-integer steps instead of k.

    Why this is T^k.  On [0, 1], T^k(x) = T(frac(2^{k−1} x)) for k ≥ 1: true for k = 1, and
    T^{k+1}(x) = T^k(T(x)) = T(frac(2^{k−1} T(x))) where 2^{k−1} T(x) is 2^k x for x ≤ ½ and
    2^k − 2^k x for x > ½; frac of the latter is 1 − frac(2^k x) (or 0 with it), and T is
    symmetric, T(1 − u) = T(u), with T(0) = T(1).  Off [0, 1] the tent is negative and T(x) = 2x
    there, so T^k(x) = 2^k x for x < 0 and 2^{k−1} T(x) = 2^k (1 − x) for x > 1.  The tests
    compare with k plain steps on random rationals.
    """
    if k == 0:
        return num, den
    if num < 0:
        return num << k, den
    if num > den:
        return (den - num) << k, den
    if den & (den - 1) == 0:  # dyadic: the fractional part is a mask, no modular power
        r = (num << (k - 1)) & (den - 1) if k - 1 < den.bit_length() else 0
    else:
        r = (num * pow(2, k - 1, den)) % den
    return den - abs(2 * r - den), den


def tent_repeat(r1: int, r2: int, den: int, times: int) -> tuple[int, int, int]:
    """``times`` ≥ 1 tent blocks applied to the pair (r1, r2)/den, exactly: (s1, s2, den').

    One block maps any pair to (σ(t − ½), σ(½ − t)) with t = 1 − 2(r1 + r2); a pair of that form
    E(t) is mapped to E(T(t)), since 1 − 2(σ(t − ½) + σ(½ − t)) = 1 − 2|t − ½|.  So ``times``
    blocks give E(T^{times−1}(t)), evaluated with :func:`tent_power`.
    """
    y, q = tent_power(den - 2 * (r1 + r2), den, times - 1)
    return max(2 * y - q, 0), max(q - 2 * y, 0), 2 * q


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
