"""Batched evaluation of the IR in any number context (the torch.fx ``Interpreter`` idea).

:class:`Interpreter` dispatches on the six node kinds; subclasses override one handler to
observe or alter evaluation (the certifier's sign-pattern tracker does exactly that).  Points
are columns of the batch matrix.

>>> from constructive.ir import relu_network
>>> from constructive.numbers import Exact
>>> net = relu_network([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])   # |x|
>>> evaluate(net, [[-3], ["1/2"]], Exact())
[[3, 1/2]]
"""

from __future__ import annotations

from typing import Any, Sequence

from constructive.activations import ActivationFunction
from constructive.ir import Activation, Affine, Gadget, Network, Node, Parallel, Repeat
from constructive.numbers import Exact, NumberContext


class Interpreter:
    """Evaluates a node on a batch ``X`` (a matrix of the context, one point per column)."""

    def __init__(self, context: NumberContext) -> None:
        self.ctx = context

    def run(self, node: Node, X: Any) -> Any:
        if isinstance(node, Affine):
            return self.affine(node, X)
        if isinstance(node, Activation):
            return self.activation(node, X)
        if isinstance(node, Gadget):
            return self.gadget(node, X)
        if isinstance(node, Repeat):
            return self.repeat(node, X)
        if isinstance(node, Parallel):
            return self.parallel(node, X)
        if isinstance(node, Network):
            return self.network(node, X)
        raise TypeError(f"unknown node {type(node).__name__}")

    # the six handlers --------------------------------------------------------------------------
    def network(self, node: Network, X: Any) -> Any:
        for child in node.nodes:
            X = self.run(child, X)
        return X

    def affine(self, node: Affine, X: Any) -> Any:
        return self.ctx.affine(node.W, node.b, X)

    def activation(self, node: Activation, X: Any) -> Any:
        groups = node.groups()
        pieces = [self.apply(f, X if len(groups) == 1 else self.ctx.rows(X, a, b))
                  for a, b, f in groups]
        return pieces[0] if len(pieces) == 1 else self.ctx.vstack(pieces)

    def gadget(self, node: Gadget, X: Any) -> Any:
        return self.run(node.body, X)

    def repeat(self, node: Repeat, X: Any) -> Any:
        for _ in range(node.times):
            X = self.run(node.body, X)
        return X

    def parallel(self, node: Parallel, X: Any) -> Any:
        slices, start = [], 0
        for part in node.parts:
            slices.append(self.ctx.rows(X, start, start + part.in_dim))
            start += part.in_dim
        first = node.parts[0]
        if len(node.parts) > 1 and all(p is first for p in node.parts):
            # n copies of one block: evaluate once on the columns side by side
            n = self.ctx.shape(X)[1]
            out = self.run(first, self.ctx.hstack(slices))
            return self.ctx.vstack([self.ctx.cols(out, k * n, (k + 1) * n)
                                    for k in range(len(node.parts))])
        return self.ctx.vstack([self.run(p, s) for p, s in zip(node.parts, slices)])

    # activations -------------------------------------------------------------------------------
    def apply(self, function: Any, X: Any) -> Any:
        if isinstance(function, Network):
            return self.nested(function, X)
        if function.name == "relu":
            return self.ctx.relu(X)
        if function.name == "identity":
            return X
        return self.ctx.elementwise(self.ctx.kernel_of(function), X)

    def nested(self, function: Network, X: Any) -> Any:
        """A network used as an activation: evaluate it on every entry (one row at a time)."""
        rows, cols = self.ctx.shape(X)
        out = []
        for i in range(rows):
            row = self.ctx.rows(X, i, i + 1)
            out.append(self.run(function, row))
        return self.ctx.vstack(out)


def evaluate(net: Node, points: Sequence[Sequence[Any]] | Any, context: NumberContext | None = None,
             raw: bool = False) -> Any:
    """Evaluate ``net`` at ``points``.

    ``points`` is a sequence of coordinate rows (``points[i][j]`` is coordinate i of point j) or
    an already converted batch of the context.  Returns nested lists of the context's scalars
    (rows = outputs, columns = points) unless ``raw`` is set.
    """
    ctx = context or Exact()
    with ctx.active():
        if isinstance(points, (list, tuple)):
            columns = list(zip(*points))
            X = ctx.points(columns)
        else:
            X = points
        Y = Interpreter(ctx).run(net, X)
        return Y if raw else ctx.entries(Y)


def evaluate_points(net: Node, xs: Sequence[Sequence[Any]], context: NumberContext | None = None) -> list:
    """Evaluate at a list of points ``xs[j]`` (each a coordinate sequence); one output row per point."""
    rows = [list(c) for c in zip(*xs)]
    out = evaluate(net, rows, context)
    return [list(col) for col in zip(*out)]


__all__ = ["Interpreter", "evaluate", "evaluate_points", "ActivationFunction"]
