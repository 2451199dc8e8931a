"""The network IR: six node kinds with exact parameters.

``Affine``      y = W x + b with exact rational entries (python-flint ``fmpq_mat``); entries can be
                tagged as *intrinsic*, i.e. depending on the target function.
``Activation``  one elementwise function per neuron; a function is a catalogue activation or a
                ``Network`` of one input and one output (a nested activation, as in NestNet).
``Gadget``      a named sub-network that carries the specification a lemma claims for it, so a
                certifier may certify it once and then reason with the specification.
``Repeat``      one block applied ``times`` times, stored once (g∘g∘…∘g).
``Parallel``    block-diagonal juxtaposition: each part reads its own slice of the input.
``Network``     a sequence of nodes applied left to right.

A *hidden layer* is an ``Activation`` node; depth counts them, width is the largest of them.
Consecutive affine maps are merged when the network is viewed as a plain layered network
(``constructive.architecture``), never during evaluation, where the factorised form is cheaper.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

from flint import fmpq, fmpq_mat

from constructive.activations import IDENTITY, RELU, ActivationFunction
from constructive.numbers import as_fmpq

Function = Union[ActivationFunction, "Network"]


class Node:
    """Base class: every node maps R^in_dim to R^out_dim."""

    in_dim: int
    out_dim: int

    @property
    def widthvec(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def depth(self) -> int:
        return len(self.widthvec)

    @property
    def width(self) -> int:
        return max(self.widthvec, default=0)

    @property
    def height(self) -> int:
        """NestNet height: 1 for an ordinary network, 1 + the height of nested activations."""
        return max((c.height for c in self.children()), default=1)

    def children(self) -> Iterable[Node]:
        return ()


@dataclass(frozen=True, eq=False)
class Affine(Node):
    W: fmpq_mat
    b: fmpq_mat
    intrinsic: frozenset = field(default=frozenset())  # {("W", i, j), ("b", i)}

    def __post_init__(self) -> None:
        if self.b.ncols() != 1 or self.b.nrows() != self.W.nrows():
            raise ValueError(f"bias shape {self.b.nrows()}x{self.b.ncols()} does not match "
                             f"W with {self.W.nrows()} rows")
        for tag in self.intrinsic:
            ok = (tag[0] == "W" and 0 <= tag[1] < self.W.nrows() and 0 <= tag[2] < self.W.ncols()) \
                or (tag[0] == "b" and 0 <= tag[1] < self.W.nrows())
            if not ok:
                raise ValueError(f"intrinsic tag {tag} outside the layer")

    @property
    def in_dim(self) -> int:  # type: ignore[override]
        return self.W.ncols()

    @property
    def out_dim(self) -> int:  # type: ignore[override]
        return self.W.nrows()

    @property
    def widthvec(self) -> tuple[int, ...]:
        return ()


@dataclass(frozen=True, eq=False)
class Activation(Node):
    functions: tuple

    def __post_init__(self) -> None:
        for f in self.functions:
            if isinstance(f, Network) and (f.in_dim, f.out_dim) != (1, 1):
                raise ValueError("a nested activation must be a network from R to R")
            if not isinstance(f, (ActivationFunction, Network)):
                raise TypeError(f"not an activation: {f!r}")

    @property
    def in_dim(self) -> int:  # type: ignore[override]
        return len(self.functions)

    @property
    def out_dim(self) -> int:  # type: ignore[override]
        return len(self.functions)

    @property
    def widthvec(self) -> tuple[int, ...]:
        return (len(self.functions),)

    def groups(self) -> list[tuple[int, int, Function]]:
        """Maximal runs ``[start, stop)`` of neurons sharing one function object."""
        runs: list[tuple[int, int, Function]] = []
        start = 0
        for i in range(1, len(self.functions) + 1):
            if i == len(self.functions) or self.functions[i] is not self.functions[start]:
                runs.append((start, i, self.functions[start]))
                start = i
        return runs

    @property
    def height(self) -> int:
        return 1 + max((f.height for f in self.functions if isinstance(f, Network)), default=0)

    def children(self) -> Iterable[Node]:
        return [f for f in self.functions if isinstance(f, Network)]


@dataclass(frozen=True)
class GadgetSpec:
    """What a lemma claims of a gadget.

    ``reference`` is an exact Python function of a list of rationals (or ``None``);
    ``domain`` a box ``((lo, hi), ...)`` with ``None`` for an unbounded side, or ``"points"``
    when the claim is about a finite set listed in ``points``; ``range`` an interval the outputs
    are claimed to lie in for every input of the domain; ``interval`` a sound interval extension
    of the reference; ``cells`` a grid (per-axis lists of closed intervals) of boxes on which
    the gadget is claimed constant.  ``statement`` is the lemma in words.
    """

    statement: str
    reference: Optional[Any] = None
    domain: Any = None
    points: tuple = ()
    range: Optional[tuple] = None
    interval: Optional[Any] = None  # sound interval extension: (lo list, hi list) -> (lo, hi) lists
    cells: Optional[tuple] = None  # per-axis closed intervals: a grid on which it is constant
    source: str = ""


class _Wrapper(Node):
    """A node around one body network, with the body's input and output dimensions."""

    body: "Network"

    @property
    def in_dim(self) -> int:  # type: ignore[override]
        return self.body.in_dim

    @property
    def out_dim(self) -> int:  # type: ignore[override]
        return self.body.out_dim

    def children(self) -> Iterable[Node]:
        return (self.body,)


