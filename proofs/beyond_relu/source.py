"""The ReLU network a "Beyond ReLU" emulation starts from: the default instance, a user's file
(JSON or a PyTorch state dict, ``--network``), or a stand-in of a corollary's size; the input
box; and the activation named by an entry's parameters."""

from __future__ import annotations

import contextlib
import contextvars
import math
import random
from fractions import Fraction
from typing import Any, Iterator, Optional, Sequence

from flint import fmpq, fmpq_mat

from constructive.activations import ActivationFunction, lookup
from constructive.activations.catalogue import parse_activation
from constructive.errors import UserError
from constructive.ir import Network, activation, affine_from, network
from constructive.jsonfile import read_json_file
from constructive.network_files import MAX_JSON_BYTES, exact_linear  # the shared exact reading of a layer
from constructive.numbers import as_fmpq

# ---------------------------------------------------------------------------------------------
# ReLU networks: the default instance and files


def default_relu_network() -> list[tuple[fmpq_mat, fmpq_mat]]:
    """A fixed width-8, depth-3 ReLU network R^2 → R with weights in {k/8 : |k| ≤ 4}."""
    rng = random.Random(2307_06555)
    sizes = [2, 8, 8, 8, 1]
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        W = [[fmpq(rng.randint(-4, 4), 8) for _ in range(a)] for _ in range(b)]
        bias = [fmpq(rng.randint(-4, 4), 8) for _ in range(b)]
        layers.append((fmpq_mat(W), fmpq_mat([[v] for v in bias])))
    return layers


def relu_net_from_layers(layers: Sequence[tuple[fmpq_mat, fmpq_mat]]) -> Network:
    nodes = []
    for k, (W, b) in enumerate(layers):
        nodes.append(affine_from(W, b))
        if k < len(layers) - 1:
            nodes.append(activation(W.nrows()))
    return network(*nodes)


def _check_layers(raw: list[tuple[str, Any, Any]]) -> list[tuple[fmpq_mat, fmpq_mat]]:
    """raw = [(layer name, W rows, b)]: exact matrices (read as every network file is, by
    :func:`constructive.network_files.exact_linear`); the shape chain checked."""
    out = []
    prev = None
    for name, W, b in raw:
        _, Wq, bq, _ = exact_linear(name, W, b)
        if prev is not None and Wq.ncols() != prev:
            raise UserError(f"layer {name}: takes {Wq.ncols()} inputs but the previous layer gives {prev}")
        out.append((Wq, bq))
        prev = Wq.nrows()
    if not out:
        raise UserError("the network file has no layers")
    return out


