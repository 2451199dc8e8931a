"""Certificates of the gadget specifications a verdict relied on, at every nesting level.

The analyses report the names of the gadgets whose specification stood in for a body.  Every
instance of such a gadget is certified from its body, and whatever that certification itself
relies on (a nested gadget's range, used while propagating intervals through the outer body) is
certified in turn: the relied-on set is closed under nesting.  A fact with no method, or whose
method fails, makes the entry ``holds: False`` and the verdict not HOLDS.

Facts and methods (see ``certify.analysis.ranges`` for how each fact is used):

* ``range`` on :func:`~certify.analysis.ranges.range_domain`: interval propagation through the body
  (plain first, then with nested specifications, which then join the closure), or exact 1-D
  enumeration of the body (tried early for shallow bodies, last for deep ones);
* ``interval`` (a declared monotone extension): region enumeration of the body on R^d, every
  region's gradient non-negative, and the body equal to the spec's reference on R^d;
* ``cells`` (constant on a grid): nothing to certify here, the box analysis derives each
  constant from the body at use; listed so the certificate says so;
* ``points`` of a one-hidden-layer CPwL gadget, read off the knots by the box analysis: the
  sweep of :mod:`certify.analysis.interpolants`, repeated here for every instance.
"""

from __future__ import annotations

from typing import Any, Optional

from certify.analysis.interpolants import INTERPOLANT, certified_interpolant
from certify.analysis.pl1d import enumerate_1d
from certify.analysis.ranges import body_range, range_domain
from certify.analysis.regions import MAX_DIM, certify_reference_identity, enumerate_regions
from constructive.errors import UserError
from constructive.ir import Gadget, Node, walk

CELLS = " (cells)"
MAX_POINTS_1D = 4096  # exact 1-D enumeration gives up beyond this many points
SHALLOW = 8  # bodies up to this depth are enumerated before trying nested specifications
MAX_REGIONS = 20000


def certify_gadgets(net: Node, names: set) -> list[dict]:
    """Certify each gadget specification relied on, and (transitively) those its certification
    relies on; one entry per distinct instance (name, body, spec)."""
    instances = _instances(net)
    todo = sorted(names)
    done: set = set()
    out = []
    while todo:
        name = todo.pop(0)
        if name in done:
            continue
        done.add(name)
        if name.endswith(CELLS):
            out.append({"gadget": name, "method": "constant cells derived from the body at use "
                        "(exact box analysis, no specification used)", "holds": True})
            continue
        if name.endswith(INTERPOLANT):
            out.append(_interpolant_entry(name, instances.get(name[:-len(INTERPOLANT)], [])))
            continue
        nodes = instances.get(name)
        if not nodes:
            out.append({"gadget": name, "method": "none", "holds": False,
                        "note": "reported as relied on, but no such gadget with a specification"})
            continue
        for g in nodes:
            entry, relied = certify_instance(g)
            if len(nodes) > 1:
                entry["instance"] = g.body.digest[:16]
            out.append(entry)
            todo.extend(sorted(relied - done))
    return out


def _interpolant_entry(name: str, nodes: list[Gadget]) -> dict:
    """Every instance read through its points must be that interpolant (on its knots' span)."""
    ok = bool(nodes) and all(certified_interpolant(g) is not None for g in nodes)
    return {"gadget": name, "holds": ok,
            "method": "one hidden layer swept exactly: every kink inside at a knot, the stated "
                      "value at every knot, so the body is the interpolant between the end knots"}


def _instances(net: Node) -> dict[str, list[Gadget]]:
    """Distinct gadget instances with a specification, by name (a mutant may change one copy)."""
    seen: set = set()
    out: dict[str, list[Gadget]] = {}
    for g in walk(net):
        if not isinstance(g, Gadget) or g.spec is None:
            continue
        s = g.spec
        monotone = None if s.interval is None else (id(s.interval), id(s.reference))
        key = (g.name, g.body.digest, s.range, s.domain if _hashable(s.domain) else id(s.domain),
               monotone)
        if key not in seen:
            seen.add(key)
            out.setdefault(g.name, []).append(g)
    return out


def _hashable(v: Any) -> bool:
    try:
        hash(v)
        return True
    except TypeError:
        return False