@dataclass(frozen=True, eq=False)
class Gadget(_Wrapper):
    name: str
    body: "Network"
    spec: Optional[GadgetSpec] = None
    params: tuple = ()

    @property
    def widthvec(self) -> tuple[int, ...]:
        return self.body.widthvec


@dataclass(frozen=True, eq=False)
class Repeat(_Wrapper):
    body: "Network"
    times: int

    def __post_init__(self) -> None:
        if self.body.in_dim != self.body.out_dim:
            raise ValueError("a repeated block must map R^k to R^k")
        if self.times < 0:
            raise ValueError("times must be non-negative")

    @cached_property
    def widthvec(self) -> tuple[int, ...]:  # type: ignore[override]
        return self.body.widthvec * self.times

    @property
    def depth(self) -> int:
        return self.body.depth * self.times

    @property
    def width(self) -> int:
        return self.body.width if self.times else 0


@dataclass(frozen=True, eq=False)
class Parallel(Node):
    parts: tuple

    def __post_init__(self) -> None:
        depths = {p.depth for p in self.parts}
        if len(depths) > 1:
            raise ValueError(f"parallel parts must have equal depth, got {sorted(depths)}; "
                             "use parallel(..., pad=True)")

    @property
    def in_dim(self) -> int:  # type: ignore[override]
        return sum(p.in_dim for p in self.parts)

    @property
    def out_dim(self) -> int:  # type: ignore[override]
        return sum(p.out_dim for p in self.parts)

    @cached_property
    def widthvec(self) -> tuple[int, ...]:  # type: ignore[override]
        vecs = [p.widthvec for p in self.parts]
        return tuple(sum(v[i] for v in vecs) for i in range(len(vecs[0]))) if vecs else ()

    def children(self) -> Iterable[Node]:
        return self.parts


