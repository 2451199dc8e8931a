"""Gadgets on groups whose points coincide: run once per group instead of once per point.

The gap evaluator carries groups of V points (the corners of a cell).  After the step gadget
every group of the Theorem A.1 network holds V copies of one value (the cell's index), and the
point-fitting gadget behind it — the costliest part of the top-level run — would evaluate each
copy separately.  :func:`run_gadget` evaluates such a gadget with V = 1 on one column per group
and repeats each output column V times.

*Proof that this is the same computation.*  Let every group of X hold V equal columns.  Each
handler of :class:`~proofs.nestnet.check.GapEvaluator` maps columns to columns: an affine map and
the ReLU/identity values act column by column; a nested floor outputs, on every column of a
group, ⌊min of the group⌋, and a nested bit sum outputs the bit sum of the group's first column.
On a group of equal columns the group's minimum, maximum and first column are all the one value
v, so (i) the values are those of the V = 1 run at v, repeated, and every later layer again sees
groups of equal columns (induction over the nodes); (ii) the checks agree: a ReLU keeps one weak
sign on a constant group, the floor's gap test reads lo = hi = v in both runs, and the bit sum's
constancy test passes in both; (iii) the obligations recorded (floor: ⌊v⌋ per good group; bit
sum: v per good group) and the failure masks (one entry per group, V = 1 keeps one column per
group) are the same sets.  So values, failures and obligations are identical.  ∎

``tests/proofs/nestnet/test_collapse.py`` compares both runs with hypothesis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from constructive.ir import Gadget
from constructive.numbers import QMatrix


def run_gadget(ev: Any, node: Gadget, X: QMatrix) -> QMatrix:
    """``ev.run(node.body, X)``, computed once per group when every group's columns coincide
    (``ev.collapse_groups = False`` turns this off, for the comparison tests)."""
    V = ev.V
    if V == 1 or not getattr(ev, "collapse_groups", True) or X.num.size == 0:
        return ev.run(node.body, X)
    cube = X.num.reshape(X.num.shape[0], -1, V)
    if not (cube == cube[:, :, :1]).all():
        return ev.run(node.body, X)
    ev.V = 1
    try:
        Y = ev.run(node.body, QMatrix(np.ascontiguousarray(cube[:, :, 0]), X.den))
    finally:
        ev.V = V
    return QMatrix(np.repeat(Y.num, V, axis=1), Y.den)
