"""Architecture measured from the IR, never taken from a builder.

The network is viewed as a plain layered network: consecutive affine maps are merged (exactly),
``Parallel`` parts become block-diagonal layers, ``Repeat`` is unrolled by reference.
Parameters are counted the way the papers count them for block-structured networks: the
non-zero weights and biases of that layered network (``params``); the dense count of every
entry of every layer (``dense_params``) is reported beside it.

Intrinsic parameters are measured *independently* of the builder's tags: build the same
theorem for several targets and count the positions of the layered network whose values differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

from flint import fmpq, fmpq_mat

from constructive.evaluate import NodeInterpreter
from constructive.ir import Activation, Affine, Gadget, Network, Node, Parallel, Repeat


@dataclass(frozen=True)
class Layer:
    """One affine map of the layered view, possibly block-diagonal (``blocks``)."""

    blocks: tuple  # tuple of Affine
    rows: int
    cols: int

    def nonzeros(self, memo: Optional[dict] = None) -> int:
        """Non-zero entries; ``memo`` (id → (block, count)) counts a block repeated along a
        flattened chain (the same object 2^n times) once."""
        total = 0
        for a in self.blocks:
            hit = memo.get(id(a)) if memo is not None else None
            if hit is None or hit[0] is not a:
                hit = (a, sum(1 for v in a.W.entries() if v != 0) + sum(1 for v in a.b.entries() if v != 0))
                if memo is not None:
                    memo[id(a)] = hit
            total += hit[1]
        return total

    def dense(self) -> int:
        return self.rows * self.cols + self.rows

    def same_entries(self, other: "Layer") -> bool:
        """Every stored entry equal to ``other``'s (same block shapes)."""
        return len(self.blocks) == len(other.blocks) and all(
            a is b or (a.W == b.W and a.b == b.b) for a, b in zip(self.blocks, other.blocks))

    def tagged_positions(self) -> Iterator[tuple]:
        """The positions of the entries tagged intrinsic, block offsets applied."""
        r0 = c0 = 0
        for a in self.blocks:
            for t in a.intrinsic:
                yield ("W", r0 + t[1], c0 + t[2]) if t[0] == "W" else ("b", r0 + t[1])
            r0 += a.W.nrows()
            c0 += a.W.ncols()

    def positions(self) -> Iterator[tuple[tuple, fmpq, bool]]:
        """(position, value, tagged-intrinsic) for every stored entry, block offsets applied."""
        r0 = c0 = 0
        for a in self.blocks:
            for i in range(a.W.nrows()):
                for j in range(a.W.ncols()):
                    yield ("W", r0 + i, c0 + j), a.W[i, j], ("W", i, j) in a.intrinsic
                yield ("b", r0 + i), a.b[i, 0], ("b", i) in a.intrinsic
            r0 += a.W.nrows()
            c0 += a.W.ncols()


def _merge(outer: Affine, inner: Affine) -> Affine:
    """outer ∘ inner, with intrinsic tags following the entries they influence."""
    W = outer.W * inner.W
    b = outer.W * inner.b + outer.b
    if not outer.intrinsic and not inner.intrinsic:
        return Affine(W, b)
    tags = set()
    for i in range(W.nrows()):
        for k in range(W.ncols()):
            for j in range(outer.W.ncols()):
                if (("W", i, j) in outer.intrinsic and inner.W[j, k] != 0) or \
                        (("W", j, k) in inner.intrinsic and outer.W[i, j] != 0):
                    tags.add(("W", i, k))
                    break
        if ("b", i) in outer.intrinsic or any(
                (("W", i, j) in outer.intrinsic and inner.b[j, 0] != 0) or
                (("b", j) in inner.intrinsic and outer.W[i, j] != 0) for j in range(outer.W.ncols())):
            tags.add(("b", i))
    return Affine(W, b, frozenset(tags))