@dataclass(frozen=True, eq=False)
class Network(Node):
    nodes: tuple
    in_dim: int = -1
    out_dim: int = -1

    def __post_init__(self) -> None:
        if not self.nodes:
            if self.in_dim < 0:
                raise ValueError("an empty network needs its dimension")
            object.__setattr__(self, "out_dim", self.in_dim)
            return
        for a, b in zip(self.nodes, self.nodes[1:]):
            if a.out_dim != b.in_dim:
                raise ValueError(f"dimension mismatch: {type(a).__name__} gives {a.out_dim}, "
                                 f"{type(b).__name__} takes {b.in_dim}")
        object.__setattr__(self, "in_dim", self.nodes[0].in_dim)
        object.__setattr__(self, "out_dim", self.nodes[-1].out_dim)

    @cached_property
    def widthvec(self) -> tuple[int, ...]:  # type: ignore[override]
        out: tuple[int, ...] = ()
        for n in self.nodes:
            out += n.widthvec
        return out

    @property
    def depth(self) -> int:
        return sum(n.depth for n in self.nodes)

    @property
    def width(self) -> int:
        return max((n.width for n in self.nodes), default=0)

    def children(self) -> Iterable[Node]:
        return self.nodes

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the exact network (structure, parameters, activations).

        The networks nested in it (gadget bodies, repeated blocks) get their digests from the
        same pass: each token is written once and fed to the hash of every enclosing network,
        because writing the tokens (thousands of wide weights as decimals) is the cost, and the
        certificate asks for the digest of every gadget body as well."""
        open_hashes: list = []

        def enter(node: "Network") -> None:
            open_hashes.append((node, hashlib.sha256() if "digest" not in node.__dict__ else None))

        def leave(node: "Network") -> None:
            done, h = open_hashes.pop()
            if h is not None:
                done.__dict__["digest"] = h.hexdigest()  # where cached_property keeps it

        for token in _tokens(self, enter, leave):
            data = token.encode()
            for _, h in open_hashes:
                if h is not None:
                    h.update(data)
                    h.update(b"\x00")
        return self.__dict__["digest"]

    def __repr__(self) -> str:
        return (f"Network(in={self.in_dim}, out={self.out_dim}, depth={self.depth}, "
                f"width={self.width})")


def _tokens(node: Node, enter: Any = None, leave: Any = None) -> Iterator[str]:
    """The digest's token stream; ``enter``/``leave`` are called around every network in it."""
    if isinstance(node, Affine):
        yield f"affine {node.W.nrows()}x{node.W.ncols()}"
        yield " ".join(str(q) for q in node.W.entries())
        yield " ".join(str(q) for q in node.b.entries())
    elif isinstance(node, Activation):
        yield "activation"
        for f in node.functions:
            if isinstance(f, Network):
                yield "nested"
                yield from _tokens(f, enter, leave)
            else:
                yield f.key
    elif isinstance(node, Gadget):
        yield f"gadget {node.name}"
        yield from _tokens(node.body, enter, leave)
    elif isinstance(node, Repeat):
        yield f"repeat {node.times}"
        yield from _tokens(node.body, enter, leave)
    elif isinstance(node, Parallel):
        yield f"parallel {len(node.parts)}"
        for p in node.parts:
            yield from _tokens(p, enter, leave)
    elif isinstance(node, Network):
        if enter is not None:
            enter(node)
        yield f"network {len(node.nodes)}"
        for n in node.nodes:
            yield from _tokens(n, enter, leave)
        if leave is not None:
            leave(node)


def walk(node: Node) -> Iterator[Node]:
    """All nodes below ``node`` (itself included), each stored node once."""
    yield node
    for c in node.children():
        yield from walk(c)


# ---------------------------------------------------------------------------------------------
# Constructors and combinators


def qmat(rows: Sequence[Sequence[Any]]) -> fmpq_mat:
    """An exact matrix from nested rows of ints, Fractions, fmpq or strings."""
    rows = [list(r) for r in rows]
    ncols = len(rows[0]) if rows else 0
    if any(len(r) != ncols for r in rows):
        raise ValueError("ragged matrix")
    return fmpq_mat(len(rows), ncols, [as_fmpq(v) for r in rows for v in r])


def affine(W: Sequence[Sequence[Any]], b: Sequence[Any], intrinsic: Iterable = ()) -> Affine:
    W = [list(r) for r in W]
    return Affine(qmat(W) if W else fmpq_mat(0, 0), qmat([[v] for v in b]) if b else fmpq_mat(0, 1),
                  frozenset(tuple(t) for t in intrinsic))


def affine_from(W: fmpq_mat, b: fmpq_mat, intrinsic: Iterable = ()) -> Affine:
    return Affine(W, b, frozenset(tuple(t) for t in intrinsic))


def activation(width: int, function: Function = RELU) -> Activation:
    return Activation((function,) * width)


def network(*nodes: Node) -> Network:
    """A network applying ``nodes`` left to right; nested plain networks are spliced in."""
    flat: list[Node] = []
    for n in nodes:
        if isinstance(n, Network) and type(n) is Network:
            flat.extend(n.nodes)
        else:
            flat.append(n)
    if not flat:
        raise ValueError("a network needs at least one node")
    return Network(tuple(flat))


def chain(*stages: Node) -> Network:
    """Apply ``stages`` left to right: ``chain(f, g)(x) == g(f(x))``."""
    return network(*stages)


def compose(outer: Node, inner: Node) -> Network:
    """Mathematical composition ``outer ∘ inner``."""
    return network(inner, outer)


