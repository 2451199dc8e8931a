"""The codec's per-weight round-trip error against the covering-radius bound, in exact arithmetic.

The winding codec stores, per block of weights, an fp16 offset ``lo`` and span ``s`` (with
lo ≤ w ≤ lo + s for every weight w of the block) and, per group of k weights, the index θ of the
nearest codeword of u = (w − lo)/s ∈ [0, 1]^k.  The exact decoded value of weight c of a group
is v = lo + s·p_c with p = frac(θ·a) the codeword, so

    |w − v| = s·|u_c − p_c| ≤ s·‖u − p‖₂ ≤ s·R + ε_enc,   R the covering radius of [0, 1]^k,

where ε_enc = 2^−40·s covers the encoder's float64 rounding of u (at most a few units of 2^−53
per coordinate, counted twice: the float nearest codeword is nearest up to that error).  The
decoder's own float64 sum and its cast to the weight dtype add
|ŵ − v| ≤ 2^−24·|ŵ| + 2^−52·|v| (float32 output: one rounding each).

Both inequalities are checked for every weight of the actual codec output with exact rationals:
the stored integers (θ unpacked here from the packed bytes, MSB first, independently of the
codec's unpacker) and the fp16/float32 values are binary fractions, and R² is an exact rational
(or a certified upper bound for k ≥ 3).  The reported number is the worst normalised error
max (|w − v| − ε_enc)/(s·R), which the theory says is ≤ 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from flint import fmpq

from constructive.errors import UserError

ENC_SLACK = fmpq(1, 1 << 40)
F32_ROUND = fmpq(1, 1 << 24)
F64_ROUND = fmpq(1, 1 << 52)


def seeded_tensor(rows: int, cols: int, seed: int):
    """A float32 N(0, 0.02²) weight matrix from a seeded torch generator (transformer-like)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(rows, cols, generator=gen, dtype=torch.float64) * 0.02).to(torch.float32)


def unpack_msb(packed: bytes, count: int, width: int) -> list[int]:
    """Fixed-width MSB-first codes of a byte string, with Python integers."""
    big = int.from_bytes(packed, "big")
    total = len(packed) * 8
    if count * width > total:
        raise UserError(f"packed stream holds {total} bits, {count} codes of {width} bits need more")
    mask = (1 << width) - 1
    return [(big >> (total - (i + 1) * width)) & mask for i in range(count)]


def _exact(x: float) -> fmpq:
    num, den = float(x).as_integer_ratio()
    return fmpq(num, den)


@dataclass(frozen=True)
class RoundTrip:
    worst_ratio_sq: fmpq  # max over weights of ((|w − v| − ε_enc)_+ / s)² / R² (≤ 1 by the theory)
    worst_index: int
    worst_error: fmpq  # |w − ŵ| at that weight
    max_abs_error: fmpq  # max |w − ŵ| over the tensor
    decode_ok: bool  # every |ŵ − v| within the decoder's rounding
    decode_first_bad: int | None
    weights: int
    blocks: int
    # every |w − ŵ| <= s·R⁺ + 2^-40·s + 2^-24|ŵ| + 2^-52|v| (R⁺ ≥ R a binary fraction)
    total_ok: bool
    largest_bound: fmpq  # the largest of those per-weight bounds
    evidence: dict = None  # what the kernel's codec-roundtrip re-reads: the exact arrays


def check_roundtrip(original, encoded, decoded, table: list[tuple[int, ...]], den: int,
                    radius_sq: fmpq, radius_up: fmpq) -> RoundTrip:
    """Exact per-weight check of ``decoded`` (the codec's float output) against ``original``.

    ``table`` is the codebook (integer coordinates over ``den``) that θ indexes; the decoded
    value of each weight is recomputed exactly from it and the stored fp16 lo/span.
    """
    p = encoded.params
    k, block, width = int(p["k"]), int(p["block"]), int(p["width"])
    w_all = original.reshape(-1).tolist()
    d_all = decoded.reshape(-1).to(original.dtype).tolist()
    lo = [_exact(x) for x in encoded.arrays["lo"].to(float).tolist()]
    span = [_exact(x) for x in encoded.arrays["span"].to(float).tolist()]
    numel = len(w_all)
    groups = -(-numel // k)
    codes = unpack_msb(bytes(encoded.arrays["codes"].tolist()), groups, width)
    if any(t >= len(table) for t in codes):
        raise UserError("a stored index θ lies beyond the codebook")
    worst = (fmpq(-1), -1)
    max_abs = fmpq(0)
    first_bad = None
    total_ok, largest = True, fmpq(0)
    for i in range(numel):
        b, theta = i // block, codes[i // k]
        s = span[b]
        v = lo[b] + s * fmpq(table[theta][i % k], den)
        w, got = _exact(w_all[i]), _exact(d_all[i])
        if first_bad is None and abs(got - v) > F32_ROUND * abs(got) + F64_ROUND * abs(v):
            first_bad = i
        max_abs = max(max_abs, abs(w - got))
        allowed = s * radius_up + ENC_SLACK * s + F32_ROUND * abs(got) + F64_ROUND * abs(v)
        total_ok &= abs(w - got) <= allowed
        largest = max(largest, allowed)
        if s == 0:
            if w != v:
                worst = max(worst, (fmpq(10**9), i))
            continue
        excess = abs(w - v) - ENC_SLACK * s
        ratio = (excess / s) ** 2 / radius_sq if excess > 0 else fmpq(0)
        worst = max(worst, (ratio, i))
    j = worst[1]
    arrays = {"kind": "codec", "block": block, "weights": [str(_exact(w)) for w in w_all],
              "decoded": [str(_exact(d)) for d in d_all], "lo": [str(v) for v in lo],
              "span": [str(v) for v in span], "codes": codes}
    return RoundTrip(worst[0], j, abs(_exact(w_all[j]) - _exact(d_all[j])), max_abs, first_bad is None,
                     first_bad, numel, len(lo), total_ok, largest, arrays)