def certify_instance(g: Gadget) -> tuple[dict, set]:
    """The certificate entry of one instance and the nested gadget names it relied on."""
    spec = g.spec
    entry: dict = {"gadget": g.name, "statement": spec.statement, "source": spec.source}
    facts, relied = [], set()
    if spec.range is not None:
        fact, used = certify_range(g)
        facts.append(fact)
        relied |= used
    if spec.interval is not None:
        facts.append(certify_monotone(g))
    if not facts:
        entry.update(method="none", holds=False,
                     note="the specification claims no range or interval extension to certify")
        return entry, relied
    entry["facts"] = facts
    entry["method"] = "; ".join(f["method"] for f in facts)
    entry["holds"] = all(f["holds"] for f in facts)
    if relied:
        entry["relies_on"] = sorted(relied)
    return entry, relied


# ranges -------------------------------------------------------------------------------------


def certify_range(g: Gadget) -> tuple[dict, set]:
    """``spec.range`` over the range domain, from the body; returns the fact and the nested
    names relied on."""

    lo_c, hi_c = g.spec.range
    box = range_domain(g.spec, g.in_dim)
    where = "R^%d" % g.in_dim if all(a is None and b is None for a, b in box) else \
        "[" + ", ".join(f"[{a}, {b}]" for a, b in box) + "]"
    fact = {"fact": f"range [{lo_c}, {hi_c}] on {where}"}

    def inside(ivs: list) -> bool:
        return all(a is not None and b is not None and a >= lo_c and b <= hi_c for a, b in ivs)

    ivs, _ = body_range(g, box, trusted=set())  # plain propagation: nothing nested relied on
    if inside(ivs):
        fact.update(method="interval propagation through the body", holds=True,
                    measured=_text(ivs))
        return fact, set()
    # exact enumeration first where it is cheap (shallow bodies), last where it may not end
    shallow = g.body.depth <= SHALLOW
    exact = _range_1d(g, box) if shallow else None
    if exact is None:
        ivs, used = body_range(g, box)
        if inside(ivs):
            used = _fewest(g, box, used, inside)
            fact.update(method="interval propagation through the body with nested specifications",
                        holds=True, measured=_text(ivs))
            return fact, used
        exact = None if shallow else _range_1d(g, box)
    if exact is not None:
        fact.update(method="exact 1-D enumeration of the body", holds=inside(exact),
                    measured=_text(exact))
        return fact, set()
    fact.update(method="none succeeded (interval propagation, exact enumeration)", holds=False,
                measured=_text(ivs))
    return fact, set()


def _range_1d(g: Gadget, box: list) -> Optional[list]:
    """Exact ranges of every output over the box when the body is small enough to enumerate."""

    if g.in_dim != 1:
        return None
    try:
        pl = enumerate_1d(g.body, box[0][0], box[0][1], max_points=MAX_POINTS_1D)
    except (UserError, ValueError):
        return None
    return [pl.range(o) for o in range(g.out_dim)]


def _fewest(g: Gadget, box: list, used: set, inside: Any) -> set:
    """Drop nested specifications the range does not need (each one dropped must be certified
    for nothing); greedy, one propagation per name."""

    allowed = {n.name for n in walk(g.body) if isinstance(n, Gadget) and n.spec is not None}
    keep = set(used)
    for name in sorted(used):
        if name not in keep:
            continue
        ivs, again = body_range(g, box, trusted=allowed - {name})
        if inside(ivs):
            allowed, keep = allowed - {name}, again
    return keep


def _text(ivs: list) -> list:
    return [[str(a), str(b)] for a, b in ivs]


# monotone interval extensions -----------------------------------------------------------------


def certify_monotone(g: Gadget) -> dict:
    """The body is non-decreasing in every argument on R^d and equals the spec's reference."""

    fact: dict = {"fact": f"non-decreasing in every argument on R^{g.in_dim}, equal to the reference"}
    if g.in_dim > MAX_DIM or g.spec.reference is None:
        fact.update(method="none", holds=False,
                    note="region enumeration needs d <= 4 and an exact reference")
        return fact
    try:
        regions = enumerate_regions(g.body, max_regions=MAX_REGIONS)
    except ValueError as exc:
        fact.update(method="none", holds=False, note=str(exc))
        return fact
    # continuous PL with a non-negative gradient on every open region: monotone along every
    # coordinate line (a line on region boundaries is a limit of generic ones)
    bad = next((r for r in regions if any(v < 0 for v in r.A.entries())), None)
    fact.update(method=f"region enumeration ({len(regions)} regions): gradients >= 0")
    if bad is not None:
        fact.update(holds=False, witness=[str(v) for v in bad.interior_point])
        return fact

    res = certify_reference_identity(g)
    fact["method"] += f"; exact identity with the reference ({res.regions} regions)"
    fact["holds"] = bool(res.holds)
    if not res.holds:
        fact["witness"] = [str(v) for v in res.witness]
    return fact
