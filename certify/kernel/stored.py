"""The stored network's format, parsed as untrusted data into a :class:`StoredNetwork`.

The certificate stores the plain layered network (consecutive affine maps merged, parallel parts
block-diagonal, repeats unrolled): ``{"input_dim": d, "layers": [{"rows", "cols", "W": [[i, j,
"p/q"], …], "b": [[i, "p/q"], …], "act": [["relu", count], …]}, …]}`` with ``act`` absent on the
last layer.  A network L2 ∘ g^{∘m} ∘ L1 may store its block g once (``"repeat": {"start": i,
"layers": k, "times": m}``: layers i..i+k−1 are g, its last layer identity neurons, so g's
input dimension stays visible); the kernel unrolls it and measures g itself.  Networks used as
activations (NestNet) are stored once each and flattened here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flint import fmpq_mat

from certify.kernel.claims import rational
from certify.kernel.errors import KernelError
from certify.kernel.network import (MAX_ENTRIES, Layer, StoredNetwork, block_diagonal, measure_level,
                                    plain_layer)

# euaf (and peuaf:w) the sigma checks follow (smooth-sup on (−∞, 0] only); the smooth ones smooth-sup
ACTIVATIONS = {"relu", "identity", "euaf", "sigmoid", "tanh", "arctan", "softplus", "silu", "gelu",
               "softsign", "xsoftsign", "mish", "dsilu", "xdsilu", "xarctan", "relu2", "selu"}


def decode(data: Any) -> StoredNetwork:
    """Parse the stored network, checking every shape, index and number; a repeated block is
    parsed once and unrolled here (the same layer objects, ``times`` over), and networks used as
    activations are stored once each and flattened here (:func:`_flatten`)."""
    if not isinstance(data, dict) or not {"input_dim", "layers"} <= set(data) <= \
            {"input_dim", "layers", "repeat", "activations"}:
        raise KernelError("the stored network needs the fields input_dim and layers (and repeat, "
                          "if a block of its layers is repeated, activations, if it nests networks)")
    if "activations" in data and "repeat" in data:
        raise KernelError("the stored network either repeats a block or nests networks, not both")
    nested = _nested(data["activations"]) if "activations" in data else []
    dim, layers = _level(data, nested, "stored network")
    if nested:
        levels = measure_level(layers, nested)
        layers = _flatten(layers, nested)
        if sum(l.W.nrows() * l.W.ncols() for l in layers) > MAX_ENTRIES:
            raise KernelError(f"the flattened network has more than {MAX_ENTRIES} dense entries")
        return StoredNetwork(dim, tuple(layers), None, levels)
    if "repeat" not in data:
        return StoredNetwork(dim, tuple(layers))
    total = sum(l.W.nrows() * l.W.ncols() for l in layers)
    start, count, times = _repeat(data["repeat"], layers)
    block = layers[start:start + count]
    unrolled = total + (times - 1) * sum(l.W.nrows() * l.W.ncols() for l in block)
    if unrolled > MAX_ENTRIES:
        raise KernelError(f"the stored network, its block repeated {times} times, has more than "
                          f"{MAX_ENTRIES} dense entries")
    return StoredNetwork(dim, tuple(layers[:start] + block * times + layers[start + count:]),
                         (start, count, times))


def _level(data: Any, nested: list, where: str) -> tuple[int, list]:
    """One level's input dimension and layers (a neuron may name one of ``nested``: net:i)."""
    dim, raw_layers = data["input_dim"], data["layers"]
    if not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= 64:
        raise KernelError(f"the {where}'s input_dim is not an integer in [1, 64]")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise KernelError(f"the {where} has no layers")
    layers = []
    cols = dim
    total = 0
    for k, raw in enumerate(raw_layers):
        layer = _layer(raw, k, cols, k == len(raw_layers) - 1, len(nested))
        total += layer.W.nrows() * cols
        if total > MAX_ENTRIES:
            raise KernelError(f"the {where} has more than {MAX_ENTRIES} dense entries")
        layers.append(layer)
        cols = layer.rows
    return dim, layers


