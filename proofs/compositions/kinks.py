"""Every point of [lo, hi] where a ReLU of a one-input network changes sign: the cuts of the
kernel's grid evidence for the uniform (Thm 1.3) error, so that the kernel finds the network
affine on every grid box.

One pass through the plain layered network (``constructive.architecture.plain_form``), all
points at once in exact ``fmpq_mat`` arithmetic.  Before a layer, the network is affine between
consecutive points (every earlier sign change is already a point), so a pre-activation that
takes strictly opposite signs at two neighbours crosses zero once between them, at the exact
rational where its linear interpolation vanishes; the whole pre-activation vector there is the
same interpolation.  The points only guide the kernel: it re-checks the signs itself.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from flint import fmpq, fmpq_mat

from constructive import architecture as arch
from constructive.ir import Activation, Node

KNOWN = {"relu": True, "identity": False}  # activation name -> has a kink at 0


def relu_kinks(net: Node, cuts: list[fmpq], inside: Optional[Callable] = None) -> list[fmpq]:
    """The sorted union of ``cuts`` (its first and last the interval's ends) and every sign
    change of a ReLU pre-activation of ``net`` (one input) between them; with ``inside``, only
    between neighbours a < b with inside(a, b) (the values at every point stay exact: a point
    is only ever added where the layers before it are affine)."""
    if net.in_dim != 1:
        raise ValueError(f"relu_kinks needs a network with one input, got {net.in_dim}")
    xs = sorted(set(cuts))
    X = fmpq_mat(1, len(xs), xs)
    pending = None  # an affine map not yet applied: (W, b)
    for item in arch.plain_form(net):
        if not isinstance(item, Activation):
            A = arch.as_affine(item)
            pending = (A.W, A.b) if pending is None else (A.W * pending[0], A.W * pending[1] + A.b)
            continue
        W, b = pending
        pending = None
        kinked = []
        for f in item.functions:
            if f.name not in KNOWN:
                raise ValueError(f"activation {f.name} is not piecewise linear with a kink at 0")
            kinked.append(KNOWN[f.name])
        Z = W * X + b * fmpq_mat(1, len(xs), [1] * len(xs))
        xs, X = _refine(xs, Z, kinked, inside)
    return xs


def _refine(xs: list[fmpq], Z: fmpq_mat, kinked: list[bool],
            inside: Optional[Callable]) -> tuple[list, fmpq_mat]:
    """Insert every zero crossing of a kinked row of Z between neighbouring points (the whole
    column interpolated exactly there), then apply the activations.  Signs are read from the
    integer numerators over Z's common denominator (compared in numpy's loop, exactly)."""
    N, den = Z.numer_denom()
    R, n = len(kinked), len(xs)
    arr = np.array(N.entries(), dtype=object).reshape(R, n)
    relu = np.array(kinked, dtype=bool)[:, None]
    pos, neg = (arr > 0) & relu, (arr < 0) & relu
    allowed = np.array([inside is None or inside(a, b) for a, b in zip(xs, xs[1:])], dtype=bool)
    flips = ((pos[:, :-1] & neg[:, 1:]) | (neg[:, :-1] & pos[:, 1:])) & allowed[None, :]
    cross: dict[int, set] = {}
    for i, j in zip(*np.nonzero(flips)):
        a, b = arr[i, j], arr[i, j + 1]
        cross.setdefault(int(j) + 1, set()).add(fmpq(a, a - b))
    if cross:
        cols, new_x = [arr[:, 0]], [xs[0]]
        for j in range(1, n):
            for t in sorted(cross.get(j, ())):
                new_x.append(xs[j - 1] + t * (xs[j] - xs[j - 1]))
                cols.append(np.array([u + t * (v - u) for u, v in zip(arr[:, j - 1], arr[:, j])],
                                     dtype=object))
            new_x.append(xs[j])
            cols.append(arr[:, j])
        xs, arr = new_x, np.stack(cols, axis=1)
        neg = np.zeros(arr.shape, dtype=bool)
        for (i, j), v in np.ndenumerate(arr):
            neg[i, j] = kinked[i] and v < 0
    arr[neg] = 0
    return xs, fmpq_mat(R, len(xs), arr.ravel().tolist()) * fmpq(1, den)
