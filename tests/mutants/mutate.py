"""IR mutation helpers: rebuild a network with one small, deliberate change.

Every helper returns a new network and leaves the input untouched (the IR is frozen).  Nodes
are addressed by identity: a node object that is shared (a ``Repeat`` body, one nested
activation network used by every neuron of a layer) changes everywhere it is used, and every
subtree that does not contain the changed node is kept as the *same object*, so activation
groups, gadget specifications and other shared structure survive untouched.

Sites are listed in a fixed pre-order (``Network`` nodes left to right, ``Gadget``/``Repeat``
bodies, ``Parallel`` parts, nested activation networks), each stored node once, so "the k-th
affine node" names the same node on every run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from flint import fmpq, fmpq_mat

from constructive.ir import Activation, Affine, Gadget, Network, Node, Parallel, Repeat, affine_from

EPS = fmpq(1, 2 ** 40)  # the size of a "tiny" move: far below every bound, far above zero


# ------------------------------------------------------------------------------------------
# finding sites


@dataclass(frozen=True)
class Site:
    """A node found in the tree, with where it sits (for picking sites that matter)."""

    node: Node
    gadgets: tuple[str, ...]  # names of the enclosing gadgets, outermost first
    in_repeat: bool  # inside a Repeat body (the change is applied once per iteration)
    in_nested: bool  # inside a nested activation network (NestNet)


def _children(node: Node) -> list[Node]:
    if isinstance(node, Activation):
        return [f for f in node.functions if isinstance(f, Network)]
    return list(node.children())


def sites(root: Node) -> Iterator[Site]:
    """Every stored node below ``root`` (itself included) once, in pre-order."""
    seen: set[int] = set()

    def visit(node: Node, gadgets: tuple, rep: bool, nested: bool) -> Iterator[Site]:
        if id(node) in seen:
            return
        seen.add(id(node))
        yield Site(node, gadgets, rep, nested)
        inner_g = gadgets + (node.name,) if isinstance(node, Gadget) else gadgets
        inner_r = rep or isinstance(node, Repeat)
        inner_n = nested or isinstance(node, Activation)
        for c in _children(node):
            yield from visit(c, inner_g, inner_r, inner_n)

    yield from visit(root, (), False, False)


def affine_sites(root: Node, where: Optional[Callable[[Site], bool]] = None) -> list[Site]:
    return [s for s in sites(root) if isinstance(s.node, Affine) and (where is None or where(s))]


def activation_sites(root: Node, where: Optional[Callable[[Site], bool]] = None) -> list[Site]:
    return [s for s in sites(root)
            if isinstance(s.node, Activation) and (where is None or where(s))]


def gadgets_named(root: Node, name: str) -> list[Gadget]:
    return [s.node for s in sites(root) if isinstance(s.node, Gadget) and s.node.name == name]


def parallels(root: Node) -> list[Parallel]:
    return [s.node for s in sites(root) if isinstance(s.node, Parallel)]


def nonzero_entries(aff: Affine, which: str = "W") -> list[tuple[int, int]]:
    """Positions (i, j) of the non-zero entries of ``aff.W`` (or ``aff.b``, j = 0)."""
    M = aff.W if which == "W" else aff.b
    return [(i, j) for i in range(M.nrows()) for j in range(M.ncols()) if M[i, j] != 0]


def final_affine(root: Node) -> Affine:
    """The affine node that produces the network's output (it must not sit in a Repeat)."""
    node = root
    while True:
        if isinstance(node, Affine):
            return node
        if isinstance(node, Network):
            node = node.nodes[-1]
        elif isinstance(node, Gadget):
            node = node.body
        else:
            raise ValueError(f"the output comes from a {type(node).__name__}, not an affine map")


def last_affine(root: Node) -> Affine:
    """The last affine node in pre-order (the output layer, or the last one before a final
    activation)."""
    return affine_sites(root)[-1].node


def describe(root: Node, max_lines: int = 200) -> str:
    """A readable outline of the tree (for choosing mutation sites while writing tests)."""
    lines: list[str] = []
    for k, s in enumerate(sites(root)):
        n = s.node
        pad = "  " * len(s.gadgets) + ("R " if s.in_repeat else "") + ("N " if s.in_nested else "")
        if isinstance(n, Affine):
            lines.append(f"{pad}Affine {n.out_dim}x{n.in_dim} nnz={len(nonzero_entries(n))}")
        elif isinstance(n, Activation):
            names = sorted({getattr(f, "key", "nested") for f in n.functions})
            lines.append(f"{pad}Activation {len(n.functions)} {names}")
        elif isinstance(n, Gadget):
            lines.append(f"{pad}Gadget {n.name!r} spec={'yes' if n.spec else 'no'} "
                         f"{n.in_dim}->{n.out_dim} depth={n.body.depth}")
        elif isinstance(n, Repeat):
            lines.append(f"{pad}Repeat x{n.times}")
        elif isinstance(n, Parallel):
            lines.append(f"{pad}Parallel {len(n.parts)}")
        if len(lines) >= max_lines:
            lines.append("...")
            break
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# rebuilding


