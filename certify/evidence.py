"""What a certificate carries for the kernel: the network as plain data, and evidence.

The network is stored as its plain layered form (``constructive.architecture``'s view: affine maps
merged, parallel parts block-diagonal, repeats unrolled) with exact rationals, when the kernel can
follow it (ReLU and identity neurons, nested activations flattened, within a size limit).  Evidence is cut points: per axis for
a grid over the cube, or along the real line; the kernel takes the product grid itself, so a
cover cannot be forged.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Sequence

from flint import fmpq, fmpq_mat

from certify.analysis.pl1d import enumerate_1d
from constructive import architecture as arch
from constructive.activations.catalogue import make_activation
from constructive.ir import Activation, Network, Node, Parallel, Repeat, network

KERNEL_ACTIVATIONS = {"relu", "identity", "euaf"}
SMOOTH_ACTIVATIONS = {"sigmoid", "tanh", "arctan", "softplus", "silu", "gelu", "softsign", "xsoftsign",
                      "mish", "dsilu", "xdsilu", "xarctan", "relu2"}
MAX_STORED_ENTRIES = 2_000_000  # the kernel's own limit on dense entries
MAX_STORED_NONZEROS = 300_000   # keeps a certificate below ~20 MB


def stored_network(net: Node, structured: bool = False) -> tuple[Optional[dict], str]:
    """The layered network as plain data, or None and the reason it is not stored.

    A nested activation (a network used as the activation of each of k neurons, NestNet) is
    flattened: its layers run side by side, block-diagonally, for the k neurons, the plain
    neurons of the same layer passed through by identity neurons, so the kernel follows it as an
    ordinary ReLU network of the same function.  With ``structured``, a network L2 ∘ g^{∘m} ∘ L1
    stores g once (:func:`_block_form`), and a network with nested activations stores each
    distinct activation network once (:func:`_nested_form`), so that the kernel measures g, or
    the nesting, itself (it unrolls and flattens them as above)."""
    try:
        # the plain layers bound the stored size from below (flattening a nested activation
        # only adds entries): refuse a network over the limit before flattening it
        plain = sum(layer.rows * layer.cols for layer in arch.layers(net))
        if plain > MAX_STORED_ENTRIES:
            return None, f"{plain} dense entries exceed the stored limit {MAX_STORED_ENTRIES}"
        flat = _steps(net)
        block = _block_form(net) if structured else None
        nested = _nested_form(net) if structured and block is None else None
    except (TypeError, ValueError) as exc:
        return None, f"no plain layered form ({exc})"
    except _Unfollowed as exc:
        return None, (f"activation {exc} is not one the kernel follows (relu, identity, euaf, "
                      "peuaf, softsign, xsoftsign, leaky_relu, elu, and sigmoid, tanh, arctan, "
                      "softplus, silu, standard gelu)")
    # the kernel's limit is on the network it follows: unrolled and flattened
    dense = sum(W.nrows() * W.ncols() for W, _, _ in flat)
    if dense > MAX_STORED_ENTRIES:
        return None, f"{dense} dense entries exceed the stored limit {MAX_STORED_ENTRIES}"
    if block:
        parts = [block[0]]
    elif nested:
        parts = [nested[0], *nested[1]]
    else:
        parts = [flat]
    stored_parts = _serialised(parts)
    if stored_parts is None and not (block or nested):
        # over the limit as plain layers: copies of one small network applied neuron by neuron
        # (an emulation's gadget) are stored once, as a nested activation
        nested = _nested_form(_copies_as_activations(net))
        stored_parts = _serialised([nested[0], *nested[1]]) if nested else None
    if stored_parts is None:
        return None, f"more than {MAX_STORED_NONZEROS} non-zero parameters"
    stored = stored_parts[0]
    if block:
        stored["repeat"] = dict(zip(("start", "layers", "times"), block[1]))
    if nested:
        stored["activations"] = stored_parts[1:]
    return stored, ""


def _serialised(parts: list) -> Optional[list[dict]]:
    """Each part's steps as stored data (non-zero entries only); None past the limit of
    non-zero parameters in all."""
    stored_parts = []
    nonzeros = 0
    for steps in parts:
        layers: list[dict] = []
        for W_, b_, acts in steps:
            W = [[i, j, str(v)] for i, row in enumerate(W_.tolist()) for j, v in enumerate(row) if v != 0]
            b = [[i, str(v)] for i, v in enumerate(b_.entries()) if v != 0]
            nonzeros += len(W) + len(b)
            if nonzeros > MAX_STORED_NONZEROS:
                return None
            layer = {"rows": W_.nrows(), "cols": W_.ncols(), "W": W, "b": b}
            if acts is not None:
                layer["act"] = _runs(acts)
            layers.append(layer)
        stored_parts.append({"input_dim": steps[0][0].ncols(), "layers": layers})
    return stored_parts


def _copies_as_activations(net: Node) -> Node:
    """The same network with every top-level ``Parallel`` of one-input, one-output networks
    written as the activation layer it is (part i applied to input i)."""
    if not isinstance(net, Network):
        return net
    nodes = [Activation(p.parts) if isinstance(p, Parallel) and p.parts and all(
        isinstance(q, Network) and (q.in_dim, q.out_dim) == (1, 1) for q in p.parts) else p
        for p in net.nodes]
    return Network(tuple(nodes), net.in_dim, net.out_dim)


class _Unfollowed(Exception):
    """An activation the kernel does not evaluate."""


Step = tuple  # (W: fmpq_mat, b: fmpq_mat, activation names per row, or None after the last map)


def _steps(net: Node, nest: Optional[Callable[[Network], str]] = None) -> list[Step]:
    """The plain layered form as steps, nested activations flattened (see stored_network), or,
    with ``nest``, named by it instead."""
    steps: list[Step] = []
    for item in arch.plain_form(net):
        if isinstance(item, Activation):
            W, b, _ = steps.pop()  # the affine map in front of the activation
            if nest is not None or not any(isinstance(f, Network) for f in item.functions):
                steps.append((W, b, [nest(f) if isinstance(f, Network) else _name(f)
                                     for f in item.functions]))
                continue
            inner = _side_by_side(item.functions)
            W1, b1, acts = inner[0]
            steps.append((W1 * W, W1 * b + b1, acts))
            steps.extend(inner[1:])  # ends with an affine map without activation
        else:
            A = arch.as_affine(item)
            if steps and steps[-1][2] is None:  # an affine map after an affine map: compose
                W0, b0, _ = steps.pop()
                steps.append((A.W * W0, A.W * b0 + A.b, None))
            else:
                steps.append((A.W, A.b, None))
    return steps


def _block_form(net: Node) -> Optional[tuple[list[Step], tuple[int, int, int]]]:
    """The steps of L2 ∘ g^{∘m} ∘ L1 with g once, and (where g starts, its steps, m); None for a
    network of another shape.  L1 and g end in identity neurons instead of being merged with
    what follows, so g's input dimension and depth stay visible (g's depth is its hidden
    layers, the identity layer being its output)."""
    nodes = net.nodes if isinstance(net, Network) else ()
    at = [i for i, n in enumerate(nodes) if isinstance(n, Repeat)]
    if len(at) != 1 or at[0] in (0, len(nodes) - 1) or nodes[at[0]].times < 1:
        return None
    i = at[0]
    rep = nodes[i]
    pre, body, post = _steps(network(*nodes[:i])), _steps(rep.body), _steps(network(*nodes[i + 1:]))
    if pre[-1][2] is not None or body[-1][2] is not None or \
            any(a != "relu" for _, _, acts in body[:-1] for a in acts):
        return None  # a part that ends in an activation, or a block of other neurons
    pre[-1] = (*pre[-1][:2], ["identity"] * pre[-1][0].nrows())
    body[-1] = (*body[-1][:2], ["identity"] * body[-1][0].nrows())
    return pre + body + post, (len(pre), len(body), rep.times)


def _nested_form(net: Node) -> Optional[tuple[list[Step], list[list[Step]]]]:
    """The top level's steps, a neuron that uses a network as its activation named net:i, and
    the steps of every distinct such network (by identity), each after those it uses; None for
    a network that nests none."""
    index: dict[int, int] = {}
    stored: list[list[Step]] = []

    def name(f: Network) -> str:
        if id(f) not in index:
            steps = _steps(f, name)  # the networks it uses are stored first
            index[id(f)] = len(stored)
            stored.append(steps)
        return f"net:{index[id(f)]}"

    top = _steps(net, name)
    return (top, stored) if stored else None


def _name(f: object) -> str:
    if f.name == "peuaf":  # its frequency w is part of the name the kernel reads
        return f"peuaf:{dict(f.params)['w']}"
    if f.name in ("leaky_relu", "elu", "celu"):  # so is the slope or scale alpha
        return f"{f.name}:{dict(f.params)['alpha']}"
    if f.name == "swish":  # and Swish's beta
        return f"swish:{dict(f.params)['beta']}"
    if f.name == "srs":  # and SRS's alpha and beta
        return f"srs:{dict(f.params)['alpha']}:{dict(f.params)['beta']}"
    if f.name == "selu" and f.params == make_activation("selu").params:  # the kernel knows its constants
        return "selu"
    if f.name in SMOOTH_ACTIVATIONS and dict(f.params) in ({}, {"mu": "0", "sigma": "1"}):
        return f.name  # the kernel's smooth check knows these (GELU: the standard one only)
    if f.name not in KERNEL_ACTIVATIONS:
        raise _Unfollowed(f.name)
    return f.name


def _side_by_side(functions: Sequence[object]) -> list[Step]:
    """The k scalar activations as one layered network on k rows: each one's steps (a plain
    neuron is one step and an identity map), shorter ones led by identity neurons."""
    one, zero = fmpq_mat([[1]]), fmpq_mat([[0]])
    seqs = [_steps(f) if isinstance(f, Network) else [(one, zero, [_name(f)]), (one, zero, None)]
            for f in functions]
    depth = max(len(s) for s in seqs)
    seqs = [[(one, zero, ["identity"])] * (depth - len(s)) + s for s in seqs]
    out = []
    for t in range(depth):
        parts = [s[t] for s in seqs]
        rows, cols = sum(W.nrows() for W, _, _ in parts), sum(W.ncols() for W, _, _ in parts)
        W = fmpq_mat(rows, cols)
        r = c = 0
        for Wp, _, _ in parts:
            for i in range(Wp.nrows()):
                for j in range(Wp.ncols()):
                    W[r + i, c + j] = Wp[i, j]
            r, c = r + Wp.nrows(), c + Wp.ncols()
        b = fmpq_mat([[v] for _, bp, _ in parts for v in bp.entries()])
        acts = None if t == depth - 1 else [a for _, _, ap in parts for a in ap]
        out.append((W, b, acts))
    return out


def _runs(names: Iterable[str]) -> list:
    out: list = []
    for name in names:
        if out and out[-1][0] == name:
            out[-1][1] += 1
        else:
            out.append([name, 1])
    return out


# the kernel takes the boxes and values from the statement's claim.pieces: no data to carry
PIECES = {"kind": "pieces"}


def grid(cuts: Sequence[Iterable[fmpq]]) -> dict:
    """Grid evidence: sorted cut points per axis (each from 0 to 1)."""
    return {"kind": "grid", "cuts": [[str(c) for c in sorted(set(axis))] for axis in cuts]}


def line(cuts: Iterable[fmpq]) -> dict:
    """Line evidence: cut points on R between which (and beyond which) φ is affine."""
    return {"kind": "line", "cuts": [str(c) for c in sorted(set(cuts))]}


def breakpoints_1d(net: Node, lo: Any = None, hi: Any = None) -> list[fmpq]:
    """Every kink of a 1-D piecewise-linear network (on [lo, hi], or R), exactly."""

    return list(enumerate_1d(net, lo, hi, minimal=False).points)


MAX_SPLITS_TRIED = 8


def split(net: Node, lo: fmpq, hi: fmpq) -> dict:
    """Split evidence for a claim that φ's values on all of R^d lie in [lo, hi]: a hidden layer of
    one ReLU (φ = tail(u), u ≥ 0) whose tail's range on [0, ∞) comes closest to [lo, hi], and a
    reach beyond the tail's last kink.  The search runs on the stored network the kernel will
    read; any answer is only a proposal (the kernel follows the tail itself).  Without such a
    layer (or a stored network) the evidence says so (layer None): the kernel then lists the
    bound as trusted."""
    from certify.kernel.errors import KernelError, Undecided
    from certify.kernel.network import StoredNetwork
    from certify.kernel.stored import decode

    stored, _ = stored_network(net)
    none = {"kind": "split", "layer": None, "reach": "1"}
    if stored is None:
        return none
    layers = decode(stored).layers
    best = None
    candidates = [k for k in range(len(layers) - 1) if layers[k].relu == (True,)]
    for k in reversed(candidates[-MAX_SPLITS_TRIED:]):
        tail = StoredNetwork(1, layers[k + 1:])
        reach = fmpq(1)
        while not tail.slope_signs([reach], [reach + 1]) and reach < 2 ** 64:
            reach *= 2  # past the last kink, every sign is fixed along the ray
        try:
            t_lo, t_hi = tail.walk([(fmpq(0), reach)], 0)
        except (Undecided, KernelError):
            continue
        (at,), (beyond,) = tail.run([[reach], [reach + 1]], signs=False)[0]
        excess = max(lo - t_lo, t_hi - hi, fmpq(0)) if at == beyond else None
        if excess is not None and (best is None or excess < best[0]):
            best = (excess, k, reach)
        if excess == 0:
            break
    return none if best is None else {"kind": "split", "layer": best[1], "reach": str(best[2])}
