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

from flint import fmpq, fmpq_mat, fmpz

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
    integer numerators over Z's common denominator."""
    N, den = Z.numer_denom()
    n, e = len(xs), N.entries()
    rows = range(len(kinked))
    pairs = [j for j in range(1, n) if inside is None or inside(xs[j - 1], xs[j])]
    cross: dict[int, set] = {}
    for i in rows:
        if not kinked[i]:
            continue
        row = e[i * n:(i + 1) * n]
        for j in pairs:
            a, b = row[j - 1], row[j]
            if (a > 0 and b < 0) or (a < 0 and b > 0):
                cross.setdefault(j, set()).add(fmpq(a, a - b))
    zero = fmpz(0)
    if not cross:
        out = [v if v > 0 or not kinked[i // n] else zero for i, v in enumerate(e)]
        return xs, fmpq_mat(len(kinked), n, out) * fmpq(1, den)
    cols = [[e[i * n + j] for i in rows] for j in range(n)]  # numerators, per point
    new_x, new_c = [xs[0]], [cols[0]]
    for j in range(1, n):
        for t in sorted(cross.get(j, ())):
            new_x.append(xs[j - 1] + t * (xs[j] - xs[j - 1]))
            new_c.append([u + t * (v - u) for u, v in zip(cols[j - 1], cols[j])])
        new_x.append(xs[j])
        new_c.append(cols[j])
    m = len(new_x)
    out = [new_c[j][i] if not kinked[i] or new_c[j][i] > 0 else zero for i in rows for j in range(m)]
    return new_x, fmpq_mat(len(kinked), m, out) * fmpq(1, den)