def linear_identity(dim: int) -> Affine:
    return affine_from(fmpq_mat(dim, dim, [1 if i == j else 0 for i in range(dim) for j in range(dim)]),
                       fmpq_mat(dim, 1))


def identity_layers(dim: int, depth: int, nonnegative: bool = False) -> Network:
    """A ReLU network computing the identity of R^dim with exactly ``depth`` hidden layers.

    Width 2·dim via x = σ(x) − σ(−x), or dim when the input is known to be non-negative.
    """
    if depth == 0:
        return network(linear_identity(dim))
    if nonnegative:
        step = network(linear_identity(dim), activation(dim))
        return network(step if depth == 1 else Repeat(step, depth), linear_identity(dim))
    split = [[1 if j == i else 0 for j in range(dim)] for i in range(dim)] + \
            [[-1 if j == i else 0 for j in range(dim)] for i in range(dim)]
    merge = [[1 if j == i else 0 for j in range(dim)] + [-1 if j == i else 0 for j in range(dim)]
             for i in range(dim)]
    inner = [[1 if j == i else 0 for j in range(2 * dim)] for i in range(2 * dim)]
    # hidden 1 holds (σ(x), σ(−x)); later layers carry both halves (they are non-negative)
    first = network(affine(split, [0] * 2 * dim), activation(2 * dim))
    rest = network(affine(inner, [0] * 2 * dim), activation(2 * dim))
    nodes: list[Node] = [first]
    if depth > 1:
        nodes.append(rest if depth == 2 else Repeat(rest, depth - 1))
    nodes.append(affine(merge, [0] * dim))
    return network(*nodes)


def pad_depth(net: Node, depth: int) -> Network:
    """Extend ``net`` with identity layers until it has exactly ``depth`` hidden layers."""
    missing = depth - net.depth
    if missing < 0:
        raise ValueError(f"network already has depth {net.depth} > {depth}")
    if missing == 0:
        return net if isinstance(net, Network) else network(net)
    return network(net, identity_layers(net.out_dim, missing))


def parallel(*nets: Node, pad: bool = False) -> Parallel:
    """Block-diagonal juxtaposition; with ``pad`` shorter parts get identity layers appended."""
    parts = [n if isinstance(n, Network) else network(n) for n in nets]
    if pad:
        depth = max(p.depth for p in parts)
        parts = [pad_depth(p, depth) for p in parts]
    return Parallel(tuple(parts))


def fan_out(dim: int, copies: int) -> Affine:
    """The linear map x ↦ (x, x, …, x) with ``copies`` copies."""
    rows = [[1 if j == i else 0 for j in range(dim)] for _ in range(copies) for i in range(dim)]
    return affine(rows, [0] * (dim * copies))


def stack(*nets: Node, pad: bool = False) -> Network:
    """Shared input: ``stack(f, g)(x) == (f(x), g(x))``."""
    dim = nets[0].in_dim
    if any(n.in_dim != dim for n in nets):
        raise ValueError("stacked networks must share their input dimension")
    return network(fan_out(dim, len(nets)), parallel(*nets, pad=pad))


def repeat(body: Node, times: int) -> Repeat:
    return Repeat(body if isinstance(body, Network) else network(body), times)


def gadget(name: str, body: Node, spec: Optional[GadgetSpec] = None, **params: Any) -> Gadget:
    body = body if isinstance(body, Network) else network(body)
    return Gadget(name, body, spec, tuple(sorted(params.items())))


def relu_network(weights: Sequence[tuple[Sequence[Sequence[Any]], Sequence[Any]]]) -> Network:
    """A plain ReLU MLP from ``[(W1, b1), …, (WL+1, bL+1)]``; ReLU after every layer but the last."""
    nodes: list[Node] = []
    for k, (W, b) in enumerate(weights):
        nodes.append(affine(W, b))
        if k < len(weights) - 1:
            nodes.append(activation(len(b)))
    return network(*nodes)


__all__ = [
    "Node", "Affine", "Activation", "Gadget", "GadgetSpec", "Repeat", "Parallel", "Network",
    "qmat", "affine", "affine_from", "activation", "network", "chain", "compose",
    "identity_layers", "pad_depth", "parallel", "stack", "fan_out", "repeat", "gadget",
    "relu_network", "walk", "linear_identity", "IDENTITY", "RELU", "fmpq",
]