def _block_diag(affines: Sequence[Affine]) -> Affine:
    rows = sum(a.W.nrows() for a in affines)
    cols = sum(a.W.ncols() for a in affines)
    W = fmpq_mat(rows, cols)
    b = fmpq_mat(rows, 1)
    tags = set()
    r0 = c0 = 0
    for a in affines:
        for i in range(a.W.nrows()):
            for j in range(a.W.ncols()):
                W[r0 + i, c0 + j] = a.W[i, j]
            b[r0 + i, 0] = a.b[i, 0]
        tags |= {(t[0], t[1] + r0, t[2] + c0) if t[0] == "W" else ("b", t[1] + r0) for t in a.intrinsic}
        r0 += a.W.nrows()
        c0 += a.W.ncols()
    return Affine(W, b, frozenset(tags))


def _identity(dim: int) -> Affine:
    return Affine(fmpq_mat(dim, dim, [1 if i == j else 0 for i in range(dim) for j in range(dim)]),
                  fmpq_mat(dim, 1))


def sequence(node: Node) -> list:
    """The node as an alternating list of Affine and Activation items (Repeat unrolled)."""
    return _Flatten().run(node, [])


class _Flatten(NodeInterpreter):
    """The walk of :func:`sequence`: it carries the list of items so far and appends each node's
    items (networks and gadgets are NodeInterpreter's)."""

    def affine(self, node: Affine, items: list) -> list:
        items.append(node)
        return items

    def activation(self, node: Activation, items: list) -> list:
        items.append(node)
        return items

    def repeat(self, node: Repeat, items: list) -> list:
        items.extend(self.run(node.body, []) * node.times)  # the body is flattened once
        return items

    def parallel(self, node: Parallel, items: list) -> list:
        items.extend(_parallel_sequence(node))
        return items


def _is_affine(item: object) -> bool:
    return isinstance(item, (Affine, _BlockAffine))


def _normal(items: list, dim: int) -> list:
    """Alternate strictly: Affine, Activation, Affine, …, Affine (merging and inserting identities)."""
    out: list = []
    for it in items:
        if _is_affine(it):
            if out and _is_affine(out[-1]):
                out[-1] = _merge(_dense(it), _dense(out[-1]))
            else:
                out.append(it)
        else:
            if not out or isinstance(out[-1], Activation):
                out.append(_identity(it.in_dim))
            out.append(it)
    if not out or isinstance(out[-1], Activation):
        out.append(_identity(out[-1].out_dim if out else dim))
    return out


def _parallel_sequence(node: Parallel) -> list:
    cache: dict[int, list] = {}
    seqs = []
    for p in node.parts:  # copies of one block are normalised once
        if id(p) not in cache:
            cache[id(p)] = _normal(sequence(p), p.in_dim)
        seqs.append(cache[id(p)])
    length = {len(s) for s in seqs}
    if len(length) != 1:
        raise ValueError("parallel parts with different depths")
    out: list = []
    made: dict[tuple, object] = {}  # a flattened Repeat gives the same items layer after layer
    for k in range(length.pop()):
        items = [s[k] for s in seqs]
        key = tuple(map(id, items))
        hit = made.get(key)
        if hit is None:
            if _is_affine(items[0]):
                hit = _BlockAffine(tuple(b for it in items for b in _blocks(it)))
            else:
                hit = Activation(tuple(f for a in items for f in a.functions))
            made[key] = hit
        out.append(hit)
    return out


class _BlockAffine:
    """A block-diagonal affine map kept as its blocks; materialised only if it must be merged."""

    def __init__(self, parts: tuple) -> None:
        self.parts = parts

    @property
    def in_dim(self) -> int:
        return sum(a.W.ncols() for a in self.parts)

    @property
    def out_dim(self) -> int:
        return sum(a.W.nrows() for a in self.parts)


def _blocks(item: object) -> tuple:
    return item.parts if isinstance(item, _BlockAffine) else (item,)


def _dense(item: object) -> Affine:
    return _block_diag(item.parts) if isinstance(item, _BlockAffine) else item  # type: ignore[return-value]


def plain_form(node: Node) -> list:
    """The layered network as alternating items: an affine map (block-diagonal ones kept as
    blocks until :func:`as_affine` is asked for them), an ``Activation``, …, an affine map."""
    return _normal(sequence(node), node.in_dim)


