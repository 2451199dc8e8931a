"""Reading the mid repair back from a network: the p = ∞ constructions of several papers
(intrinsic Lemma A.2, NestNet, optimal rate) end in 3^d shifted copies of one network, d levels
of mid gadgets over consecutive triples, and a scalar affine map.  The verifier reads that shape
from the network as built (never from the builder's word) and follows the medians.
"""

from __future__ import annotations

from typing import Any, Optional

from constructive.gadgets.mid import _median
from constructive.ir import Affine, Gadget, Network, Node, Parallel, _tokens


class MidRepairShape(ValueError):
    """The network is not fan-out, 3^d copies, d mid levels, output map (the message says where)."""


def median_interval(ivs: list) -> Optional[tuple]:
    """An interval containing mid(a₁, a₂, a₃) for a_k ∈ ivs[k] (None: unknown, any real), or None
    when fewer than two are known.  Three known: [mid of lows, mid of highs] (mid is monotone);
    two known: the median lies between the two known values whatever the third is."""
    known = [iv for iv in ivs if iv is not None]
    if len(known) == 3:
        return sorted(iv[0] for iv in known)[1], sorted(iv[1] for iv in known)[1]
    if len(known) == 2:
        return min(known[0][0], known[1][0]), max(known[0][1], known[1][1])
    return None


def is_mid(part: Node) -> bool:
    """Whether ``part`` is exactly one mid gadget whose specification is the median (the gadget
    certificates then prove this very body against that specification)."""
    if not (isinstance(part, Network) and len(part.nodes) == 1):
        return False
    g = part.nodes[0]
    return (isinstance(g, Gadget) and g.name == "mid" and g.spec is not None
            and g.spec.reference is _median and g.in_dim == 3 and g.out_dim == 1)


def mid_repair_structure(net: Node, d: int) -> tuple[list[tuple], list[Node], Affine]:
    """(shifts t_m, copies, output map) read from the network: x ↦ (x + t_m)_{m < 3^d} (identity
    blocks, the shifts its biases), the 3^d copies side by side, d levels of mid on consecutive
    triples, a scalar affine map; :class:`MidRepairShape` otherwise."""
    S = 3 ** d
    nodes = net.nodes if isinstance(net, Network) else ()
    if len(nodes) != d + 3:
        raise MidRepairShape(f"not fan-out, {S} copies, {d} mid level(s), output map")
    fan, par, *levels, out = nodes
    if not (isinstance(fan, Affine) and fan.W.nrows() == S * d and fan.W.ncols() == d
            and all(fan.W[m * d + i, j] == (1 if i == j else 0)
                    for m in range(S) for i in range(d) for j in range(d))):
        raise MidRepairShape(f"the first map is not x ↦ (x + t_m) for {S} shifts t_m")
    shifts = [tuple(fan.b[m * d + i, 0] for i in range(d)) for m in range(S)]
    if not (isinstance(par, Parallel) and len(par.parts) == S
            and all(p.in_dim == d and p.out_dim == 1 for p in par.parts)):
        raise MidRepairShape(f"the copies are not {S} networks R^{d} → R side by side")
    for lvl, level in enumerate(levels, start=1):
        if not (isinstance(level, Parallel) and len(level.parts) == 3 ** (d - lvl)
                and all(is_mid(p) for p in level.parts)):
            raise MidRepairShape(f"mid level {lvl} is not {3 ** (d - lvl)} mid gadgets side by side")
    if not (isinstance(out, Affine) and out.W.nrows() == 1 and out.W.ncols() == 1):
        raise MidRepairShape("the output map is not scalar affine")
    return shifts, list(par.parts), out


def distinct_copies(copies: list[Node]) -> list[tuple[Node, list[int]]]:
    """The copies grouped by exact content (the same object, or equal weights, activations and
    structure token by token), each with the indices of the copies it stands for; one shared
    object (the usual case) is never tokenised."""
    by_id: dict[int, tuple[Node, list[int]]] = {}
    for m, c in enumerate(copies):
        by_id.setdefault(id(c), (c, []))[1].append(m)
    if len(by_id) == 1:
        return list(by_id.values())
    by_key: dict[Any, tuple[Node, list[int]]] = {}
    for c, ms in by_id.values():
        by_key.setdefault(tuple(_tokens(c)), (c, []))[1].extend(ms)
    return list(by_key.values())