@dataclass(frozen=True)
class _Nested:
    """A network used as an activation: its flattened steps and its NestNet counts."""
    layers: tuple
    nest_params: int
    height: int
    reach: frozenset  # every nested network it uses, at any depth


def _nested(raw: Any) -> list[_Nested]:
    """The stored activation networks, in order; the i-th may use only those before it (so the
    nesting is finite), and each maps R to R."""
    out: list[_Nested] = []
    total = 0
    for i, data in enumerate(_list(raw, "activations")):
        where = f"activation network {i}"
        if not isinstance(data, dict) or set(data) != {"input_dim", "layers"}:
            raise KernelError(f"{where} needs exactly the fields input_dim and layers")
        dim, layers = _level(data, out, where)
        if dim != 1 or layers[-1].rows != 1:
            raise KernelError(f"{where} must map R to R")
        measure = measure_level(layers, out)
        flat = tuple(_flatten(layers, out))
        total += sum(l.W.nrows() * l.W.ncols() for l in flat)
        if total > MAX_ENTRIES:
            raise KernelError(f"the activation networks have more than {MAX_ENTRIES} dense entries")
        out.append(_Nested(flat, measure["nest_params"], measure["height"], frozenset(measure["reach"])))
    return out


def _flatten(layers: list, nested: list) -> list[Layer]:
    """The level as a plain layered network: each layer with nested neurons becomes the k neurons'
    networks side by side (block-diagonal; a shorter one, or a plain neuron, led by identity
    neurons), its first map composed with the layer's own and its last with the next layer."""
    one, zero = fmpq_mat([[1]]), fmpq_mat([[0]])
    steps: list = []  # (W, b, acts); acts () for a map without activation
    for layer in layers:
        if not any(a.startswith("net:") for a in layer.acts):
            steps.append((layer.W, layer.b, layer.acts))
            continue
        seqs = [[(l.W, l.b, l.acts) for l in nested[int(a[4:])].layers] if a.startswith("net:")
                else [(one, zero, (a,)), (one, zero, ())] for a in layer.acts]
        depth = max(len(q) for q in seqs)
        seqs = [[(one, zero, ("identity",))] * (depth - len(q)) + q for q in seqs]
        for t in range(depth):
            parts = [q[t] for q in seqs]
            W = block_diagonal([P for P, _, _ in parts])
            b = fmpq_mat([[v] for _, c, _ in parts for v in c.entries()])
            acts = () if t == depth - 1 else tuple(a for _, _, ap in parts for a in ap)
            steps.append((W * layer.W, W * layer.b + b, acts) if t == 0 else (W, b, acts))
    out: list[Layer] = []
    pending = None
    for k, (W, b, acts) in enumerate(steps):
        if pending is not None:  # a map without activation before this one: compose
            W, b = W * pending[0], W * pending[1] + b
        pending = (W, b) if not acts and k < len(steps) - 1 else None
        if pending is None:
            out.append(plain_layer(W, b, acts))
    return out


def _repeat(raw: Any, layers: list) -> tuple[int, int, int]:
    """(start, count, times): layers[start : start + count] is a block g run ``times`` over.  It
    maps R^n to R^n, ends in identity neurons (g's output is affine) and leaves the last layer
    after it."""
    if not isinstance(raw, dict) or set(raw) != {"start", "layers", "times"} or \
            not all(isinstance(v, int) and not isinstance(v, bool) for v in raw.values()):
        raise KernelError("repeat needs the integer fields start, layers and times")
    start, count, times = raw["start"], raw["layers"], raw["times"]
    if not (0 <= start and 1 <= count and start + count < len(layers) and 1 <= times <= MAX_ENTRIES):
        raise KernelError(f"repeat: layers {start}..{start + count - 1} run {times} times do not "
                          f"lie before the last of {len(layers)} layers")
    first, last = layers[start], layers[start + count - 1]
    if first.W.ncols() != last.rows:
        raise KernelError(f"repeat: the block maps R^{first.W.ncols()} to R^{last.rows}, so it "
                          "cannot follow itself")
    if any(a != "identity" for a in last.acts):
        raise KernelError("repeat: the block's last layer must be identity neurons (its output)")
    return start, count, times


