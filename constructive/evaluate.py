"""Batched evaluation of the IR in any number context (the torch.fx ``Interpreter`` idea).

:class:`NodeInterpreter` is the one walk over the IR: it dispatches on the six node kinds and
every analysis (interval ranges, symbolic σ pieces, linear regions, exact evaluation) is a
subclass that says what its values do at an affine map and an activation.  :class:`Interpreter`
evaluates in a number context; its subclasses override one handler to observe or alter
evaluation (the certifier's sign-pattern tracker does exactly that).  Points
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


class NodeInterpreter:
    """One walk over the IR for every analysis: dispatch on the six node kinds.

    ``run(node, X)`` calls the handler of the node's kind.  The structural kinds have default
    handlers (a network runs its nodes in turn, a gadget its body, a repeat its body ``times``
    times, a parallel block its parts on consecutive slices of the input), so an analysis
    writes only what its values do at an affine map and at an activation, and overrides a
    structural handler only where it knows more (e.g. a gadget's certified specification).
    ``X`` is whatever the analysis carries: a batch matrix, a list of intervals, symbolic pieces.
    """

    def run(self, node: Node, X: Any) -> Any:
        for kind in type(node).__mro__:
            handler = _HANDLERS.get(kind)
            if handler is not None:
                return getattr(self, handler)(node, X)
        raise TypeError(f"unknown node {type(node).__name__}")

    def affine(self, node: Affine, X: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must say what an affine map does")

    def activation(self, node: Activation, X: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must say what an activation does")

    def network(self, node: Network, X: Any) -> Any:
        for child in node.nodes:
            X = self.run(child, X)
        return X

    def gadget(self, node: Gadget, X: Any) -> Any:
        return self.run(node.body, X)

    def repeat(self, node: Repeat, X: Any) -> Any:
        for _ in range(node.times):
            X = self.run(node.body, X)
        return X

    def parallel(self, node: Parallel, X: Any) -> Any:
        parts, start = [], 0
        for part in node.parts:
            parts.append(self.run(part, self.slice(X, start, start + part.in_dim)))
            start += part.in_dim
        return self.join(parts)

    # how an analysis's values are cut into a parallel block's inputs and put back together
    def slice(self, X: Any, start: int, stop: int) -> Any:
        return X[start:stop]

    def join(self, parts: list) -> Any:
        return [v for part in parts for v in part]


_HANDLERS = {Affine: "affine", Activation: "activation", Gadget: "gadget", Repeat: "repeat",
             Parallel: "parallel", Network: "network"}


class Interpreter(NodeInterpreter):
    """Evaluates a node on a batch ``X`` (a matrix of the context, one point per column)."""

    #: n copies of one block in a parallel layer run once on their inputs side by side; an
    #: analysis that keeps one record per point (or per group of points) turns this off
    batch_copies = True

    def __init__(self, context: NumberContext) -> None:
        self.ctx = context

    def affine(self, node: Affine, X: Any) -> Any:
        return self.ctx.affine(node.W, node.b, X)

    def activation(self, node: Activation, X: Any) -> Any:
        groups = node.groups()
        pieces = [self.apply(f, X if len(groups) == 1 else self.ctx.rows(X, a, b))
                  for a, b, f in groups]
        return pieces[0] if len(pieces) == 1 else self.ctx.vstack(pieces)

    def slice(self, X: Any, start: int, stop: int) -> Any:
        return self.ctx.rows(X, start, stop)

    def join(self, parts: list) -> Any:
        return self.ctx.vstack(parts)

    def parallel(self, node: Parallel, X: Any) -> Any:
        first = node.parts[0]
        if self.batch_copies and len(node.parts) > 1 and all(p is first for p in node.parts):
            # n copies of one block: evaluate once on the columns side by side
            n = self.ctx.shape(X)[1]
            slices = [self.slice(X, k * first.in_dim, (k + 1) * first.in_dim)
                      for k in range(len(node.parts))]
            out = self.run(first, self.ctx.hstack(slices))
            return self.join([self.ctx.cols(out, k * n, (k + 1) * n) for k in range(len(node.parts))])
        return super().parallel(node, X)

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


__all__ = ["NodeInterpreter", "Interpreter", "evaluate", "evaluate_points", "ActivationFunction"]
