"""Compositional range enclosures over whole input spaces.

``output_range(node, inputs)`` propagates exact rational intervals (``None`` = unbounded side)
through the IR.  At a gadget whose specification claims a range or declares a monotone interval
extension, the claim replaces the body — this is how "the bit extractor lies in [0, 1] for every
real input" follows from the threshold gadget alone, where plain interval propagation through 2J
tent maps would blow up.  Every gadget used that way is recorded, so the certificate can list
the gadget certificates it relies on (``certify.analysis.gadget_certs`` certifies each one, and the specs
that certification itself relies on, from the body).

The facts a specification may lend, and what certification then has to show:

* ``range``: every output in ``spec.range`` for every input of :func:`range_domain` (the spec's
  box domain, or all of R^d when it names none or a finite point set);
* ``interval``: the body is non-decreasing in every argument on R^d, so it maps a box
  ``[lo, hi]`` into ``[body(lo), body(hi)]``; the enclosure is computed from the body by exact
  evaluation at the two corners (:func:`monotone_enclosure`), never by the spec's own callable.
"""

from __future__ import annotations

from typing import Optional

from flint import fmpq

from constructive.evaluate import NodeInterpreter, evaluate
from constructive.ir import Activation, Affine, Gadget, GadgetSpec, Network, Node, Repeat
from constructive.numbers import Exact

Bound = Optional[fmpq]
Interval = tuple[Bound, Bound]


def _mul(w: fmpq, iv: Interval) -> Interval:
    lo, hi = iv
    if w == 0:
        return (fmpq(0), fmpq(0))
    a = None if lo is None else w * lo
    b = None if hi is None else w * hi
    return (a, b) if w > 0 else (b, a)


def _add(x: Interval, y: Interval) -> Interval:
    lo = None if x[0] is None or y[0] is None else x[0] + y[0]
    hi = None if x[1] is None or y[1] is None else x[1] + y[1]
    return (lo, hi)


def _relu(iv: Interval) -> Interval:
    lo, hi = iv
    return (fmpq(0) if lo is None or lo < 0 else lo, None if hi is None else max(hi, fmpq(0)))


def _meet(x: Interval, y: Interval) -> Interval:
    lo = x[0] if y[0] is None else (y[0] if x[0] is None else max(x[0], y[0]))
    hi = x[1] if y[1] is None else (y[1] if x[1] is None else min(x[1], y[1]))
    return (lo, hi)


def range_domain(spec: GadgetSpec, dim: int) -> list[Interval]:
    """Where ``spec.range`` is claimed: the spec's box domain, else all of R^dim."""
    if isinstance(spec.domain, tuple) and len(spec.domain) == dim:
        return [(None if a is None else fmpq(a), None if b is None else fmpq(b))
                for a, b in spec.domain]
    return [(None, None)] * dim


def _inside(xs: list[Interval], box: list[Interval]) -> bool:
    return all((b[0] is None or (x[0] is not None and x[0] >= b[0])) and
               (b[1] is None or (x[1] is not None and x[1] <= b[1])) for x, b in zip(xs, box))


def range_usable(spec: GadgetSpec, xs: list[Interval]) -> bool:
    """Whether the claimed range may stand in for the body on inputs in ``xs``."""
    return spec.range is not None and _inside(xs, range_domain(spec, len(xs)))


def monotone_enclosure(node: Gadget, los: list[list[fmpq]], his: list[list[fmpq]]) -> tuple[list, list]:
    """Per box (columns ``los[k]``, ``his[k]``), the enclosure [body(lo), body(hi)] of a body
    certified non-decreasing in every argument; exact, one batched evaluation."""

    cols = list(los) + list(his)
    out = evaluate(node.body, [list(c) for c in zip(*cols)], Exact())
    n = len(los)
    lo = [[row[k] for row in out] for k in range(n)]
    hi = [[row[n + k] for row in out] for k in range(n)]
    return lo, hi


class RangeAnalysis(NodeInterpreter):
    """Interval propagation that trusts (and records) gadget specifications."""

    def __init__(self, trusted: Optional[set[str]] = None) -> None:
        self.trusted = trusted  # None: every gadget spec may be used
        self.used: set[str] = set()

    def affine(self, node: Affine, xs: list[Interval]) -> list[Interval]:
        W, b = node.W, node.b
        out = []
        for i in range(W.nrows()):
            acc: Interval = (b[i, 0], b[i, 0])
            for j in range(W.ncols()):
                if W[i, j] != 0:
                    acc = _add(acc, _mul(W[i, j], xs[j]))
            out.append(acc)
        return out

    def activation(self, node: Activation, xs: list[Interval]) -> list[Interval]:
        out = []
        for f, iv in zip(node.functions, xs):
            if isinstance(f, Network) or f.name not in ("relu", "identity"):
                out.append((None, None))
            else:
                out.append(_relu(iv) if f.name == "relu" else iv)
        return out

    def repeat(self, node: Repeat, xs: list[Interval]) -> list[Interval]:
        for _ in range(node.times):
            new = self.run(node.body, xs)
            if new == xs:
                break  # a fixed point: further repetitions change nothing
            xs = new
        return xs

    def gadget(self, node: Gadget, xs: list[Interval]) -> list[Interval]:
        spec = node.spec
        usable = spec is not None and (self.trusted is None or node.name in self.trusted)
        if usable and spec.interval is not None and all(a is not None and b is not None for a, b in xs):
            self.used.add(node.name)
            (lo,), (hi,) = monotone_enclosure(node, [[a for a, _ in xs]], [[b for _, b in xs]])
            return list(zip(lo, hi))
        if usable and range_usable(spec, xs):
            self.used.add(node.name)
            return [spec.range] * node.out_dim
        return self.run(node.body, xs)


def output_range(node: Node, inputs: Optional[list[Interval]] = None,
                 trusted: Optional[set[str]] = None) -> tuple[list[Interval], set[str]]:
    """Intervals enclosing every output of ``node`` on the input box (default: all of R^d)."""
    analysis = RangeAnalysis(trusted)
    xs = inputs if inputs is not None else [(None, None)] * node.in_dim
    return analysis.run(node, xs), analysis.used


def body_range(node: Gadget, inputs: Optional[list[Interval]] = None,
               trusted: Optional[set[str]] = None) -> tuple[list[Interval], set[str]]:
    """The range of a gadget's body (its own spec unused) and the nested specs it relied on."""
    analysis = RangeAnalysis(trusted)
    xs = inputs if inputs is not None else [(None, None)] * node.in_dim
    return analysis.run(node.body, xs), analysis.used


__all__ = ["output_range", "body_range", "RangeAnalysis", "Interval", "range_domain",
           "range_usable", "monotone_enclosure"]