def _layer(raw: Any, k: int, cols: int, last: bool, nested: int = 0) -> Layer:
    where = f"stored network layer {k}"
    keys = {"rows", "cols", "W", "b"} | (set() if last else {"act"})
    if not isinstance(raw, dict) or set(raw) != keys:
        raise KernelError(f"{where}: fields {sorted(raw) if isinstance(raw, dict) else raw!r}, "
                          f"expected {sorted(keys)}")
    rows = raw["rows"]
    if raw["cols"] != cols or not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
        raise KernelError(f"{where}: shape {raw['rows']}x{raw['cols']} does not chain")
    if rows * cols > MAX_ENTRIES:
        raise KernelError(f"the stored network has more than {MAX_ENTRIES} dense entries")
    W = fmpq_mat(rows, cols)
    nonzeros = 0
    for entry in _list(raw["W"], where):
        if not (isinstance(entry, list) and len(entry) == 3):
            raise KernelError(f"{where}: W entries are [row, col, value]")
        i, j, v = _index(entry[0], rows, where), _index(entry[1], cols, where), entry[2]
        q = rational(v, where)
        if q == 0 or W[i, j] != 0:
            raise KernelError(f"{where}: W[{i},{j}] is zero or given twice")
        W[i, j] = q
        nonzeros += 1
    b = fmpq_mat(rows, 1)
    for entry in _list(raw["b"], where):
        if not (isinstance(entry, list) and len(entry) == 2):
            raise KernelError(f"{where}: b entries are [row, value]")
        i, q = _index(entry[0], rows, where), rational(entry[1], where)
        if q == 0 or b[i, 0] != 0:
            raise KernelError(f"{where}: b[{i}] is zero or given twice")
        b[i, 0] = q
        nonzeros += 1
    relu: tuple = ()
    flags: list = []
    if not last:
        for run in _list(raw["act"], where):
            if not (isinstance(run, list) and len(run) == 2 and _activation(run[0], nested)
                    and isinstance(run[1], int) and not isinstance(run[1], bool) and run[1] > 0):
                raise KernelError(f"{where}: activation runs are [name, count] with name in "
                                  f"{sorted(ACTIVATIONS)} or peuaf:w, leaky_relu:a, elu:a, celu:a, "
                                  "swish:b, srs:a:b (w, a, b > 0 rational)")
            flags += [run[0]] * run[1]
        if len(flags) != rows:
            raise KernelError(f"{where}: {len(flags)} activations for {rows} neurons")
        relu = tuple(a == "relu" for a in flags)
    return Layer(W, b, relu, nonzeros, tuple(flags))


# activations with one rational parameter after ':' (PEUAF's frequency, the negative slope or
# scale, Swish's β)
PARAMETRIZED = ("peuaf", "leaky_relu", "elu", "celu", "swish")


def _activation(name: Any, nested: int = 0) -> bool:
    """A name the kernel knows, or net:i naming one of the ``nested`` activation networks."""
    if not isinstance(name, str):
        return False
    base, colon, param = name.partition(":")
    if base == "net":
        return param.isdigit() and param == str(int(param)) and int(param) < nested
    if colon:
        try:
            if base == "srs":  # SRS's two parameters α:β
                return all(rational(p, "srs parameter") > 0 for p in param.split(":", 1)) and ":" in param
            return base in PARAMETRIZED and rational(param, f"{base} parameter") > 0
        except KernelError:
            return False
    return name in ACTIVATIONS


def _list(v: Any, where: str) -> list:
    if not isinstance(v, list):
        raise KernelError(f"{where}: expected a list")
    return v


def _index(v: Any, bound: int, where: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < bound:
        raise KernelError(f"{where}: index {v!r} outside [0, {bound})")
    return v
