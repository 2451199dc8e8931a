"""Compositional range enclosures over whole input spaces.

``output_range(node, inputs)`` propagates exact rational intervals (``None`` = unbounded side)
through the IR.  At a gadget whose specification claims a range or gives an interval extension,
the claim replaces the body — this is how "the bit extractor lies in [0, 1] for every real
input" follows from the threshold gadget alone, where plain interval propagation through 2J
tent maps would blow up.  Every gadget used that way is recorded, so the certificate can list
the gadget certificates it relies on.
"""

from __future__ import annotations

from typing import Optional

from flint import fmpq

from constructive.ir import Activation, Affine, Gadget, Network, Node, Parallel, Repeat

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


class RangeAnalysis:
    """Interval propagation that trusts (and records) gadget specifications."""

    def __init__(self, trusted: Optional[set[str]] = None) -> None:
        self.trusted = trusted  # None: every gadget spec may be used
        self.used: set[str] = set()

    def run(self, node: Node, xs: list[Interval]) -> list[Interval]:
        if isinstance(node, Affine):
            W, b = node.W, node.b
            out = []
            for i in range(W.nrows()):
                acc: Interval = (b[i, 0], b[i, 0])
                for j in range(W.ncols()):
                    if W[i, j] != 0:
                        acc = _add(acc, _mul(W[i, j], xs[j]))
                out.append(acc)
            return out
        if isinstance(node, Activation):
            out = []
            for f, iv in zip(node.functions, xs):
                if isinstance(f, Network) or f.name not in ("relu", "identity"):
                    out.append((None, None))
                else:
                    out.append(_relu(iv) if f.name == "relu" else iv)
            return out
        if isinstance(node, Gadget):
            return self.gadget(node, xs)
        if isinstance(node, Repeat):
            for _ in range(node.times):
                new = self.run(node.body, xs)
                if new == xs:
                    break  # a fixed point: further repetitions change nothing
                xs = new
            return xs
        if isinstance(node, Parallel):
            out, k = [], 0
            for part in node.parts:
                out += self.run(part, xs[k:k + part.in_dim])
                k += part.in_dim
            return out
        if isinstance(node, Network):
            for child in node.nodes:
                xs = self.run(child, xs)
            return xs
        raise TypeError(type(node).__name__)

    def gadget(self, node: Gadget, xs: list[Interval]) -> list[Interval]:
        spec = node.spec
        usable = spec is not None and (self.trusted is None or node.name in self.trusted)
        if usable and spec.interval is not None and all(a is not None and b is not None for a, b in xs):
            self.used.add(node.name)
            lo, hi = spec.interval([a for a, _ in xs], [b for _, b in xs])
            return list(zip(lo, hi))
        if usable and spec.range is not None:
            self.used.add(node.name)
            return [spec.range] * node.out_dim
        return self.run(node.body, xs)


def output_range(node: Node, inputs: Optional[list[Interval]] = None,
                 trusted: Optional[set[str]] = None) -> tuple[list[Interval], set[str]]:
    """Intervals enclosing every output of ``node`` on the input box (default: all of R^d)."""
    analysis = RangeAnalysis(trusted)
    xs = inputs if inputs is not None else [(None, None)] * node.in_dim
    return analysis.run(node, xs), analysis.used


def body_range(node: Gadget, inputs: Optional[list[Interval]] = None) -> list[Interval]:
    """The range of a gadget's body, trusting only the gadgets nested inside it."""
    analysis = RangeAnalysis()
    xs = inputs if inputs is not None else [(None, None)] * node.in_dim
    return analysis.run(node.body, xs)


__all__ = ["output_range", "body_range", "RangeAnalysis", "Interval"]
