"""The affine pieces of a piecewise-linear catalogue activation, read off its exact kernel and
checked (one module, so that the 1-D enumerations and the region analysis share it)."""

from __future__ import annotations

from flint import fmpq

from constructive.activations import ActivationFunction
from constructive.errors import UserError
from constructive.numbers import as_fmpq

_PIECES_CACHE: dict[int, tuple[ActivationFunction, tuple]] = {}


def activation_pieces(f: ActivationFunction) -> tuple[tuple[fmpq, fmpq], ...]:
    """The affine pieces ``(α_j, β_j)`` of a PL activation: ``f(z) = α_j z + β_j`` for ``z`` in
    the closed interval ``[b_j, b_{j+1}]`` (``b_0 = −∞``, ``b_{r+1} = +∞``).

    Refuses (ValueError) activations that are not flagged piecewise linear, lack an exact kernel,
    list unsorted breakpoints, or whose kernel is visibly not affine between the listed
    breakpoints or not continuous at them (checked at a few exact sample points per piece).
    """
    hit = _PIECES_CACHE.get(id(f))
    if hit is not None and hit[0] is f:
        return hit[1]
    if not isinstance(f, ActivationFunction):
        raise UserError(f"not a catalogue activation: {f!r}")
    if not f.piecewise_linear:
        raise UserError(f"activation {f.key!r} is not piecewise linear; exact enumeration needs "
                        "a piecewise-linear activation (use ball branch-and-bound instead)")
    if f.exact is None:
        raise UserError(f"activation {f.key!r} has no exact kernel")
    bps = [as_fmpq(b) for b in f.breakpoints]
    if any(x >= y for x, y in zip(bps, bps[1:])):
        raise UserError(f"activation {f.key!r}: breakpoints {bps} are not strictly increasing")
    k = f.exact
    # sample points strictly inside every piece
    if not bps:
        samples = [(fmpq(0), fmpq(1), fmpq(-3, 2))]
    else:
        samples = [(bps[0] - 2, bps[0] - 1, bps[0] - fmpq(1, 3))]
        for a, b in zip(bps, bps[1:]):
            w = b - a
            samples.append((a + w / 3, a + 2 * w / 3, a + w / 2))
        samples.append((bps[-1] + 1, bps[-1] + 2, bps[-1] + fmpq(1, 3)))
    pieces = []
    for u, v, check in samples:
        ku, kv = as_fmpq(k(u)), as_fmpq(k(v))
        alpha = (kv - ku) / (v - u)
        beta = ku - alpha * u
        if as_fmpq(k(check)) != alpha * check + beta:
            raise UserError(f"activation {f.key!r} is not affine between its listed breakpoints "
                            f"{tuple(bps)} (checked at {check})")
        pieces.append((alpha, beta))
    for j, b in enumerate(bps):
        left, right, kb = pieces[j], pieces[j + 1], as_fmpq(k(b))
        if left[0] * b + left[1] != kb or right[0] * b + right[1] != kb:
            raise UserError(f"activation {f.key!r} is not continuous at its breakpoint {b}; "
                            "exact PL enumeration needs a continuous activation")
    out = tuple(pieces)
    _PIECES_CACHE[id(f)] = (f, out)
    return out
