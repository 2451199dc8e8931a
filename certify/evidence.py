"""What a certificate carries for the kernel: the network as plain data, and evidence.

The network is stored as its plain layered form (``constructive.architecture``'s view: affine maps
merged, parallel parts block-diagonal, repeats unrolled) with exact rationals, when the kernel can
follow it (ReLU and identity neurons, within a size limit).  Evidence is cut points: per axis for
a grid over the cube, or along the real line; the kernel takes the product grid itself, so a
cover cannot be forged.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

from flint import fmpq

from certify.analysis.pl1d import enumerate_1d
from constructive import architecture as arch
from constructive.ir import Activation, Network, Node

KERNEL_ACTIVATIONS = {"relu", "identity"}
MAX_STORED_ENTRIES = 2_000_000  # the kernel's own limit on dense entries
MAX_STORED_NONZEROS = 300_000   # keeps a certificate below ~20 MB


def stored_network(net: Node) -> tuple[Optional[dict], str]:
    """The layered network as plain data, or None and the reason it is not stored."""
    try:
        items = arch.plain_form(net)
    except (TypeError, ValueError) as exc:
        return None, f"no plain layered form ({exc})"
    dense = nonzeros = 0
    for it in items:
        if isinstance(it, Activation):
            for f in it.functions:
                if isinstance(f, Network) or f.name not in KERNEL_ACTIVATIONS:
                    return None, f"activation {getattr(f, 'name', 'nested network')} is not one " \
                                 "the kernel follows (relu, identity)"
        else:
            dense += it.in_dim * it.out_dim
    if dense > MAX_STORED_ENTRIES:
        return None, f"{dense} dense entries exceed the stored limit {MAX_STORED_ENTRIES}"
    layers: list[dict] = []
    for it in items:
        if isinstance(it, Activation):
            layers[-1]["act"] = _runs(f.name for f in it.functions)
            continue
        A = arch.as_affine(it)
        W = [[i, j, str(v)] for i, row in enumerate(A.W.tolist()) for j, v in enumerate(row) if v != 0]
        b = [[i, str(v)] for i, v in enumerate(A.b.entries()) if v != 0]
        nonzeros += len(W) + len(b)
        if nonzeros > MAX_STORED_NONZEROS:
            return None, f"more than {MAX_STORED_NONZEROS} non-zero parameters"
        layers.append({"rows": A.W.nrows(), "cols": A.W.ncols(), "W": W, "b": b})
    return {"input_dim": net.in_dim, "layers": layers}, ""


def _runs(names: Iterable[str]) -> list:
    out: list = []
    for name in names:
        if out and out[-1][0] == name:
            out[-1][1] += 1
        else:
            out.append([name, 1])
    return out


def grid(cuts: Sequence[Iterable[fmpq]]) -> dict:
    """Grid evidence: sorted cut points per axis (each from 0 to 1)."""
    return {"kind": "grid", "cuts": [[str(c) for c in sorted(set(axis))] for axis in cuts]}


def line(cuts: Iterable[fmpq]) -> dict:
    """Line evidence: cut points on R between which (and beyond which) φ is affine."""
    return {"kind": "line", "cuts": [str(c) for c in sorted(set(cuts))]}


def breakpoints_1d(net: Node, lo: Any = None, hi: Any = None) -> list[fmpq]:
    """Every kink of a 1-D piecewise-linear network (on [lo, hi], or R), exactly."""

    return list(enumerate_1d(net, lo, hi, minimal=False).points)