def substitute(root: Node, old: Any, new: Any) -> Node:
    """``root`` with every occurrence of the object ``old`` replaced by ``new``.

    ``old`` may be a node or an activation function (a neuron's function).  Untouched subtrees
    are returned as the same objects; rebuilt ones are memoised so sharing is kept.
    """
    memo: dict[int, Any] = {}

    def rebuild(x: Any) -> Any:
        if x is old:
            return new
        if id(x) in memo:
            return memo[id(x)]
        out = x
        if isinstance(x, Network):
            nodes = tuple(rebuild(n) for n in x.nodes)
            if any(a is not b for a, b in zip(nodes, x.nodes)):
                out = Network(nodes) if nodes else x
        elif isinstance(x, (Gadget, Repeat)):
            body = rebuild(x.body)
            if body is not x.body:
                out = dataclasses.replace(x, body=body)  # a Gadget keeps its spec object
        elif isinstance(x, Parallel):
            parts = tuple(rebuild(p) for p in x.parts)
            if any(a is not b for a, b in zip(parts, x.parts)):
                out = Parallel(parts)
        elif isinstance(x, Activation):
            fns = tuple(rebuild(f) for f in x.functions)
            if any(a is not b for a, b in zip(fns, x.functions)):
                out = Activation(fns)
        memo[id(x)] = out
        return out

    result = rebuild(root)
    if result is root:
        raise ValueError("the node to replace does not occur in the network")
    return result


def replace_part(root: Node, par: Parallel, k: int, new_part: Node) -> Node:
    """Replace the k-th part of one Parallel node (other uses of a shared part are kept)."""
    new_part = new_part if isinstance(new_part, Network) else Network((new_part,))
    parts = tuple(new_part if i == k else p for i, p in enumerate(par.parts))
    return substitute(root, par, Parallel(parts))


def change_one_copy(root: Node, par: Parallel, k: int, change: Callable[[Node], Node]) -> Node:
    """Apply ``change`` to the k-th part of ``par`` only (copies sharing objects stay intact)."""
    return replace_part(root, par, k, change(par.parts[k]))


# ------------------------------------------------------------------------------------------
# weights, biases and breakpoints


def _with_matrix_entry(M: fmpq_mat, i: int, j: int, value: fmpq) -> fmpq_mat:
    out = fmpq_mat(M)
    out[i, j] = value
    return out


def with_entry(aff: Affine, which: str, i: int, j: int, value: Any) -> Affine:
    """A copy of ``aff`` with ``W[i, j]`` (which="W") or ``b[i]`` (which="b", j ignored) set."""
    value = fmpq(value) if not isinstance(value, fmpq) else value
    if which == "W":
        return affine_from(_with_matrix_entry(aff.W, i, j, value), aff.b, aff.intrinsic)
    if which == "b":
        return affine_from(aff.W, _with_matrix_entry(aff.b, i, 0, value), aff.intrinsic)
    raise ValueError(f"which must be 'W' or 'b', not {which!r}")


def entry(aff: Affine, which: str, i: int, j: int = 0) -> fmpq:
    return aff.W[i, j] if which == "W" else aff.b[i, 0]


def nudge(root: Node, aff: Affine, which: str, i: int, j: int = 0, *,
          delta: fmpq = EPS, relative: bool = False) -> Node:
    """Move one entry of the affine node ``aff``: by ``delta`` (absolute) or by the factor
    ``1 + delta`` (relative; a zero entry then stays zero, so pick a non-zero one)."""
    old = entry(aff, which, i, j)
    new = old * (1 + delta) if relative else old + delta
    if new == old:
        raise ValueError("the nudge does not change the entry")
    return substitute(root, aff, with_entry(aff, which, i, j, new))


def nudge_kth(root: Node, k: int, which: str, i: int, j: int = 0, **kw: Any) -> Node:
    """``nudge`` on the k-th affine node of the pre-order listing."""
    return nudge(root, affine_sites(root)[k].node, which, i, j, **kw)


def shift_breakpoint(root: Node, aff: Affine, i: int, delta: fmpq, axis: int = 0) -> Node:
    """Move the kink of neuron ``i`` fed by ``aff`` by ``delta`` along input ``axis``:
    the pre-activation W_i·x + b_i becomes W_i·(x − delta e_axis) + b_i."""
    w = aff.W[i, axis]
    if w == 0:
        raise ValueError("the neuron does not depend on that input")
    return substitute(root, aff, with_entry(aff, "b", i, 0, aff.b[i, 0] - w * delta))


def shift_last_bias(root: Node, delta: Any, row: int = 0) -> Node:
    aff = last_affine(root)
    return substitute(root, aff, with_entry(aff, "b", row, 0, aff.b[row, 0] + fmpq(delta)))


