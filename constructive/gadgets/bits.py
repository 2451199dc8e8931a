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


def tent_shift(den: int, k: int) -> int:
    """The power of two that :func:`tent_power` strips from ``den``: T^k(num/den)·den is a
    multiple of 2^s for every num when den = 2^m is dyadic, with s = min(k − 1, m) (k ≥ 1).

    Why.  Off [0, 1] the numerator is 2^k times an integer.  On [0, 1] it is den − |2r − den|
    with r = num·2^{k−1} mod 2^m, a multiple of 2^{min(k−1, m)} like den itself.  Dividing it
    out keeps the results ~m − k bits long instead of m + k: after the 2J tent blocks of a bit
    extractor that is the difference between numbers of 2J and 6J bits.
    """
    if k == 0 or den & (den - 1):
        return 0
    return min(k - 1, den.bit_length() - 1)


def tent_power(num: int, den: int, k: int) -> tuple[int, int]:
    """T^k(num/den) as (numerator, den >> tent_shift(den, k)) for the tent T(x) = 1 − 2|x − ½|
    and k ≥ 0, den > 0, in O(log k) big-integer steps instead of k.

    Why this is T^k.  On [0, 1], T^k(x) = T(frac(2^{k−1} x)) for k ≥ 1: true for k = 1, and
    T^{k+1}(x) = T^k(T(x)) = T(frac(2^{k−1} T(x))) where 2^{k−1} T(x) is 2^k x for x ≤ ½ and
    2^k − 2^k x for x > ½; frac of the latter is 1 − frac(2^k x) (or 0 with it), and T is
    symmetric, T(1 − u) = T(u), with T(0) = T(1).  Off [0, 1] the tent is negative and T(x) = 2x
    there, so T^k(x) = 2^k x for x < 0 and 2^{k−1} T(x) = 2^k (1 − x) for x > 1.  The tests
    compare with k plain steps on random rationals.
    """
    s = tent_shift(den, k)
    return _tent_power(num, den, k, s, (den >> s) - 1), den >> s


def _tent_power(num: int, den: int, k: int, s: int, mask: int) -> int:
    """The numerator of T^k(num/den) over den / 2^s (``mask`` = den / 2^s − 1, used when s > 0)."""
    if k == 0:
        return num
    if num < 0:
        return num << (k - s)
    if num > den:
        return (den - num) << (k - s)
    if s:  # den = 2^m: r / 2^s = num mod 2^{m−s} when s = k − 1, and r = 0 when s = m
        low = mask + 1
        r = num & mask if s == k - 1 else 0
        return low - abs(2 * r - low)
    r = (num * pow(2, k - 1, den)) % den
    return den - abs(2 * r - den)


def tent_repeats(r1s: Sequence[int], r2s: Sequence[int], den: int,
                 times: int) -> tuple[list[int], list[int], int]:
    """``times`` ≥ 1 tent blocks applied to each pair (r1, r2)/den, exactly: the first and the
    second outputs, all over one denominator den'.

    One block maps any pair to (σ(t − ½), σ(½ − t)) with t = 1 − 2(r1 + r2); a pair of that form
    E(t) is mapped to E(T(t)), since 1 − 2(σ(t − ½) + σ(½ − t)) = 1 − 2|t − ½|.  So ``times``
    blocks give E(T^{times−1}(t)), evaluated with :func:`tent_power`.  The pairs share den, so
    the shift and mask of :func:`tent_shift` are computed once.
    """
    k = times - 1
    s = tent_shift(den, k)
    q = den >> s
    mask = q - 1
    out1, out2 = [], []
    for r1, r2 in zip(r1s, r2s):
        y2 = 2 * _tent_power(den - 2 * (r1 + r2), den, k, s, mask)
        out1.append(max(y2 - q, 0))
        out2.append(max(q - y2, 0))
    return out1, out2, 2 * q


def tent_repeat(r1: int, r2: int, den: int, times: int) -> tuple[int, int, int]:
    """One pair of :func:`tent_repeats`: (s1, s2, den')."""
    (s1,), (s2,), d = tent_repeats([r1], [r2], den, times)
    return s1, s2, d


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