def load_relu_network(path: str) -> list[tuple[fmpq_mat, fmpq_mat]]:
    """A ReLU MLP from JSON (``{"layers": [{"W": …, "b": …} | {"type": "relu"}, …]}``) or a
    PyTorch state dict of ``Linear`` layers (``*.weight`` / ``*.bias``; ReLU between them)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1)
    except OSError as exc:
        raise UserError(f"cannot read network file {path!r}: {exc.strerror}") from None
    if head in (b"{", b"[", b" ", b"\n"):
        data = read_json_file(path, "network file", MAX_JSON_BYTES)
        items = data.get("layers") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise UserError(f"network file {path!r}: expected a list of layers under 'layers'")
        raw = []
        expect_linear = True
        for k, item in enumerate(items):
            name = f"{k} ({item.get('type', 'linear') if isinstance(item, dict) else type(item).__name__})"
            if not isinstance(item, dict):
                raise UserError(f"layer {name}: not an object")
            typ = str(item.get("type", "linear")).lower()
            if typ == "relu":
                if expect_linear:
                    raise UserError(f"layer {name}: ReLU must follow a linear layer")
                expect_linear = True
                continue
            if typ != "linear":
                raise UserError(f"layer {name}: type {typ!r} is not linear or relu (only ReLU MLPs)")
            if not expect_linear and "type" in item:
                raise UserError(f"layer {name}: two linear layers without a ReLU between them")
            raw.append((name, item.get("W", item.get("weight")), item.get("b", item.get("bias"))))
            expect_linear = "type" not in item
        if items and isinstance(items[-1], dict) and str(items[-1].get("type", "")).lower() == "relu":
            # a final ReLU would be dropped by the layer list below: the output must be linear
            raise UserError(f"network file {path!r}: the last layer is a ReLU; the output layer "
                            "must be linear")
        return _check_layers(raw)
    try:
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types on a bad file
        raise UserError(f"network file {path!r} is neither JSON nor a PyTorch state dict: "
                        f"{str(exc).splitlines()[0][:120]}") from None
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    if not isinstance(state, dict):
        raise UserError(f"network file {path!r}: not a state dict")
    groups: dict[str, dict] = {}
    order: list[str] = []
    for key, value in state.items():
        prefix, _, leaf = str(key).rpartition(".")
        if leaf not in ("weight", "bias"):
            raise UserError(f"layer {prefix or key}: entry {key!r} is not a Linear weight or bias")
        if prefix not in groups:
            groups[prefix] = {}
            order.append(prefix)
        groups[prefix][leaf] = value
    raw = []
    for prefix in order:
        g = groups[prefix]
        W, b = g.get("weight"), g.get("bias")
        if W is None or not hasattr(W, "dim") or W.dim() != 2:
            raise UserError(f"layer {prefix}: weight is not a 2-D Linear weight "
                            f"(shape {tuple(W.shape) if W is not None else None})")
        if b is None:
            b_list = [0] * W.shape[0]
        else:
            if b.dim() != 1:
                raise UserError(f"layer {prefix}: bias is not 1-D")
            b_list = [float(v) for v in b.double().tolist()]
        raw.append((prefix, [[float(v) for v in row] for row in W.double().tolist()], b_list))
    return _check_layers(raw)


# ---------------------------------------------------------------------------------------------
# interval propagation and the Lipschitz budget (exact)


def input_box(box: Any, d: int) -> list[tuple[fmpq, fmpq]]:
    if isinstance(box, (int, float, str, fmpq, Fraction)):
        A = as_fmpq(box)
        box = [(-A, A)] * d
    box = [(as_fmpq(a), as_fmpq(b)) for a, b in box]
    if len(box) != d:
        raise UserError(f"the box has {len(box)} sides but the network has {d} inputs")
    for a, b in box:
        if a > b:
            raise UserError(f"box side [{a}, {b}] has lower end above upper end")
    return box


def stand_in_relu_network(sizes: Sequence[int], seed: int = 2307_06555) -> list:
    """A fixed ReLU network of the given layer sizes with weights in {k/8 : |k| ≤ 4}, scaled by
    1/(fan-in) so that pre-activations stay O(1): a stand-in of the *size* of a source network
    (Corollaries 4 and 5 are architecture bookkeeping: Theorem 1 applied to a network of that size)."""
    rng = random.Random(seed)
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        W = [[fmpq(rng.randint(-4, 4), 8 * a) for _ in range(a)] for _ in range(b)]
        bias = [fmpq(rng.randint(-4, 4), 8) for _ in range(b)]
        layers.append((fmpq_mat(W), fmpq_mat([[v] for v in bias])))
    return layers


def corollary_sizes(params: dict) -> Optional[list[int]]:
    """Layer sizes of the source ReLU network of Corollary 4 (q pieces: width ⌈3q/2⌉q, depth
    2⌈log₂ q⌉ + 1, Chen–Garudadri–Rao) or Corollary 5 (block g: width 69d + 48, depth 5,
    ℝ^{5d+5} → ℝ^{5d+5}, Zhang–Shen–Yang); None for the other entries."""
    if "q" in params:
        q = int(params["q"])
        w = -(-3 * q // 2) * q
        depth = 2 * max(0, math.ceil(math.log2(q)) if q > 1 else 0) + 1
        return [1] + [w] * depth + [1]
    if "dim" in params:
        d = int(params["dim"])
        return [5 * d + 5] + [69 * d + 48] * 5 + [5 * d + 5]
    return None


_NETWORK_FILE: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("zlz_network", default=None)


@contextlib.contextmanager
def using_network(path: Optional[str]) -> Iterator[None]:
    """Within the block, the emulation theorems use the ReLU network of ``path`` (JSON or a
    PyTorch state dict) instead of the default instance; the file is validated first."""
    if path:
        load_relu_network(path)
    token = _NETWORK_FILE.set(path)
    try:
        yield
    finally:
        _NETWORK_FILE.reset(token)


def current_network_file() -> Optional[str]:
    return _NETWORK_FILE.get()


def layers_from_params(params: dict) -> list:
    sizes = corollary_sizes(params)
    if sizes is not None:
        return stand_in_relu_network(sizes)
    path = current_network_file()
    return load_relu_network(path) if path else default_relu_network()


def activation_from_params(params: dict) -> ActivationFunction:
    return lookup(str(params.get("rho", "sigmoid")))


def lemma_activation(params: dict) -> ActivationFunction:
    return parse_activation(str(params.get("rho", "sigmoid")))
