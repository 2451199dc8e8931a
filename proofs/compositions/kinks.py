"""Every point of [lo, hi] where a ReLU of a one-input network changes sign: the cuts of the
kernel's grid evidence (Thm A.1 inside the cells, Thm 1.3 and Thm 1.1 in one dimension on all of
[0, 1]), so that the kernel finds the network affine on every grid box; with the exact outputs
there (:func:`kinks_and_values`), Thm 1.1's certifier bounds the strips between the cells.

One pass through the plain layered network (``constructive.architecture.plain_form``), exactly.
Before a layer, the network is affine between consecutive points (every earlier sign change is
already a point), so a pre-activation that takes strictly opposite signs at two neighbours
crosses zero once between them, at the exact rational where its linear interpolation vanishes;
the whole pre-activation vector there is the same interpolation.  The points only guide the
kernel: it re-checks the signs itself.

Each point is a vector of Python integers over one denominator, and each layer a list of sparse
integer rows over one denominator (the composed networks are wide and sparse: a dense product
would spend almost all its time on zeros).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

from flint import fmpq

from constructive import architecture as arch
from constructive.ir import Activation, Node

KNOWN = {"relu": True, "identity": False}  # activation name -> has a kink at 0

Point = tuple  # (numerators: list[int], denominator: int > 0)


def relu_kinks(net: Node, cuts: list[fmpq], inside: Optional[Callable] = None) -> list[fmpq]:
    """The sorted union of ``cuts`` (its first and last the interval's ends) and every sign
    change of a ReLU pre-activation of ``net`` (one input) between them; with ``inside``, only
    between neighbours a < b with inside(a, b) (the values at every point stay exact: a point
    is only ever added where the layers before it are affine)."""
    return _walk(net, cuts, inside)[0]


def kinks_and_values(net: Node, cuts: list[fmpq]) -> tuple[list[fmpq], list[tuple[fmpq, ...]]]:
    """:func:`relu_kinks` between every pair of neighbouring cuts, and the network's exact
    output at each point (the network is affine between neighbouring points)."""
    xs, values, pending = _walk(net, cuts, None)
    if pending is not None:
        layer = _integer_layer(*pending)
        values = [_apply(layer, v) for v in values]
    return xs, [tuple(fmpq(n, d) for n in nums) for nums, d in values]


def _walk(net: Node, cuts: list[fmpq], inside: Optional[Callable]) -> tuple[list, list, Any]:
    """The points, the values after the last activation at each, and the affine map after it."""
    if net.in_dim != 1:
        raise ValueError(f"relu_kinks needs a network with one input, got {net.in_dim}")
    xs = sorted(set(cuts))
    values: list[Point] = [([int(x.p)], int(x.q)) for x in xs]
    pending = None  # an affine map not yet applied: (W, b)
    for item in arch.plain_form(net):
        if not isinstance(item, Activation):
            A = arch.as_affine(item)
            pending = (A.W, A.b) if pending is None else (A.W * pending[0], A.W * pending[1] + A.b)
            continue
        kinked = []
        for f in item.functions:
            if f.name not in KNOWN:
                raise ValueError(f"activation {f.name} is not piecewise linear with a kink at 0")
            kinked.append(KNOWN[f.name])
        layer = _integer_layer(*pending)
        pending = None
        pre = [_apply(layer, v) for v in values]
        xs, pre = _refine(xs, pre, kinked, inside)
        values = [_activate(v, kinked) for v in pre]
    return xs, values, pending


def _integer_layer(W, b) -> tuple:
    """W x + b as sparse integer rows [(column, w)], integer biases, over one denominator."""
    entries = W.tolist()
    bias = b.entries()
    den = math.lcm(1, *(int(q.q) for row in entries for q in row if q != 0),
                   *(int(q.q) for q in bias if q != 0))
    rows = [[(j, int(q.p) * (den // int(q.q))) for j, q in enumerate(row) if q != 0] for row in entries]
    return rows, [int(q.p) * (den // int(q.q)) for q in bias], den


def _apply(layer: tuple, point: Point) -> Point:
    rows, bias, den = layer
    nums, d = point
    return [sum(w * nums[j] for j, w in row) + c * d for row, c in zip(rows, bias)], den * d


def _activate(point: Point, kinked: list[bool]) -> Point:
    nums, d = point
    nums = [0 if k and v < 0 else v for v, k in zip(nums, kinked)]
    g = math.gcd(d, *nums)
    return ([v // g for v in nums], d // g) if g > 1 else (nums, d)


def _refine(xs: list[fmpq], pre: list[Point], kinked: list[bool],
            inside: Optional[Callable]) -> tuple[list, list]:
    """Insert every zero crossing of a kinked pre-activation between neighbouring points, the
    whole pre-activation vector interpolated exactly there."""
    out_x, out_v = [xs[0]], [pre[0]]
    relu = [i for i, k in enumerate(kinked) if k]
    for j in range(1, len(xs)):
        (za, da), (zb, db) = pre[j - 1], pre[j]
        if inside is None or inside(xs[j - 1], xs[j]):
            # z(a) + t (z(b) − z(a)) = 0 at t = z(a) / (z(a) − z(b)); values za/da, zb/db
            ts = sorted({fmpq(za[i] * db, za[i] * db - zb[i] * da) for i in relu
                         if (za[i] > 0 > zb[i]) or (za[i] < 0 < zb[i])})
            for t in ts:
                out_x.append(xs[j - 1] + t * (xs[j] - xs[j - 1]))
                out_v.append(_between(pre[j - 1], pre[j], t))
        out_x.append(xs[j])
        out_v.append(pre[j])
    return out_x, out_v


def _between(a: Point, b: Point, t: fmpq) -> Point:
    """(1 − t) a + t b as integers over one denominator."""
    (za, da), (zb, db) = a, b
    p, q = int(t.p), int(t.q)
    # (1 − t) za/da + t zb/db = ((q − p) za db + p zb da) / (q da db)
    nums = [(q - p) * u * db + p * v * da for u, v in zip(za, zb)]
    d = q * da * db
    g = math.gcd(d, *nums)
    return [v // g for v in nums], d // g
