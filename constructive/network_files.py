"""Trained ReLU networks read *exactly* into the IR: JSON, PyTorch state dicts, safetensors, or
a live ``nn.Sequential``.

Every float weight is a dyadic rational, so ``Fraction(float)`` is its exact value: the imported
:class:`~constructive.ir.Network` computes, in exact arithmetic, the very function whose float
evaluation the training loop saw (up to the loop's own rounding).  Only ``Linear`` and ``ReLU``
layers are accepted; consecutive ``Linear`` maps (an MMNN's A_j followed by W_{j+1}) stay two
affine nodes.  Anything else — another activation, a NaN or infinite weight, a shape that does
not chain, a file that is not one of the formats — is a :class:`UserError` naming the input.

Formats
-------
* JSON: ``{"layers": [{"type": "linear", "W": rows, "b": entries}, {"type": "relu"}, …]}``
  (``weight``/``bias`` are accepted for ``W``/``b``; numbers, or strings of exact rationals).
  When *no* item has a ``type``, a ReLU sits between consecutive layers.
* state dict (``torch.save``) or ``.safetensors``: ``Linear`` weights and biases.  Keys of an
  ``nn.Sequential`` (``0.weight``, ``2.weight``, …): index gap 1 between two Linear modules =
  one ReLU, adjacent indices = no activation.  Keys ``fcs.{j}`` of the official MMNN code:
  ReLU after every even j (the non-residual MMNN).  Other prefixes: a ReLU between layers.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, Sequence

from flint import fmpq, fmpq_mat

from constructive.errors import UserError
from constructive.ir import Network, activation, affine_from, network
from constructive.jsonfile import read_json_file
from constructive.numbers import as_fmpq

MAX_JSON_BYTES = 512 * 2**20  # a JSON network file larger than this is refused before it is read

# one layer of a plain network: ("linear", W, b) with exact matrices, or ("relu",)
Layer = tuple


def exact_number(v: Any, where: str) -> fmpq:
    """The exact rational value of a weight (floats are dyadic: their value, not a rounding)."""
    if isinstance(v, bool) or v is None:
        raise UserError(f"{where}: {v!r} is not a number")
    if isinstance(v, float):
        if not math.isfinite(v):
            raise UserError(f"{where}: weight {v} is not finite")
        f = Fraction(v)
        return fmpq(f.numerator, f.denominator)
    if isinstance(v, str):
        if v.strip().lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
            raise UserError(f"{where}: weight {v!r} is not finite")
        try:
            return as_fmpq(v)
        except (ValueError, ZeroDivisionError):
            raise UserError(f"{where}: {v!r} is not a rational number") from None
    if isinstance(v, int):
        return fmpq(v)
    raise UserError(f"{where}: {v!r} is not a number")


def exact_linear(name: str, W: Any, b: Any) -> Layer:
    """("linear", W, b) from nested lists; ragged or mismatched shapes refused."""
    if not isinstance(W, list) or not W or not all(isinstance(r, list) for r in W):
        raise UserError(f"layer {name}: weight is not a non-empty matrix")
    cols = len(W[0])
    if cols == 0 or any(len(r) != cols for r in W):
        raise UserError(f"layer {name}: ragged or empty weight matrix")
    if not isinstance(b, list) or len(b) != len(W):
        raise UserError(f"layer {name}: bias has {len(b) if isinstance(b, list) else '?'} entries, "
                        f"weight has {len(W)} rows")
    Wq = fmpq_mat([[exact_number(v, f"layer {name}") for v in r] for r in W])
    bq = fmpq_mat([[exact_number(v, f"layer {name}")] for v in b])
    return ("linear", Wq, bq, name)


def to_network(layers: Sequence[Layer], source: str) -> Network:
    """The IR network of a layer list; shapes must chain and a Linear layer must come first."""
    nodes = []
    prev = None
    for item in layers:
        if item[0] == "relu":
            if prev is None:
                raise UserError(f"network {source}: a ReLU before the first Linear layer has no width")
            nodes.append(activation(prev))
            continue
        _, W, b, name = item
        if prev is not None and W.ncols() != prev:
            raise UserError(f"network {source}: layer {name} takes {W.ncols()} inputs but the "
                            f"previous layer gives {prev}")
        nodes.append(affine_from(W, b))
        prev = W.nrows()
    if prev is None:
        raise UserError(f"network {source}: no Linear layer")
    return network(*nodes)


# ---------------------------------------------------------------------------------------------
# sources


def layers_from_json(data: Any, source: str) -> list[Layer]:
    items = data.get("layers") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise UserError(f"network file {source}: expected a non-empty list of layers under 'layers'")
    typed = any(isinstance(it, dict) and "type" in it for it in items)
    out: list[Layer] = []
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            raise UserError(f"network file {source}: layer {k} is not an object")
        typ = str(item.get("type", "linear")).lower()
        if typ == "relu":
            out.append(("relu",))
            continue
        if typ != "linear":
            raise UserError(f"network file {source}: layer {k} has type {typ!r}; only linear and "
                            "relu layers are allowed")
        if not typed and out:
            out.append(("relu",))
        out.append(exact_linear(str(k), item.get("W", item.get("weight")), item.get("b", item.get("bias"))))
    return out


def _tensor_rows(t: Any, name: str) -> list:
    if not hasattr(t, "dim"):
        raise UserError(f"layer {name}: not a tensor")
    if not t.is_floating_point():
        raise UserError(f"layer {name}: tensor of dtype {t.dtype} is not floating point")
    return t.detach().cpu().double().tolist()


_INDEX = re.compile(r"^(.*?)(\d+)$")


def layers_from_state(state: Any, source: str) -> list[Layer]:
    """Linear layers of a state dict, in key order, with the ReLUs its keys imply."""
    if not isinstance(state, dict) or not state:
        raise UserError(f"network file {source}: not a non-empty state dict")
    groups: dict[str, dict] = {}
    for key, value in state.items():
        prefix, _, leaf = str(key).rpartition(".")
        if leaf not in ("weight", "bias"):
            raise UserError(f"network file {source}: entry {key!r} is not a Linear weight or bias "
                            "(only Linear and ReLU layers are allowed)")
        groups.setdefault(prefix, {})[leaf] = value
    out: list[Layer] = []
    prev: tuple = (None, None)
    for prefix, g in groups.items():
        W, b = g.get("weight"), g.get("bias")
        if W is None or not hasattr(W, "dim") or W.dim() != 2:
            raise UserError(f"network file {source}: layer {prefix} has no 2-D Linear weight "
                            f"(shape {tuple(W.shape) if hasattr(W, 'shape') else None})")
        if b is not None and (not hasattr(b, "dim") or b.dim() != 1):
            raise UserError(f"network file {source}: layer {prefix} has a bias that is not 1-D")
        rows = _tensor_rows(W, prefix)
        bias = [0.0] * len(rows) if b is None else _tensor_rows(b, prefix)
        m = _INDEX.match(prefix)
        stem, index = (m.group(1), int(m.group(2))) if m else (None, None)
        if out:
            if stem == "fcs." and prev[0] == stem:
                relu = index % 2 == 1  # official MMNN: fcs.{2j} is W_j (ReLU after), fcs.{2j+1} is A_j
            elif stem is not None and prev[0] == stem:
                gap = index - prev[1]
                if gap not in (1, 2):
                    raise UserError(f"network file {source}: {gap - 1} parameterless modules between "
                                    f"layers {prev[1]} and {index}; only one ReLU can be told apart")
                relu = gap == 2
            else:
                relu = True
            if relu:
                out.append(("relu",))
        out.append(exact_linear(prefix, rows, bias))
        prev = (stem, index)
    return out


def layers_from_module(module: Any, source: str = "module") -> list[Layer]:
    """The layers of a live ``nn.Sequential`` of Linear/ReLU (nested Sequentials flattened)."""
    import torch

    out: list[Layer] = []

    def visit(m: Any, name: str) -> None:
        if isinstance(m, torch.nn.Sequential):
            for k, child in enumerate(m):
                visit(child, f"{name}.{k}" if name else str(k))
        elif isinstance(m, torch.nn.Linear):
            b = m.bias.detach() if m.bias is not None else torch.zeros(m.out_features)
            out.append(exact_linear(name, _tensor_rows(m.weight, name), _tensor_rows(b, name)))
        elif isinstance(m, torch.nn.ReLU):
            out.append(("relu",))
        else:
            raise UserError(f"network {source}: layer {name or '0'} is {type(m).__name__}; only "
                            "Linear and ReLU layers (in nn.Sequential) are allowed")

    visit(module, "")
    return out


def load_layers(path: str) -> list[Layer]:
    """Layers of a JSON, safetensors or torch state-dict file (see the module docstring)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise UserError(f"cannot read network file {path!r}: {exc.strerror}") from None
    if head.lstrip()[:1] in (b"{", b"["):
        return layers_from_json(read_json_file(path, "network file", MAX_JSON_BYTES), repr(path))
    if path.endswith(".safetensors"):
        try:
            from safetensors.torch import load_file

            state = load_file(path)
        except Exception as exc:  # the library raises several types on a bad file
            raise UserError(f"network file {path!r} is not a safetensors file: "
                            f"{str(exc).splitlines()[0][:120]}") from None
        return layers_from_state(dict(state), repr(path))
    try:
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types on a bad or pickled-module file
        raise UserError(f"network file {path!r} is neither JSON, safetensors nor a PyTorch state "
                        f"dict: {str(exc).splitlines()[0][:120]}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    return layers_from_state(state, repr(path))


def load_network(path: str) -> Network:
    """The exact IR network of a trained ReLU network file."""
    return to_network(load_layers(path), repr(path))


def network_from_module(module: Any) -> Network:
    return to_network(layers_from_module(module), type(module).__name__)


def layers_to_json(layers: Sequence[Layer]) -> dict:
    """JSON of a layer list with exact rationals as strings (for certificates and tests)."""
    items: list[dict] = []
    for item in layers:
        if item[0] == "relu":
            items.append({"type": "relu"})
        else:
            _, W, b, _ = item
            items.append({"type": "linear",
                          "W": [[str(W[i, j]) for j in range(W.ncols())] for i in range(W.nrows())],
                          "b": [str(b[i, 0]) for i in range(b.nrows())]})
    return {"layers": items}