def as_affine(item: object) -> Affine:
    """One affine item of :func:`plain_form` as a single (dense) ``Affine``."""
    return _dense(item)


def layers(node: Node) -> list[Layer]:
    """The affine maps of the plain layered network, in order."""
    items = _normal(sequence(node), node.in_dim)
    return [Layer(_blocks(it), it.out_dim, it.in_dim) for it in items if _is_affine(it)]


@dataclass(frozen=True)
class Architecture:
    input_dim: int
    output_dim: int
    depth: int
    width: int
    widthvec: tuple
    params: int
    dense_params: int
    intrinsic_tagged: int
    height: int
    gadgets: dict = field(default_factory=dict)  # name -> {"count": k, "params": total}

    def to_dict(self) -> dict:
        vec = list(self.widthvec) if len(self.widthvec) <= 64 else \
            list(self.widthvec[:32]) + ["…"] + list(self.widthvec[-8:])
        return {"input_dim": self.input_dim, "output_dim": self.output_dim, "depth": self.depth,
                "width": self.width, "widthvec": vec, "params": self.params,
                "dense_params": self.dense_params, "intrinsic_tagged": self.intrinsic_tagged,
                "height": self.height, "gadgets": self.gadgets}


def _gadget_instances(node: Node, mult: int = 1) -> Iterator[tuple[Gadget, int]]:
    """Every gadget occurrence with its multiplicity in the unrolled network."""
    if isinstance(node, Gadget):
        yield node, mult
        yield from _gadget_instances(node.body, mult)
    elif isinstance(node, Repeat):
        yield from _gadget_instances(node.body, mult * node.times)
    elif isinstance(node, (Network, Parallel)):
        for c in node.children():
            yield from _gadget_instances(c, mult)


def count_params(node: Node) -> int:
    memo: dict = {}
    return sum(layer.nonzeros(memo) for layer in layers(node))


def measure(net: Node) -> Architecture:
    ls = layers(net)
    gadgets: dict = {}
    cache: dict[int, int] = {}
    for g, mult in _gadget_instances(net):
        if id(g) not in cache:
            cache[id(g)] = count_params(g.body)
        entry = gadgets.setdefault(g.name, {"count": 0, "params": 0})
        entry["count"] += mult
        entry["params"] += mult * cache[id(g)]
    tagged = sum(1 for layer in ls for _ in layer.tagged_positions())
    memo: dict = {}
    return Architecture(net.in_dim, net.out_dim, net.depth, net.width, net.widthvec,
                        sum(layer.nonzeros(memo) for layer in ls), sum(layer.dense() for layer in ls),
                        tagged, net.height, gadgets)


@dataclass(frozen=True)
class IntrinsicMeasurement:
    differing: int
    tagged: int
    positions: tuple
    agree: bool
    counted: int  # the tagged positions and any that differ untagged: what a claim is held to


def measure_intrinsic(networks: Sequence[Node], views: Optional[Sequence[list]] = None) -> IntrinsicMeasurement:
    """Count the parameter positions whose values differ between networks built for different
    targets, and compare with the builder's tags (``views``: their :func:`layers`, when the
    caller has them already)."""
    views = [layers(n) for n in networks] if views is None else list(views)
    shapes = {tuple((l.rows, l.cols) for l in v) for v in views}
    if len(shapes) != 1:
        raise ValueError("the builds have different architectures; intrinsic parameters are "
                         "not comparable")
    differing = set()
    tagged = set()
    for k, layer_versions in enumerate(zip(*views)):
        first = layer_versions[0]
        tagged |= {(k, pos) for pos in first.tagged_positions()}
        if all(l.same_entries(first) for l in layer_versions[1:]):
            continue  # equal matrices compared in C: no position of this layer differs
        entries = [list(l.positions()) for l in layer_versions]
        for idx, (pos, value, _) in enumerate(entries[0]):
            if any(e[idx][1] != value for e in entries[1:]):
                differing.add((k, pos))
    return IntrinsicMeasurement(len(differing), len(tagged), tuple(sorted(differing, key=str)),
                                differing <= tagged, len(differing | tagged))
