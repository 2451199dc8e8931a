"""Shape checks and size measurement shared by the "Beyond ReLU" certificates.

:func:`check_structure` reads an emulation network as built: the affine maps must be exactly the
ReLU network's, and every gadget instance must equal — entry by entry, compared afresh, never by a
cached digest (``fmpq_mat`` is mutable under a frozen node) — the body that the gadget node's own
parameters define.  The band itself is then re-derived from the body's weights
(``proofs.beyond_relu.bands``), so the parameters are never the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from constructive import architecture as arch
from constructive.ir import Activation, Affine, Gadget, Network, Node, Parallel, Repeat
from proofs.beyond_relu.plans import plan_from_gadget
from proofs.beyond_relu.source import (corollary_sizes, current_network_file, layers_from_params,
                                       relu_net_from_layers)


def same_network(a: Node, b: Node) -> bool:
    """Exact structural equality: node kinds, every weight and bias, every neuron's function."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Affine):
        return a.W.nrows() == b.W.nrows() and a.W.ncols() == b.W.ncols() and a.W == b.W and a.b == b.b
    if isinstance(a, Activation):
        return len(a.functions) == len(b.functions) and all(
            same_network(f, g) if isinstance(f, Network) else
            (not isinstance(g, Network) and (f is g or f.key == g.key))
            for f, g in zip(a.functions, b.functions))
    if isinstance(a, Gadget):
        return a.name == b.name and a.params == b.params and same_network(a.body, b.body)
    if isinstance(a, Repeat):
        return a.times == b.times and same_network(a.body, b.body)
    if isinstance(a, Parallel):
        return len(a.parts) == len(b.parts) and all(same_network(p, q) for p, q in zip(a.parts, b.parts))
    if isinstance(a, Network):
        return len(a.nodes) == len(b.nodes) and all(same_network(p, q) for p, q in zip(a.nodes, b.nodes))
    return False


def check_structure(net: Node, layers: list) -> tuple[Optional[Gadget], list]:
    """(the gadget, problems): L₀, G, L₁, G, …, L_L with L_ℓ the ReLU network's affine maps and
    every G a layer of copies of one gadget whose body its parameters define exactly."""

    nodes = list(net.nodes) if isinstance(net, Network) else []
    if len(nodes) != 2 * len(layers) - 1:
        return None, [f"expected {2 * len(layers) - 1} nodes (affine / gadget layers), found {len(nodes)}"]
    problems: list = []
    gadget = None
    for k, node in enumerate(nodes):
        if k % 2 == 0:
            W, b = layers[k // 2]
            if not isinstance(node, Affine) or not same_network(node, Affine(W, b)):
                problems.append(f"node {k} is not the ReLU network's affine map {k // 2}")
            continue
        if not isinstance(node, Parallel) or len(node.parts) != layers[k // 2][0].nrows():
            problems.append(f"node {k} is not a layer of {layers[k // 2][0].nrows()} gadgets")
            continue
        for part in node.parts:
            inner = part.nodes if isinstance(part, Network) else (part,)
            if len(inner) != 1 or not isinstance(inner[0], Gadget):
                problems.append(f"node {k}: a part is not a single gadget")
                break
            g = inner[0]
            if gadget is None:
                try:
                    ok = same_network(plan_from_gadget(g).body(), g.body)
                except (KeyError, ValueError, ArithmeticError) as exc:  # unreadable parameters
                    problems.append(f"gadget {g.name}: parameters do not define a gadget ({exc})")
                    break
                if not ok:
                    problems.append(f"gadget {g.name}: body differs from the one its parameters define")
                gadget = g
            elif g is not gadget and not same_network(g, gadget):
                problems.append(f"node {k}: gadgets differ")
                break
    return gadget, problems


@dataclass(frozen=True)
class EmulationArchitecture(arch.Architecture):
    """The ϱ-network's architecture plus the size (N, L) of the ReLU network it emulates.

    N and L are measured from the ReLU network itself (the default instance, or the file of
    ``--network``), never taken from the registry.  The factor claims are integers:
    ``width_factor`` = ⌈width/N⌉, so "width ≤ kN" ⇔ width_factor ≤ k for an integer k, and
    ``width_gap`` = width_factor·N − width, so "width = N" ⇔ width_factor = 1 and width_gap = 0
    (the same for depth with L).
    """

    relu_width: int = 0
    relu_depth: int = 0
    width_factor: int = 0
    depth_factor: int = 0
    width_gap: int = 0
    depth_gap: int = 0

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.update(relu_width=self.relu_width, relu_depth=self.relu_depth,
                 width_factor=self.width_factor, depth_factor=self.depth_factor,
                 width_over_N=f"{self.width}/{self.relu_width}", depth_over_L=f"{self.depth}/{self.relu_depth}")
        return d


def relu_size(layers) -> tuple[int, int]:
    """(width N, depth L) of a ReLU MLP given as its affine layers."""
    hidden = [W.nrows() for W, _ in layers[:-1]]
    return (max(hidden) if hidden else 0), len(hidden)


def measure_emulation(net: Node) -> EmulationArchitecture:
    """``arch.measure`` plus N, L of the ReLU network in use (default instance or file)."""
    base = arch.measure(net)
    N, L = relu_size(layers_from_params({}))
    wf = -(-base.width // N) if N else base.width
    df = -(-base.depth // L) if L else base.depth
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    return EmulationArchitecture(**fields, relu_width=N, relu_depth=L, width_factor=wf, depth_factor=df,
                                 width_gap=wf * N - base.width, depth_gap=df * L - base.depth)


def source_of(params: dict) -> str:
    sizes = corollary_sizes(params)
    if sizes is not None:
        return f"stand-in network of the source's size, layer sizes {sizes}"
    return current_network_file() or "default width-8 depth-3 instance"


def relu_digest(layers) -> str:
    return relu_net_from_layers(layers).digest