def scale_affine(aff: Affine, factor: Any, rows: Optional[list[int]] = None,
                 bias: bool = True) -> Affine:
    """``aff`` with the given rows (all by default) of W, and of b unless ``bias=False``,
    multiplied by ``factor``."""
    factor = fmpq(factor) if not isinstance(factor, fmpq) else factor
    rows = range(aff.W.nrows()) if rows is None else rows
    W, b = fmpq_mat(aff.W), fmpq_mat(aff.b)
    for i in rows:
        for j in range(W.ncols()):
            W[i, j] *= factor
        if bias:
            b[i, 0] *= factor
    return affine_from(W, b, aff.intrinsic)


def scale_output(root: Node, factor: Any) -> Node:
    """Multiply the network's output layer (weights and bias) by ``factor``."""
    aff = final_affine(root)
    return substitute(root, aff, scale_affine(aff, factor))


def changes_output(root: Node, mutant: Node, points: list[list[Any]]) -> bool:
    """Whether the mutant differs from ``root`` at one of the exact points (lists of inputs)."""
    from constructive.evaluate import evaluate

    cols = [list(c) for c in zip(*[[fmpq(v) for v in p] for p in points])]
    return evaluate(root, cols) != evaluate(mutant, cols)


def first_effective_nudge(root: Node, candidates: list[Affine], points: list[list[Any]],
                          **kw: Any) -> Node:
    """The first nudge (in candidate order, non-zero entries of W row by row) that changes the
    output at one of ``points``: a seeded, deterministic choice of a site that matters."""
    for aff in candidates:
        for i, j in nonzero_entries(aff):
            mutant = nudge(root, aff, "W", i, j, **kw)
            if changes_output(root, mutant, points):
                return mutant
    raise ValueError("no candidate entry changes the output at the given points")


# ------------------------------------------------------------------------------------------
# activations


def swap_activation(root: Node, act: Activation, new_fn: Any,
                    neurons: Optional[list[int]] = None) -> Node:
    """Replace the function of the given neurons (all by default) of the activation node."""
    idx = set(range(len(act.functions)) if neurons is None else neurons)
    fns = tuple(new_fn if k in idx else f for k, f in enumerate(act.functions))
    return substitute(root, act, Activation(fns))


def swap_all_activations(root: Node, new_fn: Any) -> Node:
    """Every activation node below ``root`` (nested networks included) gets ``new_fn``."""
    out = root
    for s in activation_sites(root):
        out = swap_activation(out, s.node, new_fn)
    return out


# ------------------------------------------------------------------------------------------
# gadget bodies (the spec object is always kept)


def replace_gadget_body(root: Node, gadget: Gadget, change: Callable[[Network], Node]) -> Node:
    """Change a gadget's body, keeping its name, parameters and *the same spec object*."""
    body = change(gadget.body)
    body = body if isinstance(body, Network) else Network((body,))
    if (body.in_dim, body.out_dim) != (gadget.body.in_dim, gadget.body.out_dim):
        raise ValueError("the new body must keep the gadget's dimensions")
    return substitute(root, gadget, dataclasses.replace(gadget, body=body))


def shift_gadget_output(root: Node, gadget: Gadget, delta: Any, row: int = 0) -> Node:
    """Add ``delta`` to one output of a gadget by moving its body's final bias (spec kept)."""
    def change(body: Network) -> Node:
        aff = final_affine(body)
        return substitute(body, aff, with_entry(aff, "b", row, 0, aff.b[row, 0] + fmpq(delta)))

    return replace_gadget_body(root, gadget, change)


def add_hat(body: Network, lo: Any, hi: Any, height: Any) -> Network:
    """A one-hidden-layer ReLU body R → R (affine, activation, affine) plus a hat of the given
    height on [lo, hi]: three more neurons, zero outside [lo, hi], so the body is unchanged
    wherever it is only ever used outside that interval."""
    first, act, out = body.nodes
    if first.in_dim != 1 or out.out_dim != 1 or not isinstance(act, Activation):
        raise ValueError("add_hat needs a one-hidden-layer body from R to R")
    lo, hi, height = fmpq(lo), fmpq(hi), fmpq(height)
    mid = (lo + hi) / 2
    slope = 2 * height / (hi - lo)
    n = first.out_dim
    W1 = fmpq_mat(n + 3, 1, [first.W[i, 0] for i in range(n)] + [1, 1, 1])
    b1 = fmpq_mat(n + 3, 1, [first.b[i, 0] for i in range(n)] + [-lo, -mid, -hi])
    W2 = fmpq_mat(1, n + 3, [out.W[0, j] for j in range(n)] + [slope, -2 * slope, slope])
    relu = next(f for f in act.functions)  # the body's own ReLU object
    return Network((affine_from(W1, b1), Activation(act.functions + (relu,) * 3),
                    affine_from(W2, out.b)))
